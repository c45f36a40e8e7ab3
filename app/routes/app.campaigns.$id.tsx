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
import { useTranslation } from "react-i18next";
import type { TFunction } from "i18next";
import { requireAdmin } from "../auth.server";
import { FormSelect, FormTextField } from "../components/form-fields";
import { NavigationProgress, PageError } from "../components/page-states";
import { pageTitle } from "../components/page-title";
import { db } from "../db.server";
import { sendTestEmail } from "../email/settings.server";
import { findShopCampaign, previewRecoveryChoices, removeStepTranslation, updateCampaignFilters } from "../models/campaign.server";
import { previewStep, previewTemplateInput, saveCampaignStep } from "../email/campaign-editor.server";
import { isLanguage, LANGUAGE_NAMES, LANGUAGES, shippedLanguage, type Language } from "../i18n/locales";
import { DEFAULT_STEPS_BY_LANGUAGE } from "../recovery/campaign-defaults";
import { decimalString, INCENTIVE_BY_SOURCE } from "../recovery/incentive";
import { PAYMENT_CAMPAIGN_DEFAULTS_BY_LANGUAGE, type PaymentDefaults } from "../recovery/payment-campaign-defaults";
import { currencyExponent, formatMoney, toMinorUnits } from "../recovery/money";
import { TEMPLATE_VARIABLE_HELP } from "../recovery/template";
import { readFormWithLimit } from "../security/request-limits.server";

/** One language's subject and body of a step's email. */
interface Version {
  subject: string;
  bodyTemplate: string;
}

export const loader = async ({ request, params }: LoaderFunctionArgs) => {
  const { shop, t, locale } = await requireAdmin(request);
  const campaign = await findShopCampaign(db, shop.id, params.id ?? "");
  if (!campaign) throw new Response(t("campaigns:errors.campaignNotFoundPage"), { status: 404 });
  const recent = await previewRecoveryChoices(db, shop.id);
  const exp = currencyExponent(shop.currency);
  return json({
    title: `${campaign.name} · ${t("campaigns:index.title")}`,
    currency: shop.currency,
    locale,
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
        /** The language of the main version (subject, bodyTemplate); the others are in `versions` too. */
        language: shippedLanguage(s.language) ?? "en",
        subject: s.subject,
        bodyTemplate: s.bodyTemplate,
        /** Every language this email exists in, the main version included. */
        versions: {
          ...Object.fromEntries(
            s.translations.filter((v) => isLanguage(v.language)).map((v) => [v.language, { subject: v.subject, bodyTemplate: v.bodyTemplate }]),
          ),
          [shippedLanguage(s.language) ?? "en"]: { subject: s.subject, bodyTemplate: s.bodyTemplate },
        } as Partial<Record<Language, Version>>,
        incentiveType: s.incentiveType ?? "",
        // A fixed amount is stored in minor units and shown in the shop currency's own units: 500 → "5.00" (JPY 500 → "500").
        incentiveValue:
          s.incentiveValue === null ? "" : s.incentiveType === "fixed_amount" ? decimalString(s.incentiveValue, shop.currency) : String(s.incentiveValue),
        incentiveExpiresDays: s.incentiveExpiresDays === null ? "" : String(s.incentiveExpiresDays),
        stripePromotionCode: s.stripePromotionCode ?? "",
        /** What a new version in a language starts from: that language's default email, else the main version. */
        defaults: defaultVersions(campaign, s.position),
      })),
    },
    recoveries: recent.map((r) => ({ value: r.id, label: cartLabel(r, t) })),
    variableHelp: Object.fromEntries(
      Object.entries(TEMPLATE_VARIABLE_HELP).map(([name, help]) => [
        name,
        t(`campaigns:variables.${name.replace(/\./g, "_")}`, { defaultValue: help, skipInterpolation: true }),
      ]),
    ),
    incentiveBySource: Object.fromEntries(
      Object.entries(INCENTIVE_BY_SOURCE).map(([source, text]) => [source, t(`campaigns:editor.incentiveBySource.${source}`, { defaultValue: text })]),
    ),
  });
};

/**
 * What a new version in a language starts from: a default campaign's email at `position` as Reclaim ships it in that
 * language (the cart campaign, or either payment campaign); nothing for a campaign the merchant made, whose new
 * versions start from the main one.
 */
function defaultVersions(campaign: { isDefault: boolean; kind: string }, position: number): Partial<Record<Language, Version>> {
  if (!campaign.isDefault) return {};
  const out: Partial<Record<Language, Version>> = {};
  for (const language of LANGUAGES) {
    const steps =
      campaign.kind === "cart"
        ? DEFAULT_STEPS_BY_LANGUAGE[language]
        : PAYMENT_CAMPAIGN_DEFAULTS_BY_LANGUAGE[language][campaign.kind as keyof PaymentDefaults]?.steps;
    const step = steps?.find((s) => s.position === position);
    if (step) out[language] = { subject: step.subject, bodyTemplate: step.bodyTemplate };
  }
  return out;
}

const cartLabel = (r: { source: string; name: string | null; email: string | null }, t: TFunction) =>
  `${r.source === "shopify" ? "Shopify" : "Stripe"} · ${r.name ? `${r.name} · ` : ""}${r.email ?? t("campaigns:editor.noEmail")}`;

export const meta: MetaFunction<typeof loader> = ({ data }) => [{ title: pageTitle(data ? data.title : "Campaign") }];

interface StepFields {
  delayHours?: string;
  incentiveType?: string;
  incentiveValue?: string;
  incentiveExpiresDays?: string;
  stripePromotionCode?: string;
  /** The email in each language it exists in (the main one included), by language. */
  versions: Partial<Record<Language, Version>>;
}

const wholeNumber = (v: string | undefined) => (v?.trim() ? Number(v) : null);

/**
 * The step as the pipeline stores it: a delay in hours becomes minutes, and a fixed amount typed in the shop currency's
 * own units ("5" or "5.50") becomes minor units (500). A value that is not a number comes back as a field error.
 */
function stepInput(f: Record<string, string | undefined>, currency: string, t: TFunction) {
  const hours = f.delayHours?.trim() ? Number(f.delayHours) : Number.NaN;
  const errors: Record<string, string> = {};
  let incentiveValue: number | null = null;
  if (f.incentiveType && f.incentiveValue?.trim()) {
    if (f.incentiveType === "fixed_amount") {
      try {
        incentiveValue = toMinorUnits(f.incentiveValue, currency);
      } catch {
        errors.incentiveValue = t("campaigns:errors.amountFormat", {
          currency,
          example: currencyExponent(currency) === 0 ? "500" : t("campaigns:errors.amountExampleDecimal"),
        });
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

/** The versions in other languages a save posts: `subject:<language>` and `bodyTemplate:<language>`. */
function postedTranslations(form: Record<string, string>): Record<string, Version> {
  const out: Record<string, Version> = {};
  for (const [name, value] of Object.entries(form)) {
    const match = /^(subject|bodyTemplate):(.{1,20})$/.exec(name);
    if (!match) continue;
    const language = match[2]!;
    out[language] ??= { subject: "", bodyTemplate: "" };
    out[language][match[1] as keyof Version] = value;
  }
  return out;
}

export const action = async ({ request, params }: ActionFunctionArgs) => {
  const { shop, t } = await requireAdmin(request);
  const campaign = await findShopCampaign(db, shop.id, params.id ?? "");
  if (!campaign) throw new Response(t("campaigns:errors.campaignNotFoundPage"), { status: 404 });
  const form = Object.fromEntries(await readFormWithLimit(request)) as Record<string, string>;
  const { intent, stepId = "", ...fields } = form;

  if (intent === "filters") {
    let minCartMinor: number | null = null;
    if (fields.minCart?.trim()) {
      try {
        minCartMinor = toMinorUnits(fields.minCart, shop.currency);
      } catch {
        return json({ intent, ok: false, fieldErrors: { minCartMinor: t("campaigns:errors.minCartFormat", { currency: shop.currency }) } }, { status: 400 });
      }
    }
    const result = await updateCampaignFilters(
      db,
      shop.id,
      campaign.id,
      {
        name: fields.name,
        sources: fields.sources as "both" | "shopify" | "stripe",
        minCartMinor,
        currencies: (fields.currencies ?? "")
          .split(",")
          .map((c) => c.trim())
          .filter(Boolean),
      },
      t,
    );
    return result.ok
      ? json({ intent, ok: true, message: t("campaigns:editor.campaignSaved") })
      : json({ intent, ok: false, fieldErrors: result.fieldErrors }, { status: 400 });
  }
  if (intent === "remove-language") {
    const step = campaign.steps.find((s) => s.id === stepId);
    const language = fields.language ?? "";
    if (!step || !isLanguage(language) || language === step.language || !(await removeStepTranslation(db, shop.id, step.id, language))) {
      return json({ intent, stepId, ok: false, message: t("campaigns:editor.versions.notRemoved") }, { status: 400 });
    }
    return json({
      intent,
      stepId,
      ok: true,
      language,
      message: t("campaigns:editor.versions.removed", { language: LANGUAGE_NAMES[language], position: step.position }),
    });
  }
  const { input, errors } = stepInput(fields, shop.currency, t);
  // The version shown in the editor (preview, test email): its language; the main version's without one.
  const language = isLanguage(fields.language) ? fields.language : undefined;
  if (intent === "save-step") {
    if (Object.keys(errors).length) return json({ intent, stepId, ok: false, fieldErrors: errors, problems: [] }, { status: 400 });
    const result = await saveCampaignStep(db, shop.id, stepId, input, { t, translations: postedTranslations(fields) });
    if (result.ok)
      return json({ intent, stepId, ok: true, message: t("campaigns:editor.stepSaved", { position: result.step.position }), warnings: result.warnings });
    return json({ intent, stepId, ok: false, fieldErrors: result.fieldErrors, problems: result.problems }, { status: 400 });
  }
  if (intent === "preview") {
    if (Object.keys(errors).length) return json({ intent, ok: false as const, problems: [], message: Object.values(errors)[0] });
    const result = await previewStep(db, shop.id, input, { recoveryId: fields.recoveryId || undefined, language, t });
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
    // The test is this step's version on screen, with its own incentive, for the cart chosen in "Preview with".
    const data = await previewTemplateInput(db, shop, input, { recoveryId: fields.recoveryId || undefined, language });
    const result = await sendTestEmail(db, shop.id, fields.to ?? "", { step: input, input: data });
    return result.ok
      ? json({
          intent,
          stepId,
          ok: true,
          message: result.logged ? t("campaigns:editor.test.logged", { to: fields.to }) : t("campaigns:editor.test.sent", { to: fields.to }),
        })
      : json({ intent, stepId, ok: false, fieldErrors: { to: result.error } }, { status: result.retryAfterSeconds ? 429 : 400 });
  }
  return json({ intent, ok: false, message: t("campaigns:errors.unknownAction") }, { status: 400 });
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
  problems?: { field: string; message: string; line: number | null; column: number | null; language?: string }[];
  /** The language of a removed version. */
  language?: string;
};
type LoaderData = ReturnType<typeof useLoaderData<typeof loader>>;
type Step = LoaderData["campaign"]["steps"][number];

/** The editor's fields in one order (languages as LANGUAGES lists them), so "unsaved" compares like with like. */
const canonical = (f: StepFields): string =>
  JSON.stringify({
    delayHours: f.delayHours,
    incentiveType: f.incentiveType,
    incentiveValue: f.incentiveValue,
    incentiveExpiresDays: f.incentiveExpiresDays,
    stripePromotionCode: f.stripePromotionCode,
    versions: LANGUAGES.filter((l) => f.versions[l]).map((l) => [l, f.versions[l]!.subject, f.versions[l]!.bodyTemplate]),
  });

const fieldsOf = (step: Step): StepFields => ({
  delayHours: step.delayHours,
  incentiveType: step.incentiveType,
  incentiveValue: step.incentiveValue,
  incentiveExpiresDays: step.incentiveExpiresDays,
  stripePromotionCode: step.stripePromotionCode,
  versions: step.versions,
});

/** What a save, a preview or a test posts: the main version as `subject`/`bodyTemplate`, the others with their language. */
function formFields(f: StepFields, main: Language): Record<string, string> {
  const { versions, ...shared } = f;
  const out: Record<string, string> = { ...(shared as Record<string, string>) };
  out.subject = versions[main]?.subject ?? "";
  out.bodyTemplate = versions[main]?.bodyTemplate ?? "";
  for (const l of LANGUAGES) {
    const v = versions[l];
    if (l === main || !v) continue;
    out[`subject:${l}`] = v.subject;
    out[`bodyTemplate:${l}`] = v.bodyTemplate;
  }
  return out;
}

export default function CampaignEditor() {
  const { campaign, recoveries, variableHelp, incentiveBySource, currency, locale } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>() as ActionData | undefined;
  const navigation = useNavigation();
  const { t } = useTranslation("campaigns");
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
    content: `${t("editor.tab", { position: s.position, hours: s.delayHours })}${dirty[s.id] ? " •" : ""}`,
    // Starts with the visible text, so speech users can say what they see (axe: label-content-name-mismatch).
    accessibilityLabel: t(dirty[s.id] ? "editor.tabLabelUnsaved" : "editor.tabLabel", { position: s.position, hours: s.delayHours }),
    panelID: `step-panel-${s.id}`,
  }));

  return (
    <Page
      backAction={{ content: t("index.title"), url: "/app/campaigns" }}
      title={campaign.name}
      titleMetadata={campaign.enabled ? <Badge tone="success">{t("status.enabled")}</Badge> : <Badge>{t("status.disabled")}</Badge>}
    >
      <NavigationProgress />
      <Layout>
        <Layout.AnnotatedSection title={t("filters.title")} description={t("filters.description")}>
          <Card>
            <Form method="post">
              <input type="hidden" name="intent" value="filters" />
              <FormLayout>
                {result?.intent === "filters" ? (
                  <Banner tone={result.ok ? "success" : "critical"}>{result.ok ? result.message : t("filters.notSaved")}</Banner>
                ) : null}
                <FormTextField name="name" label={t("filters.name")} initial={campaign.name} error={filterErrors.name} />
                <FormSelect
                  name="sources"
                  label={t("filters.sources")}
                  initial={campaign.sources}
                  options={[
                    { label: t("sources.both"), value: "both" },
                    { label: t("sources.shopify"), value: "shopify" },
                    { label: t("sources.stripe"), value: "stripe" },
                  ]}
                  error={filterErrors.sources}
                />
                <FormLayout.Group>
                  <FormTextField
                    name="minCart"
                    label={t("filters.minCart", { currency })}
                    initial={campaign.minCart}
                    error={filterErrors.minCartMinor}
                    helpText={t("filters.minCartHelp")}
                  />
                  <FormTextField
                    name="currencies"
                    label={t("filters.currencies")}
                    initial={campaign.currencies}
                    error={filterErrors.currencies}
                    helpText={t("filters.currenciesHelp")}
                  />
                </FormLayout.Group>
                <InlineStack align="end">
                  <Button submit variant="primary" loading={navigation.formData?.get("intent") === "filters"}>
                    {t("filters.save")}
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
        <Layout.AnnotatedSection title={t("variables.title")} description={t("variables.description")}>
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
        title={t("leave.title")}
        primaryAction={{ content: t("leave.confirm"), destructive: true, onAction: () => blocker.proceed?.() }}
        secondaryActions={[{ content: t("leave.stay"), onAction: () => blocker.reset?.() }]}
      >
        <Modal.Section>
          <Text as="p">
            {t("leave.body", {
              emails: campaign.steps
                .filter((s) => dirty[s.id])
                .map((s) => t("editor.emailName", { position: s.position }))
                .join(", "),
            })}
          </Text>
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
  const { t } = useTranslation("campaigns");
  const main = step.language;
  const savedFields = fieldsOf(step);
  const [fields, setFields] = useState<StepFields>(savedFields);
  // The language version shown (and previewed): the main one first.
  const [language, setLanguage] = useState<Language>(main);
  const [confirmRemove, setConfirmRemove] = useState(false);
  const [to, setTo] = useState("");
  const [showBody, setShowBody] = useState(false);
  // The chosen cart's label is kept even when newer carts push it out of the loader's recent list.
  const [chosenOption, setChosenOption] = useState<{ value: string; label: string } | null>(null);
  const preview = useFetcher<{ ok: boolean; email?: { subject: string; html: string }; problems?: ActionData["problems"]; message?: string }>();
  const navigation = useNavigation();
  const submit = useSubmit();
  const frame = useRef<HTMLIFrameElement>(null);
  const [frameHeight, setFrameHeight] = useState(600);
  // Take the saved values when they change (after a save or a removed version), not on every render.
  const saved = canonical(savedFields);
  // A version removed on the server leaves the other unsaved edits as they are.
  const removed = result?.intent === "remove-language" && result.ok ? result.language : undefined;
  useEffect(
    () => setFields((f) => (removed ? { ...f, versions: Object.fromEntries(Object.entries(f.versions).filter(([l]) => l !== removed)) } : fieldsOf(step))),
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [saved],
  );
  const dirty = canonical(fields) !== saved;
  useEffect(() => onDirty(step.id, dirty), [dirty, onDirty, step.id]);
  const set = (key: Exclude<keyof StepFields, "versions">) => (value: string) => setFields((f) => ({ ...f, [key]: value }));
  const version = fields.versions[language];
  // A language without a version previews (and tests) the main version.
  const shown: Language = version ? language : main;
  const shownVersion = fields.versions[shown] ?? { subject: "", bodyTemplate: "" };
  const setVersion = (key: keyof Version) => (value: string) =>
    setFields((f) => ({ ...f, versions: { ...f.versions, [language]: { ...(f.versions[language] ?? { subject: "", bodyTemplate: "" }), [key]: value } } }));
  const addVersion = () =>
    setFields((f) => ({
      ...f,
      versions: { ...f.versions, [language]: { ...(step.defaults[language] ?? f.versions[main] ?? { subject: "", bodyTemplate: "" }) } },
    }));
  const languageName = LANGUAGE_NAMES[language];

  // Live preview of the selected email: re-rendered on the server (the same renderer the emails use) after each edit.
  const previewFields = { ...formFields({ ...fields, versions: { [main]: shownVersion } }, main), language: shown };
  const previewKey = JSON.stringify(previewFields);
  useEffect(() => {
    if (!active) return;
    const timer = setTimeout(() => {
      preview.submit({ intent: "preview", recoveryId: previewCart, ...previewFields }, { method: "post" });
    }, 400);
    return () => clearTimeout(timer);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [previewKey, previewCart, active]);

  const errors = result && !result.ok ? (result.fieldErrors ?? {}) : {};
  const saveProblems = result && !result.ok ? (result.problems ?? []) : [];
  const previewProblems = preview.data && !preview.data.ok ? (preview.data.problems ?? []) : [];
  // The renderer's message already says where (line and column): shown as it is, never with the position again.
  const problemText = (field: string) =>
    saveProblems.find((p) => p.field === field && (p.language ?? main) === language)?.message ??
    (shown === language ? previewProblems.find((p) => p.field === field)?.message : undefined);
  const versionError = (field: "subject" | "bodyTemplate") => (language === main ? errors[field] : errors[`${field}:${language}`]);
  // Versions in other languages with something to fix: the banner names them.
  const otherLanguagesWithErrors = LANGUAGES.filter(
    (l) =>
      l !== language &&
      (saveProblems.some((p) => (p.language ?? main) === l) ||
        Object.keys(errors).some((k) => (l === main ? ["subject", "bodyTemplate"].includes(k) : k.endsWith(`:${l}`)))),
  );
  const busy = (intent: string) =>
    navigation.state === "submitting" && navigation.formData?.get("intent") === intent && navigation.formData?.get("stepId") === step.id;
  const cartOptions = [
    { label: t("editor.preview.sampleData"), value: "" },
    ...recoveries,
    ...(chosenOption && !recoveries.some((r) => r.value === chosenOption.value) ? [chosenOption] : []),
  ];
  const exp = currencyExponent(currency);
  const amountExample = formatMoney({ amountMinor: 5 * 10 ** exp, currency }, locale);
  const bodyError = versionError("bodyTemplate") ?? problemText("body");
  const languageOptions = LANGUAGES.map((l) => ({
    value: l,
    label:
      l === main
        ? t("editor.versions.optionMain", { language: LANGUAGE_NAMES[l] })
        : fields.versions[l]
          ? LANGUAGE_NAMES[l]
          : t("editor.versions.optionMissing", { language: LANGUAGE_NAMES[l] }),
  }));

  return (
    <BlockStack gap="400">
      {result?.intent === "save-step" ? (
        <Banner tone={result.ok ? "success" : "critical"}>
          {result.ok ? result.message : t("editor.notSaved", { position: step.position })}
          {!result.ok && otherLanguagesWithErrors.length ? (
            <Text as="p">{t("editor.versions.errorsIn", { languages: otherLanguagesWithErrors.map((l) => LANGUAGE_NAMES[l]).join(", ") })}</Text>
          ) : null}
          {result.warnings?.length ? (
            <List>
              {result.warnings.map((w) => (
                <List.Item key={w}>{w}</List.Item>
              ))}
            </List>
          ) : null}
        </Banner>
      ) : null}
      {result?.intent === "remove-language" ? <Banner tone={result.ok ? "success" : "critical"}>{result.message}</Banner> : null}
      <InlineGrid columns={{ xs: 1, lg: 2 }} gap="400">
        <BlockStack gap="300">
          <FormLayout>
            <TextField
              label={t("editor.delay")}
              value={fields.delayHours ?? ""}
              onChange={set("delayHours")}
              autoComplete="off"
              type="number"
              error={errors.delayMinutes}
              helpText={previous ? t("editor.delayAfter", { position: previous.position, hours: previous.delayHours }) : t("editor.delayFirst")}
            />
            <BlockStack gap="200">
              <InlineStack gap="300" blockAlign="end" wrap>
                <Select
                  label={t("editor.versions.label")}
                  options={languageOptions}
                  value={language}
                  onChange={(value) => isLanguage(value) && setLanguage(value)}
                  helpText={t("editor.versions.help", { language: LANGUAGE_NAMES[main] })}
                />
                {version && language !== main ? (
                  <Button variant="plain" tone="critical" onClick={() => setConfirmRemove(true)}>
                    {t("editor.versions.remove", { language: languageName })}
                  </Button>
                ) : null}
              </InlineStack>
              {!version ? (
                <Banner tone="info">
                  <BlockStack gap="200">
                    <Text as="p">{t("editor.versions.missing", { language: languageName, main: LANGUAGE_NAMES[main] })}</Text>
                    <InlineStack>
                      <Button onClick={addVersion}>{t("editor.versions.add", { language: languageName })}</Button>
                    </InlineStack>
                  </BlockStack>
                </Banner>
              ) : null}
            </BlockStack>
            {version ? (
              <TextField
                label={t("editor.subject")}
                value={version.subject}
                onChange={setVersion("subject")}
                autoComplete="off"
                error={versionError("subject") ?? problemText("subject")}
              />
            ) : null}
            <FormLayout.Group>
              <Select
                label={t("editor.incentive.label")}
                value={fields.incentiveType ?? ""}
                onChange={set("incentiveType")}
                options={[
                  { label: t("editor.incentive.none"), value: "" },
                  { label: t("editor.incentive.percentage"), value: "percentage" },
                  { label: t("editor.incentive.fixedAmount", { currency }), value: "fixed_amount" },
                ]}
              />
              {fields.incentiveType ? (
                <TextField
                  label={fields.incentiveType === "percentage" ? t("editor.incentive.percentOff") : t("editor.incentive.amountOff", { currency })}
                  value={fields.incentiveValue ?? ""}
                  onChange={set("incentiveValue")}
                  autoComplete="off"
                  inputMode="decimal"
                  suffix={fields.incentiveType === "percentage" ? "%" : currency}
                  error={errors.incentiveValue}
                  helpText={fields.incentiveType === "fixed_amount" ? t("editor.incentive.amountHelp", { currency, example: amountExample }) : undefined}
                />
              ) : null}
              {fields.incentiveType ? (
                <TextField
                  label={t("editor.incentive.expires")}
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
                label={t("editor.incentive.promotionCode")}
                value={fields.stripePromotionCode ?? ""}
                onChange={set("stripePromotionCode")}
                autoComplete="off"
                monospaced
                error={errors.stripePromotionCode}
                helpText={fields.stripePromotionCode?.trim() ? t("editor.incentive.promotionCodeHelp") : t("editor.incentive.promotionCodeEmpty")}
              />
            ) : null}
            {fields.incentiveType ? (
              <Text as="p" tone="subdued" variant="bodySm">
                {incentiveBySource.shopify} {incentiveBySource.stripe}
              </Text>
            ) : null}
            {version ? (
              <BlockStack gap="200">
                <InlineStack align="space-between" blockAlign="center">
                  <Text as="span" variant="bodyMd" fontWeight="medium">
                    {t("editor.body")}
                  </Text>
                  <Button variant="plain" onClick={() => setShowBody((v) => !v)} ariaExpanded={showBody} ariaControls={`body-${step.id}`}>
                    {showBody ? t("editor.hideHtml") : t("editor.editHtml")}
                  </Button>
                </InlineStack>
                {bodyError && !showBody ? (
                  <Text as="p" tone="critical">
                    {bodyError}
                  </Text>
                ) : null}
                <Collapsible id={`body-${step.id}`} open={showBody || Boolean(bodyError)}>
                  <TextField
                    label={t("editor.bodyLiquid")}
                    labelHidden
                    value={version.bodyTemplate}
                    onChange={setVersion("bodyTemplate")}
                    autoComplete="off"
                    multiline={12}
                    maxHeight={360}
                    monospaced
                    error={bodyError}
                  />
                </Collapsible>
              </BlockStack>
            ) : null}
          </FormLayout>
          <InlineStack align="end" gap="200">
            {dirty ? <Button onClick={() => setFields(fieldsOf(step))}>{t("editor.discard")}</Button> : null}
            <Button
              variant="primary"
              loading={busy("save-step")}
              onClick={() => submit({ intent: "save-step", stepId: step.id, ...formFields(fields, main) }, { method: "post" })}
            >
              {t("editor.save", { position: step.position })}
            </Button>
          </InlineStack>
          <InlineStack gap="200" blockAlign="end">
            <Box minWidth="240px">
              <TextField
                label={t("editor.test.to")}
                value={to}
                onChange={setTo}
                autoComplete="email"
                type="email"
                error={result?.intent === "test-email" && !result.ok ? (result.fieldErrors?.to ?? Object.values(result.fieldErrors ?? {})[0]) : undefined}
              />
            </Box>
            <Button
              loading={busy("test-email")}
              onClick={() => submit({ intent: "test-email", to, recoveryId: previewCart, stepId: step.id, ...previewFields }, { method: "post" })}
            >
              {t("editor.test.send")}
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
            label={t("editor.preview.with")}
            value={previewCart}
            onChange={(value) => {
              const option = cartOptions.find((o) => o.value === value);
              if (option && value) setChosenOption(option);
              onPreviewCart(value);
            }}
            options={cartOptions}
            helpText={t("editor.preview.help")}
          />
          {preview.data?.ok && preview.data.email ? (
            <BlockStack gap="100">
              <Text as="p">
                <Text as="span" tone="subdued">
                  {t("editor.preview.subject")}{" "}
                </Text>
                {preview.data.email.subject}
              </Text>
              {/* No scripts run in the preview (no allow-scripts); same origin only so its height can be read and the
                  whole email, button included, shows without an inner scroll bar. */}
              <iframe
                ref={frame}
                title={t("editor.preview.frameTitle", { position: step.position })}
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
            <Banner tone="warning">{preview.data.message ?? t("editor.preview.fixFirst")}</Banner>
          ) : (
            <Text as="p" tone="subdued">
              {t("editor.preview.rendering")}
            </Text>
          )}
        </BlockStack>
      </InlineGrid>
      <Modal
        open={confirmRemove}
        onClose={() => setConfirmRemove(false)}
        title={t("editor.versions.removeTitle", { language: languageName, position: step.position })}
        primaryAction={{
          content: t("editor.versions.removeConfirm"),
          destructive: true,
          onAction: () => {
            setConfirmRemove(false);
            // Saved: removed on the server. Added here and never saved: only dropped from the editor.
            if (step.versions[language]) submit({ intent: "remove-language", stepId: step.id, language }, { method: "post" });
            else setFields((f) => ({ ...f, versions: Object.fromEntries(Object.entries(f.versions).filter(([l]) => l !== language)) }));
            setLanguage(main);
          },
        }}
        secondaryActions={[{ content: t("editor.versions.removeCancel"), onAction: () => setConfirmRemove(false) }]}
      >
        <Modal.Section>
          <Text as="p">{t("editor.versions.removeBody", { language: languageName, main: LANGUAGE_NAMES[main] })}</Text>
        </Modal.Section>
      </Modal>
    </BlockStack>
  );
}

export function ErrorBoundary() {
  const { t } = useTranslation("campaigns");
  return <PageError title={t("editor.errorTitle")} />;
}
