import type { ActionFunctionArgs, LoaderFunctionArgs } from "@remix-run/node";
import { json } from "@remix-run/node";
import type { ReactNode } from "react";
import { Form, Link as RemixLink, useActionData, useLoaderData, useNavigation } from "@remix-run/react";
import { Badge, Banner, BlockStack, Box, Button, Card, EmptyState, InlineCode, InlineStack, Layout, Page, Text } from "@shopify/polaris";
import { requireAdmin } from "../auth.server";
import { dateTime, money } from "../components/format";
import { NavigationProgress, PageError } from "../components/page-states";
import { db } from "../db.server";
import { CHECKOUT_RECOVERED_FIELDS, CHECKOUT_RECOVERED_HANDLE } from "../recovery/checkout-recovered";
import { listDeliveries, retryDelivery } from "../flow/deliveries.server";
import { readFormWithLimit } from "../security/request-limits.server";
import type { MetaFunction } from "@remix-run/node";
import type { TFunction } from "i18next";
import { Trans, useTranslation } from "react-i18next";
import { pageTitle } from "../components/page-title";

/**
 * Settings → Shopify Flow: what the "Checkout recovered" trigger carries, and every recent delivery of it (sent, waiting
 * for its next attempt with the last error, or failed) with a Retry for the ones that did not get through.
 * Every query is scoped to the signed-in shop; another shop's delivery is "not found".
 */
/**
 * A delivery's last error is stored in English (FlowTriggerDelivery.lastError, written by the job, which has no admin
 * language; app/flow/deliveries.server.ts): each known sentence is recognised here and shown in the admin's language,
 * with Shopify's own message kept as it is. An unknown sentence is shown as stored.
 */
const DELIVERY_ERRORS: [RegExp, string][] = [
  [/^Shopify Flow refused the trigger: (.*)$/s, "flowRefused"],
  [/^Shopify was rate limiting Reclaim's requests\.$/, "throttled"],
  [/^Shopify could not be reached \((.*)\)\.$/s, "unreachable"],
  [/^Reclaim has no valid access to this store \((.*)\)\. Opening Reclaim from the Shopify admin, or reinstalling it, restores access\.$/s, "unauthorized"],
  [/^Shopify denied access: (.*)$/s, "accessDenied"],
  [/^Shopify answered with an error: (.*)$/s, "failed"],
  [/^Not sent: the purchase no longer counts as recovered \((.*)\)\.$/s, "withdrawn"],
  [/^Not sent: Reclaim was uninstalled from this store\.$/, "uninstalled"],
];

/** Why a purchase stopped counting (Conversion.reversedReason): a known code in the admin's language, anything else as stored. */
const reversedReason = (t: TFunction, reason: string) => t(`integrations:flow.reversedReasons.${reason}`, { defaultValue: reason });

function translateDeliveryError(t: TFunction, error: string): string {
  for (const [pattern, key] of DELIVERY_ERRORS) {
    const match = pattern.exec(error);
    if (!match) continue;
    const detail = match[1] ?? "";
    return t(`integrations:flow.errors.${key}`, { detail: key === "withdrawn" ? reversedReason(t, detail) : detail });
  }
  return error;
}

/** What retryDelivery answers (app/flow/deliveries.server.ts), in the admin's language. */
const RETRY_MESSAGES: Record<string, string> = {
  "This trigger delivery does not exist.": "notFound",
  "This trigger was already sent to Shopify Flow.": "alreadySent",
  "This trigger was withdrawn: the purchase no longer counts as recovered.": "withdrawn",
};
const translateRetry = (t: TFunction, message: string) => (RETRY_MESSAGES[message] ? t(`integrations:flow.retry.${RETRY_MESSAGES[message]}`) : message);

export const loader = async ({ request }: LoaderFunctionArgs) => {
  const { shop, t, locale } = await requireAdmin(request);
  const { rows, counts } = await listDeliveries(db, shop.id);
  return json({
    title: t("integrations:flow.metaTitle"),
    handle: CHECKOUT_RECOVERED_HANDLE,
    fields: CHECKOUT_RECOVERED_FIELDS.map((f) => ({
      payloadKey: f.payloadKey,
      type: f.type,
      description: t(`integrations:flow.fieldDescriptions.${f.payloadKey}`, { defaultValue: f.description }),
    })),
    deliveries: rows.map((d) => ({
      ...d,
      lastError: d.lastError && translateDeliveryError(t, d.lastError),
      reversed: d.reversed && { ...d.reversed, reason: reversedReason(t, d.reversed.reason) },
    })),
    counts,
    locale,
    timezone: shop.timezone,
  });
};

export const action = async ({ request }: ActionFunctionArgs) => {
  const { shop, t } = await requireAdmin(request);
  const form = await readFormWithLimit(request);
  const intent = String(form.get("intent") ?? "");
  const deliveryId = String(form.get("deliveryId") ?? "").trim();
  if (intent !== "retry") return json({ ok: false, message: t("integrations:flow.unknownAction") }, { status: 400 });
  if (!deliveryId) return json({ ok: false, message: t("integrations:flow.missingDeliveryId") }, { status: 400 });
  const result = await retryDelivery(db, shop.id, deliveryId, new Date());
  if (!result.ok && result.status === 404) throw new Response(translateRetry(t, result.message), { status: 404 });
  if (!result.ok) return json({ ok: false, message: translateRetry(t, result.message) }, { status: result.status });
  return json({ ok: true, message: t("integrations:flow.queued") });
};

/** Flow's field types with a label (flow.types.<type>); any other is shown as Flow names it. */
const TYPE_LABELS = new Set(["customer_reference", "number_decimal", "single_line_text_field", "url"]);
const STATUS_TONE = { sent: "success", pending: "attention", failed: "critical", withdrawn: undefined } as const;

export const meta: MetaFunction<typeof loader> = ({ data }) => [{ title: pageTitle(data?.title ?? "Shopify Flow · Settings") }];

const Strong = ({ children }: { children?: ReactNode }) => (
  <Text as="span" fontWeight="semibold">
    {children}
  </Text>
);
const Code = ({ children }: { children?: ReactNode }) => <InlineCode>{children}</InlineCode>;

export default function FlowSettings() {
  const { handle, fields, deliveries, counts, locale, timezone } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const navigation = useNavigation();
  const retrying = (id: string) => navigation.state === "submitting" && navigation.formData?.get("deliveryId") === id;
  const { t } = useTranslation("integrations");
  const when = (iso: string) => dateTime(iso, locale, timezone);

  return (
    <Page backAction={{ content: t("common:nav.settings"), url: "/app/settings" }} title={t("flow.title")} subtitle={t("flow.subtitle")}>
      <NavigationProgress />
      <Layout>
        {result ? (
          <Layout.Section>
            <Banner tone={result.ok ? "success" : "warning"}>{result.message}</Banner>
          </Layout.Section>
        ) : null}
        {counts.failed > 0 ? (
          <Layout.Section>
            <Banner tone="critical" title={t("flow.failedBanner.title", { count: counts.failed })}>
              <p>{t("flow.failedBanner.body")}</p>
            </Banner>
          </Layout.Section>
        ) : null}

        <Layout.Section>
          <Card>
            <BlockStack gap="300">
              <Text as="h2" variant="headingMd">
                {t("flow.carries.heading")}
              </Text>
              <Text as="p">
                <Trans t={t} i18nKey="flow.carries.intro" values={{ handle }} components={{ b: <Strong />, code: <Code /> }} />
              </Text>
              <ul style={{ listStyle: "none", padding: 0, margin: 0 }}>
                {fields.map((f, i) => (
                  <li key={f.payloadKey} style={{ padding: "8px 0", borderTop: i ? "1px solid var(--p-color-border-secondary)" : undefined }}>
                    <BlockStack gap="100">
                      <InlineStack gap="200" blockAlign="center">
                        <Text as="span" fontWeight="semibold">
                          {f.type === "customer_reference" ? t("flow.customerField") : f.payloadKey}
                        </Text>
                        <Badge>{TYPE_LABELS.has(f.type) ? t(`flow.types.${f.type}`) : f.type}</Badge>
                      </InlineStack>
                      <Text as="p" tone="subdued">
                        {f.description}
                      </Text>
                    </BlockStack>
                  </li>
                ))}
              </ul>
              <Text as="p" tone="subdued">
                {t("flow.carries.atLeastOnce")}
              </Text>
            </BlockStack>
          </Card>
        </Layout.Section>

        <Layout.Section>
          <Card>
            <BlockStack gap="300">
              <InlineStack align="space-between" blockAlign="center">
                <Text as="h2" variant="headingMd">
                  {t("flow.deliveries.heading")}
                </Text>
                <InlineStack gap="200">
                  <Badge tone="success">{t("flow.deliveries.sentCount", { count: counts.sent })}</Badge>
                  <Badge tone="attention">{t("flow.deliveries.pendingCount", { count: counts.pending })}</Badge>
                  <Badge tone={counts.failed > 0 ? "critical" : undefined}>{t("flow.deliveries.failedCount", { count: counts.failed })}</Badge>
                </InlineStack>
              </InlineStack>
              {deliveries.length === 0 ? (
                <EmptyState heading={t("flow.deliveries.emptyHeading")} image="">
                  <p>{t("flow.deliveries.emptyBody")}</p>
                </EmptyState>
              ) : (
                <ul style={{ listStyle: "none", padding: 0, margin: 0 }}>
                  {deliveries.map((d, i) => (
                    <li
                      key={d.id}
                      id={`delivery-${d.id}`}
                      style={{ padding: "12px 0", borderTop: i ? "1px solid var(--p-color-border-secondary)" : undefined }}
                    >
                      <InlineStack align="space-between" blockAlign="start" wrap={false} gap="400">
                        <BlockStack gap="100">
                          <InlineStack gap="200" blockAlign="center">
                            <Badge tone={STATUS_TONE[d.status]}>{t(`flow.status.${d.status}`)}</Badge>
                            <RemixLink to={`/app/recoveries/${d.recoveryId}`}>{d.recoveryName ?? t("flow.deliveries.recovery")}</RemixLink>
                            <Text as="span" numeric>
                              {money(d.amountMinor, d.currency, locale)}
                            </Text>
                            <Text as="span" tone="subdued">
                              {t(d.method === "link" || d.method === "window" ? `flow.method.${d.method}` : "flow.method.other", { method: d.method })}
                            </Text>
                          </InlineStack>
                          <Text as="p" tone="subdued" variant="bodySm">
                            {d.status === "sent" && d.sentAt
                              ? t("flow.deliveries.sentAt", { time: when(d.sentAt) })
                              : d.status === "withdrawn"
                                ? t("flow.deliveries.withdrawn")
                                : d.status === "pending"
                                  ? d.nextAttemptAt
                                    ? t(d.attempts === 0 ? "flow.deliveries.sendingAt" : "flow.deliveries.nextAttemptAt", { time: when(d.nextAttemptAt) })
                                    : t("flow.deliveries.notScheduled")
                                  : t("flow.deliveries.gaveUp", { count: d.attempts })}
                            {d.attempts > 0 && d.status !== "failed" ? t("flow.deliveries.attempts", { count: d.attempts }) : ""}
                          </Text>
                          {d.reversed ? (
                            <Text as="p" tone="subdued" variant="bodySm">
                              {t(d.status === "sent" ? "flow.deliveries.reversedAfterSent" : "flow.deliveries.reversed", {
                                time: when(d.reversed.at),
                                reason: d.reversed.reason,
                              })}
                            </Text>
                          ) : null}
                          {d.lastError && d.status !== "sent" && d.status !== "withdrawn" ? (
                            <Box paddingBlockStart="100">
                              <Text as="p" tone="critical" variant="bodySm">
                                {t("flow.deliveries.lastError", { error: d.lastError })}
                              </Text>
                            </Box>
                          ) : null}
                        </BlockStack>
                        {d.status !== "sent" && d.status !== "withdrawn" ? (
                          <Form method="post">
                            <input type="hidden" name="intent" value="retry" />
                            <input type="hidden" name="deliveryId" value={d.id} />
                            <Button submit loading={retrying(d.id)}>
                              {d.status === "failed" ? t("flow.deliveries.retry") : t("flow.deliveries.retryNow")}
                            </Button>
                          </Form>
                        ) : null}
                      </InlineStack>
                    </li>
                  ))}
                </ul>
              )}
            </BlockStack>
          </Card>
        </Layout.Section>
      </Layout>
    </Page>
  );
}

export function ErrorBoundary() {
  const { t } = useTranslation("integrations");
  return <PageError title={t("flow.title")} />;
}
