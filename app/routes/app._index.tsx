import type { ActionFunctionArgs, LoaderFunctionArgs } from "@remix-run/node";
import { json } from "@remix-run/node";
import { Form, useLoaderData, useNavigation, useSearchParams, useSubmit } from "@remix-run/react";
import {
  Badge, Banner, BlockStack, Box, Button, Card, DataTable, EmptyState, InlineGrid, InlineStack, Layout, List, Page, Select, Text,
} from "@shopify/polaris";
import { z } from "zod";
import { requireAdmin } from "../auth.server";
import { dateTime, money, number, percent } from "../components/format";
import { NavigationProgress, PageError } from "../components/page-states";
import { RecoveryChart } from "../components/recovery-chart";
import { db } from "../db.server";
import { env } from "../env.server";
import { NOT_CONTACTABLE_LABELS, type NotContactableReason } from "../components/labels";
import { loadOverview } from "../models/dashboard.server";
import { requestShopifySync } from "../sources/shopify/sync-request.server";
import { readFormWithLimit } from "../security/request-limits.server";

const PERIODS = ["7", "30", "90", "365"] as const;
const query = z.object({
  period: z.enum(PERIODS).catch("30"),
  currency: z.string().regex(/^[A-Z]{3}$/).optional().catch(undefined),
});

export const loader = async ({ request }: LoaderFunctionArgs) => {
  const { shop } = await requireAdmin(request);
  const params = query.parse(Object.fromEntries(new URL(request.url).searchParams));
  const now = new Date();
  const from = new Date(now.getTime() - (Number(params.period) - 1) * 86_400_000);
  const [overview, anyRecovery, shopifySync, stripe] = await Promise.all([
    loadOverview(db, { shopId: shop.id, from, to: now, currency: params.currency ?? shop.currency, consentPolicy: shop.consentPolicy, now }),
    db.recovery.findFirst({ where: { shopId: shop.id }, select: { id: true } }),
    db.sourceSync.findUnique({ where: { shopId_source: { shopId: shop.id, source: "shopify" } } }),
    db.stripeConnection.findFirst({ where: { shopId: shop.id }, orderBy: { createdAt: "desc" }, select: { lastEventAt: true, createdAt: true } }),
  ]);
  return json({
    // Only `npm run demo` sets it (refused in production): where the demo's captured emails can be read.
    demoInboxUrl: env.DEMO_INBOX_URL ?? null,
    period: params.period,
    locale: shop.locale,
    timezone: shop.timezone,
    overview,
    isEmpty: !anyRecovery,
    sync: {
      shopify: shopifySync
        ? { status: shopifySync.status, lastSuccessAt: shopifySync.lastSuccessAt?.toISOString() ?? null, lastError: shopifySync.lastError, backfillStatus: shopifySync.backfillStatus }
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

export default function Overview() {
  const { overview, locale, period, isEmpty, sync, timezone, demoInboxUrl } = useLoaderData<typeof loader>();
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
      <Select
        label="Period"
        options={[
          { label: "Last 7 days", value: "7" },
          { label: "Last 30 days", value: "30" },
          { label: "Last 90 days", value: "90" },
          { label: "Last 12 months", value: "365" },
        ]}
        value={period}
        onChange={(v) => setParam("period", v)}
      />
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
    ["Recovered by link", ...rows.map((f) => `${number(f.recoveredByLink.count, locale)} · ${fmtMoney(f.recoveredByLink.revenueMinor)}`), `${number(t.recoveredByLink.count, locale)} · ${fmtMoney(t.recoveredByLink.revenueMinor)}`],
    ["Recovered by window", ...rows.map((f) => `${number(f.recoveredByWindow.count, locale)} · ${fmtMoney(f.recoveredByWindow.revenueMinor)}`), `${number(t.recoveredByWindow.count, locale)} · ${fmtMoney(t.recoveredByWindow.revenueMinor)}`],
    ["Recovery rate (link)", ...rows.map((f) => percent(f.abandoned ? f.recoveredByLink.count / f.abandoned : null, locale)), percent(overview.recoveryRate, locale)],
  ];
  const notContactable = (Object.entries(t.notContactable) as [NotContactableReason, number][]).filter(([, n]) => n > 0);

  const syncCard = (
    <Card>
      <BlockStack gap="300">
        <Text as="h2" variant="headingMd">Sources</Text>
        <InlineStack align="space-between" blockAlign="center">
          <BlockStack gap="100">
            <InlineStack gap="200">
              <Text as="span" fontWeight="semibold">Shopify checkouts</Text>
              {sync.shopify ? (
                <Badge tone={sync.shopify.status === "healthy" ? "success" : sync.shopify.status === "degraded" ? "warning" : "critical"}>{sync.shopify.status}</Badge>
              ) : (
                <Badge>not synced yet</Badge>
              )}
            </InlineStack>
            <Text as="p" tone="subdued">
              {sync.shopify?.lastSuccessAt ? `Last synced ${dateTime(sync.shopify.lastSuccessAt, locale, timezone)}` : "No successful sync yet"}
            </Text>
            {sync.shopify?.lastError ? <Text as="p" tone="critical">{sync.shopify.lastError}</Text> : null}
          </BlockStack>
          <Form method="post">
            <input type="hidden" name="intent" value="sync" />
            <Button submit loading={syncing}>Sync now</Button>
          </Form>
        </InlineStack>
        <InlineStack align="space-between" blockAlign="center">
          <BlockStack gap="100">
            <InlineStack gap="200">
              <Text as="span" fontWeight="semibold">Stripe Checkout</Text>
              {sync.stripe ? <Badge tone="success">connected</Badge> : <Badge>not connected</Badge>}
            </InlineStack>
            <Text as="p" tone="subdued">
              {sync.stripe?.lastEventAt ? `Last event ${dateTime(sync.stripe.lastEventAt, locale, timezone)}` : sync.stripe ? "Waiting for the first event" : "Connect Stripe to recover Stripe Checkout sessions too"}
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
          <Layout.Section>
            <Card>
              <EmptyState heading="No abandoned carts yet" image="" action={{ content: "Review your campaign", url: "/app/campaigns" }} secondaryAction={{ content: "Connect Stripe", url: "/app/settings/stripe" }}>
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
        <Layout.Section>
          <BlockStack gap="400">
            {filters}
            <InlineGrid columns={{ xs: 1, sm: 2, md: 4 }} gap="400">
              <Stat label="Abandoned" value={number(t.abandoned, locale)} detail={fmtMoney(t.abandonedValueMinor)} />
              <Stat label="Contactable" value={percent(t.abandoned ? t.contactable / t.abandoned : null, locale)} detail={`${number(t.contactable, locale)} of ${number(t.abandoned, locale)}`} />
              <Stat label="Recovered by link" value={fmtMoney(t.recoveredByLink.revenueMinor)} detail={`${number(t.recoveredByLink.count, locale)} ${t.recoveredByLink.count === 1 ? "cart" : "carts"} after a Reclaim email · rate ${percent(overview.recoveryRate, locale)}`} />
              <Stat label="Recovered by window" value={fmtMoney(t.recoveredByWindow.revenueMinor)} detail={`${number(t.recoveredByWindow.count, locale)} ${t.recoveredByWindow.count === 1 ? "order" : "orders"} after a click (reported apart)`} />
            </InlineGrid>
            <Card>
              <BlockStack gap="200">
                <Text as="h2" variant="headingMd">Abandoned and recovered per day</Text>
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
                <Text as="h2" variant="headingMd">Why some carts can't be emailed</Text>
                {notContactable.length === 0 ? (
                  <Text as="p" tone="subdued">Every abandoned cart in this period can be contacted.</Text>
                ) : (
                  <List>
                    {notContactable.map(([reason, n]) => (
                      <List.Item key={reason}>{NOT_CONTACTABLE_LABELS[reason]}: {number(n, locale)}</List.Item>
                    ))}
                  </List>
                )}
                <Box>
                  <Text as="p" tone="subdued" variant="bodySm">Emails sent: {number(t.emailsSent, locale)} · clicks: {number(t.clicks, locale)}</Text>
                </Box>
              </BlockStack>
            </Card>
            {overview.heldForShopifyEmail > 0 ? (
              <Card>
                <BlockStack gap="200">
                  <Text as="h2" variant="headingMd">Left to Shopify's own email</Text>
                  <Text as="p">
                    {number(overview.heldForShopifyEmail, locale)} {overview.heldForShopifyEmail === 1 ? "cart was" : "carts were"} held in this period because
                    Shopify's own abandoned-checkout email had already been sent or scheduled for {overview.heldForShopifyEmail === 1 ? "it" : "them"}, so the buyer is not emailed twice.
                  </Text>
                  <Box>
                    <Button variant="plain" url="/app/settings#shopify-email">Change this in Settings</Button>
                  </Box>
                </BlockStack>
              </Card>
            ) : null}
          </BlockStack>
        </Layout.Section>
      </Layout>
    </Page>
  );
}

function Stat({ label, value, detail }: { label: string; value: string; detail: string }) {
  return (
    <Card>
      <BlockStack gap="100">
        <Text as="h3" variant="headingSm" tone="subdued">{label}</Text>
        <Text as="p" variant="headingXl">{value}</Text>
        <Text as="p" variant="bodySm" tone="subdued">{detail}</Text>
      </BlockStack>
    </Card>
  );
}

export function ErrorBoundary() {
  return <PageError title="Overview" />;
}
