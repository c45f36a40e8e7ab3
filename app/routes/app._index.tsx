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
import { z } from "zod";
import { requireAdmin } from "../auth.server";
import { dateTime, money, number, percent } from "../components/format";
import { NavigationProgress, PageError } from "../components/page-states";
import { RecoveryChart } from "../components/recovery-chart";
import { db } from "../db.server";
import { env } from "../env.server";
import { NOT_CONTACTABLE_LABELS, type NotContactableReason } from "../components/labels";
import { loadOverview, shopHasRecoveries } from "../models/dashboard.server";
import { currencySummary, PERIOD_LABELS, PERIODS, rateText } from "../recovery/recovered";
import { requestShopifySync } from "../sources/shopify/sync-request.server";
import { readFormWithLimit } from "../security/request-limits.server";
import type { MetaFunction } from "@remix-run/node";
import { pageTitle } from "../components/page-title";
import { HealthStrip } from "../components/health-strip";
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
  const { shop } = await requireAdmin(request);
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
  // The health strip: campaign off, failed sends, Shopify's own email, sync (app/recovery/health.ts).
  const health = await loadHealth(db, shop, now);
  return json({
    health,
    // Only `npm run demo` sets it (refused in production): where the demo's captured emails can be read.
    demoInboxUrl: env.DEMO_INBOX_URL ?? null,
    period: params.period,
    locale: shop.locale,
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
  const { shop } = await requireAdmin(request);
  const form = await readFormWithLimit(request);
  if (form.get("intent") !== "sync") return json({ error: "Unknown action" }, { status: 400 });
  await requestShopifySync(db, shop.id);
  return json({ queued: true });
};

const SOURCE_LABEL = { shopify: "Shopify", stripe: "Stripe" } as const;

export const meta: MetaFunction = () => [{ title: pageTitle("Overview") }];

export default function Overview() {
  const { overview, locale, period, isEmpty, sync, timezone, demoInboxUrl, health, payments } = useLoaderData<typeof loader>();
  const [params] = useSearchParams();
  const submit = useSubmit();
  const navigation = useNavigation();
  const syncing = navigation.state !== "idle" && navigation.formData?.get("intent") === "sync";
  const cur = overview.currency;
  const t = overview.total;
  const fmtMoney = (minor: number) => money(minor, cur, locale);
  const setParam = (key: string, value: string) => {
    const next = new URLSearchParams(params);
    next.set(key, value);
    submit(next, { method: "get", replace: true });
  };

  const filters = (
    <InlineStack gap="300" blockAlign="end">
      <Select label="Period" options={PERIODS.map((p) => ({ label: PERIOD_LABELS[p], value: p }))} value={period} onChange={(v) => setParam("period", v)} />
      <Select label="Currency" options={overview.currencies.map((c) => ({ label: c, value: c }))} value={cur} onChange={(v) => setParam("currency", v)} />
    </InlineStack>
  );

  const rows = (["shopify", "stripe"] as const).map((s) => overview.bySource[s]);
  const table = [
    ["Abandoned checkouts", ...rows.map((f) => number(f.abandoned, locale)), number(t.abandoned, locale)],
    ["Abandoned value", ...rows.map((f) => fmtMoney(f.abandonedValueMinor)), fmtMoney(t.abandonedValueMinor)],
    ["Contactable", ...rows.map((f) => number(f.contactable, locale)), number(t.contactable, locale)],
    ["Emails sent", ...rows.map((f) => number(f.emailsSent, locale)), number(t.emailsSent, locale)],
    ["Clicks", ...rows.map((f) => number(f.clicks, locale)), number(t.clicks, locale)],
    [
      "Recovered by link",
      ...rows.map((f) => `${number(f.recoveredByLink.count, locale)} · ${fmtMoney(f.recoveredByLink.revenueMinor)}`),
      `${number(t.recoveredByLink.count, locale)} · ${fmtMoney(t.recoveredByLink.revenueMinor)}`,
    ],
    [
      "Recovered by window",
      ...rows.map((f) => `${number(f.recoveredByWindow.count, locale)} · ${fmtMoney(f.recoveredByWindow.revenueMinor)}`),
      `${number(t.recoveredByWindow.count, locale)} · ${fmtMoney(t.recoveredByWindow.revenueMinor)}`,
    ],
    [
      "Recovered by link ÷ abandoned carts",
      ...rows.map((f) => percent(f.abandoned ? f.recoveredByLink.count / f.abandoned : null, locale)),
      percent(overview.recoveryRate, locale),
    ],
  ];
  // One definition of recovered (docs/decisions/082), in the selected currency; other currencies summarised, never added.
  const byLink = currencySummary(overview.recoveredByCurrency, "link", cur, locale);
  const byWindow = currencySummary(overview.recoveredByCurrency, "window", cur, locale);
  const otherAbandoned = Object.entries(overview.abandonedByCurrency)
    .filter(([c, a]) => c !== cur && a.count > 0)
    .sort(([a], [b]) => a.localeCompare(b));
  const otherAbandonedText = otherAbandoned.length
    ? `+ ${otherAbandoned.length} other ${otherAbandoned.length === 1 ? "currency" : "currencies"}: ${otherAbandoned.map(([c, a]) => `${number(a.count, locale)} · ${money(a.valueMinor, c, locale)}`).join(", ")}`
    : null;
  const notContactable = (Object.entries(t.notContactable) as [NotContactableReason, number][]).filter(([, n]) => n > 0);

  const syncCard = (
    <Card>
      <BlockStack gap="300">
        <Text as="h2" variant="headingMd">
          Sources
        </Text>
        <InlineStack align="space-between" blockAlign="center">
          <BlockStack gap="100">
            <InlineStack gap="200">
              <Text as="span" fontWeight="semibold">
                Shopify checkouts
              </Text>
              {sync.shopify ? (
                <Badge tone={sync.shopify.status === "healthy" ? "success" : sync.shopify.status === "degraded" ? "warning" : "critical"}>
                  {sync.shopify.status}
                </Badge>
              ) : (
                <Badge>not synced yet</Badge>
              )}
            </InlineStack>
            <Text as="p" tone="subdued">
              {sync.shopify?.lastSuccessAt ? `Last synced ${dateTime(sync.shopify.lastSuccessAt, locale, timezone)}` : "No successful sync yet"}
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
              Sync now
            </Button>
          </Form>
        </InlineStack>
        <InlineStack align="space-between" blockAlign="center">
          <BlockStack gap="100">
            <InlineStack gap="200">
              <Text as="span" fontWeight="semibold">
                Stripe Checkout
              </Text>
              {sync.stripe ? <Badge tone="success">connected</Badge> : <Badge>not connected</Badge>}
            </InlineStack>
            <Text as="p" tone="subdued">
              {sync.stripe?.lastEventAt
                ? `Last event ${dateTime(sync.stripe.lastEventAt, locale, timezone)}`
                : sync.stripe
                  ? "Waiting for the first event"
                  : "Connect Stripe to recover Stripe Checkout sessions too"}
            </Text>
          </BlockStack>
          <Button url="/app/settings/stripe">{sync.stripe ? "Manage" : "Connect Stripe"}</Button>
        </InlineStack>
      </BlockStack>
    </Card>
  );

  const demoBanner = demoInboxUrl ? (
    <Layout.Section>
      <Banner title="Local demo" tone="info" action={{ content: "Open the demo inbox", url: demoInboxUrl, target: "_top" }}>
        <p>Recovery emails are delivered to a local SMTP server; read them, and follow their links, in the demo inbox.</p>
      </Banner>
    </Layout.Section>
  ) : null;

  if (isEmpty) {
    return (
      <Page title="Overview">
        <NavigationProgress />
        <Layout>
          {demoBanner}
          <HealthStrip issues={health} />
          <Layout.Section>
            <Card>
              <EmptyState
                heading="No abandoned carts yet"
                image=""
                action={{ content: "Review your campaign", url: "/app/campaigns" }}
                secondaryAction={{ content: "Connect Stripe", url: "/app/settings/stripe" }}
              >
                <p>Reclaim is pulling your store's abandoned checkouts in the background and will list them here as they come in.</p>
                <List type="number">
                  <List.Item>Check your sender address and postal address in Settings: every recovery email carries them.</List.Item>
                  <List.Item>Review the default 3-email campaign (1 h, 24 h and 72 h after abandonment).</List.Item>
                  <List.Item>Sell with Stripe Checkout too? Connect it so those carts are recovered in the same pipeline.</List.Item>
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
    <Page title="Overview">
      <NavigationProgress />
      <Layout>
        {demoBanner}
        <HealthStrip issues={health} />
        <Layout.Section>
          <BlockStack gap="400">
            {filters}
            {/* Two columns at most beside the sidebar: four did not fit a money figure at 1024 and 1440 px (issue 21). */}
            <InlineGrid columns={{ xs: 1, sm: 2 }} gap="400">
              <Stat label="Abandoned" value={number(t.abandoned, locale)} detail={fmtMoney(t.abandonedValueMinor)} others={otherAbandonedText} />
              <Stat
                label="Contactable"
                value={percent(t.abandoned ? t.contactable / t.abandoned : null, locale)}
                detail={rateText(t.contactable, t.abandoned, "abandoned carts", locale)}
              />
              <Stat
                testId="overview-recovered-link"
                label="Recovered by link"
                value={fmtMoney(byLink.main.revenueMinor)}
                detail={`${number(byLink.main.count, locale)} ${byLink.main.count === 1 ? "cart" : "carts"} bought after a Reclaim email · ${rateText(byLink.main.count, t.abandoned, "abandoned carts", locale)}`}
                others={byLink.othersText}
              />
              <Stat
                label="Recovered by window"
                value={fmtMoney(byWindow.main.revenueMinor)}
                detail={`${number(byWindow.main.count, locale)} ${byWindow.main.count === 1 ? "order" : "orders"} within the window after a click (reported apart, never added)`}
                others={byWindow.othersText}
              />
            </InlineGrid>
            <Card>
              <BlockStack gap="200">
                <Text as="h2" variant="headingMd">
                  Abandoned and recovered per day
                </Text>
                <RecoveryChart data={overview.daily} />
              </BlockStack>
            </Card>
            <Card padding="0">
              <DataTable
                columnContentTypes={["text", "numeric", "numeric", "numeric"]}
                headings={["", SOURCE_LABEL.shopify, SOURCE_LABEL.stripe, "Total"]}
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
                  Why some carts can't be emailed
                </Text>
                {notContactable.length === 0 ? (
                  <Text as="p" tone="subdued">
                    Every abandoned cart in this period can be contacted.
                  </Text>
                ) : (
                  <List>
                    {notContactable.map(([reason, n]) => (
                      <List.Item key={reason}>
                        {NOT_CONTACTABLE_LABELS[reason]}: {number(n, locale)}
                      </List.Item>
                    ))}
                  </List>
                )}
                <Box>
                  <Text as="p" tone="subdued" variant="bodySm">
                    Emails sent: {number(t.emailsSent, locale)} · clicks: {number(t.clicks, locale)}
                  </Text>
                </Box>
              </BlockStack>
            </Card>
            {overview.heldForShopifyEmail > 0 ? (
              <Card>
                <BlockStack gap="200">
                  <Text as="h2" variant="headingMd">
                    Left to Shopify's own email
                  </Text>
                  <Text as="p">
                    {number(overview.heldForShopifyEmail, locale)} {overview.heldForShopifyEmail === 1 ? "cart was" : "carts were"} held in this period because
                    Shopify's own abandoned-checkout email had already been sent or scheduled for {overview.heldForShopifyEmail === 1 ? "it" : "them"}, so the
                    buyer is not emailed twice.
                  </Text>
                  <Box>
                    <Button variant="plain" url="/app/settings#shopify-email">
                      Change this in Settings
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

function Stat({ label, value, detail, others, testId }: { label: string; value: string; detail: string; others?: string | null; testId?: string }) {
  return (
    <Card>
      <div data-testid={testId} data-stat={label}>
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
  return <PageError title="Overview" />;
}
