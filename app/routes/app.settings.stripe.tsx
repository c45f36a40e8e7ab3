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
import { useEffect, useState, type ReactNode } from "react";
import type { TFunction } from "i18next";
import { Trans, useTranslation } from "react-i18next";
import englishCatalogue from "../i18n/catalogues/en/integrations.json";
import { requireAdmin } from "../auth.server";
import { db } from "../db.server";
import { env } from "../env.server";
import {
  connectStripe,
  disconnectStripe,
  endpointPathFor,
  endRotation,
  getStripeConnection,
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

/** Codes for the sentences the models write (app/models/stripe-secret-format.ts, stripe-connection.server.ts, the key check): translated here. */
const ERROR_KEYS = new Map(Object.entries(englishCatalogue.stripe.errors).map(([key, english]) => [english, key]));

/** A model's sentence in the admin's language; one the catalogue does not know is shown as the model wrote it. */
const translateError = (t: TFunction, message: string) => {
  const key = ERROR_KEYS.get(message);
  return key ? t(`integrations:stripe.errors.${key}`) : message;
};

/** Catalogue keys cannot contain dots (i18next's key separator): `checkout.session.expired` → `checkout_session_expired`. */
const noteKey = (type: string) => type.replaceAll(".", "_");

export const loader = async ({ request }: LoaderFunctionArgs) => {
  const { shop, t } = await requireAdmin(request);
  const [connection, path] = await Promise.all([getStripeConnection(db, shop.id), endpointPathFor(db, shop.id)]);
  const ignored = connection ? await ignoredEventCounts(db, shop.id, connection.id) : [];
  const payments = connection ? await paymentRecoverySettings(db, connection.id) : null;
  return json({
    endpointUrl: new URL(path, env.SHOPIFY_APP_URL).toString(),
    stripeSourceEnabled: env.STRIPE_SOURCE_ENABLED,
    title: t("integrations:stripe.metaTitle"),
    keyPermissions: STRIPE_KEY_PERMISSIONS.map((p) => ({
      resource: p.resource,
      access: p.access,
      label: t("integrations:stripe.apiKey.permission", {
        resource: t(`integrations:stripe.apiKey.resources.${p.resource}`, { defaultValue: p.resource }),
        access: t(`integrations:stripe.apiKey.access.${p.access}`, { defaultValue: p.access }),
      }),
      why: t(`integrations:stripe.apiKey.why.${p.resource}`, { defaultValue: p.why }),
    })),
    eventTypes: STRIPE_EVENT_TYPES.map((type) => ({ type, note: t(`integrations:stripe.eventNotes.${noteKey(type)}`) })),
    apiVersion: STRIPE_API_VERSION,
    paymentEventTypes: Object.entries(PAYMENT_EVENT_TYPES).map(([type, note]) => ({
      type,
      note: t(`integrations:paymentRecovery.eventNotes.${noteKey(type)}`, { defaultValue: note }),
    })),
    paymentRecovery: payments,
    ignored: ignored.map((i) => ({
      reason: i.reason,
      label: t(`integrations:stripe.ignored.${i.reason}`, { count: i.count }),
      since: i.since.toISOString(),
    })),
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

export const action = async ({ request }: ActionFunctionArgs) => {
  const { shop, t } = await requireAdmin(request);
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
        return json({ intent, saved: null, errors: { form: t("integrations:stripe.errors.chooseMode") } as Record<string, string> }, { status: 422 });
      result = (await setConnectionMode(db, shop.id, connectionId, { mode, connectPlatform: field("connectPlatform") === "on" }))
        ? { ok: true }
        : { ok: false, errors: { webhookSecret: t("integrations:stripe.errors.connectionGone") } };
      break;
    }
    case "payment-recovery": {
      const saved = await savePaymentRecoverySettings(db, shop.id, connectionId, {
        paymentRecovery: field("paymentRecovery") === "on",
        stripeEmailsFailedPayments: field("stripeEmailsFailedPayments") === "on",
        stripeEmailsActionRequired: field("stripeEmailsActionRequired") === "on",
      });
      if (!saved.ok) return json({ intent, saved: null, errors: { form: translateError(t, saved.error) } as Record<string, string> }, { status: 422 });
      result = { ok: true };
      break;
    }
    case "disconnect":
      result = (await disconnectStripe(db, shop.id, connectionId))
        ? { ok: true }
        : { ok: false, errors: { webhookSecret: t("integrations:stripe.errors.connectionGone") } };
      break;
    default:
      return json({ intent: null, saved: null, errors: { form: t("integrations:stripe.errors.unknownAction") } as Record<string, string> }, { status: 400 });
  }
  if (!result.ok) {
    const errors = Object.fromEntries(Object.entries(result.errors).map(([field, message]) => [field, translateError(t, message)]));
    return json({ intent, saved: null, errors: errors as Record<string, string> }, { status: 422 });
  }
  return json({ intent, saved: t(`integrations:stripe.saved.${intent}`), errors: {} as Record<string, string> });
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

export const meta: MetaFunction<typeof loader> = ({ data }) => [{ title: pageTitle(data?.title ?? "Stripe · Settings") }];

/** The rich-text parts of a catalogue sentence (`<code>…</code>`, `<b>…</b>`). */
const Code = ({ children }: { children?: ReactNode }) => <InlineCode>{children}</InlineCode>;
const Strong = ({ children }: { children?: ReactNode }) => (
  <Text as="span" fontWeight="semibold">
    {children}
  </Text>
);
const RICH = { code: <Code />, b: <Strong /> };

export default function StripeSettings() {
  const { endpointUrl, eventTypes, apiVersion, ignored, connection, stripeSourceEnabled, keyPermissions, paymentEventTypes, paymentRecovery } =
    useLoaderData<typeof loader>();
  const { t } = useTranslation("integrations");
  const result = useActionData<typeof action>();
  const navigation = useNavigation();
  const busy = navigation.state !== "idle";
  const errors = result?.errors ?? {};
  const errorFor = (intent: Intent, name: "webhookSecret" | "apiKey") => (result?.intent === intent ? errors[name] : undefined);
  const [confirmDisconnect, setConfirmDisconnect] = useState(false);
  const modeSource = (source: string | null) =>
    source === "merchant" ? t("stripe.mode.sourceMerchant") : source === "api_key" ? t("stripe.mode.sourceApiKey") : t("stripe.mode.sourceFirstEvent");

  return (
    <Page title={t("stripe.title")} subtitle={t("stripe.subtitle")}>
      <Layout>
        {!stripeSourceEnabled && (
          <Layout.Section>
            <Banner tone="warning" title={t("stripe.sourceOff.title")}>
              {t("stripe.sourceOff.body")}
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
                {t("stripe.endpoint.heading")}
              </Text>
              <Text as="p">{t("stripe.endpoint.intro")}</Text>
              <TextField label={t("stripe.endpoint.urlLabel")} value={endpointUrl} readOnly autoComplete="off" monospaced onChange={() => {}} />
              <Text as="p">
                <Trans t={t} i18nKey="stripe.endpoint.apiVersion" values={{ apiVersion }} components={RICH} />
              </Text>
              <Text as="p">{t("stripe.endpoint.selectEvents", { count: eventTypes.length })}</Text>
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
                  {t("stripe.secret.heading")}
                </Text>
                {connection ? <Badge tone="success">{t("stripe.secret.set")}</Badge> : <Badge>{t("stripe.secret.notConnected")}</Badge>}
              </InlineStack>
              {!connection ? (
                <Form method="post">
                  <input type="hidden" name="intent" value="connect" />
                  <FormLayout>
                    <SecretField
                      label={t("stripe.secret.label")}
                      name="webhookSecret"
                      helpText={t("stripe.secret.help")}
                      error={errorFor("connect", "webhookSecret")}
                      reset={result}
                    />
                    <SecretField
                      label={t("stripe.secret.apiKeyLabel")}
                      name="apiKey"
                      helpText={t("stripe.secret.apiKeyHelp")}
                      error={errorFor("connect", "apiKey")}
                      reset={result}
                    />
                    <Button submit variant="primary" loading={busy}>
                      {t("stripe.secret.connect")}
                    </Button>
                  </FormLayout>
                </Form>
              ) : (
                <BlockStack gap="300">
                  {connection.lastEventAt ? (
                    <Text as="p">{t("stripe.secret.lastEvent", { time: utc(connection.lastEventAt) })}</Text>
                  ) : (
                    <Text as="p" tone="subdued">
                      {t("stripe.secret.noEvent")}
                    </Text>
                  )}
                  {connection.previousSecretExpiresAt && (
                    <Banner tone="info">
                      <BlockStack gap="200">
                        <Text as="p">{t("stripe.secret.rotating", { time: utc(connection.previousSecretExpiresAt) })}</Text>
                        <Form method="post">
                          <input type="hidden" name="intent" value="end-rotation" />
                          <input type="hidden" name="connectionId" value={connection.id} />
                          <Button submit loading={busy}>
                            {t("stripe.secret.endRotation")}
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
                        label={t("stripe.secret.newLabel")}
                        name="webhookSecret"
                        helpText={t("stripe.secret.newHelp")}
                        error={errorFor("rotate", "webhookSecret")}
                        reset={result}
                      />
                      <Button submit loading={busy}>
                        {t("stripe.secret.rotate")}
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
                    {t("stripe.apiKey.heading")}
                  </Text>
                  {connection.apiKeyLast4 ? (
                    <Badge tone="success">
                      {t(connection.apiKeyMode === "live" ? "stripe.apiKey.setLive" : "stripe.apiKey.setTest", { last4: connection.apiKeyLast4 })}
                    </Badge>
                  ) : (
                    <Badge>{t("stripe.apiKey.notSet")}</Badge>
                  )}
                </InlineStack>
                <Text as="p">{t("stripe.apiKey.intro")}</Text>
                <List>
                  {keyPermissions.map((p) => (
                    <List.Item key={p.resource}>
                      <Text as="span" fontWeight="semibold">
                        {p.label}
                      </Text>{" "}
                      — {p.why}
                    </List.Item>
                  ))}
                </List>
                <Form method="post">
                  <input type="hidden" name="intent" value="set-api-key" />
                  <input type="hidden" name="connectionId" value={connection.id} />
                  <FormLayout>
                    <SecretField
                      label={connection.apiKeyLast4 ? t("stripe.apiKey.replaceLabel") : t("stripe.apiKey.label")}
                      name="apiKey"
                      helpText={t("stripe.apiKey.help")}
                      error={errorFor("set-api-key", "apiKey")}
                      reset={result}
                    />
                    <InlineStack gap="200">
                      <Button submit loading={busy}>
                        {t("stripe.apiKey.save")}
                      </Button>
                    </InlineStack>
                  </FormLayout>
                </Form>
                {connection.apiKeyLast4 && (
                  <Form method="post">
                    <input type="hidden" name="intent" value="remove-api-key" />
                    <input type="hidden" name="connectionId" value={connection.id} />
                    <Button submit tone="critical" variant="plain" loading={busy}>
                      {t("stripe.apiKey.remove")}
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
                    {t("stripe.mode.heading")}
                  </Text>
                  {connection.mode ? (
                    <Badge tone={connection.mode === "live" ? "success" : "attention"}>
                      {connection.mode === "live" ? t("stripe.mode.live") : t("stripe.mode.test")}
                    </Badge>
                  ) : (
                    <Badge>{t("stripe.mode.unset")}</Badge>
                  )}
                </InlineStack>
                <Text as="p">
                  {connection.mode
                    ? t(connection.mode === "live" ? "stripe.mode.currentLive" : "stripe.mode.currentTest", { source: modeSource(connection.modeSource) })
                    : t("stripe.mode.notSetYet")}
                </Text>
                {ignored.length > 0 ? (
                  <List>
                    {ignored.map((i) => (
                      <List.Item key={i.reason}>{t("stripe.ignored.since", { label: i.label, time: utc(i.since) })}</List.Item>
                    ))}
                  </List>
                ) : null}
                <Form method="post">
                  <input type="hidden" name="intent" value="set-mode" />
                  <input type="hidden" name="connectionId" value={connection.id} />
                  <FormLayout>
                    <InlineStack gap="400">
                      <label>
                        <input type="radio" name="mode" value="live" defaultChecked={connection.mode !== "test"} /> {t("stripe.mode.live")}
                      </label>
                      <label>
                        <input type="radio" name="mode" value="test" defaultChecked={connection.mode === "test"} /> {t("stripe.mode.test")}
                      </label>
                    </InlineStack>
                    <label>
                      <input type="checkbox" name="connectPlatform" defaultChecked={connection.connectPlatform} /> {t("stripe.mode.connectPlatform")}
                    </label>
                    <Button submit loading={busy}>
                      {t("stripe.mode.save")}
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
                {t("stripe.defaults.heading")}
              </Text>
              <Text as="p">{t("stripe.defaults.intro")}</Text>
              <List type="number">
                {(["expiry", "recovery", "consent", "paymentLinks", "customer"] as const).map((item) => (
                  <List.Item key={item}>
                    <Text as="span" fontWeight="semibold">
                      {t(`stripe.defaults.${item}Title`)}
                    </Text>{" "}
                    <Trans t={t} i18nKey={`stripe.defaults.${item}Body`} components={RICH} />
                  </List.Item>
                ))}
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
                  {t("stripe.disconnect.heading")}
                </Text>
                <Text as="p">{t("stripe.disconnect.intro")}</Text>
                <Box>
                  <Button tone="critical" loading={busy && navigation.formData?.get("intent") === "disconnect"} onClick={() => setConfirmDisconnect(true)}>
                    {t("stripe.disconnect.open")}
                  </Button>
                </Box>
              </BlockStack>
            </Card>
            <Modal open={confirmDisconnect} onClose={() => setConfirmDisconnect(false)} title={t("stripe.disconnect.modalTitle")}>
              <Modal.Section>
                <Form method="post" onSubmit={() => setConfirmDisconnect(false)}>
                  <BlockStack gap="300">
                    <Text as="p">{t("stripe.disconnect.modalBody")}</Text>
                    <input type="hidden" name="intent" value="disconnect" />
                    <input type="hidden" name="connectionId" value={connection.id} />
                    <InlineStack gap="200" align="end">
                      <Button onClick={() => setConfirmDisconnect(false)}>{t("stripe.disconnect.keep")}</Button>
                      <Button submit variant="primary" tone="critical">
                        {t("stripe.disconnect.confirm")}
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
