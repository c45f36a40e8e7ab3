import type { ActionFunctionArgs, LoaderFunctionArgs } from "@remix-run/node";
import { json } from "@remix-run/node";
import { Form, useActionData, useLoaderData, useNavigation } from "@remix-run/react";
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

export const loader = async ({ request }: LoaderFunctionArgs) => {
  const { shop, session } = await requireAdmin(request);
  const [policy, email, stripe, failedFlowTriggers, privacyRequests] = await Promise.all([
    loadPolicySettings(db, shop.id),
    loadEmailSettings(db, shop.id),
    getStripeConnection(db, shop.id),
    countFailedDeliveries(db, shop.id),
    countPrivacyRequests(db, shop.id),
  ]);
  return json({
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

export const action = async ({ request }: ActionFunctionArgs) => {
  const { shop } = await requireAdmin(request);
  const form = Object.fromEntries(await readFormWithLimit(request)) as Record<string, string>;
  const { intent, ...fields } = form;
  if (intent === "policy") {
    const result = await savePolicySettings(db, shop.id, fields);
    return result.ok
      ? json<ActionResult>({ intent, ok: true, message: "Recovery policy saved." })
      : json<ActionResult>({ intent, ok: false, fieldErrors: result.fieldErrors }, { status: 400 });
  }
  if (intent === "email") {
    const result = await saveEmailSettings(db, shop.id, fields);
    return result.ok
      ? json<ActionResult>({ intent, ok: true, message: "Email settings saved.", warnings: result.warnings })
      : json<ActionResult>({ intent, ok: false, fieldErrors: result.fieldErrors }, { status: 400 });
  }
  if (intent === "shopify-email") {
    const result = await saveShopifyEmailSettings(db, shop.id, fields);
    return result.ok
      ? json<ActionResult>({ intent, ok: true, message: "Saved. It applies to the next email Reclaim is about to send." })
      : json<ActionResult>({ intent, ok: false, fieldErrors: result.fieldErrors }, { status: 400 });
  }
  if (intent === "test-email") {
    // What is on screen, saved or not: the form posts every field with the test (nothing is written).
    const { to = "", ...unsaved } = fields;
    const result = await sendTestEmail(db, shop.id, to, { unsaved });
    return result.ok
      ? json<ActionResult>({
          intent,
          ok: true,
          message: result.logged
            ? `Test email written to the server log (Log only: nothing was sent to ${to}).`
            : `Test email sent to ${to} with the settings on screen. Save them to use them for recovery emails.`,
        })
      : json<ActionResult>(
          { intent, ok: false, message: result.error, fieldErrors: { ...result.fieldErrors, ...(result.fieldErrors ? {} : { to: result.error }) } },
          { status: result.retryAfterSeconds ? 429 : 400 },
        );
  }
  if (intent === "brand") {
    const result = await saveBrandSettings(db, shop.id, fields);
    return result.ok
      ? json<ActionResult>({ intent, ok: true, message: "Brand saved: your logo and colour are used in the emails from now on." })
      : json<ActionResult>({ intent, ok: false, fieldErrors: result.fieldErrors }, { status: 400 });
  }
  return json<ActionResult>({ intent: String(intent), ok: false, message: "Unknown action" }, { status: 400 });
};

const capitalise = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

export const meta: MetaFunction = () => [{ title: pageTitle("Settings") }];

export default function Settings() {
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
      <Banner tone={result.ok ? "success" : "critical"}>
        {result.ok ? result.message : (result.message ?? "Please fix the fields marked below. Nothing was saved.")}
      </Banner>
    ) : null;

  return (
    <Page title="Settings">
      <NavigationProgress />
      <Layout>
        <Layout.AnnotatedSection title="Recovery policy" description="Who may be emailed, how often, and when. Checked again right before every email.">
          <Card>
            <Form method="post">
              <input type="hidden" name="intent" value="policy" />
              <FormLayout>
                {banner("policy")}
                <FormSelect
                  name="consentPolicy"
                  label="Consent"
                  initial={policy.consentPolicy}
                  error={err("policy", "consentPolicy")}
                  options={[
                    { label: "Explicit consent only (recommended)", value: "explicit" },
                    { label: "Implied: also buyers who have not opted out", value: "implied" },
                  ]}
                  helpText="Explicit: only buyers who opted in to marketing (Shopify SUBSCRIBED or the checkout box; Stripe consent.promotions = opt_in). Implied also emails buyers whose consent is unknown, which some jurisdictions do not allow."
                />
                <FormLayout.Group>
                  <FormTextField
                    name="frequencyCapHours"
                    label="At most one recovery email per (hours)"
                    type="number"
                    initial={policy.frequencyCapHours}
                    error={err("policy", "frequencyCapHours")}
                    helpText="Per contact, across Shopify and Stripe."
                  />
                  <FormTextField
                    name="attributionWindowDays"
                    label="Attribution window (days)"
                    type="number"
                    initial={policy.attributionWindowDays}
                    error={err("policy", "attributionWindowDays")}
                    helpText="An order within this many days after a click is credited by window, reported apart from link recoveries."
                  />
                </FormLayout.Group>
                <FormLayout.Group>
                  <FormTextField
                    name="quietHoursStart"
                    label="Quiet hours from"
                    type="time"
                    initial={policy.quietHoursStart}
                    error={err("policy", "quietHoursStart")}
                  />
                  <FormTextField
                    name="quietHoursEnd"
                    label="Quiet hours until"
                    type="time"
                    initial={policy.quietHoursEnd}
                    error={err("policy", "quietHoursEnd")}
                    helpText="Emails due inside quiet hours wait until they end."
                  />
                </FormLayout.Group>
                <FormSelect
                  name="timezone"
                  label="Time zone"
                  initial={policy.timezone}
                  options={timeZones}
                  error={err("policy", "timezone")}
                  helpText="Used for quiet hours. Taken from your Shopify store when Reclaim is installed."
                />
                <InlineStack align="end">
                  <Button submit variant="primary" loading={busy("policy")}>
                    Save policy
                  </Button>
                </InlineStack>
              </FormLayout>
            </Form>
          </Card>
        </Layout.AnnotatedSection>

        <Layout.AnnotatedSection
          id="email-sending"
          title="Email sending"
          description="Recovery emails go out through your own email provider's SMTP server. Every email carries a one-click unsubscribe and your postal address."
        >
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

        <Layout.AnnotatedSection
          id="brand"
          title="Brand"
          description="Your logo and colour in every recovery email: the logo on top, the colour on the default templates' buttons."
        >
          <Card>
            <Form method="post">
              <input type="hidden" name="intent" value="brand" />
              <FormLayout>
                {banner("brand")}
                <FormTextField
                  name="brandLogoUrl"
                  label="Logo address (https)"
                  initial={email.brandLogoUrl ?? ""}
                  error={err("brand", "brandLogoUrl")}
                  placeholder="https://cdn.shopify.com/…/logo.png"
                  helpText="An image on a public https address, about 400 × 80 pixels. Tip: upload it in Shopify admin › Content › Files and copy its link."
                />
                <FormTextField
                  name="brandAccentColor"
                  label="Accent colour"
                  initial={email.brandAccentColor ?? ""}
                  error={err("brand", "brandAccentColor")}
                  placeholder="#111827"
                  helpText="A hex colour such as #1a73e8. Pick one with enough contrast for white button text."
                />
                <InlineStack align="end">
                  <Button submit variant="primary" loading={busy("brand")}>
                    Save brand
                  </Button>
                </InlineStack>
              </FormLayout>
            </Form>
          </Card>
        </Layout.AnnotatedSection>

        <Layout.AnnotatedSection
          id="shopify-email"
          title="Shopify's own abandoned-checkout email"
          description="Shopify can send its own abandoned-checkout email (Shopify Email automations). Reclaim checks it right before each email to a Shopify checkout, so a buyer is not emailed twice for the same cart."
        >
          <Card>
            <Form method="post">
              <input type="hidden" name="intent" value="shopify-email" />
              <FormLayout>
                {banner("shopify-email")}
                <FormSelect
                  name="shopifyEmailPolicy"
                  label="When Shopify has emailed the buyer, or is about to"
                  initial={shopifyEmailPolicy}
                  error={err("shopify-email", "shopifyEmailPolicy")}
                  options={[
                    { label: "Let Shopify handle that cart: Reclaim sends nothing for it (recommended)", value: "defer" },
                    { label: "Send Reclaim's emails anyway", value: "send_anyway" },
                  ]}
                  helpText="With the first choice, a cart whose Shopify email was sent or is scheduled gets no email from Reclaim, and its activity log says so. If Shopify can't be reached, Reclaim waits and tries again rather than risk a second email."
                />
                <Text as="p" tone="subdued">
                  Want Reclaim to handle every abandoned cart instead? Turn Shopify's own email off in your Shopify admin: Marketing › Automations › Abandoned
                  checkout, then turn the automation off.
                </Text>
                <InlineStack align="end">
                  <Button submit variant="primary" loading={busy("shopify-email")}>
                    Save
                  </Button>
                </InlineStack>
              </FormLayout>
            </Form>
          </Card>
        </Layout.AnnotatedSection>

        <Layout.AnnotatedSection title="Stripe" description="Recover abandoned Stripe Checkout sessions in the same pipeline.">
          <Card>
            <InlineStack align="space-between" blockAlign="center">
              <BlockStack gap="100">
                <InlineStack gap="200">
                  <Text as="span" fontWeight="semibold">
                    Stripe Checkout
                  </Text>
                  {stripe ? <Badge tone="success">connected</Badge> : <Badge>not connected</Badge>}
                </InlineStack>
                {stripe?.apiKeyLast4 ? (
                  <Text as="p" tone="subdued">
                    Restricted key ending in {stripe.apiKeyLast4}
                  </Text>
                ) : null}
              </BlockStack>
              <Button url="/app/settings/stripe">{stripe ? "Manage connection" : "Connect Stripe"}</Button>
            </InlineStack>
          </Card>
        </Layout.AnnotatedSection>

        <Layout.AnnotatedSection
          title="Checkout pixel"
          description="Sees a checkout the moment the buyer types their email, instead of at the next sync. It never causes an email on its own."
        >
          <Card>
            <InlineStack align="space-between" blockAlign="center">
              <BlockStack gap="100">
                <InlineStack gap="200">
                  <Text as="span" fontWeight="semibold">
                    Web pixel
                  </Text>
                  <Badge tone={pixel.status === "active" ? "success" : pixel.status === "not_activated" ? undefined : "critical"}>
                    {PIXEL_STATUS[pixel.status] ?? pixel.status}
                  </Badge>
                </InlineStack>
                {pixel.error ? (
                  <Text as="p" tone="subdued">
                    {pixel.error}
                  </Text>
                ) : null}
              </BlockStack>
              <Button url="/app/settings/pixel">Pixel details</Button>
            </InlineStack>
          </Card>
        </Layout.AnnotatedSection>

        <Layout.AnnotatedSection
          title="Shopify Flow"
          description="A “Checkout recovered” trigger fires for every recovered checkout, so you can build your own follow-ups in Flow."
        >
          <Card>
            <InlineStack align="space-between" blockAlign="center">
              <InlineStack gap="200">
                <Text as="span" fontWeight="semibold">
                  Checkout recovered trigger
                </Text>
                {failedFlowTriggers > 0 ? <Badge tone="critical">{`${failedFlowTriggers} failed`}</Badge> : <Badge tone="success">no failures</Badge>}
              </InlineStack>
              <Button url="/app/settings/flow">Trigger deliveries</Button>
            </InlineStack>
          </Card>
        </Layout.AnnotatedSection>

        <Layout.AnnotatedSection
          title="Privacy requests"
          description="Customer data requests and erasures Shopify sends on your customers' behalf, with downloadable exports; and whether unsubscribes are mirrored to Shopify."
        >
          <Card>
            <InlineStack align="space-between" blockAlign="center">
              <Text as="span">{privacyRequests === 0 ? "No requests received" : `${privacyRequests} request${privacyRequests === 1 ? "" : "s"} received`}</Text>
              <Button url="/app/settings/privacy">Privacy requests</Button>
            </InlineStack>
          </Card>
        </Layout.AnnotatedSection>
      </Layout>
    </Page>
  );
}

const PIXEL_STATUS: Record<string, string> = {
  active: "active",
  not_activated: "not activated",
  missing_scopes: "missing permissions",
  failed: "activation failed",
};

export function ErrorBoundary() {
  return <PageError title="Settings" />;
}
