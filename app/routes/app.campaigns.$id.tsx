import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { json } from "@remix-run/node";
import {
  Form,
  useActionData,
  useBeforeUnload,
  useBlocker,
  useFetcher,
  useLoaderData,
  useNavigation,
  useSubmit,
  type ShouldRevalidateFunction,
} from "@remix-run/react";
import {
  Badge,
  Banner,
  BlockStack,
  Box,
  Button,
  Card,
  Collapsible,
  FormLayout,
  InlineGrid,
  InlineStack,
  Layout,
  List,
  Modal,
  Page,
  Select,
  Tabs,
  Text,
  TextField,
} from "@shopify/polaris";
import { useCallback, useEffect, useRef, useState } from "react";
import { requireAdmin } from "../auth.server";
import { FormSelect, FormTextField } from "../components/form-fields";
import { NavigationProgress, PageError } from "../components/page-states";
import { pageTitle } from "../components/page-title";
import { db } from "../db.server";
import { sendTestEmail } from "../email/settings.server";
import { findShopCampaign, previewRecoveryChoices, updateCampaignFilters } from "../models/campaign.server";
import { previewStep, previewTemplateInput, saveCampaignStep } from "../email/campaign-editor.server";
import { decimalString, INCENTIVE_BY_SOURCE } from "../recovery/incentive";
import { currencyExponent, formatMoney, toMinorUnits } from "../recovery/money";
import { TEMPLATE_VARIABLE_HELP } from "../recovery/template";
import { readFormWithLimit } from "../security/request-limits.server";

export const loader = async ({ request, params }: LoaderFunctionArgs) => {
  const { shop } = await requireAdmin(request);
  const campaign = await findShopCampaign(db, shop.id, params.id ?? "");
  if (!campaign) throw new Response("Campaign not found", { status: 404 });
  const recent = await previewRecoveryChoices(db, shop.id);
  const exp = currencyExponent(shop.currency);
  return json({
    currency: shop.currency,
    locale: shop.locale,
    campaign: {
      id: campaign.id,
      name: campaign.name,
      enabled: campaign.enabled,
      sources: campaign.sources,
      currencies: campaign.currencies,
      minCart: campaign.minCartMinor === null ? "" : (campaign.minCartMinor / 10 ** exp).toFixed(exp),
      steps: campaign.steps.map((s) => ({
        id: s.id,
        position: s.position,
        delayHours: String(+(s.delayMinutes / 60).toFixed(2)),
        subject: s.subject,
        bodyTemplate: s.bodyTemplate,
        incentiveType: s.incentiveType ?? "",
        // A fixed amount is stored in minor units and shown in the shop currency's own units: 500 → "5.00" (JPY 500 → "500").
        incentiveValue:
          s.incentiveValue === null ? "" : s.incentiveType === "fixed_amount" ? decimalString(s.incentiveValue, shop.currency) : String(s.incentiveValue),
        incentiveExpiresDays: s.incentiveExpiresDays === null ? "" : String(s.incentiveExpiresDays),
        stripePromotionCode: s.stripePromotionCode ?? "",
      })),
    },
    recoveries: recent.map((r) => ({ value: r.id, label: cartLabel(r) })),
    variableHelp: TEMPLATE_VARIABLE_HELP,
    incentiveBySource: INCENTIVE_BY_SOURCE,
  });
};

const cartLabel = (r: { source: string; name: string | null; email: string | null }) =>
  `${r.source === "shopify" ? "Shopify" : "Stripe"} · ${r.name ? `${r.name} · ` : ""}${r.email ?? "no email"}`;

export const meta: MetaFunction<typeof loader> = ({ data }) => [{ title: pageTitle(data ? `${data.campaign.name} · Campaigns` : "Campaign") }];

interface StepFields {
  delayHours?: string;
  subject?: string;
  bodyTemplate?: string;
  incentiveType?: string;
  incentiveValue?: string;
  incentiveExpiresDays?: string;
  stripePromotionCode?: string;
}

const wholeNumber = (v: string | undefined) => (v?.trim() ? Number(v) : null);

/**
 * The step as the pipeline stores it: a delay in hours becomes minutes, and a fixed amount typed in the shop currency's
 * own units ("5" or "5.50") becomes minor units (500). A value that is not a number comes back as a field error.
 */
function stepInput(f: StepFields, currency: string) {
  const hours = f.delayHours?.trim() ? Number(f.delayHours) : Number.NaN;
  const errors: Record<string, string> = {};
  let incentiveValue: number | null = null;
  if (f.incentiveType && f.incentiveValue?.trim()) {
    if (f.incentiveType === "fixed_amount") {
      try {
        incentiveValue = toMinorUnits(f.incentiveValue, currency);
      } catch {
        errors.incentiveValue = `Amount must be an amount in ${currency}, like ${currencyExponent(currency) === 0 ? "500" : "5 or 5.50"}`;
      }
    } else {
      incentiveValue = wholeNumber(f.incentiveValue);
    }
  }
  return {
    errors,
    input: {
      delayMinutes: Number.isFinite(hours) ? Math.round(hours * 60) : Number.NaN,
      subject: f.subject ?? "",
      bodyTemplate: f.bodyTemplate ?? "",
      incentiveType: (f.incentiveType || null) as "percentage" | "fixed_amount" | null,
      incentiveValue,
      incentiveExpiresDays: f.incentiveType ? wholeNumber(f.incentiveExpiresDays) : null,
      stripePromotionCode: f.incentiveType ? f.stripePromotionCode?.trim() || null : null,
    },
  };
}

export const action = async ({ request, params }: ActionFunctionArgs) => {
  const { shop } = await requireAdmin(request);
  const campaign = await findShopCampaign(db, shop.id, params.id ?? "");
  if (!campaign) throw new Response("Campaign not found", { status: 404 });
  const form = Object.fromEntries(await readFormWithLimit(request)) as Record<string, string>;
  const { intent, stepId = "", ...fields } = form;

  if (intent === "filters") {
    let minCartMinor: number | null = null;
    if (fields.minCart?.trim()) {
      try {
        minCartMinor = toMinorUnits(fields.minCart, shop.currency);
      } catch {
        return json(
          { intent, ok: false, fieldErrors: { minCartMinor: `Minimum cart value must be an amount in ${shop.currency}, like 25 or 25.50` } },
          { status: 400 },
        );
      }
    }
    const result = await updateCampaignFilters(db, shop.id, campaign.id, {
      name: fields.name,
      sources: fields.sources as "both" | "shopify" | "stripe",
      minCartMinor,
      currencies: (fields.currencies ?? "")
        .split(",")
        .map((c) => c.trim())
        .filter(Boolean),
    });
    return result.ok ? json({ intent, ok: true, message: "Campaign saved." }) : json({ intent, ok: false, fieldErrors: result.fieldErrors }, { status: 400 });
  }
  const { input, errors } = stepInput(fields, shop.currency);
  if (intent === "save-step") {
    if (Object.keys(errors).length) return json({ intent, stepId, ok: false, fieldErrors: errors, problems: [] }, { status: 400 });
    const result = await saveCampaignStep(db, shop.id, stepId, input);
    if (result.ok) return json({ intent, stepId, ok: true, message: `Email ${result.step.position} saved.`, warnings: result.warnings });
    return json({ intent, stepId, ok: false, fieldErrors: result.fieldErrors, problems: result.problems }, { status: 400 });
  }
  if (intent === "preview") {
    if (Object.keys(errors).length) return json({ intent, ok: false as const, problems: [], message: Object.values(errors)[0] });
    const result = await previewStep(db, shop.id, input, { recoveryId: fields.recoveryId || undefined });
    // Past the shop's preview allowance: 429, and the editor shows why (docs/decisions/079).
    if (!result.ok && result.limited)
      return json(
        { intent, ok: false as const, problems: [], message: result.limited.message },
        { status: 429, headers: { "retry-after": String(result.limited.retryAfterSeconds) } },
      );
    return json(result.ok ? { intent, ok: true as const, email: result.email } : { intent, ok: false as const, problems: result.problems });
  }
  if (intent === "test-email") {
    if (Object.keys(errors).length) return json({ intent, stepId, ok: false, fieldErrors: errors }, { status: 400 });
    // The test is this step as on screen, with its own incentive, for the cart chosen in "Preview with".
    const data = await previewTemplateInput(db, shop, input, { recoveryId: fields.recoveryId || undefined });
    const result = await sendTestEmail(db, shop.id, fields.to ?? "", { step: input, input: data });
    return result.ok
      ? json({
          intent,
          stepId,
          ok: true,
          message: result.logged ? `Test email written to the server log (Log only: nothing was sent to ${fields.to}).` : `Test email sent to ${fields.to}.`,
        })
      : json({ intent, stepId, ok: false, fieldErrors: { to: result.error } }, { status: result.retryAfterSeconds ? 429 : 400 });
  }
  return json({ intent, ok: false, message: "Unknown action" }, { status: 400 });
};

// A preview changes nothing, so it must not reload the page's data (which would reset the editor and preview again).
export const shouldRevalidate: ShouldRevalidateFunction = ({ formData, defaultShouldRevalidate }) =>
  formData?.get("intent") === "preview" ? false : defaultShouldRevalidate;

type ActionData = {
  intent: string;
  stepId?: string;
  ok: boolean;
  message?: string;
  warnings?: string[];
  fieldErrors?: Record<string, string>;
  problems?: { field: string; message: string; line: number | null; column: number | null }[];
};
type LoaderData = ReturnType<typeof useLoaderData<typeof loader>>;
type Step = LoaderData["campaign"]["steps"][number];

const fieldsOf = (step: Step): StepFields => ({
  delayHours: step.delayHours,
  subject: step.subject,
  bodyTemplate: step.bodyTemplate,
  incentiveType: step.incentiveType,
  incentiveValue: step.incentiveValue,
  incentiveExpiresDays: step.incentiveExpiresDays,
  stripePromotionCode: step.stripePromotionCode,
});

export default function CampaignEditor() {
  const { campaign, recoveries, variableHelp, incentiveBySource, currency, locale } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>() as ActionData | undefined;
  const navigation = useNavigation();
  const filterErrors = result?.intent === "filters" && !result.ok ? (result.fieldErrors ?? {}) : {};
  const [selected, setSelected] = useState(0);
  // Which steps have edits not saved yet: the tab shows it, and leaving the page asks first.
  const [dirty, setDirty] = useState<Record<string, boolean>>({});
  const markDirty = useCallback((id: string, value: boolean) => setDirty((d) => (d[id] === value ? d : { ...d, [id]: value })), []);
  const anyDirty = Object.values(dirty).some(Boolean);
  const blocker = useBlocker(({ currentLocation, nextLocation }) => anyDirty && currentLocation.pathname !== nextLocation.pathname);
  useBeforeUnload(
    useCallback(
      (event: BeforeUnloadEvent) => {
        if (!anyDirty) return;
        event.preventDefault();
        event.returnValue = "";
      },
      [anyDirty],
    ),
  );
  // "Preview with" is one choice for the whole campaign, kept while switching emails.
  const [previewCart, setPreviewCart] = useState("");
  const tabs = campaign.steps.map((s) => ({
    id: `step-${s.id}`,
    content: `Email ${s.position} · ${s.delayHours} h${dirty[s.id] ? " •" : ""}`,
    // Starts with the visible text, so speech users can say what they see (axe: label-content-name-mismatch).
    accessibilityLabel: `Email ${s.position} · ${s.delayHours} h: ${s.delayHours} hours after abandonment${dirty[s.id] ? ", unsaved changes" : ""}`,
    panelID: `step-panel-${s.id}`,
  }));

  return (
    <Page
      backAction={{ content: "Campaigns", url: "/app/campaigns" }}
      title={campaign.name}
      titleMetadata={campaign.enabled ? <Badge tone="success">Enabled</Badge> : <Badge>Disabled</Badge>}
    >
      <NavigationProgress />
      <Layout>
        <Layout.AnnotatedSection title="Which carts" description="Carts that match get this campaign's emails. A cart matches at most one campaign.">
          <Card>
            <Form method="post">
              <input type="hidden" name="intent" value="filters" />
              <FormLayout>
                {result?.intent === "filters" ? (
                  <Banner tone={result.ok ? "success" : "critical"}>
                    {result.ok ? result.message : "Please fix the fields marked below. Nothing was saved."}
                  </Banner>
                ) : null}
                <FormTextField name="name" label="Name" initial={campaign.name} error={filterErrors.name} />
                <FormSelect
                  name="sources"
                  label="Carts from"
                  initial={campaign.sources}
                  options={[
                    { label: "Shopify and Stripe", value: "both" },
                    { label: "Shopify only", value: "shopify" },
                    { label: "Stripe only", value: "stripe" },
                  ]}
                  error={filterErrors.sources}
                />
                <FormLayout.Group>
                  <FormTextField
                    name="minCart"
                    label={`Minimum cart value (${currency})`}
                    initial={campaign.minCart}
                    error={filterErrors.minCartMinor}
                    helpText="Empty: any value."
                  />
                  <FormTextField
                    name="currencies"
                    label="Only these currencies"
                    initial={campaign.currencies}
                    error={filterErrors.currencies}
                    helpText="Comma-separated ISO codes, e.g. USD, EUR. Empty: all."
                  />
                </FormLayout.Group>
                <InlineStack align="end">
                  <Button submit variant="primary" loading={navigation.formData?.get("intent") === "filters"}>
                    Save
                  </Button>
                </InlineStack>
              </FormLayout>
            </Form>
          </Card>
        </Layout.AnnotatedSection>
        <Layout.Section>
          <Card padding="0">
            <Tabs tabs={tabs} selected={selected} onSelect={setSelected} fitted>
              {/* Every step stays mounted (hidden when not selected), so switching emails keeps unsaved edits. */}
              {campaign.steps.map((step, i) => (
                <div
                  key={step.id}
                  id={`step-panel-${step.id}`}
                  data-step-panel={step.position}
                  role="tabpanel"
                  aria-labelledby={`step-${step.id}`}
                  hidden={i !== selected}
                >
                  <Box padding="400">
                    <StepEditor
                      step={step}
                      previous={campaign.steps[i - 1] ?? null}
                      result={result?.stepId === step.id ? result : undefined}
                      recoveries={recoveries}
                      incentiveBySource={incentiveBySource}
                      currency={currency}
                      locale={locale}
                      previewCart={previewCart}
                      onPreviewCart={setPreviewCart}
                      onDirty={markDirty}
                      active={i === selected}
                    />
                  </Box>
                </div>
              ))}
            </Tabs>
          </Card>
        </Layout.Section>
        <Layout.AnnotatedSection title="Template variables" description="Liquid, as in Shopify themes. Values from buyers are escaped.">
          <Card>
            <List>
              {Object.entries(variableHelp).map(([name, help]) => (
                <List.Item key={name}>
                  <code>{`{{ ${name} }}`}</code> — {help}
                </List.Item>
              ))}
            </List>
          </Card>
        </Layout.AnnotatedSection>
      </Layout>
      <Modal
        open={blocker.state === "blocked"}
        onClose={() => blocker.reset?.()}
        title="Leave without saving?"
        primaryAction={{ content: "Leave without saving", destructive: true, onAction: () => blocker.proceed?.() }}
        secondaryActions={[{ content: "Stay on this page", onAction: () => blocker.reset?.() }]}
      >
        <Modal.Section>
          <Text as="p">{`Changes to ${campaign.steps
            .filter((s) => dirty[s.id])
            .map((s) => `Email ${s.position}`)
            .join(", ")} are not saved yet. They will be lost if you leave.`}</Text>
        </Modal.Section>
      </Modal>
    </Page>
  );
}

interface StepEditorProps {
  step: Step;
  previous: Step | null;
  result?: ActionData;
  recoveries: { value: string; label: string }[];
  incentiveBySource: Record<string, string>;
  currency: string;
  locale: string;
  previewCart: string;
  onPreviewCart: (id: string) => void;
  onDirty: (stepId: string, dirty: boolean) => void;
  active: boolean;
}

function StepEditor({ step, previous, result, recoveries, incentiveBySource, currency, locale, previewCart, onPreviewCart, onDirty, active }: StepEditorProps) {
  const savedFields = fieldsOf(step);
  const [fields, setFields] = useState<StepFields>(savedFields);
  const [to, setTo] = useState("");
  const [showBody, setShowBody] = useState(false);
  // The chosen cart's label is kept even when newer carts push it out of the loader's recent list.
  const [chosenOption, setChosenOption] = useState<{ value: string; label: string } | null>(null);
  const preview = useFetcher<{ ok: boolean; email?: { subject: string; html: string }; problems?: ActionData["problems"]; message?: string }>();
  const navigation = useNavigation();
  const submit = useSubmit();
  const frame = useRef<HTMLIFrameElement>(null);
  const [frameHeight, setFrameHeight] = useState(600);
  // Take the saved values when they change (after a save), not on every render.
  const saved = JSON.stringify(savedFields);
  // eslint-disable-next-line react-hooks/exhaustive-deps
  useEffect(() => setFields(JSON.parse(saved) as StepFields), [saved]);
  const dirty = JSON.stringify(fields) !== saved;
  useEffect(() => onDirty(step.id, dirty), [dirty, onDirty, step.id]);
  const set = (key: keyof StepFields) => (value: string) => setFields((f) => ({ ...f, [key]: value }));

  // Live preview of the selected email: re-rendered on the server (the same renderer the emails use) after each edit.
  useEffect(() => {
    if (!active) return;
    const t = setTimeout(() => {
      preview.submit({ intent: "preview", recoveryId: previewCart, ...(fields as Record<string, string>) }, { method: "post" });
    }, 400);
    return () => clearTimeout(t);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [fields, previewCart, active]);

  const errors = result && !result.ok ? (result.fieldErrors ?? {}) : {};
  const problems = [...(result && !result.ok ? (result.problems ?? []) : []), ...(preview.data && !preview.data.ok ? (preview.data.problems ?? []) : [])];
  // The renderer's message already says where (line and column): shown as it is, never with the position again.
  const problemText = (field: string) => problems.find((p) => p.field === field)?.message;
  const busy = (intent: string) =>
    navigation.state === "submitting" && navigation.formData?.get("intent") === intent && navigation.formData?.get("stepId") === step.id;
  const stepFormData = () => ({ stepId: step.id, ...(fields as Record<string, string>) });
  const cartOptions = [
    { label: "Sample data", value: "" },
    ...recoveries,
    ...(chosenOption && !recoveries.some((r) => r.value === chosenOption.value) ? [chosenOption] : []),
  ];
  const exp = currencyExponent(currency);
  const amountExample = formatMoney({ amountMinor: 5 * 10 ** exp, currency }, locale);
  const bodyError = errors.bodyTemplate ?? problemText("body");

  return (
    <BlockStack gap="400">
      {result?.intent === "save-step" ? (
        <Banner tone={result.ok ? "success" : "critical"}>
          {result.ok ? result.message : `Email ${step.position} was not saved: fix what is marked below.`}
          {result.warnings?.length ? (
            <List>
              {result.warnings.map((w) => (
                <List.Item key={w}>{w}</List.Item>
              ))}
            </List>
          ) : null}
        </Banner>
      ) : null}
      <InlineGrid columns={{ xs: 1, lg: 2 }} gap="400">
        <BlockStack gap="300">
          <FormLayout>
            <TextField
              label="Delay after abandonment (hours)"
              value={fields.delayHours ?? ""}
              onChange={set("delayHours")}
              autoComplete="off"
              type="number"
              error={errors.delayMinutes}
              helpText={
                previous
                  ? `Must be more than Email ${previous.position}'s ${previous.delayHours} hours.`
                  : "Sent after the checks (consent, unsubscribes, purchases, caps) pass."
              }
            />
            <TextField
              label="Subject"
              value={fields.subject ?? ""}
              onChange={set("subject")}
              autoComplete="off"
              error={errors.subject ?? problemText("subject")}
            />
            <FormLayout.Group>
              <Select
                label="Incentive"
                value={fields.incentiveType ?? ""}
                onChange={set("incentiveType")}
                options={[
                  { label: "None", value: "" },
                  { label: "Percentage off", value: "percentage" },
                  { label: `Fixed amount off (${currency})`, value: "fixed_amount" },
                ]}
              />
              {fields.incentiveType ? (
                <TextField
                  label={fields.incentiveType === "percentage" ? "Percent off" : `Amount off (${currency})`}
                  value={fields.incentiveValue ?? ""}
                  onChange={set("incentiveValue")}
                  autoComplete="off"
                  inputMode="decimal"
                  suffix={fields.incentiveType === "percentage" ? "%" : currency}
                  error={errors.incentiveValue}
                  helpText={
                    fields.incentiveType === "fixed_amount"
                      ? `In ${currency}: 5 means ${amountExample} off. Shopify converts it for carts in other currencies.`
                      : undefined
                  }
                />
              ) : null}
              {fields.incentiveType ? (
                <TextField
                  label="Code expires after (days)"
                  value={fields.incentiveExpiresDays ?? ""}
                  onChange={set("incentiveExpiresDays")}
                  autoComplete="off"
                  type="number"
                  error={errors.incentiveExpiresDays}
                />
              ) : null}
            </FormLayout.Group>
            {fields.incentiveType ? (
              <TextField
                label="Stripe promotion code (Stripe carts)"
                value={fields.stripePromotionCode ?? ""}
                onChange={set("stripePromotionCode")}
                autoComplete="off"
                monospaced
                error={errors.stripePromotionCode}
                helpText={
                  fields.stripePromotionCode?.trim()
                    ? "Shown only to Stripe carts whose session allowed promotion codes; other Stripe carts get this step without the incentive."
                    : "Empty: Stripe carts get this step without the incentive (Reclaim cannot create Stripe codes)."
                }
              />
            ) : null}
            {fields.incentiveType ? (
              <Text as="p" tone="subdued" variant="bodySm">
                {incentiveBySource.shopify} {incentiveBySource.stripe}
              </Text>
            ) : null}
            <BlockStack gap="200">
              <InlineStack align="space-between" blockAlign="center">
                <Text as="span" variant="bodyMd" fontWeight="medium">
                  Body
                </Text>
                <Button variant="plain" onClick={() => setShowBody((v) => !v)} ariaExpanded={showBody} ariaControls={`body-${step.id}`}>
                  {showBody ? "Hide the HTML" : "Edit the HTML (Liquid)"}
                </Button>
              </InlineStack>
              {bodyError && !showBody ? (
                <Text as="p" tone="critical">
                  {bodyError}
                </Text>
              ) : null}
              <Collapsible id={`body-${step.id}`} open={showBody || Boolean(bodyError)}>
                <TextField
                  label="Body (Liquid)"
                  labelHidden
                  value={fields.bodyTemplate ?? ""}
                  onChange={set("bodyTemplate")}
                  autoComplete="off"
                  multiline={12}
                  maxHeight={360}
                  monospaced
                  error={bodyError}
                />
              </Collapsible>
            </BlockStack>
          </FormLayout>
          <InlineStack align="end" gap="200">
            {dirty ? <Button onClick={() => setFields(JSON.parse(saved) as StepFields)}>Discard changes</Button> : null}
            <Button
              variant="primary"
              loading={busy("save-step")}
              onClick={() => submit({ intent: "save-step", ...stepFormData() }, { method: "post" })}
            >{`Save email ${step.position}`}</Button>
          </InlineStack>
          <InlineStack gap="200" blockAlign="end">
            <Box minWidth="240px">
              <TextField
                label="Send a test of this email to"
                value={to}
                onChange={setTo}
                autoComplete="email"
                type="email"
                error={result?.intent === "test-email" && !result.ok ? (result.fieldErrors?.to ?? Object.values(result.fieldErrors ?? {})[0]) : undefined}
              />
            </Box>
            <Button
              loading={busy("test-email")}
              onClick={() => submit({ intent: "test-email", to, recoveryId: previewCart, ...stepFormData() }, { method: "post" })}
            >
              Send test
            </Button>
          </InlineStack>
          {result?.intent === "test-email" && result.ok ? (
            <Text as="p" tone="success">
              {result.message}
            </Text>
          ) : null}
        </BlockStack>
        <BlockStack gap="200">
          <Select
            label="Preview with"
            value={previewCart}
            onChange={(value) => {
              const option = cartOptions.find((o) => o.value === value);
              if (option && value) setChosenOption(option);
              onPreviewCart(value);
            }}
            options={cartOptions}
            helpText="The test email uses the same cart, and this email's own incentive."
          />
          {preview.data?.ok && preview.data.email ? (
            <BlockStack gap="100">
              <Text as="p">
                <Text as="span" tone="subdued">
                  Subject:{" "}
                </Text>
                {preview.data.email.subject}
              </Text>
              {/* No scripts run in the preview (no allow-scripts); same origin only so its height can be read and the
                  whole email, button included, shows without an inner scroll bar. */}
              <iframe
                ref={frame}
                title={`Preview of email ${step.position}`}
                sandbox="allow-same-origin"
                srcDoc={preview.data.email.html}
                onLoad={() => {
                  const doc = frame.current?.contentDocument;
                  if (doc) setFrameHeight(Math.min(4000, Math.max(300, doc.documentElement.scrollHeight + 8)));
                }}
                style={{ width: "100%", height: frameHeight, border: "1px solid var(--p-color-border)", borderRadius: 8, background: "#fff" }}
              />
            </BlockStack>
          ) : preview.data && !preview.data.ok ? (
            <Banner tone="warning">{preview.data.message ?? "The preview shows once the template has no errors."}</Banner>
          ) : (
            <Text as="p" tone="subdued">
              Rendering…
            </Text>
          )}
        </BlockStack>
      </InlineGrid>
    </BlockStack>
  );
}

export function ErrorBoundary() {
  return <PageError title="Campaign" />;
}
