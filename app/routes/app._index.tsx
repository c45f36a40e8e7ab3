import type { ActionFunctionArgs, LoaderFunctionArgs } from "@remix-run/node";
import { json } from "@remix-run/node";
import { Form, useLoaderData, useNavigation, useSearchParams, useSubmit } from "@remix-run/react";
import {
  Badge,
  Banner,
  BlockStack,
  Box,
  Button,
  Card,
  DataTable,
  EmptyState,
  InlineGrid,
  InlineStack,
  Layout,
  List,
  Page,
  Select,
  Text,
} from "@shopify/polaris";
import { useTranslation } from "react-i18next";
import { z } from "zod";
import { requireAdmin } from "../auth.server";
import { dateTime, money, number, percent } from "../components/format";
import { NavigationProgress, PageError } from "../components/page-states";
import { RecoveryChart } from "../components/recovery-chart";
import { db } from "../db.server";
import { env } from "../env.server";
import type { NotContactableReason } from "../components/labels";
import { loadOverview, shopHasRecoveries } from "../models/dashboard.server";
import { currencySummary, PERIODS } from "../recovery/recovered";
import { requestShopifySync } from "../sources/shopify/sync-request.server";
import { readFormWithLimit } from "../security/request-limits.server";
import type { MetaFunction } from "@remix-run/node";
import { adminPageTitle } from "../components/page-title";
import { HealthStrip } from "../components/health-strip";
import { localizeHealthIssues } from "../recovery/health";
import { loadHealth } from "../models/health.server";
import { findSourceSync } from "../models/source-sync.server";
import { getStripeConnection } from "../models/stripe-connection.server";
import { loadPaymentOverview } from "../models/payment-recovery.server";
import { PaymentOverviewCard } from "../components/payment-overview";

const query = z.object({
  period: z.enum(PERIODS).catch("30"),
  currency: z
    .string()
    .regex(/^[A-Z]{3}$/)
    .optional()
    .catch(undefined),
});

export const loader = async ({ request }: LoaderFunctionArgs) => {
  const { shop, t, locale } = await requireAdmin(request);
  const params = query.parse(Object.fromEntries(new URL(request.url).searchParams));
  const now = new Date();
  const from = new Date(now.getTime() - (Number(params.period) - 1) * 86_400_000);
  const [overview, hasRecoveries, shopifySync, stripe, payments] = await Promise.all([
    loadOverview(db, { shopId: shop.id, from, to: now, currency: params.currency ?? shop.currency, consentPolicy: shop.consentPolicy, now }),
    shopHasRecoveries(db, shop.id),
    findSourceSync(db, shop.id, "shopify"),
    getStripeConnection(db, shop.id, now),
    // Failed subscription payments, same period and currency (docs/decisions/087).
    loadPaymentOverview(db, { shopId: shop.id, from, to: now, currency: params.currency ?? shop.currency }),
  ]);
  // The health strip: campaign off, failed sends, Shopify's own email, sync (app/recovery/health.ts), in the admin's language.
  const health = localizeHealthIssues(await loadHealth(db, shop, now), t);
  return json({
    health,
    // Only `npm run demo` sets it (refused in production): where the demo's captured emails can be read.
    demoInboxUrl: env.DEMO_INBOX_URL ?? null,
    period: params.period,
    // The admin's locale (docs/decisions/093): numbers, money and dates as the admin reads them.
    locale,
    timezone: shop.timezone,
    overview,
    payments: payments.failed > 0 || payments.recoveredByLink.count + payments.recoveredByWindow.count > 0 ? payments : null,
    isEmpty: !hasRecoveries,
    sync: {
      shopify: shopifySync
        ? {
            status: shopifySync.status,
            lastSuccessAt: shopifySync.lastSuccessAt?.toISOString() ?? null,
            lastError: shopifySync.lastError,
            backfillStatus: shopifySync.backfillStatus,
          }
        : null,
      stripe: stripe ? { connectedAt: stripe.createdAt.toISOString(), lastEventAt: stripe.lastEventAt?.toISOString() ?? null } : null,
    },
  });
};

export const action = async ({ request }: ActionFunctionArgs) => {
  const { shop, t } = await requireAdmin(request);
  const form = await readFormWithLimit(request);
  if (form.get("intent") !== "sync") return json({ error: t("overview:errors.unknownAction") }, { status: 400 });
  await requestShopifySync(db, shop.id);
  return json({ queued: true });
};

const SOURCE_LABEL = { shopify: "Shopify", stripe: "Stripe" } as const;

export const meta: MetaFunction = ({ matches }) => [{ title: adminPageTitle(matches, "overview:title") }];

export default function Overview() {
  const { overview, locale, period, isEmpty, sync, timezone, demoInboxUrl, health, payments } = useLoaderData<typeof loader>();
  const { t } = useTranslation("overview");
  const { t: tc } = useTranslation("common");
  const [params] = useSearchParams();
  const submit = useSubmit();
  const navigation = useNavigation();
  const syncing = navigation.state !== "idle" && navigation.formData?.get("intent") === "sync";
  const cur = overview.currency;
  const total = overview.total;
  const fmtMoney = (minor: number) => money(minor, cur, locale);
  const n = (value: number) => number(value, locale);
  const setParam = (key: string, value: string) => {
    const next = new URLSearchParams(params);
    next.set(key, value);
    submit(next, { method: "get", replace: true });
  };
  /** "12% of abandoned carts (6 of 50)"; "— of abandoned carts" when nothing was abandoned (app/recovery/recovered.ts). */
  const rate = (numerator: number, denominator: number) =>
    denominator <= 0 ? t("rateNone") : t("rate", { percent: percent(numerator / denominator, locale), part: n(numerator), whole: n(denominator) });
  /** "+ 2 other currencies: A$46.99, SEK 317.93": summarised beside the selected currency, never added to it. */
  const othersText = (others: { currency: string; amountMinor: number; count: number }[], withCount: boolean) =>
    others.length
      ? t("otherCurrencies", {
          count: others.length,
          n: n(others.length),
          list: others
            .map((o) => (withCount ? `${n(o.count)} · ${money(o.amountMinor, o.currency, locale)}` : money(o.amountMinor, o.currency, locale)))
            .join(", "),
        })
      : null;

  const filters = (
    <InlineStack gap="300" blockAlign="end">
      <Select
        label={t("filters.period")}
        options={PERIODS.map((p) => ({ label: tc(`periods.${p}`), value: p }))}
        value={period}
        onChange={(v) => setParam("period", v)}
      />
      <Select
        label={t("filters.currency")}
        options={overview.currencies.map((c) => ({ label: c, value: c }))}
        value={cur}
        onChange={(v) => setParam("currency", v)}
      />
    </InlineStack>
  );

  const rows = (["shopify", "stripe"] as const).map((s) => overview.bySource[s]);
  const table = [
    [t("table.abandonedCheckouts"), ...rows.map((f) => n(f.abandoned)), n(total.abandoned)],
    [t("table.abandonedValue"), ...rows.map((f) => fmtMoney(f.abandonedValueMinor)), fmtMoney(total.abandonedValueMinor)],
    [t("table.contactable"), ...rows.map((f) => n(f.contactable)), n(total.contactable)],
    [t("table.emailsSent"), ...rows.map((f) => n(f.emailsSent)), n(total.emailsSent)],
    [t("table.clicks"), ...rows.map((f) => n(f.clicks)), n(total.clicks)],
    [
      t("table.recoveredByLink"),
      ...rows.map((f) => `${n(f.recoveredByLink.count)} · ${fmtMoney(f.recoveredByLink.revenueMinor)}`),
      `${n(total.recoveredByLink.count)} · ${fmtMoney(total.recoveredByLink.revenueMinor)}`,
    ],
    [
      t("table.recoveredByWindow"),
      ...rows.map((f) => `${n(f.recoveredByWindow.count)} · ${fmtMoney(f.recoveredByWindow.revenueMinor)}`),
      `${n(total.recoveredByWindow.count)} · ${fmtMoney(total.recoveredByWindow.revenueMinor)}`,
    ],
    [
      t("table.linkRate"),
      ...rows.map((f) => percent(f.abandoned ? f.recoveredByLink.count / f.abandoned : null, locale)),
      percent(overview.recoveryRate, locale),
    ],
  ];
  // One definition of recovered (docs/decisions/082), in the selected currency; other currencies summarised, never added.
  const byLink = currencySummary(overview.recoveredByCurrency, "link", cur, locale);
  const byWindow = currencySummary(overview.recoveredByCurrency, "window", cur, locale);
  const otherAbandoned = Object.entries(overview.abandonedByCurrency)
    .filter(([c, a]) => c !== cur && a.count > 0)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([currency, a]) => ({ currency, count: a.count, amountMinor: a.valueMinor }));
  const otherAbandonedText = othersText(otherAbandoned, true);
  const othersOf = (summary: typeof byLink) =>
    othersText(
      summary.others.map((o) => ({ currency: o.currency, count: o.count, amountMinor: o.revenueMinor })),
      false,
    );
  const notContactable = (Object.entries(total.notContactable) as [NotContactableReason, number][]).filter(([, count]) => count > 0);
  const shopifyStatus = sync.shopify?.status;

  const syncCard = (
    <Card>
      <BlockStack gap="300">
        <Text as="h2" variant="headingMd">
          {t("sources.heading")}
        </Text>
        <InlineStack align="space-between" blockAlign="center">
          <BlockStack gap="100">
            <InlineStack gap="200">
              <Text as="span" fontWeight="semibold">
                {t("sources.shopifyCheckouts")}
              </Text>
              {shopifyStatus ? (
                <Badge tone={shopifyStatus === "healthy" ? "success" : shopifyStatus === "degraded" ? "warning" : "critical"}>
                  {t(`sources.status.${shopifyStatus}`, { defaultValue: shopifyStatus })}
                </Badge>
              ) : (
                <Badge>{t("sources.notSynced")}</Badge>
              )}
            </InlineStack>
            <Text as="p" tone="subdued">
              {sync.shopify?.lastSuccessAt ? t("sources.lastSynced", { when: dateTime(sync.shopify.lastSuccessAt, locale, timezone) }) : t("sources.noSync")}
            </Text>
            {sync.shopify?.lastError ? (
              <Text as="p" tone="critical">
                {sync.shopify.lastError}
              </Text>
            ) : null}
          </BlockStack>
          <Form method="post">
            <input type="hidden" name="intent" value="sync" />
            <Button submit loading={syncing}>
              {t("sources.syncNow")}
            </Button>
          </Form>
        </InlineStack>
        <InlineStack align="space-between" blockAlign="center">
          <BlockStack gap="100">
            <InlineStack gap="200">
              <Text as="span" fontWeight="semibold">
                {t("sources.stripeCheckout")}
              </Text>
              {sync.stripe ? <Badge tone="success">{t("sources.connected")}</Badge> : <Badge>{t("sources.notConnected")}</Badge>}
            </InlineStack>
            <Text as="p" tone="subdued">
              {sync.stripe?.lastEventAt
                ? t("sources.lastEvent", { when: dateTime(sync.stripe.lastEventAt, locale, timezone) })
                : sync.stripe
                  ? t("sources.waiting")
                  : t("sources.connectHint")}
            </Text>
          </BlockStack>
          <Button url="/app/settings/stripe">{sync.stripe ? t("sources.manage") : t("sources.connectStripe")}</Button>
        </InlineStack>
      </BlockStack>
    </Card>
  );

  const demoBanner = demoInboxUrl ? (
    <Layout.Section>
      <Banner title={t("demo.title")} tone="info" action={{ content: t("demo.openInbox"), url: demoInboxUrl, target: "_top" }}>
        <p>{t("demo.body")}</p>
      </Banner>
    </Layout.Section>
  ) : null;

  if (isEmpty) {
    return (
      <Page title={t("title")}>
        <NavigationProgress />
        <Layout>
          {demoBanner}
          <HealthStrip issues={health} />
          <Layout.Section>
            <Card>
              <EmptyState
                heading={t("empty.heading")}
                image=""
                action={{ content: t("empty.reviewCampaign"), url: "/app/campaigns" }}
                secondaryAction={{ content: t("empty.connectStripe"), url: "/app/settings/stripe" }}
              >
                <p>{t("empty.body")}</p>
                <List type="number">
                  <List.Item>{t("empty.stepSettings")}</List.Item>
                  <List.Item>{t("empty.stepCampaign")}</List.Item>
                  <List.Item>{t("empty.stepStripe")}</List.Item>
                </List>
              </EmptyState>
            </Card>
          </Layout.Section>
          <Layout.Section variant="oneThird">{syncCard}</Layout.Section>
        </Layout>
      </Page>
    );
  }

  return (
    <Page title={t("title")}>
      <NavigationProgress />
      <Layout>
        {demoBanner}
        <HealthStrip issues={health} />
        <Layout.Section>
          <BlockStack gap="400">
            {filters}
            {/* Two columns at most beside the sidebar: four did not fit a money figure at 1024 and 1440 px (issue 21). */}
            <InlineGrid columns={{ xs: 1, sm: 2 }} gap="400">
              <Stat
                id="abandoned"
                label={t("stats.abandoned")}
                value={n(total.abandoned)}
                detail={fmtMoney(total.abandonedValueMinor)}
                others={otherAbandonedText}
              />
              <Stat
                id="contactable"
                label={t("stats.contactable")}
                value={percent(total.abandoned ? total.contactable / total.abandoned : null, locale)}
                detail={rate(total.contactable, total.abandoned)}
              />
              <Stat
                id="recovered-link"
                testId="overview-recovered-link"
                label={t("stats.recoveredByLink")}
                value={fmtMoney(byLink.main.revenueMinor)}
                detail={t("stats.boughtAfterEmail", { count: byLink.main.count, n: n(byLink.main.count), rate: rate(byLink.main.count, total.abandoned) })}
                others={othersOf(byLink)}
              />
              <Stat
                id="recovered-window"
                label={t("stats.recoveredByWindow")}
                value={fmtMoney(byWindow.main.revenueMinor)}
                detail={t("stats.withinWindow", { count: byWindow.main.count, n: n(byWindow.main.count) })}
                others={othersOf(byWindow)}
              />
            </InlineGrid>
            <Card>
              <BlockStack gap="200">
                <Text as="h2" variant="headingMd">
                  {t("chart.heading")}
                </Text>
                <RecoveryChart data={overview.daily} locale={locale} />
              </BlockStack>
            </Card>
            <Card padding="0">
              <DataTable
                columnContentTypes={["text", "numeric", "numeric", "numeric"]}
                headings={["", SOURCE_LABEL.shopify, SOURCE_LABEL.stripe, t("table.total")]}
                rows={table}
              />
            </Card>
          </BlockStack>
        </Layout.Section>
        <Layout.Section variant="oneThird">
          <BlockStack gap="400">
            {syncCard}
            <Card>
              <BlockStack gap="200">
                <Text as="h2" variant="headingMd">
                  {t("notContactable.heading")}
                </Text>
                {notContactable.length === 0 ? (
                  <Text as="p" tone="subdued">
                    {t("notContactable.none")}
                  </Text>
                ) : (
                  <List>
                    {notContactable.map(([reason, count]) => (
                      <List.Item key={reason}>
                        {t("notContactable.reason", { reason: tc(`notContactable.${reason}`, { defaultValue: reason }), n: n(count) })}
                      </List.Item>
                    ))}
                  </List>
                )}
                <Box>
                  <Text as="p" tone="subdued" variant="bodySm">
                    {t("notContactable.sentAndClicks", { sent: n(total.emailsSent), clicks: n(total.clicks) })}
                  </Text>
                </Box>
              </BlockStack>
            </Card>
            {overview.heldForShopifyEmail > 0 ? (
              <Card>
                <BlockStack gap="200">
                  <Text as="h2" variant="headingMd">
                    {t("held.heading")}
                  </Text>
                  <Text as="p">{t("held.body", { count: overview.heldForShopifyEmail, n: n(overview.heldForShopifyEmail) })}</Text>
                  <Box>
                    <Button variant="plain" url="/app/settings#shopify-email">
                      {t("held.change")}
                    </Button>
                  </Box>
                </BlockStack>
              </Card>
            ) : null}
          </BlockStack>
        </Layout.Section>
        {payments ? (
          <Layout.Section>
            <PaymentOverviewCard p={payments} currency={cur} locale={locale} />
          </Layout.Section>
        ) : null}
      </Layout>
    </Page>
  );
}

function Stat({
  id,
  label,
  value,
  detail,
  others,
  testId,
}: {
  id: string;
  label: string;
  value: string;
  detail: string;
  others?: string | null;
  testId?: string;
}) {
  return (
    <Card>
      <div data-testid={testId} data-stat={id}>
        <BlockStack gap="100">
          <Text as="h3" variant="headingSm" tone="subdued">
            {label}
          </Text>
          <Text as="p" variant="headingLg" numeric breakWord>
            {value}
          </Text>
          <Text as="p" variant="bodySm" tone="subdued" breakWord>
            {detail}
          </Text>
          {others ? (
            <Text as="p" variant="bodySm" tone="subdued" breakWord>
              {others}
            </Text>
          ) : null}
        </BlockStack>
      </div>
    </Card>
  );
}

export function ErrorBoundary() {
  const { t } = useTranslation("overview");
  return <PageError title={t("title")} />;
}
