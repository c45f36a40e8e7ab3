import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { json } from "@remix-run/node";
import { Form, Link as RemixLink, useActionData, useLoaderData, useNavigation } from "@remix-run/react";
import { Banner, BlockStack, Box, Button, Card, InlineStack, Layout, Modal, Page, Text, Thumbnail } from "@shopify/polaris";
import { useState, type ReactNode } from "react";
import { useTranslation } from "react-i18next";
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
  const { shop, t, locale, language } = await requireAdmin(request);
  const recovery = await loadRecoveryDetail(db, shop.id, params.id ?? "", {
    consentPolicy: shop.consentPolicy,
    formatAt: (iso) => dateTime(iso, locale, shop.timezone),
    language,
  });
  if (!recovery) throw new Response("Recovery not found", { status: 404 });
  const title = cartTitle({ ...recovery, lineItems: JSON.stringify(recovery.lineItems) }, t);
  const flowTriggers = await flowTriggersOfRecovery(db, shop.id, params.id ?? "");
  return json({ recovery, title, metaTitle: t("recoveries:detail.metaTitle", { title }), flowTriggers, locale, timezone: shop.timezone });
};

export const meta: MetaFunction<typeof loader> = ({ data }) => [{ title: pageTitle(data ? data.metaTitle : "Recovery") }];

export const action = async ({ request, params }: ActionFunctionArgs) => {
  const { shop, t } = await requireAdmin(request);
  const form = await readFormWithLimit(request);
  const intent = form.get("intent");
  if (intent === "stop") {
    const result = await stopRecovery(db, shop.id, params.id ?? "", new Date());
    if (!result) throw new Response("Recovery not found", { status: 404 });
    return json({ ok: true, message: t("recoveries:detail.stopped", { cancelled: result.cancelled }) });
  }
  if (intent === "send-now") {
    const result = await sendNextStepNow(db, shop.id, params.id ?? "", new Date());
    if (result === null) throw new Response("Recovery not found", { status: 404 });
    if (result === "none") return json({ ok: false, message: t("recoveries:detail.nothingToSend") }, { status: 409 });
    return json({ ok: true, message: t("recoveries:detail.sendingNow") });
  }
  return json({ ok: false, message: t("recoveries:detail.unknownAction") }, { status: 400 });
};

const CONSENTS = new Set(["opt_in", "opt_out", "unknown"]);

export default function RecoveryDetail() {
  const { recovery: r, title, flowTriggers, locale, timezone } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const navigation = useNavigation();
  const [confirming, setConfirming] = useState<null | "send-now" | "stop">(null);
  const busy = navigation.state === "submitting";
  const { t } = useTranslation("recoveries");
  const evidence = Object.entries(r.consentEvidence);
  const wont = r.wontBeEmailed ? t("detail.wontBeEmailed", { reason: reasonInWords(r.wontBeEmailed, t) }) : null;
  const at = (iso: string) => dateTime(iso, locale, timezone);

  return (
    <Page
      backAction={{ content: t("detail.back"), url: "/app/recoveries" }}
      title={title}
      titleMetadata={
        <InlineStack gap="200">
          <SourceBadge source={r.source} />
          {r.kind === "payment" ? <KindBadge kind={r.kind} /> : null}
          <LabelledBadge what={t("badges.status")} tone={RECOVERY_STATUS_TONE[r.status]}>
            {recoveryStatusLabel(r.status, r.kind, t)}
          </LabelledBadge>
          {wont ? (
            <LabelledBadge what={t("badges.note")} tone="warning">
              {wont}
            </LabelledBadge>
          ) : null}
          {r.checkoutMode === "subscription" ? (
            <LabelledBadge what={t("badges.mode")} tone="info">
              {t("badges.subscription")}
            </LabelledBadge>
          ) : null}
          {r.pixelOnly ? (
            <LabelledBadge what={t("badges.note")} tone="attention">
              {t("badges.unconfirmed")}
            </LabelledBadge>
          ) : null}
        </InlineStack>
      }
      subtitle={t(r.kind === "payment" ? "detail.subtitlePaymentFailed" : "detail.subtitleAbandoned", {
        at: at(r.abandonedAt),
        total: money(r.totalMinor, r.currency, locale),
      })}
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
              formatAt={at}
            />
          </Layout.Section>
        ) : null}
        {wont ? (
          <Layout.Section>
            <Banner tone="warning" title={wont}>
              {t("detail.wontBeEmailedBody")}
            </Banner>
          </Layout.Section>
        ) : null}
        {r.pixelOnly || (r.pixelCompletedAt && r.status !== "recovered") ? (
          <Layout.Section>
            <Banner tone="info" title={r.pixelOnly ? t("detail.pixelUnconfirmedTitle") : t("detail.pixelCompletedTitle")}>
              {r.pixelOnly ? t("detail.pixelUnconfirmedBody") : t("detail.pixelCompletedBody", { at: at(r.pixelCompletedAt!) })}
            </Banner>
          </Layout.Section>
        ) : null}
        <Layout.Section>
          <BlockStack gap="400">
            <Card>
              <BlockStack gap="300">
                <Text as="h2" variant="headingMd">
                  {t("detail.cartHeading")}
                </Text>
                {r.lineItems.length === 0 ? (
                  <Text as="p" tone="subdued">
                    {t("detail.noLineItems")}
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
                    {t("detail.total", { total: money(r.totalMinor, r.currency, locale) })}
                  </Text>
                </InlineStack>
              </BlockStack>
            </Card>
            <Card>
              <BlockStack gap="300">
                <Text as="h2" variant="headingMd">
                  {t("detail.timelineHeading")}
                </Text>
                <ol style={{ listStyle: "none", padding: 0, margin: 0 }} aria-label={t("detail.timelineHeading")}>
                  {r.timeline.map((e, i) => (
                    <li key={i} style={{ padding: "8px 0", borderTop: i ? "1px solid var(--p-color-border-secondary)" : undefined }}>
                      <InlineStack gap="300" wrap={false} blockAlign="start">
                        <Box minWidth="150px">
                          <Text as="span" tone="subdued" variant="bodySm">
                            {at(e.at)}
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
                            {e.kind === "message" && e.language ? (
                              <Text as="span" tone="subdued" variant="bodySm">
                                {t("detail.emailLanguage", { language: t(`languageNames.${e.language}`) })}
                              </Text>
                            ) : null}
                            {e.kind === "message" && e.viewableMessageId ? (
                              <RemixLink to={`/app/recoveries/${r.id}/emails/${e.viewableMessageId}`}>{t("detail.viewEmail")}</RemixLink>
                            ) : null}
                            {e.kind === "message" && (e.technical.length > 0 || e.detail) ? (
                              <TechnicalDetails>
                                {e.technical.map((d, j) => (
                                  <p key={j} style={{ margin: "0 0 4px" }}>
                                    <code>
                                      {d.outcome} · {d.reason}
                                    </code>{" "}
                                    ({at(d.at)}){d.detail ? `: ${d.detail}` : ""}
                                  </p>
                                ))}
                                {e.detail ? <p style={{ margin: 0 }}>{t("detail.lastError", { error: e.detail })}</p> : null}
                              </TechnicalDetails>
                            ) : null}
                            {/* In another language than English, a decision's line is its reason; the English sentence stored with it stays here. */}
                            {e.kind === "decision" && e.detail && !e.label.includes(e.detail) ? (
                              <TechnicalDetails>
                                <p style={{ margin: 0 }}>
                                  <code>
                                    {e.outcome} · {e.reason}
                                  </code>
                                  {`: ${e.detail}`}
                                </p>
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
                    {f.status === "sent" && f.sentAt
                      ? t("detail.flowSent", { at: at(f.sentAt) })
                      : f.status === "failed"
                        ? t("detail.flowFailed", { error: f.lastError ?? t("detail.flowFailedUnknown") })
                        : t("detail.flowWaiting")}{" "}
                    <RemixLink to="/app/settings/flow">{t("detail.flowLink")}</RemixLink>
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
                  {t("detail.contactHeading")}
                </Text>
                <Text as="p">
                  {r.email ?? t("detail.noEmailAddress")}
                  {r.buyerName ? ` (${r.buyerName})` : ""}
                </Text>
                {r.contact?.unsubscribedAt ? (
                  <LabelledBadge what={t("badges.note")} tone="warning">
                    {t("detail.unsubscribedAt", { at: at(r.contact.unsubscribedAt) })}
                  </LabelledBadge>
                ) : null}
                {r.contact?.suppressedAt ? (
                  <LabelledBadge what={t("badges.note")} tone="critical">
                    {t("detail.suppressed", { reason: reasonInWords(r.contact.suppressionReason === "hard_bounce" ? "hard_bounce" : "suppressed", t) })}
                  </LabelledBadge>
                ) : null}
                <Text as="h3" variant="headingSm">
                  {t("detail.consentHeading")}
                </Text>
                <Text as="p">{r.kind === "payment" ? t("detail.consentPayment") : CONSENTS.has(r.consent) ? t(`detail.consent.${r.consent}`) : r.consent}</Text>
                {evidence.length > 0 ? (
                  <TechnicalDetails>
                    <pre style={{ margin: 0, whiteSpace: "pre-wrap", overflowWrap: "anywhere", fontSize: 12 }}>
                      {JSON.stringify(r.consentEvidence, null, 2)}
                    </pre>
                  </TechnicalDetails>
                ) : null}
                {r.recoveryUrlExpiresAt ? (
                  <Text as="p" tone="subdued">
                    {t("detail.linkValidUntil", { at: at(r.recoveryUrlExpiresAt) })}
                  </Text>
                ) : null}
              </BlockStack>
            </Card>
            <Card>
              <BlockStack gap="200">
                <Text as="h2" variant="headingMd">
                  {t("detail.actionsHeading")}
                </Text>
                <Text as="p" tone="subdued">
                  {wont ? t("detail.noEmailWillBeSent", { reason: reasonInWords(r.wontBeEmailed, t) }) : t("detail.scheduled", { count: r.pendingMessages })}
                </Text>
                <InlineStack gap="200">
                  <Button
                    tone="critical"
                    disabled={r.pendingMessages === 0}
                    loading={busy && navigation.formData?.get("intent") === "stop"}
                    onClick={() => setConfirming("stop")}
                  >
                    {t("detail.stopButton")}
                  </Button>
                  {/* A recovery that won't be emailed offers no send: the send would only be skipped again. */}
                  {wont ? null : (
                    <Button onClick={() => setConfirming("send-now")} disabled={r.pendingMessages === 0}>
                      {t("detail.sendNowButton")}
                    </Button>
                  )}
                </InlineStack>
              </BlockStack>
            </Card>
          </BlockStack>
        </Layout.Section>
      </Layout>
      <Modal open={confirming === "send-now"} onClose={() => setConfirming(null)} title={t("detail.sendNowTitle")}>
        <Modal.Section>
          <Form method="post" onSubmit={() => setConfirming(null)}>
            <BlockStack gap="300">
              <Text as="p">{t("detail.sendNowBody")}</Text>
              <input type="hidden" name="intent" value="send-now" />
              <InlineStack gap="200" align="end">
                <Button onClick={() => setConfirming(null)}>{t("detail.cancel")}</Button>
                <Button submit variant="primary">
                  {t("detail.sendNow")}
                </Button>
              </InlineStack>
            </BlockStack>
          </Form>
        </Modal.Section>
      </Modal>
      <Modal open={confirming === "stop"} onClose={() => setConfirming(null)} title={t("detail.stopTitle")}>
        <Modal.Section>
          <Form method="post" onSubmit={() => setConfirming(null)}>
            <BlockStack gap="300">
              <Text as="p">{t("detail.stopBody", { count: r.pendingMessages })}</Text>
              <input type="hidden" name="intent" value="stop" />
              <InlineStack gap="200" align="end">
                <Button onClick={() => setConfirming(null)}>{t("detail.keepEmails")}</Button>
                <Button submit variant="primary" tone="critical">
                  {t("detail.stopEmails")}
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
  const { t } = useTranslation("recoveries");
  return (
    <details>
      <summary style={{ cursor: "pointer", color: "var(--p-color-text-secondary)", fontSize: 12 }}>{t("detail.technicalDetails")}</summary>
      <Box background="bg-surface-secondary" padding="200" borderRadius="200">
        <div style={{ fontSize: 12, overflowWrap: "anywhere" }}>{children}</div>
      </Box>
    </details>
  );
}

export function ErrorBoundary() {
  const { t } = useTranslation("recoveries");
  return <PageError title={t("detail.errorTitle")} />;
}
