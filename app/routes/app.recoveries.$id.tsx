import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { json } from "@remix-run/node";
import { Form, Link as RemixLink, useActionData, useLoaderData, useNavigation } from "@remix-run/react";
import { Banner, BlockStack, Box, Button, Card, InlineStack, Layout, Modal, Page, Text, Thumbnail } from "@shopify/polaris";
import { useState, type ReactNode } from "react";
import { requireAdmin } from "../auth.server";
import { KindBadge, LabelledBadge, SourceBadge } from "../components/badges";
import { PaymentFacts } from "../components/payment-facts";
import { dateTime, money } from "../components/format";
import { pageTitle } from "../components/page-title";
import { RECOVERY_STATUS_TONE, recoveryStatusLabel } from "../components/labels";
import { reasonInWords } from "../recovery/timeline";
import { NavigationProgress, PageError } from "../components/page-states";
import { db } from "../db.server";
import { cartTitle } from "../models/recovery-list.server";
import { loadRecoveryDetail } from "../models/recovery-detail.server";
import { sendNextStepNow, stopRecovery } from "../models/recovery-actions.server";
import { flowTriggersOfRecovery } from "../models/flow-trigger.server";
import { readFormWithLimit } from "../security/request-limits.server";

export const loader = async ({ request, params }: LoaderFunctionArgs) => {
  const { shop } = await requireAdmin(request);
  const recovery = await loadRecoveryDetail(db, shop.id, params.id ?? "", {
    consentPolicy: shop.consentPolicy,
    formatAt: (iso) => dateTime(iso, shop.locale, shop.timezone),
  });
  if (!recovery) throw new Response("Recovery not found", { status: 404 });
  const title = cartTitle({ ...recovery, lineItems: JSON.stringify(recovery.lineItems) });
  const flowTriggers = await flowTriggersOfRecovery(db, shop.id, params.id ?? "");
  return json({ recovery, title, flowTriggers, locale: shop.locale, timezone: shop.timezone });
};

export const meta: MetaFunction<typeof loader> = ({ data }) => [{ title: pageTitle(data ? `${data.title} · Recoveries` : "Recovery") }];

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
  const { recovery: r, title, flowTriggers, locale, timezone } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const navigation = useNavigation();
  const [confirming, setConfirming] = useState<null | "send-now" | "stop">(null);
  const busy = navigation.state === "submitting";
  const evidence = Object.entries(r.consentEvidence);
  const wont = r.wontBeEmailed ? `Won't be emailed: ${reasonInWords(r.wontBeEmailed)}` : null;

  return (
    <Page
      backAction={{ content: "Recoveries", url: "/app/recoveries" }}
      title={title}
      titleMetadata={
        <InlineStack gap="200">
          <SourceBadge source={r.source} />
          {r.kind === "payment" ? <KindBadge kind={r.kind} /> : null}
          <LabelledBadge what="Status" tone={RECOVERY_STATUS_TONE[r.status]}>
            {recoveryStatusLabel(r.status, r.kind)}
          </LabelledBadge>
          {wont ? (
            <LabelledBadge what="Note" tone="warning">
              {wont}
            </LabelledBadge>
          ) : null}
          {r.checkoutMode === "subscription" ? (
            <LabelledBadge what="Mode" tone="info">
              Subscription
            </LabelledBadge>
          ) : null}
          {r.pixelOnly ? (
            <LabelledBadge what="Note" tone="attention">
              Unconfirmed (seen at checkout)
            </LabelledBadge>
          ) : null}
        </InlineStack>
      }
      subtitle={`${r.kind === "payment" ? "Payment failed" : "Abandoned"} ${dateTime(r.abandonedAt, locale, timezone)} · ${money(r.totalMinor, r.currency, locale)}`}
    >
      <NavigationProgress />
      <Layout>
        {result ? (
          <Layout.Section>
            <Banner tone={result.ok ? "success" : "warning"}>{result.message}</Banner>
          </Layout.Section>
        ) : null}
        {r.payment ? (
          <Layout.Section>
            <PaymentFacts
              payment={r.payment}
              invoiceId={r.externalId}
              hostedInvoiceUrl={r.recoveryUrl}
              amountDue={money(r.totalMinor, r.currency, locale)}
              formatAt={(iso) => dateTime(iso, locale, timezone)}
            />
          </Layout.Section>
        ) : null}
        {wont ? (
          <Layout.Section>
            <Banner tone="warning" title={wont}>
              Reclaim checks again before every email, so this changes if, for example, the buyer agrees to marketing emails at a later checkout.
            </Banner>
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
                <Text as="h2" variant="headingMd">
                  Cart
                </Text>
                {r.lineItems.length === 0 ? (
                  <Text as="p" tone="subdued">
                    No line items were available for this cart.
                  </Text>
                ) : (
                  r.lineItems.map((item, i) => (
                    <InlineStack key={i} gap="300" blockAlign="center" wrap={false}>
                      <Thumbnail source={item.imageUrl ?? "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg'/%3E"} alt={item.title} size="small" />
                      <Box width="100%">
                        <Text as="p" fontWeight="semibold">
                          {item.title}
                        </Text>
                        {item.variantTitle ? (
                          <Text as="p" tone="subdued">
                            {item.variantTitle}
                          </Text>
                        ) : null}
                      </Box>
                      <Text as="span" numeric>
                        {item.quantity} × {money(item.unitPriceMinor, r.currency, locale)}
                      </Text>
                      <Text as="span" numeric fontWeight="semibold">
                        {money(item.totalPriceMinor, r.currency, locale)}
                      </Text>
                    </InlineStack>
                  ))
                )}
                <InlineStack align="end">
                  <Text as="p" variant="headingSm">
                    Total {money(r.totalMinor, r.currency, locale)}
                  </Text>
                </InlineStack>
              </BlockStack>
            </Card>
            <Card>
              <BlockStack gap="300">
                <Text as="h2" variant="headingMd">
                  Timeline
                </Text>
                <ol style={{ listStyle: "none", padding: 0, margin: 0 }} aria-label="Timeline">
                  {r.timeline.map((e, i) => (
                    <li key={i} style={{ padding: "8px 0", borderTop: i ? "1px solid var(--p-color-border-secondary)" : undefined }}>
                      <InlineStack gap="300" wrap={false} blockAlign="start">
                        <Box minWidth="150px">
                          <Text as="span" tone="subdued" variant="bodySm">
                            {dateTime(e.at, locale, timezone)}
                          </Text>
                        </Box>
                        <div style={{ minWidth: 0, overflowWrap: "anywhere" }}>
                          <BlockStack gap="100">
                            <Text as="p">{e.label}</Text>
                            {e.kind === "conversion" ? (
                              <Text as="span" tone="success" variant="bodySm">
                                {money(e.amountMinor, e.currency, locale)}
                              </Text>
                            ) : null}
                            {e.kind === "message" && e.viewableMessageId ? (
                              <RemixLink to={`/app/recoveries/${r.id}/emails/${e.viewableMessageId}`}>View this email</RemixLink>
                            ) : null}
                            {e.kind === "message" && (e.technical.length > 0 || e.detail) ? (
                              <TechnicalDetails>
                                {e.technical.map((t, j) => (
                                  <p key={j} style={{ margin: "0 0 4px" }}>
                                    <code>
                                      {t.outcome} · {t.reason}
                                    </code>{" "}
                                    ({dateTime(t.at, locale, timezone)}){t.detail ? `: ${t.detail}` : ""}
                                  </p>
                                ))}
                                {e.detail ? <p style={{ margin: 0 }}>Last error: {e.detail}</p> : null}
                              </TechnicalDetails>
                            ) : null}
                          </BlockStack>
                        </div>
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
                <Text as="h2" variant="headingMd">
                  Contact
                </Text>
                <Text as="p">
                  {r.email ?? "No email address"}
                  {r.firstName ? ` (${r.firstName})` : ""}
                </Text>
                {r.contact?.unsubscribedAt ? (
                  <LabelledBadge what="Note" tone="warning">{`Unsubscribed ${dateTime(r.contact.unsubscribedAt, locale, timezone)}`}</LabelledBadge>
                ) : null}
                {r.contact?.suppressedAt ? (
                  <LabelledBadge
                    what="Note"
                    tone="critical"
                  >{`Suppressed: ${reasonInWords(r.contact.suppressionReason === "hard_bounce" ? "hard_bounce" : "suppressed")}`}</LabelledBadge>
                ) : null}
                <Text as="h3" variant="headingSm">
                  Consent
                </Text>
                <Text as="p">
                  {r.kind === "payment"
                    ? "Not needed: a notice about an existing subscription (unsubscribes are honoured)"
                    : (CONSENT_LABEL[r.consent] ?? r.consent)}
                </Text>
                {evidence.length > 0 ? (
                  <TechnicalDetails>
                    <pre style={{ margin: 0, whiteSpace: "pre-wrap", overflowWrap: "anywhere", fontSize: 12 }}>
                      {JSON.stringify(r.consentEvidence, null, 2)}
                    </pre>
                  </TechnicalDetails>
                ) : null}
                {r.recoveryUrlExpiresAt ? (
                  <Text as="p" tone="subdued">
                    Recovery link valid until {dateTime(r.recoveryUrlExpiresAt, locale, timezone)}
                  </Text>
                ) : null}
              </BlockStack>
            </Card>
            <Card>
              <BlockStack gap="200">
                <Text as="h2" variant="headingMd">
                  Actions
                </Text>
                <Text as="p" tone="subdued">
                  {wont
                    ? `No email will be sent: ${reasonInWords(r.wontBeEmailed)}.`
                    : `${r.pendingMessages} ${r.pendingMessages === 1 ? "email" : "emails"} scheduled.`}
                </Text>
                <InlineStack gap="200">
                  <Button
                    tone="critical"
                    disabled={r.pendingMessages === 0}
                    loading={busy && navigation.formData?.get("intent") === "stop"}
                    onClick={() => setConfirming("stop")}
                  >
                    Stop emails for this cart…
                  </Button>
                  {/* A recovery that won't be emailed offers no send: the send would only be skipped again. */}
                  {wont ? null : (
                    <Button onClick={() => setConfirming("send-now")} disabled={r.pendingMessages === 0}>
                      Send the next email now…
                    </Button>
                  )}
                </InlineStack>
              </BlockStack>
            </Card>
          </BlockStack>
        </Layout.Section>
      </Layout>
      <Modal open={confirming === "send-now"} onClose={() => setConfirming(null)} title="Send the next email now?">
        <Modal.Section>
          <Form method="post" onSubmit={() => setConfirming(null)}>
            <BlockStack gap="300">
              <Text as="p">
                The next scheduled email goes out now instead of at its planned time. Consent, unsubscribes and purchases are still checked first.
              </Text>
              <input type="hidden" name="intent" value="send-now" />
              <InlineStack gap="200" align="end">
                <Button onClick={() => setConfirming(null)}>Cancel</Button>
                <Button submit variant="primary">
                  Send now
                </Button>
              </InlineStack>
            </BlockStack>
          </Form>
        </Modal.Section>
      </Modal>
      <Modal open={confirming === "stop"} onClose={() => setConfirming(null)} title="Stop emails for this cart?">
        <Modal.Section>
          <Form method="post" onSubmit={() => setConfirming(null)}>
            <BlockStack gap="300">
              <Text as="p">
                {`The ${r.pendingMessages === 1 ? "scheduled email is" : `${r.pendingMessages} scheduled emails are`} cancelled and this buyer gets no further email about this cart. This cannot be undone.`}
              </Text>
              <input type="hidden" name="intent" value="stop" />
              <InlineStack gap="200" align="end">
                <Button onClick={() => setConfirming(null)}>Keep emails</Button>
                <Button submit variant="primary" tone="critical">
                  Stop emails
                </Button>
              </InlineStack>
            </BlockStack>
          </Form>
        </Modal.Section>
      </Modal>
    </Page>
  );
}

/** Raw codes and evidence, closed by default: for support and the curious, not the first thing a merchant reads. */
function TechnicalDetails({ children }: { children: ReactNode }) {
  return (
    <details>
      <summary style={{ cursor: "pointer", color: "var(--p-color-text-secondary)", fontSize: 12 }}>Technical details</summary>
      <Box background="bg-surface-secondary" padding="200" borderRadius="200">
        <div style={{ fontSize: 12, overflowWrap: "anywhere" }}>{children}</div>
      </Box>
    </details>
  );
}

export function ErrorBoundary() {
  return <PageError title="Recovery" />;
}
