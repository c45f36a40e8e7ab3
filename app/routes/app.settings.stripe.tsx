import type { ActionFunctionArgs, LoaderFunctionArgs } from "@remix-run/node";
import { json } from "@remix-run/node";
import { Form, useActionData, useLoaderData, useNavigation } from "@remix-run/react";
import {
  Badge,
  Banner,
  BlockStack,
  Box,
  Button,
  Card,
  FormLayout,
  InlineCode,
  InlineStack,
  Layout,
  List,
  Page,
  Text,
  TextField,
} from "@shopify/polaris";
import { useEffect, useState } from "react";
import { requireAdmin } from "../auth.server";
import { db } from "../db.server";
import { env } from "../env.server";
import {
  connectStripe,
  disconnectStripe,
  endpointPathFor,
  endRotation,
  getStripeConnection,
  rotateWebhookSecret,
  setApiKey,
  STRIPE_EVENT_TYPES,
  type ConnectionResult,
} from "../models/stripe-connection.server";
import { readFormWithLimit } from "../security/request-limits.server";

/**
 * Settings → Stripe. The merchant registers Reclaim's endpoint in Stripe and pastes its signing secret (and optionally a
 * restricted key). Secrets are checked on entry, stored encrypted, and never sent back to the browser: the page only
 * knows whether they are set and the key's last four characters. Every query is scoped to the signed-in shop.
 */

const EVENT_NOTES: Record<(typeof STRIPE_EVENT_TYPES)[number], string> = {
  "checkout.session.expired": "an abandoned session: Reclaim starts a recovery",
  "checkout.session.completed": "a purchase: stops reminders and credits recovered sessions",
  "checkout.session.async_payment_succeeded": "a delayed payment (bank debit…) went through",
  "checkout.session.async_payment_failed": "a delayed payment failed (recorded)",
};

export const loader = async ({ request }: LoaderFunctionArgs) => {
  const { shop } = await requireAdmin(request);
  const [connection, path] = await Promise.all([getStripeConnection(db, shop.id), endpointPathFor(db, shop.id)]);
  return json({
    endpointUrl: new URL(path, env.SHOPIFY_APP_URL).toString(),
    eventTypes: STRIPE_EVENT_TYPES.map((type) => ({ type, note: EVENT_NOTES[type] })),
    connection: connection && {
      id: connection.id,
      previousSecretExpiresAt: connection.previousSecretExpiresAt?.toISOString() ?? null,
      apiKeyLast4: connection.apiKeyLast4,
      apiKeyMode: connection.apiKeyMode,
      lastEventAt: connection.lastEventAt?.toISOString() ?? null,
    },
  });
};

type Intent = "connect" | "rotate" | "end-rotation" | "set-api-key" | "remove-api-key" | "disconnect";
const SAVED: Record<Intent, string> = {
  connect: "Stripe is connected. Reclaim now accepts events signed with this secret.",
  rotate: "New signing secret saved. The previous one keeps working for 24 hours.",
  "end-rotation": "The previous signing secret no longer works.",
  "set-api-key": "API key saved. Recoveries from now on include line items.",
  "remove-api-key": "API key removed. New recoveries will have no line items.",
  disconnect: "Stripe is disconnected. Its endpoint now refuses events.",
};

export const action = async ({ request }: ActionFunctionArgs) => {
  const { shop } = await requireAdmin(request);
  const form = await readFormWithLimit(request);
  const field = (name: string) => String(form.get(name) ?? "");
  const intent = field("intent") as Intent;
  const connectionId = field("connectionId");

  let result: { ok: true } | Extract<ConnectionResult, { ok: false }>;
  switch (intent) {
    case "connect":
      result = await connectStripe(db, shop.id, { webhookSecret: field("webhookSecret"), apiKey: field("apiKey") || null });
      break;
    case "rotate":
      result = await rotateWebhookSecret(db, shop.id, connectionId, field("webhookSecret"));
      break;
    case "end-rotation":
      result = await endRotation(db, shop.id, connectionId);
      break;
    case "set-api-key":
      result = await setApiKey(db, shop.id, connectionId, field("apiKey"));
      break;
    case "remove-api-key":
      result = await setApiKey(db, shop.id, connectionId, null);
      break;
    case "disconnect":
      result = (await disconnectStripe(db, shop.id, connectionId))
        ? { ok: true }
        : { ok: false, errors: { webhookSecret: "This Stripe connection no longer exists. Reload the page." } };
      break;
    default:
      return json({ intent: null, saved: null, errors: { form: "Unknown action." } as Record<string, string> }, { status: 400 });
  }
  if (!result.ok) return json({ intent, saved: null, errors: result.errors as Record<string, string> }, { status: 422 });
  return json({ intent, saved: SAVED[intent], errors: {} as Record<string, string> });
};

const utc = (iso: string) => `${iso.slice(0, 16).replace("T", " ")} UTC`;

function SecretField({ label, name, helpText, error, reset }: { label: string; name: string; helpText?: string; error?: string; reset: unknown }) {
  // Typed by the merchant, kept in the browser only, cleared after every save; the server never fills it in.
  const [value, setValue] = useState("");
  useEffect(() => setValue(""), [reset]);
  return (
    <TextField
      label={label}
      name={name}
      type="password"
      autoComplete="off"
      value={value}
      onChange={setValue}
      helpText={helpText}
      error={error}
      monospaced
    />
  );
}

export default function StripeSettings() {
  const { endpointUrl, eventTypes, connection } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const navigation = useNavigation();
  const busy = navigation.state !== "idle";
  const errors = result?.errors ?? {};
  const errorFor = (intent: Intent, name: "webhookSecret" | "apiKey") => (result?.intent === intent ? errors[name] : undefined);

  return (
    <Page title="Stripe" subtitle="Recover abandoned Stripe Checkout sessions and Payment Links with the same campaigns as Shopify checkouts.">
      <Layout>
        {result?.saved && (
          <Layout.Section>
            <Banner tone="success">{result.saved}</Banner>
          </Layout.Section>
        )}
        {errors.form && (
          <Layout.Section>
            <Banner tone="critical">{errors.form}</Banner>
          </Layout.Section>
        )}

        <Layout.Section>
          <Card>
            <BlockStack gap="300">
              <Text as="h2" variant="headingMd">
                1. Add an endpoint in Stripe
              </Text>
              <Text as="p">
                In Stripe, open Developers → Webhooks → Add endpoint, and enter this endpoint URL:
              </Text>
              <TextField label="Endpoint URL" value={endpointUrl} readOnly autoComplete="off" monospaced onChange={() => {}} />
              <Text as="p">Select these four events (Reclaim ignores any other):</Text>
              <List>
                {eventTypes.map(({ type, note }) => (
                  <List.Item key={type}>
                    <InlineCode>{type}</InlineCode> — {note}
                  </List.Item>
                ))}
              </List>
            </BlockStack>
          </Card>
        </Layout.Section>

        <Layout.Section>
          <Card>
            <BlockStack gap="300">
              <InlineStack gap="200" blockAlign="center">
                <Text as="h2" variant="headingMd">
                  2. Signing secret
                </Text>
                {connection ? <Badge tone="success">Set</Badge> : <Badge>Not connected</Badge>}
              </InlineStack>
              {!connection ? (
                <Form method="post">
                  <input type="hidden" name="intent" value="connect" />
                  <FormLayout>
                    <SecretField
                      label="Signing secret"
                      name="webhookSecret"
                      helpText="On the endpoint's page in Stripe: Signing secret → Reveal. It starts with whsec_."
                      error={errorFor("connect", "webhookSecret")}
                      reset={result}
                    />
                    <SecretField
                      label="Restricted API key (optional)"
                      name="apiKey"
                      helpText="A restricted key (rk_…) with Read access to Checkout Sessions lets Reclaim show the cart's items in emails. Reclaim checks it with one call to Stripe."
                      error={errorFor("connect", "apiKey")}
                      reset={result}
                    />
                    <Button submit variant="primary" loading={busy}>
                      Connect Stripe
                    </Button>
                  </FormLayout>
                </Form>
              ) : (
                <BlockStack gap="300">
                  {connection.lastEventAt ? (
                    <Text as="p">{`Last event received ${utc(connection.lastEventAt)}.`}</Text>
                  ) : (
                    <Text as="p" tone="subdued">No event received yet. In Stripe, use “Send test event” on the endpoint to check.</Text>
                  )}
                  {connection.previousSecretExpiresAt && (
                    <Banner tone="info">
                      <BlockStack gap="200">
                        <Text as="p">{`Rotating: events signed with the previous secret are accepted until ${utc(connection.previousSecretExpiresAt)}.`}</Text>
                        <Form method="post">
                          <input type="hidden" name="intent" value="end-rotation" />
                          <input type="hidden" name="connectionId" value={connection.id} />
                          <Button submit loading={busy}>
                            Stop accepting the previous secret now
                          </Button>
                        </Form>
                      </BlockStack>
                    </Banner>
                  )}
                  <Form method="post">
                    <input type="hidden" name="intent" value="rotate" />
                    <input type="hidden" name="connectionId" value={connection.id} />
                    <FormLayout>
                      <SecretField
                        label="New signing secret"
                        name="webhookSecret"
                        helpText="After you roll the secret in Stripe, paste the new one here. Both secrets work for 24 hours, so no event is refused meanwhile."
                        error={errorFor("rotate", "webhookSecret")}
                        reset={result}
                      />
                      <Button submit loading={busy}>
                        Rotate signing secret
                      </Button>
                    </FormLayout>
                  </Form>
                </BlockStack>
              )}
            </BlockStack>
          </Card>
        </Layout.Section>

        {connection && (
          <Layout.Section>
            <Card>
              <BlockStack gap="300">
                <InlineStack gap="200" blockAlign="center">
                  <Text as="h2" variant="headingMd">
                    3. Restricted API key (optional)
                  </Text>
                  {connection.apiKeyLast4 ? (
                    <Badge tone="success">{`Set, ending in ${connection.apiKeyLast4} (${connection.apiKeyMode} mode)`}</Badge>
                  ) : (
                    <Badge>Not set</Badge>
                  )}
                </InlineStack>
                <Text as="p">
                  Stripe does not put a session's items in its webhooks. With a restricted key (Checkout Sessions: Read), Reclaim fetches them
                  for each abandoned session; without one, recoveries have no line items and say why.
                </Text>
                <Form method="post">
                  <input type="hidden" name="intent" value="set-api-key" />
                  <input type="hidden" name="connectionId" value={connection.id} />
                  <FormLayout>
                    <SecretField
                      label={connection.apiKeyLast4 ? "Replace the API key" : "API key"}
                      name="apiKey"
                      helpText="Starts with rk_live_ or rk_test_. Never a secret key (sk_…)."
                      error={errorFor("set-api-key", "apiKey")}
                      reset={result}
                    />
                    <InlineStack gap="200">
                      <Button submit loading={busy}>
                        Save API key
                      </Button>
                    </InlineStack>
                  </FormLayout>
                </Form>
                {connection.apiKeyLast4 && (
                  <Form method="post">
                    <input type="hidden" name="intent" value="remove-api-key" />
                    <input type="hidden" name="connectionId" value={connection.id} />
                    <Button submit tone="critical" variant="plain" loading={busy}>
                      Remove the API key
                    </Button>
                  </Form>
                )}
              </BlockStack>
            </Card>
          </Layout.Section>
        )}

        <Layout.Section>
          <Card>
            <BlockStack gap="300">
              <Text as="h2" variant="headingMd">
                What Stripe&apos;s defaults cost you
              </Text>
              <Text as="p">Set these when your site creates Checkout Sessions (Payment Links: in the link&apos;s settings):</Text>
              <List type="number">
                <List.Item>
                  <Text as="span" fontWeight="semibold">Sessions stay open 24 hours.</Text> Stripe reports an abandoned session only when it
                  expires, so by default your first reminder goes out a day late. Set <InlineCode>expires_at</InlineCode> to as little as 30
                  minutes after creation (the minimum; 24 hours is the default and the maximum).
                </List.Item>
                <List.Item>
                  <Text as="span" fontWeight="semibold">No recovery link unless you ask for one.</Text> Without{" "}
                  <InlineCode>after_expiration.recovery.enabled</InlineCode> = <InlineCode>true</InlineCode>, an expired session has no link to
                  bring the buyer back, and Reclaim records it as not contactable. Add{" "}
                  <InlineCode>after_expiration.recovery.allow_promotion_codes</InlineCode> = <InlineCode>true</InlineCode> if your reminders
                  offer a discount code.
                </List.Item>
                <List.Item>
                  <Text as="span" fontWeight="semibold">No email or consent without consent collection.</Text> For a guest, Stripe shares the
                  email only if the buyer agreed to promotional emails. Set <InlineCode>consent_collection.promotions</InlineCode> ={" "}
                  <InlineCode>auto</InlineCode> (Stripe offers it to US merchants and customers). If you collect consent before checkout,
                  pass the email as <InlineCode>customer_email</InlineCode> instead.
                </List.Item>
                <List.Item>
                  <Text as="span" fontWeight="semibold">One customer, one set of reminders.</Text> Set{" "}
                  <InlineCode>client_reference_id</InlineCode> to <InlineCode>shopify_customer_</InlineCode> followed by the Shopify customer
                  id (for example <InlineCode>shopify_customer_7012345678901</InlineCode>) so Reclaim joins the session to the same customer
                  as their Shopify checkouts. On a Payment Link, append <InlineCode>?client_reference_id=shopify_customer_…</InlineCode>: only
                  letters, digits, - and _ (up to 200), or Stripe silently drops it.
                </List.Item>
              </List>
              <Box background="bg-surface-secondary" padding="300" borderRadius="200">
                <pre style={{ margin: 0, whiteSpace: "pre-wrap" }}>
                  <code>{`stripe.checkout.sessions.create({
  mode: "payment",
  line_items: [...],
  success_url: "https://example.com/thanks",
  expires_at: Math.floor(Date.now() / 1000) + 30 * 60,
  after_expiration: { recovery: { enabled: true, allow_promotion_codes: true } },
  consent_collection: { promotions: "auto" },
  client_reference_id: "shopify_customer_7012345678901",
});`}</code>
                </pre>
              </Box>
            </BlockStack>
          </Card>
        </Layout.Section>

        {connection && (
          <Layout.Section>
            <Card>
              <BlockStack gap="200">
                <Text as="h2" variant="headingMd">
                  Disconnect
                </Text>
                <Text as="p">The endpoint refuses events from then on. Recoveries already made stay.</Text>
                <Form method="post">
                  <input type="hidden" name="intent" value="disconnect" />
                  <input type="hidden" name="connectionId" value={connection.id} />
                  <Button submit tone="critical" loading={busy}>
                    Disconnect Stripe
                  </Button>
                </Form>
              </BlockStack>
            </Card>
          </Layout.Section>
        )}
      </Layout>
    </Page>
  );
}
