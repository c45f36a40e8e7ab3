import type { ActionFunctionArgs, LoaderFunctionArgs } from "@remix-run/node";
import { json } from "@remix-run/node";
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
import { pageTitle } from "../components/page-title";

/**
 * Settings → Shopify Flow: what the "Checkout recovered" trigger carries, and every recent delivery of it (sent, waiting
 * for its next attempt with the last error, or failed) with a Retry for the ones that did not get through.
 * Every query is scoped to the signed-in shop; another shop's delivery is "not found".
 */
export const loader = async ({ request }: LoaderFunctionArgs) => {
  const { shop } = await requireAdmin(request);
  const { rows, counts } = await listDeliveries(db, shop.id);
  return json({
    handle: CHECKOUT_RECOVERED_HANDLE,
    fields: CHECKOUT_RECOVERED_FIELDS.map((f) => ({ payloadKey: f.payloadKey, type: f.type, description: f.description })),
    deliveries: rows,
    counts,
    locale: shop.locale,
    timezone: shop.timezone,
  });
};

export const action = async ({ request }: ActionFunctionArgs) => {
  const { shop } = await requireAdmin(request);
  const form = await readFormWithLimit(request);
  const intent = String(form.get("intent") ?? "");
  const deliveryId = String(form.get("deliveryId") ?? "").trim();
  if (intent !== "retry") return json({ ok: false, message: "Unknown action." }, { status: 400 });
  if (!deliveryId) return json({ ok: false, message: "Which delivery to retry is missing (deliveryId)." }, { status: 400 });
  const result = await retryDelivery(db, shop.id, deliveryId, new Date());
  if (!result.ok && result.status === 404) throw new Response(result.message, { status: 404 });
  if (!result.ok) return json({ ok: false, message: result.message }, { status: result.status });
  return json({ ok: true, message: "Queued: the trigger is being sent to Shopify Flow again." });
};

const TYPE_LABEL: Record<string, string> = {
  customer_reference: "Shopify customer",
  number_decimal: "Number",
  single_line_text_field: "Text",
  url: "URL",
};
const STATUS_TONE = { sent: "success", pending: "attention", failed: "critical", withdrawn: undefined } as const;

export const meta: MetaFunction = () => [{ title: pageTitle("Shopify Flow · Settings") }];

export default function FlowSettings() {
  const { handle, fields, deliveries, counts, locale, timezone } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const navigation = useNavigation();
  const retrying = (id: string) => navigation.state === "submitting" && navigation.formData?.get("deliveryId") === id;

  return (
    <Page
      backAction={{ content: "Settings", url: "/app/settings" }}
      title="Shopify Flow"
      subtitle="Reclaim fires “Checkout recovered” each time it credits a purchase to a recovery email, so you can build your own follow-ups in Flow."
    >
      <NavigationProgress />
      <Layout>
        {result ? (
          <Layout.Section>
            <Banner tone={result.ok ? "success" : "warning"}>{result.message}</Banner>
          </Layout.Section>
        ) : null}
        {counts.failed > 0 ? (
          <Layout.Section>
            <Banner tone="critical" title={`${counts.failed} trigger${counts.failed === 1 ? "" : "s"} could not be sent`}>
              <p>Reclaim tried each one 8 times over about a day. The reason is shown below; use Retry once it is fixed.</p>
            </Banner>
          </Layout.Section>
        ) : null}

        <Layout.Section>
          <Card>
            <BlockStack gap="300">
              <Text as="h2" variant="headingMd">
                What the trigger carries
              </Text>
              <Text as="p">
                In Shopify Flow, start a workflow with the trigger{" "}
                <Text as="span" fontWeight="semibold">
                  Checkout recovered
                </Text>{" "}
                from Reclaim (handle <InlineCode>{handle}</InlineCode>). It fires once per credited purchase, for Shopify checkouts and Stripe sessions alike,
                and only for purchases that followed a Reclaim email (the ones counted as recovered on the dashboard).
              </Text>
              <ul style={{ listStyle: "none", padding: 0, margin: 0 }}>
                {fields.map((f, i) => (
                  <li key={f.payloadKey} style={{ padding: "8px 0", borderTop: i ? "1px solid var(--p-color-border-secondary)" : undefined }}>
                    <BlockStack gap="100">
                      <InlineStack gap="200" blockAlign="center">
                        <Text as="span" fontWeight="semibold">
                          {f.type === "customer_reference" ? "Customer" : f.payloadKey}
                        </Text>
                        <Badge>{TYPE_LABEL[f.type] ?? f.type}</Badge>
                      </InlineStack>
                      <Text as="p" tone="subdued">
                        {f.description}
                      </Text>
                    </BlockStack>
                  </li>
                ))}
              </ul>
              <Text as="p" tone="subdued">
                A trigger is delivered at least once: if Reclaim stops right after Flow accepted it, it is sent again on restart. Use Recovery ID in your
                workflow if a duplicate would matter.
              </Text>
            </BlockStack>
          </Card>
        </Layout.Section>

        <Layout.Section>
          <Card>
            <BlockStack gap="300">
              <InlineStack align="space-between" blockAlign="center">
                <Text as="h2" variant="headingMd">
                  Recent deliveries
                </Text>
                <InlineStack gap="200">
                  <Badge tone="success">{`${counts.sent} sent`}</Badge>
                  <Badge tone="attention">{`${counts.pending} pending`}</Badge>
                  <Badge tone={counts.failed > 0 ? "critical" : undefined}>{`${counts.failed} failed`}</Badge>
                </InlineStack>
              </InlineStack>
              {deliveries.length === 0 ? (
                <EmptyState heading="No trigger sent yet" image="">
                  <p>The first one goes out when a customer buys after a Reclaim email.</p>
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
                            <Badge tone={STATUS_TONE[d.status]}>{d.status}</Badge>
                            <RemixLink to={`/app/recoveries/${d.recoveryId}`}>{d.recoveryName ?? "Recovery"}</RemixLink>
                            <Text as="span" numeric>
                              {money(d.amountMinor, d.currency, locale)}
                            </Text>
                            <Text as="span" tone="subdued">{`by ${d.method}`}</Text>
                          </InlineStack>
                          <Text as="p" tone="subdued" variant="bodySm">
                            {d.status === "sent" && d.sentAt
                              ? `Sent ${dateTime(d.sentAt, locale, timezone)}`
                              : d.status === "withdrawn"
                                ? "Withdrawn before it was sent"
                                : d.status === "pending"
                                  ? d.nextAttemptAt
                                    ? `${d.attempts === 0 ? "Sending" : "Next attempt"} ${dateTime(d.nextAttemptAt, locale, timezone)}`
                                    : "Not scheduled (stopped when Reclaim was uninstalled). Retry to send it."
                                  : `Gave up after ${d.attempts} attempt${d.attempts === 1 ? "" : "s"}`}
                            {d.attempts > 0 && d.status !== "failed" ? ` · ${d.attempts} attempt${d.attempts === 1 ? "" : "s"}` : ""}
                          </Text>
                          {d.reversed ? (
                            <Text as="p" tone="subdued" variant="bodySm">
                              {`The purchase no longer counts as recovered since ${dateTime(d.reversed.at, locale, timezone)} (${d.reversed.reason})${d.status === "sent" ? ": Flow was told before; a sent trigger cannot be recalled" : ""}`}
                            </Text>
                          ) : null}
                          {d.lastError && d.status !== "sent" && d.status !== "withdrawn" ? (
                            <Box paddingBlockStart="100">
                              <Text as="p" tone="critical" variant="bodySm">{`Last error: ${d.lastError}`}</Text>
                            </Box>
                          ) : null}
                        </BlockStack>
                        {d.status !== "sent" && d.status !== "withdrawn" ? (
                          <Form method="post">
                            <input type="hidden" name="intent" value="retry" />
                            <input type="hidden" name="deliveryId" value={d.id} />
                            <Button submit loading={retrying(d.id)}>
                              {d.status === "failed" ? "Retry" : "Retry now"}
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
  return <PageError title="Shopify Flow" />;
}
