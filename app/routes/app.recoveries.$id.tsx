import type { ActionFunctionArgs, LoaderFunctionArgs } from "@remix-run/node";
import { json } from "@remix-run/node";
import { Form, Link as RemixLink, useActionData, useLoaderData, useNavigation } from "@remix-run/react";
import {
  Badge, Banner, BlockStack, Box, Button, Card, InlineStack, Layout, Modal, Page, Text, Thumbnail,
} from "@shopify/polaris";
import { useState } from "react";
import { requireAdmin } from "../auth.server";
import { dateTime, money } from "../components/format";
import { NavigationProgress, PageError } from "../components/page-states";
import { db } from "../db.server";
import { loadRecoveryDetail } from "../models/dashboard.server";
import { sendNextStepNow, stopRecovery } from "../models/recovery-actions.server";
import { readFormWithLimit } from "../security/request-limits.server";

export const loader = async ({ request, params }: LoaderFunctionArgs) => {
  const { shop } = await requireAdmin(request);
  const recovery = await loadRecoveryDetail(db, shop.id, params.id ?? "");
  if (!recovery) throw new Response("Recovery not found", { status: 404 });
  const flowTriggers = await db.flowTriggerDelivery.findMany({
    where: { shopId: shop.id, conversion: { recoveryId: params.id ?? "" } },
    orderBy: { createdAt: "asc" },
    select: { id: true, status: true, sentAt: true, lastError: true },
  });
  return json({ recovery, flowTriggers, locale: shop.locale, timezone: shop.timezone });
};

export const action = async ({ request, params }: ActionFunctionArgs) => {
  const { shop } = await requireAdmin(request);
  const form = await readFormWithLimit(request);
  const intent = form.get("intent");
  if (intent === "stop") {
    const result = await stopRecovery(db, shop.id, params.id ?? "", new Date());
    if (!result) throw new Response("Recovery not found", { status: 404 });
    return json({ ok: true, message: `Stopped: ${result.cancelled} pending email(s) cancelled.` });
  }
  if (intent === "send-now") {
    const result = await sendNextStepNow(db, shop.id, params.id ?? "", new Date());
    if (result === null) throw new Response("Recovery not found", { status: 404 });
    if (result === "none") return json({ ok: false, message: "There is no scheduled email left to send." }, { status: 409 });
    return json({ ok: true, message: "The next email is going out now (the usual checks still apply)." });
  }
  return json({ ok: false, message: "Unknown action" }, { status: 400 });
};

const CONSENT_LABEL: Record<string, string> = { opt_in: "Opted in to marketing", opt_out: "Opted out of marketing", unknown: "No consent recorded" };

export default function RecoveryDetail() {
  const { recovery: r, flowTriggers, locale, timezone } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const navigation = useNavigation();
  const [confirming, setConfirming] = useState(false);
  const busy = navigation.state === "submitting";
  const evidence = Object.entries(r.consentEvidence);

  return (
    <Page
      backAction={{ content: "Recoveries", url: "/app/recoveries" }}
      title={r.name ?? "Recovery"}
      titleMetadata={<InlineStack gap="200"><Badge tone={r.source === "shopify" ? "success" : "info"}>{r.source === "shopify" ? "Shopify" : "Stripe"}</Badge><Badge>{r.status}</Badge>{r.checkoutMode === "subscription" ? <Badge tone="info">Subscription</Badge> : null}{r.pixelOnly ? <Badge tone="attention">Unconfirmed (seen at checkout)</Badge> : null}</InlineStack>}
      subtitle={`Abandoned ${dateTime(r.abandonedAt, locale, timezone)} · ${money(r.totalMinor, r.currency, locale)}`}
    >
      <NavigationProgress />
      <Layout>
        {result ? (
          <Layout.Section>
            <Banner tone={result.ok ? "success" : "warning"}>{result.message}</Banner>
          </Layout.Section>
        ) : null}
        {r.pixelOnly || (r.pixelCompletedAt && r.status !== "recovered") ? (
          <Layout.Section>
            <Banner tone="info" title={r.pixelOnly ? "Unconfirmed: seen at checkout by Reclaim's pixel" : "Completion reported by the checkout pixel"}>
              {r.pixelOnly
                ? "Shopify has not confirmed this checkout yet. Reclaim emails nobody about it until the next sync or a Shopify webhook confirms it; then Shopify's email address and consent are used."
                : `The pixel reported this checkout completed on ${dateTime(r.pixelCompletedAt!, locale, timezone)}. Emails wait up to 2 hours for Shopify's order; without one, reminders resume.`}
            </Banner>
          </Layout.Section>
        ) : null}
        <Layout.Section>
          <BlockStack gap="400">
            <Card>
              <BlockStack gap="300">
                <Text as="h2" variant="headingMd">Cart</Text>
                {r.lineItems.length === 0 ? (
                  <Text as="p" tone="subdued">No line items were available for this cart.</Text>
                ) : (
                  r.lineItems.map((item, i) => (
                    <InlineStack key={i} gap="300" blockAlign="center" wrap={false}>
                      <Thumbnail source={item.imageUrl ?? "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg'/%3E"} alt={item.title} size="small" />
                      <Box width="100%">
                        <Text as="p" fontWeight="semibold">{item.title}</Text>
                        {item.variantTitle ? <Text as="p" tone="subdued">{item.variantTitle}</Text> : null}
                      </Box>
                      <Text as="span" numeric>{item.quantity} × {money(item.unitPriceMinor, r.currency, locale)}</Text>
                      <Text as="span" numeric fontWeight="semibold">{money(item.totalPriceMinor, r.currency, locale)}</Text>
                    </InlineStack>
                  ))
                )}
                <InlineStack align="end"><Text as="p" variant="headingSm">Total {money(r.totalMinor, r.currency, locale)}</Text></InlineStack>
              </BlockStack>
            </Card>
            <Card>
              <BlockStack gap="300">
                <Text as="h2" variant="headingMd">Timeline</Text>
                <ol style={{ listStyle: "none", padding: 0, margin: 0 }}>
                  {r.timeline.map((e, i) => (
                    <li key={i} style={{ padding: "8px 0", borderTop: i ? "1px solid var(--p-color-border-secondary)" : undefined }}>
                      <InlineStack gap="300" wrap={false} blockAlign="start">
                        <Box minWidth="150px"><Text as="span" tone="subdued" variant="bodySm">{dateTime(e.at, locale, timezone)}</Text></Box>
                        <BlockStack gap="050">
                          <Text as="span">{e.label}</Text>
                          {"detail" in e && e.detail && e.kind === "message" ? <Text as="span" tone="subdued" variant="bodySm">Reason: {e.detail}</Text> : null}
                          {e.kind === "conversion" ? <Text as="span" tone="success" variant="bodySm">{money(e.amountMinor, e.currency, locale)}</Text> : null}
                        </BlockStack>
                      </InlineStack>
                    </li>
                  ))}
                </ol>
                {flowTriggers.map((f) => (
                  <Text key={f.id} as="p" tone={f.status === "failed" ? "critical" : "subdued"} variant="bodySm">
                    {`Shopify Flow “Checkout recovered”: ${f.status === "sent" && f.sentAt ? `sent ${dateTime(f.sentAt, locale, timezone)}` : f.status === "failed" ? `not sent (${f.lastError ?? "failed"})` : "waiting to be sent"}. `}
                    <RemixLink to="/app/settings/flow">Trigger deliveries</RemixLink>
                  </Text>
                ))}
              </BlockStack>
            </Card>
          </BlockStack>
        </Layout.Section>
        <Layout.Section variant="oneThird">
          <BlockStack gap="400">
            <Card>
              <BlockStack gap="200">
                <Text as="h2" variant="headingMd">Contact</Text>
                <Text as="p">{r.email ?? "No email address"}{r.firstName ? ` (${r.firstName})` : ""}</Text>
                {r.notContactableReason ? <Badge tone="warning">{r.notContactableReason === "no_email" ? "Cannot be emailed: no email" : "Cannot be emailed: no recovery link"}</Badge> : null}
                {r.contact?.unsubscribedAt ? <Badge tone="warning">{`Unsubscribed ${dateTime(r.contact.unsubscribedAt, locale, timezone)}`}</Badge> : null}
                {r.contact?.suppressedAt ? <Badge tone="critical">{`Suppressed (${r.contact.suppressionReason ?? "manual"})`}</Badge> : null}
                <Text as="h3" variant="headingSm">Consent</Text>
                <Text as="p">{CONSENT_LABEL[r.consent] ?? r.consent}</Text>
                {evidence.length > 0 ? (
                  <Box background="bg-surface-secondary" padding="200" borderRadius="200">
                    <pre style={{ margin: 0, whiteSpace: "pre-wrap", fontSize: 12 }}>{JSON.stringify(r.consentEvidence, null, 2)}</pre>
                  </Box>
                ) : null}
                {r.recoveryUrlExpiresAt ? <Text as="p" tone="subdued">Recovery link valid until {dateTime(r.recoveryUrlExpiresAt, locale, timezone)}</Text> : null}
              </BlockStack>
            </Card>
            <Card>
              <BlockStack gap="200">
                <Text as="h2" variant="headingMd">Actions</Text>
                <Text as="p" tone="subdued">{r.pendingMessages} email(s) scheduled.</Text>
                <Form method="post">
                  <input type="hidden" name="intent" value="stop" />
                  <Button submit tone="critical" disabled={r.pendingMessages === 0} loading={busy && navigation.formData?.get("intent") === "stop"}>Stop emails for this cart</Button>
                </Form>
                <Button onClick={() => setConfirming(true)} disabled={r.pendingMessages === 0}>Send the next email now…</Button>
              </BlockStack>
            </Card>
          </BlockStack>
        </Layout.Section>
      </Layout>
      <Modal open={confirming} onClose={() => setConfirming(false)} title="Send the next email now?">
        <Modal.Section>
          <Form method="post" onSubmit={() => setConfirming(false)}>
            <BlockStack gap="300">
              <Text as="p">The next scheduled email goes out now instead of at its planned time. Consent, unsubscribes and purchases are still checked first.</Text>
              <input type="hidden" name="intent" value="send-now" />
              <InlineStack gap="200" align="end">
                <Button onClick={() => setConfirming(false)}>Cancel</Button>
                <Button submit variant="primary">Send now</Button>
              </InlineStack>
            </BlockStack>
          </Form>
        </Modal.Section>
      </Modal>
    </Page>
  );
}

export function ErrorBoundary() {
  return <PageError title="Recovery" />;
}
