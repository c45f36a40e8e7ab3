import type { ActionFunctionArgs, LoaderFunctionArgs } from "@remix-run/node";
import { json } from "@remix-run/node";
import { Form, useActionData, useLoaderData, useNavigation } from "@remix-run/react";
import { useTranslation } from "react-i18next";
import { Badge, Banner, BlockStack, Button, Card, FormLayout, InlineStack, Layout, Page, Text } from "@shopify/polaris";
import { requireAdmin } from "../auth.server";
import { FormSelect, FormTextField } from "../components/form-fields";
import { NavigationProgress, PageError } from "../components/page-states";
import { db } from "../db.server";
import { loadEmailSettings, saveBrandSettings, saveEmailSettings, sendTestEmail } from "../email/settings.server";
import { env } from "../env.server";
import { countFailedDeliveries } from "../flow/deliveries.server";
import { getStripeConnection } from "../models/stripe-connection.server";
import { countPrivacyRequests } from "../privacy/requests.server";
import { EmailSendingForm } from "../components/email-sending-form";
import { loadPolicySettings, savePolicySettings, saveShopifyEmailSettings } from "../models/shop-settings.server";
import { readFormWithLimit } from "../security/request-limits.server";
import type { MetaFunction } from "@remix-run/node";
import { pageTitle } from "../components/page-title";
import type { Translate } from "../email/transport.server";

export const loader = async ({ request }: LoaderFunctionArgs) => {
  const { shop, session, t } = await requireAdmin(request);
  const [policy, email, stripe, failedFlowTriggers, privacyRequests] = await Promise.all([
    loadPolicySettings(db, shop.id),
    loadEmailSettings(db, shop.id, t),
    getStripeConnection(db, shop.id),
    countFailedDeliveries(db, shop.id),
    countPrivacyRequests(db, shop.id),
  ]);
  return json({
    title: t("settings:page.title"),
    policy,
    email,
    stripe: stripe
      ? { connectedAt: stripe.createdAt.toISOString(), lastEventAt: stripe.lastEventAt?.toISOString() ?? null, apiKeyLast4: stripe.apiKeyLast4 }
      : null,
    staffEmail: session.onlineAccessInfo?.associated_user?.email ?? shop.email ?? "",
    pixel: { status: shop.webPixelStatus, error: shop.webPixelError },
    failedFlowTriggers,
    privacyRequests,
    shopifyEmailPolicy: shop.shopifyEmailPolicy === "send_anyway" ? "send_anyway" : "defer",
    // "Log only" writes emails to the server log: offered in development only, never to a merchant in production.
    allowLogTransport: env.NODE_ENV !== "production",
    timeZones: timeZoneOptions(policy.timezone),
  });
};

/** Every IANA time zone the runtime knows, UTC first; a stored zone it does not list is kept as an option. */
function timeZoneOptions(current: string) {
  const zones = ["UTC", ...Intl.supportedValuesOf("timeZone").filter((z) => z !== "UTC")];
  if (!zones.includes(current)) zones.unshift(current);
  return zones.map((z) => ({ label: z.replace(/_/g, " "), value: z }));
}

type ActionResult = { intent: string; ok: boolean; message?: string; fieldErrors?: Record<string, string>; warnings?: Record<string, string> };

/**
 * The recovery policy's field errors (app/models/shop-settings.server.ts) by their English text, with their catalogue
 * keys: shown in the admin's language. A message not listed here is shown as it is.
 */
const POLICY_ERRORS: Record<string, string> = {
  "must be a time like 21:00": "timeFormat",
  "must be explicit or implied": "consentPolicy",
  "must be a number of hours": "hoursNotNumber",
  "must be a whole number of hours": "hoursNotWhole",
  "must be at least 1 hour": "hoursMin",
  "must be at most 720 hours (30 days)": "hoursMax",
  "is required": "required",
  "must be an IANA time zone such as Europe/Paris": "timezone",
  "must be a number of days": "daysNotNumber",
  "must be a whole number of days": "daysNotWhole",
  "must be at least 1 day": "daysMin",
  "must be at most 30 days": "daysMax",
  "set both ends of the quiet hours, or neither": "quietHoursBoth",
  "must differ from the start": "quietHoursSame",
  "must be defer or send_anyway": "shopifyEmailPolicy",
};

const translatePolicyErrors = (errors: Record<string, string>, t: Translate) =>
  Object.fromEntries(Object.entries(errors).map(([field, text]) => [field, POLICY_ERRORS[text] ? t(`settings:policy.errors.${POLICY_ERRORS[text]}`) : text]));

export const action = async ({ request }: ActionFunctionArgs) => {
  const { shop, t } = await requireAdmin(request);
  const form = Object.fromEntries(await readFormWithLimit(request)) as Record<string, string>;
  const { intent, ...fields } = form;
  if (intent === "policy") {
    const result = await savePolicySettings(db, shop.id, fields);
    return result.ok
      ? json<ActionResult>({ intent, ok: true, message: t("settings:policy.saved") })
      : json<ActionResult>({ intent, ok: false, fieldErrors: translatePolicyErrors(result.fieldErrors, t) }, { status: 400 });
  }
  if (intent === "email") {
    const result = await saveEmailSettings(db, shop.id, fields, t);
    return result.ok
      ? json<ActionResult>({ intent, ok: true, message: t("settings:emailSending.saved"), warnings: result.warnings })
      : json<ActionResult>({ intent, ok: false, fieldErrors: result.fieldErrors }, { status: 400 });
  }
  if (intent === "shopify-email") {
    const result = await saveShopifyEmailSettings(db, shop.id, fields);
    return result.ok
      ? json<ActionResult>({ intent, ok: true, message: t("settings:shopifyEmail.saved") })
      : json<ActionResult>({ intent, ok: false, fieldErrors: translatePolicyErrors(result.fieldErrors, t) }, { status: 400 });
  }
  if (intent === "test-email") {
    // What is on screen, saved or not: the form posts every field with the test (nothing is written).
    const { to = "", ...unsaved } = fields;
    const result = await sendTestEmail(db, shop.id, to, { unsaved, t });
    return result.ok
      ? json<ActionResult>({
          intent,
          ok: true,
          message: result.logged ? t("settings:testEmail.logged", { to }) : t("settings:testEmail.sent", { to }),
        })
      : json<ActionResult>(
          { intent, ok: false, message: result.error, fieldErrors: { ...result.fieldErrors, ...(result.fieldErrors ? {} : { to: result.error }) } },
          { status: result.retryAfterSeconds ? 429 : 400 },
        );
  }
  if (intent === "brand") {
    const result = await saveBrandSettings(db, shop.id, fields, t);
    return result.ok
      ? json<ActionResult>({ intent, ok: true, message: t("settings:brand.saved") })
      : json<ActionResult>({ intent, ok: false, fieldErrors: result.fieldErrors }, { status: 400 });
  }
  return json<ActionResult>({ intent: String(intent), ok: false, message: t("settings:form.unknownAction") }, { status: 400 });
};

const capitalise = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

export const meta: MetaFunction<typeof loader> = ({ data }) => [{ title: pageTitle(data?.title ?? "Settings") }];

export default function Settings() {
  const { t } = useTranslation("settings");
  const { policy, email, stripe, staffEmail, pixel, failedFlowTriggers, privacyRequests, shopifyEmailPolicy, allowLogTransport, timeZones } =
    useLoaderData<typeof loader>();
  const result = useActionData<typeof action>() as ActionResult | undefined;
  const navigation = useNavigation();
  const busy = (intent: string) => navigation.state === "submitting" && navigation.formData?.get("intent") === intent;
  const errorsFor = (intent: string) => (result && result.intent === intent && !result.ok ? (result.fieldErrors ?? {}) : {});
  const err = (intent: string, field: string) => {
    const message = errorsFor(intent)[field];
    return message ? capitalise(message) : undefined;
  };
  const banner = (intent: string) =>
    result?.intent === intent ? (
      <Banner tone={result.ok ? "success" : "critical"}>{result.ok ? result.message : (result.message ?? t("form.fixFields"))}</Banner>
    ) : null;

  return (
    <Page title={t("page.title")}>
      <NavigationProgress />
      <Layout>
        <Layout.AnnotatedSection title={t("policy.title")} description={t("policy.description")}>
          <Card>
            <Form method="post">
              <input type="hidden" name="intent" value="policy" />
              <FormLayout>
                {banner("policy")}
                <FormSelect
                  name="consentPolicy"
                  label={t("policy.consent.label")}
                  initial={policy.consentPolicy}
                  error={err("policy", "consentPolicy")}
                  options={[
                    { label: t("policy.consent.explicit"), value: "explicit" },
                    { label: t("policy.consent.implied"), value: "implied" },
                  ]}
                  helpText={t("policy.consent.help")}
                />
                <FormLayout.Group>
                  <FormTextField
                    name="frequencyCapHours"
                    label={t("policy.frequencyCap.label")}
                    type="number"
                    initial={policy.frequencyCapHours}
                    error={err("policy", "frequencyCapHours")}
                    helpText={t("policy.frequencyCap.help")}
                  />
                  <FormTextField
                    name="attributionWindowDays"
                    label={t("policy.attributionWindow.label")}
                    type="number"
                    initial={policy.attributionWindowDays}
                    error={err("policy", "attributionWindowDays")}
                    helpText={t("policy.attributionWindow.help")}
                  />
                </FormLayout.Group>
                <FormLayout.Group>
                  <FormTextField
                    name="quietHoursStart"
                    label={t("policy.quietHoursStart.label")}
                    type="time"
                    initial={policy.quietHoursStart}
                    error={err("policy", "quietHoursStart")}
                  />
                  <FormTextField
                    name="quietHoursEnd"
                    label={t("policy.quietHoursEnd.label")}
                    type="time"
                    initial={policy.quietHoursEnd}
                    error={err("policy", "quietHoursEnd")}
                    helpText={t("policy.quietHoursEnd.help")}
                  />
                </FormLayout.Group>
                <FormSelect
                  name="timezone"
                  label={t("policy.timezone.label")}
                  initial={policy.timezone}
                  options={timeZones}
                  error={err("policy", "timezone")}
                  helpText={t("policy.timezone.help")}
                />
                <InlineStack align="end">
                  <Button submit variant="primary" loading={busy("policy")}>
                    {t("policy.save")}
                  </Button>
                </InlineStack>
              </FormLayout>
            </Form>
          </Card>
        </Layout.AnnotatedSection>

        <Layout.AnnotatedSection id="email-sending" title={t("emailSending.title")} description={t("emailSending.description")}>
          <Card>
            <EmailSendingForm
              email={email}
              staffEmail={staffEmail}
              allowLogTransport={allowLogTransport}
              result={result && (result.intent === "email" || result.intent === "test-email") ? result : undefined}
              busy={busy("email") ? "email" : busy("test-email") ? "test-email" : null}
            />
          </Card>
        </Layout.AnnotatedSection>

        <Layout.AnnotatedSection id="brand" title={t("brand.title")} description={t("brand.description")}>
          <Card>
            <Form method="post">
              <input type="hidden" name="intent" value="brand" />
              <FormLayout>
                {banner("brand")}
                <FormTextField
                  name="brandLogoUrl"
                  label={t("brand.logo.label")}
                  initial={email.brandLogoUrl ?? ""}
                  error={err("brand", "brandLogoUrl")}
                  placeholder="https://cdn.shopify.com/…/logo.png"
                  helpText={t("brand.logo.help")}
                />
                <FormTextField
                  name="brandAccentColor"
                  label={t("brand.accent.label")}
                  initial={email.brandAccentColor ?? ""}
                  error={err("brand", "brandAccentColor")}
                  placeholder="#111827"
                  helpText={t("brand.accent.help")}
                />
                <InlineStack align="end">
                  <Button submit variant="primary" loading={busy("brand")}>
                    {t("brand.save")}
                  </Button>
                </InlineStack>
              </FormLayout>
            </Form>
          </Card>
        </Layout.AnnotatedSection>

        <Layout.AnnotatedSection id="shopify-email" title={t("shopifyEmail.title")} description={t("shopifyEmail.description")}>
          <Card>
            <Form method="post">
              <input type="hidden" name="intent" value="shopify-email" />
              <FormLayout>
                {banner("shopify-email")}
                <FormSelect
                  name="shopifyEmailPolicy"
                  label={t("shopifyEmail.label")}
                  initial={shopifyEmailPolicy}
                  error={err("shopify-email", "shopifyEmailPolicy")}
                  options={[
                    { label: t("shopifyEmail.defer"), value: "defer" },
                    { label: t("shopifyEmail.sendAnyway"), value: "send_anyway" },
                  ]}
                  helpText={t("shopifyEmail.help")}
                />
                <Text as="p" tone="subdued">
                  {t("shopifyEmail.turnOff")}
                </Text>
                <InlineStack align="end">
                  <Button submit variant="primary" loading={busy("shopify-email")}>
                    {t("shopifyEmail.save")}
                  </Button>
                </InlineStack>
              </FormLayout>
            </Form>
          </Card>
        </Layout.AnnotatedSection>

        <Layout.AnnotatedSection title="Stripe" description={t("stripe.description")}>
          <Card>
            <InlineStack align="space-between" blockAlign="center">
              <BlockStack gap="100">
                <InlineStack gap="200">
                  <Text as="span" fontWeight="semibold">
                    Stripe Checkout
                  </Text>
                  {stripe ? <Badge tone="success">{t("stripe.connected")}</Badge> : <Badge>{t("stripe.notConnected")}</Badge>}
                </InlineStack>
                {stripe?.apiKeyLast4 ? (
                  <Text as="p" tone="subdued">
                    {t("stripe.keyEnding", { last4: stripe.apiKeyLast4 })}
                  </Text>
                ) : null}
              </BlockStack>
              <Button url="/app/settings/stripe">{stripe ? t("stripe.manage") : t("stripe.connect")}</Button>
            </InlineStack>
          </Card>
        </Layout.AnnotatedSection>

        <Layout.AnnotatedSection title={t("pixel.title")} description={t("pixel.description")}>
          <Card>
            <InlineStack align="space-between" blockAlign="center">
              <BlockStack gap="100">
                <InlineStack gap="200">
                  <Text as="span" fontWeight="semibold">
                    {t("pixel.name")}
                  </Text>
                  <Badge tone={pixel.status === "active" ? "success" : pixel.status === "not_activated" ? undefined : "critical"}>
                    {PIXEL_STATUS.includes(pixel.status) ? t(`pixel.status.${pixel.status}`) : pixel.status}
                  </Badge>
                </InlineStack>
                {pixel.error ? (
                  <Text as="p" tone="subdued">
                    {pixel.error}
                  </Text>
                ) : null}
              </BlockStack>
              <Button url="/app/settings/pixel">{t("pixel.details")}</Button>
            </InlineStack>
          </Card>
        </Layout.AnnotatedSection>

        <Layout.AnnotatedSection title="Shopify Flow" description={t("flow.description")}>
          <Card>
            <InlineStack align="space-between" blockAlign="center">
              <InlineStack gap="200">
                <Text as="span" fontWeight="semibold">
                  {t("flow.trigger")}
                </Text>
                {failedFlowTriggers > 0 ? (
                  <Badge tone="critical">{t("flow.failed", { count: failedFlowTriggers })}</Badge>
                ) : (
                  <Badge tone="success">{t("flow.noFailures")}</Badge>
                )}
              </InlineStack>
              <Button url="/app/settings/flow">{t("flow.deliveries")}</Button>
            </InlineStack>
          </Card>
        </Layout.AnnotatedSection>

        <Layout.AnnotatedSection title={t("privacy.title")} description={t("privacy.description")}>
          <Card>
            <InlineStack align="space-between" blockAlign="center">
              <Text as="span">{privacyRequests === 0 ? t("privacy.none") : t("privacy.received", { count: privacyRequests })}</Text>
              <Button url="/app/settings/privacy">{t("privacy.title")}</Button>
            </InlineStack>
          </Card>
        </Layout.AnnotatedSection>
      </Layout>
    </Page>
  );
}

/** The pixel's states with words in the catalogue (settings:pixel.status.*); any other is shown as stored. */
const PIXEL_STATUS = ["active", "not_activated", "missing_scopes", "failed"];

export function ErrorBoundary() {
  const { t } = useTranslation("settings");
  return <PageError title={t("page.title")} />;
}
