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
  Modal,
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
  IGNORED_REASONS,
  ignoredEventCounts,
  rotateWebhookSecret,
  setApiKey,
  setConnectionMode,
  STRIPE_EVENT_TYPES,
  type ConnectionResult,
} from "../models/stripe-connection.server";
import { checkApiKey, STRIPE_KEY_PERMISSIONS } from "../sources/stripe/api.server";
import { paymentRecoverySettings, savePaymentRecoverySettings } from "../models/payment-recovery.server";
import { PAYMENT_EVENT_TYPES } from "../recovery/payment-recovery";
import { PaymentRecoverySettings } from "../components/payment-recovery-settings";
import { STRIPE_API_VERSION } from "../sources/stripe/stripe-client.server";
import { readFormWithLimit } from "../security/request-limits.server";
import type { MetaFunction } from "@remix-run/node";
import { pageTitle } from "../components/page-title";

/**
 * Settings → Stripe. The merchant registers Reclaim's endpoint in Stripe and pastes its signing secret (and optionally a
 * restricted key). Secrets are checked on entry, stored encrypted, and never sent back to the browser: the page only
 * knows whether they are set and the key's last four characters. Every query is scoped to the signed-in shop.
 */

const EVENT_NOTES: Record<(typeof STRIPE_EVENT_TYPES)[number], string> = {
  "checkout.session.expired": "an abandoned session: Reclaim starts a recovery",
  "checkout.session.completed": "a purchase: stops reminders and credits recovered sessions",
  "checkout.session.async_payment_succeeded": "a delayed payment (bank debit…) went through",
  "checkout.session.async_payment_failed": "a delayed payment failed: what it credited no longer counts",
  "charge.refunded": "a refund, full or partial: recovered revenue drops by what was refunded",
  "charge.dispute.created": "a dispute: the recovered payment does not count while it is open",
  "charge.dispute.closed": "a dispute closed: won restores the recovered payment, lost keeps it out",
};

/** What the settings page says about each kind of event a connection stored but did not act on. */
const IGNORED_LABELS: Record<keyof typeof IGNORED_REASONS, (n: number) => string> = {
  test_mode: (n) => `${n} test-mode event${n === 1 ? "" : "s"} ignored`,
  live_mode: (n) => `${n} live-mode event${n === 1 ? "" : "s"} ignored`,
  connected_account: (n) => `${n} event${n === 1 ? "" : "s"} from connected accounts ignored`,
  thin_event: (n) => `${n} thin event${n === 1 ? "" : "s"} ignored (choose snapshot payloads)`,
  setup_mode: (n) => `${n} setup-mode session event${n === 1 ? "" : "s"} ignored (nothing is bought in setup mode)`,
  payment_recovery_off: (n) => `${n} invoice or subscription event${n === 1 ? "" : "s"} ignored (failed subscription payments are off)`,
};

export const loader = async ({ request }: LoaderFunctionArgs) => {
  const { shop } = await requireAdmin(request);
  const [connection, path] = await Promise.all([getStripeConnection(db, shop.id), endpointPathFor(db, shop.id)]);
  const ignored = connection ? await ignoredEventCounts(db, shop.id, connection.id) : [];
  const payments = connection ? await paymentRecoverySettings(db, connection.id) : null;
  return json({
    endpointUrl: new URL(path, env.SHOPIFY_APP_URL).toString(),
    stripeSourceEnabled: env.STRIPE_SOURCE_ENABLED,
    keyPermissions: STRIPE_KEY_PERMISSIONS.map((p) => ({ ...p })),
    eventTypes: STRIPE_EVENT_TYPES.map((type) => ({ type, note: EVENT_NOTES[type] })),
    apiVersion: STRIPE_API_VERSION,
    paymentEventTypes: Object.entries(PAYMENT_EVENT_TYPES).map(([type, note]) => ({ type, note })),
    paymentRecovery: payments,
    ignored: ignored.map((i) => ({ reason: i.reason, label: IGNORED_LABELS[i.reason](i.count), since: i.since.toISOString() })),
    connection: connection && {
      mode: connection.mode,
      modeSource: connection.modeSource,
      connectPlatform: connection.connectPlatform,
      id: connection.id,
      previousSecretExpiresAt: connection.previousSecretExpiresAt?.toISOString() ?? null,
      apiKeyLast4: connection.apiKeyLast4,
      apiKeyMode: connection.apiKeyMode,
      lastEventAt: connection.lastEventAt?.toISOString() ?? null,
    },
  });
};

type Intent = "connect" | "rotate" | "end-rotation" | "set-api-key" | "remove-api-key" | "set-mode" | "disconnect" | "payment-recovery";
const SAVED: Record<Intent, string> = {
  connect: "Stripe is connected. Reclaim now accepts events signed with this secret.",
  rotate: "New signing secret saved. The previous one keeps working for 24 hours.",
  "end-rotation": "The previous signing secret no longer works.",
  "set-api-key": "API key saved. Recoveries from now on include line items.",
  "remove-api-key": "API key removed. New recoveries will have no line items.",
  "set-mode": "Saved. Events of the other mode are stored and ignored from now on.",
  disconnect: "Stripe is disconnected. Its endpoint now refuses events.",
  "payment-recovery": "Saved. Failed subscription payments follow these settings from now on.",
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
      result = await connectStripe(db, shop.id, { webhookSecret: field("webhookSecret"), apiKey: field("apiKey") || null }, { checkKey: checkApiKey });
      break;
    case "rotate":
      result = await rotateWebhookSecret(db, shop.id, connectionId, field("webhookSecret"));
      break;
    case "end-rotation":
      result = await endRotation(db, shop.id, connectionId);
      break;
    case "set-api-key":
      result = await setApiKey(db, shop.id, connectionId, field("apiKey"), { checkKey: checkApiKey });
      break;
    case "remove-api-key":
      result = await setApiKey(db, shop.id, connectionId, null);
      break;
    case "set-mode": {
      const mode = field("mode");
      if (mode !== "live" && mode !== "test")
        return json({ intent, saved: null, errors: { form: "Choose live or test mode." } as Record<string, string> }, { status: 422 });
      result = (await setConnectionMode(db, shop.id, connectionId, { mode, connectPlatform: field("connectPlatform") === "on" }))
        ? { ok: true }
        : { ok: false, errors: { webhookSecret: "This Stripe connection no longer exists. Reload the page." } };
      break;
    }
    case "payment-recovery": {
      const saved = await savePaymentRecoverySettings(db, shop.id, connectionId, {
        paymentRecovery: field("paymentRecovery") === "on",
        stripeEmailsFailedPayments: field("stripeEmailsFailedPayments") === "on",
        stripeEmailsActionRequired: field("stripeEmailsActionRequired") === "on",
      });
      if (!saved.ok) return json({ intent, saved: null, errors: { form: saved.error } as Record<string, string> }, { status: 422 });
      result = { ok: true };
      break;
    }
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
    <TextField label={label} name={name} type="password" autoComplete="off" value={value} onChange={setValue} helpText={helpText} error={error} monospaced />
  );
}

export const meta: MetaFunction = () => [{ title: pageTitle("Stripe · Settings") }];

export default function StripeSettings() {
  const { endpointUrl, eventTypes, apiVersion, ignored, connection, stripeSourceEnabled, keyPermissions, paymentEventTypes, paymentRecovery } =
    useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const navigation = useNavigation();
  const busy = navigation.state !== "idle";
  const errors = result?.errors ?? {};
  const errorFor = (intent: Intent, name: "webhookSecret" | "apiKey") => (result?.intent === intent ? errors[name] : undefined);
  const [confirmDisconnect, setConfirmDisconnect] = useState(false);

  return (
    <Page title="Stripe" subtitle="Recover abandoned Stripe Checkout sessions and Payment Links with the same campaigns as Shopify checkouts.">
      <Layout>
        {!stripeSourceEnabled && (
          <Layout.Section>
            <Banner tone="warning" title="Stripe recovery is turned off on this deployment">
              This Reclaim deployment runs with STRIPE_SOURCE_ENABLED=false (as listed on the Shopify App Store, which does not allow apps that send buyers to a
              checkout other than Shopify&apos;s). Stripe events are refused and no Stripe cart is emailed.
            </Banner>
          </Layout.Section>
        )}
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
              <Text as="p">In Stripe, open Developers → Webhooks → Add endpoint, and enter this endpoint URL:</Text>
              <TextField label="Endpoint URL" value={endpointUrl} readOnly autoComplete="off" monospaced onChange={() => {}} />
              <Text as="p">
                Under API version, choose <InlineCode>{apiVersion}</InlineCode> (the version Reclaim reads), and under payload style choose{" "}
                <Text as="span" fontWeight="semibold">
                  Snapshot
                </Text>
                : thin payloads carry no session, so Reclaim acknowledges them and ignores them.
              </Text>
              <Text as="p">{`Select these ${eventTypes.length} events (Reclaim ignores any other):`}</Text>
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
                    <Text as="p" tone="subdued">
                      No event received yet. In Stripe, use “Send test event” on the endpoint to check.
                    </Text>
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
                  Stripe does not put a session's items in its webhooks. With a restricted key, Reclaim fetches them for each abandoned session; without one,
                  recoveries have no line items and say why. In Stripe, create the restricted key with these permissions (everything else None):
                </Text>
                <List>
                  {keyPermissions.map((p) => (
                    <List.Item key={p.resource}>
                      <Text as="span" fontWeight="semibold">{`${p.resource}: ${p.access}`}</Text> — {p.why}
                    </List.Item>
                  ))}
                </List>
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

        {connection && (
          <Layout.Section>
            <Card>
              <BlockStack gap="300">
                <InlineStack gap="200" blockAlign="center">
                  <Text as="h2" variant="headingMd">
                    4. Live or test mode
                  </Text>
                  {connection.mode ? (
                    <Badge tone={connection.mode === "live" ? "success" : "attention"}>{connection.mode === "live" ? "Live mode" : "Test mode"}</Badge>
                  ) : (
                    <Badge>Set by the first event</Badge>
                  )}
                </InlineStack>
                <Text as="p">
                  {connection.mode
                    ? `Recoveries come from ${connection.mode}-mode events only (${connection.modeSource === "merchant" ? "your choice" : connection.modeSource === "api_key" ? "the mode of your API key" : "the mode of the first event received"}). Events of the other mode are stored and ignored: never emailed, never counted.`
                    : "The first event Reclaim receives sets the mode (or your API key's mode, if you added one). Events of the other mode are stored and ignored."}
                </Text>
                {ignored.length > 0 ? (
                  <List>
                    {ignored.map((i) => (
                      <List.Item key={i.reason}>{`${i.label} since ${utc(i.since)}`}</List.Item>
                    ))}
                  </List>
                ) : null}
                <Form method="post">
                  <input type="hidden" name="intent" value="set-mode" />
                  <input type="hidden" name="connectionId" value={connection.id} />
                  <FormLayout>
                    <InlineStack gap="400">
                      <label>
                        <input type="radio" name="mode" value="live" defaultChecked={connection.mode !== "test"} /> Live mode
                      </label>
                      <label>
                        <input type="radio" name="mode" value="test" defaultChecked={connection.mode === "test"} /> Test mode
                      </label>
                    </InlineStack>
                    <label>
                      <input type="checkbox" name="connectPlatform" defaultChecked={connection.connectPlatform} /> This endpoint is a Connect platform&apos;s
                      (&quot;Events on Connected accounts&quot;): accept events from connected accounts
                    </label>
                    <Button submit loading={busy}>
                      Save mode
                    </Button>
                  </FormLayout>
                </Form>
              </BlockStack>
            </Card>
          </Layout.Section>
        )}

        {connection && paymentRecovery && (
          <Layout.Section>
            <PaymentRecoverySettings connectionId={connection.id} settings={paymentRecovery} eventTypes={paymentEventTypes} busy={busy} />
          </Layout.Section>
        )}

        <Layout.Section>
          <Card>
            <BlockStack gap="300">
              <Text as="h2" variant="headingMd">
                What Stripe&apos;s defaults cost you
              </Text>
              <Text as="p">Set these when your site creates Checkout Sessions:</Text>
              <List type="number">
                <List.Item>
                  <Text as="span" fontWeight="semibold">
                    Sessions stay open 24 hours.
                  </Text>{" "}
                  Stripe reports an abandoned session only when it expires, so by default your first reminder goes out a day late. Set{" "}
                  <InlineCode>expires_at</InlineCode> to as little as 30 minutes after creation (the minimum; 24 hours is the default and the maximum).
                </List.Item>
                <List.Item>
                  <Text as="span" fontWeight="semibold">
                    No recovery link unless you ask for one.
                  </Text>{" "}
                  Without <InlineCode>after_expiration.recovery.enabled</InlineCode> = <InlineCode>true</InlineCode>, an expired session has no link to bring
                  the buyer back, and Reclaim records it as not contactable. Add <InlineCode>after_expiration.recovery.allow_promotion_codes</InlineCode> ={" "}
                  <InlineCode>true</InlineCode> if your reminders offer a discount code.
                </List.Item>
                <List.Item>
                  <Text as="span" fontWeight="semibold">
                    No email or consent without consent collection.
                  </Text>{" "}
                  For a guest, Stripe shares the email only if the buyer agreed to promotional emails. Set{" "}
                  <InlineCode>consent_collection.promotions</InlineCode> = <InlineCode>auto</InlineCode> (Stripe offers it to US merchants and customers only).
                  If you collect consent before checkout (any country), pass the email as <InlineCode>customer_email</InlineCode> and the consent as session
                  metadata: <InlineCode>reclaim_marketing_consent</InlineCode> = <InlineCode>opt_in</InlineCode> (or <InlineCode>opt_out</InlineCode>) and{" "}
                  <InlineCode>reclaim_consent_collected_at</InlineCode> = when the buyer gave it (ISO 8601 such as <InlineCode>2026-11-02T09:30:00Z</InlineCode>
                  , or Unix seconds). Reclaim keeps both as the consent evidence and honours it under the explicit policy; without a time no later than the
                  session&apos;s creation it is ignored. Stripe&apos;s own consent answer, when there is one, wins.
                </List.Item>
                <List.Item>
                  <Text as="span" fontWeight="semibold">
                    Payment Links have no recovery setting.
                  </Text>{" "}
                  Stripe gives no recovery link for a session started from a Payment Link. Reclaim sends the buyer back to the Payment Link itself, with their
                  email prefilled (<InlineCode>prefilled_email</InlineCode>); it reads the link&apos;s address with your restricted key, so the key needs
                  Payment Links: Read. Without it, or once the link is deactivated, those carts are recorded as having no recovery link, with the reason.
                </List.Item>
                <List.Item>
                  <Text as="span" fontWeight="semibold">
                    One customer, one set of reminders.
                  </Text>{" "}
                  Reclaim joins a session to the same customer as their Shopify checkouts by email address. A <InlineCode>client_reference_id</InlineCode> (for
                  example <InlineCode>shopify_customer_7012345678901</InlineCode>) is kept with the recovery as a reference only: anyone can add one to a
                  Payment Link&apos;s address, so it never changes which Shopify customer a buyer is. On a Payment Link, only letters, digits, - and _ (up to
                  200) are kept; Stripe silently drops anything else.
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
                <Box>
                  <Button tone="critical" loading={busy && navigation.formData?.get("intent") === "disconnect"} onClick={() => setConfirmDisconnect(true)}>
                    Disconnect Stripe…
                  </Button>
                </Box>
              </BlockStack>
            </Card>
            <Modal open={confirmDisconnect} onClose={() => setConfirmDisconnect(false)} title="Disconnect Stripe?">
              <Modal.Section>
                <Form method="post" onSubmit={() => setConfirmDisconnect(false)}>
                  <BlockStack gap="300">
                    <Text as="p">
                      Stripe&apos;s events are refused from then on: sessions that expire are no longer recovered, and purchases made through recovery links
                      already sent are no longer credited. Recoveries already made stay. Connecting again needs the signing secret of a Stripe endpoint.
                    </Text>
                    <input type="hidden" name="intent" value="disconnect" />
                    <input type="hidden" name="connectionId" value={connection.id} />
                    <InlineStack gap="200" align="end">
                      <Button onClick={() => setConfirmDisconnect(false)}>Keep Stripe connected</Button>
                      <Button submit variant="primary" tone="critical">
                        Disconnect Stripe
                      </Button>
                    </InlineStack>
                  </BlockStack>
                </Form>
              </Modal.Section>
            </Modal>
          </Layout.Section>
        )}
      </Layout>
    </Page>
  );
}
