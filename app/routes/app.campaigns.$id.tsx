import type { ActionFunctionArgs, LoaderFunctionArgs } from "@remix-run/node";
import { json } from "@remix-run/node";
import { Form, useActionData, useFetcher, useLoaderData, useNavigation, type ShouldRevalidateFunction } from "@remix-run/react";
import { Banner, BlockStack, Box, Button, Card, FormLayout, InlineStack, Layout, List, Page, Select, Text, TextField } from "@shopify/polaris";
import { useEffect, useState } from "react";
import { requireAdmin } from "../auth.server";
import { FormSelect, FormTextField } from "../components/form-fields";
import { NavigationProgress, PageError } from "../components/page-states";
import { db } from "../db.server";
import { sendTestEmail } from "../email/settings.server";
import { previewStep, saveCampaignStep, updateCampaignFilters } from "../models/campaign.server";
import { INCENTIVE_BY_SOURCE } from "../recovery/incentive";
import { currencyExponent, toMinorUnits } from "../recovery/money";
import { TEMPLATE_VARIABLE_HELP } from "../recovery/template";
import { readFormWithLimit } from "../security/request-limits.server";

export const loader = async ({ request, params }: LoaderFunctionArgs) => {
  const { shop } = await requireAdmin(request);
  const campaign = await db.campaign.findFirst({ where: { id: params.id, shopId: shop.id }, include: { steps: { orderBy: { position: "asc" } } } });
  if (!campaign) throw new Response("Campaign not found", { status: 404 });
  const recent = await db.recovery.findMany({
    where: { shopId: shop.id, email: { not: null } },
    orderBy: { abandonedAt: "desc" },
    take: 10,
    select: { id: true, name: true, email: true, source: true },
  });
  const exp = currencyExponent(shop.currency);
  return json({
    currency: shop.currency,
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
        incentiveValue: s.incentiveValue === null ? "" : String(s.incentiveValue),
        incentiveExpiresDays: s.incentiveExpiresDays === null ? "" : String(s.incentiveExpiresDays),
        stripePromotionCode: s.stripePromotionCode ?? "",
      })),
    },
    recoveries: recent.map((r) => ({ value: r.id, label: `${r.source === "shopify" ? "Shopify" : "Stripe"} · ${r.name ?? ""} ${r.email}` })),
    variableHelp: TEMPLATE_VARIABLE_HELP,
    incentiveBySource: INCENTIVE_BY_SOURCE,
  });
};

interface StepFields { delayHours?: string; subject?: string; bodyTemplate?: string; incentiveType?: string; incentiveValue?: string; incentiveExpiresDays?: string; stripePromotionCode?: string }

/** The step as the pipeline stores it; a delay the merchant gives in hours becomes minutes. */
function stepInput(f: StepFields) {
  const hours = Number(f.delayHours);
  return {
    delayMinutes: f.delayHours && Number.isFinite(hours) ? Math.round(hours * 60) : Number.NaN,
    subject: f.subject ?? "",
    bodyTemplate: f.bodyTemplate ?? "",
    incentiveType: (f.incentiveType || null) as "percentage" | "fixed_amount" | null,
    incentiveValue: f.incentiveType ? (f.incentiveValue || null) as unknown as number | null : null,
    incentiveExpiresDays: f.incentiveType ? (f.incentiveExpiresDays || null) as unknown as number | null : null,
    stripePromotionCode: f.incentiveType ? (f.stripePromotionCode?.trim() || null) : null,
  };
}

export const action = async ({ request, params }: ActionFunctionArgs) => {
  const { shop } = await requireAdmin(request);
  const campaign = await db.campaign.findFirst({ where: { id: params.id, shopId: shop.id }, select: { id: true } });
  if (!campaign) throw new Response("Campaign not found", { status: 404 });
  const form = Object.fromEntries(await readFormWithLimit(request)) as Record<string, string>;
  const { intent, stepId = "", ...fields } = form;

  if (intent === "filters") {
    let minCartMinor: number | null = null;
    if (fields.minCart?.trim()) {
      try {
        minCartMinor = toMinorUnits(fields.minCart, shop.currency);
      } catch {
        return json({ intent, ok: false, fieldErrors: { minCartMinor: "must be an amount like 25 or 25.50" } }, { status: 400 });
      }
    }
    const result = await updateCampaignFilters(db, shop.id, campaign.id, {
      name: fields.name,
      sources: fields.sources as "both" | "shopify" | "stripe",
      minCartMinor,
      currencies: (fields.currencies ?? "").split(",").map((c) => c.trim()).filter(Boolean),
    });
    return result.ok ? json({ intent, ok: true, message: "Campaign saved." }) : json({ intent, ok: false, fieldErrors: result.fieldErrors }, { status: 400 });
  }
  if (intent === "save-step") {
    const result = await saveCampaignStep(db, shop.id, stepId, stepInput(fields));
    if (result.ok) return json({ intent, stepId, ok: true, message: "Step saved.", warnings: result.warnings });
    return json({ intent, stepId, ok: false, fieldErrors: result.fieldErrors, problems: result.problems }, { status: 400 });
  }
  if (intent === "preview") {
    const input = stepInput(fields);
    const result = await previewStep(db, shop.id, input, { recoveryId: fields.recoveryId || undefined });
    return json(result.ok ? { intent, ok: true as const, email: result.email } : { intent, ok: false as const, problems: result.problems });
  }
  if (intent === "test-email") {
    const result = await sendTestEmail(db, shop.id, fields.to ?? "", { subject: fields.subject ?? "", bodyTemplate: fields.bodyTemplate ?? "" });
    return result.ok ? json({ intent, stepId, ok: true, message: `Test email sent to ${fields.to}.` }) : json({ intent, stepId, ok: false, fieldErrors: { to: result.error } }, { status: 400 });
  }
  return json({ intent, ok: false, message: "Unknown action" }, { status: 400 });
};

// A preview changes nothing, so it must not reload the page's data (which would reset the editor and preview again).
export const shouldRevalidate: ShouldRevalidateFunction = ({ formData, defaultShouldRevalidate }) =>
  formData?.get("intent") === "preview" ? false : defaultShouldRevalidate;

type ActionData = { intent: string; stepId?: string; ok: boolean; message?: string; warnings?: string[]; fieldErrors?: Record<string, string>; problems?: { field: string; message: string; line: number | null; column: number | null }[] };
type Step = ReturnType<typeof useLoaderData<typeof loader>>["campaign"]["steps"][number];

export default function CampaignEditor() {
  const { campaign, recoveries, variableHelp, incentiveBySource, currency } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>() as ActionData | undefined;
  const navigation = useNavigation();
  const filterErrors = result?.intent === "filters" && !result.ok ? result.fieldErrors ?? {} : {};
  return (
    <Page backAction={{ content: "Campaigns", url: "/app/campaigns" }} title={campaign.name} subtitle={campaign.enabled ? "Enabled" : "Disabled"}>
      <NavigationProgress />
      <Layout>
        <Layout.AnnotatedSection title="Which carts" description="Carts that match get this campaign's emails. A cart matches at most one campaign.">
          <Card>
            <Form method="post">
              <input type="hidden" name="intent" value="filters" />
              <FormLayout>
                {result?.intent === "filters" ? <Banner tone={result.ok ? "success" : "critical"}>{result.ok ? result.message : "Please fix the fields marked below. Nothing was saved."}</Banner> : null}
                <FormTextField name="name" label="Name" initial={campaign.name} error={filterErrors.name} />
                <FormSelect name="sources" label="Carts from" initial={campaign.sources} options={[{ label: "Shopify and Stripe", value: "both" }, { label: "Shopify only", value: "shopify" }, { label: "Stripe only", value: "stripe" }]} error={filterErrors.sources} />
                <FormLayout.Group>
                  <FormTextField name="minCart" label={`Minimum cart value (${currency})`} initial={campaign.minCart} error={filterErrors.minCartMinor} helpText="Empty: any value." />
                  <FormTextField name="currencies" label="Only these currencies" initial={campaign.currencies} error={filterErrors.currencies ?? Object.entries(filterErrors).find(([k]) => k.startsWith("currencies"))?.[1]} helpText="Comma-separated ISO codes, e.g. USD, EUR. Empty: all." />
                </FormLayout.Group>
                <InlineStack align="end"><Button submit variant="primary" loading={navigation.formData?.get("intent") === "filters"}>Save</Button></InlineStack>
              </FormLayout>
            </Form>
          </Card>
        </Layout.AnnotatedSection>
        {campaign.steps.map((step) => (
          <Layout.AnnotatedSection key={step.id} title={`Email ${step.position}`} description={`Sent ${step.delayHours} h after abandonment, after the checks (consent, unsubscribes, purchases, caps) pass.`}>
            <StepEditor step={step} result={result?.stepId === step.id ? result : undefined} recoveries={recoveries} incentiveBySource={incentiveBySource} />
          </Layout.AnnotatedSection>
        ))}
        <Layout.AnnotatedSection title="Template variables" description="Liquid, as in Shopify themes. Values from buyers are escaped.">
          <Card>
            <List>
              {Object.entries(variableHelp).map(([name, help]) => (
                <List.Item key={name}><code>{`{{ ${name} }}`}</code> — {help}</List.Item>
              ))}
            </List>
          </Card>
        </Layout.AnnotatedSection>
      </Layout>
    </Page>
  );
}

function StepEditor({ step, result, recoveries, incentiveBySource }: { step: Step; result?: ActionData; recoveries: { value: string; label: string }[]; incentiveBySource: Record<string, string> }) {
  const [fields, setFields] = useState<StepFields>(step);
  const [recoveryId, setRecoveryId] = useState("");
  const [to, setTo] = useState("");
  const preview = useFetcher<{ ok: boolean; email?: { subject: string; html: string }; problems?: ActionData["problems"] }>();
  const navigation = useNavigation();
  // Take the saved values when they change (after a save), not on every render.
  const saved = JSON.stringify(step);
  // eslint-disable-next-line react-hooks/exhaustive-deps
  useEffect(() => setFields(step), [saved]);
  const set = (key: keyof StepFields) => (value: string) => setFields((f) => ({ ...f, [key]: value }));

  // Live preview: re-rendered on the server (the same renderer the emails use) a moment after each edit.
  useEffect(() => {
    const t = setTimeout(() => {
      preview.submit({ intent: "preview", recoveryId, ...(fields as Record<string, string>) }, { method: "post" });
    }, 400);
    return () => clearTimeout(t);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [fields, recoveryId]);

  const errors = result && !result.ok ? result.fieldErrors ?? {} : {};
  const problems = [...(result && !result.ok ? result.problems ?? [] : []), ...(preview.data && !preview.data.ok ? preview.data.problems ?? [] : [])];
  const problemText = (field: string) =>
    problems.filter((p) => p.field === field).map((p) => `${p.message}${p.line ? ` (line ${p.line}, column ${p.column})` : ""}`)[0];
  const busy = (intent: string) => navigation.state === "submitting" && navigation.formData?.get("intent") === intent && navigation.formData?.get("stepId") === step.id;
  const hidden = (
    <>
      <input type="hidden" name="stepId" value={step.id} />
      {Object.entries(fields).filter(([k]) => k !== "id" && k !== "position").map(([k, v]) => <input key={k} type="hidden" name={k} value={String(v ?? "")} />)}
    </>
  );

  return (
    <Card>
      <BlockStack gap="400">
        {result?.intent === "save-step" ? (
          <Banner tone={result.ok ? "success" : "critical"}>
            {result.ok ? result.message : "This step was not saved: fix what is marked below."}
            {result.warnings?.length ? <List>{result.warnings.map((w) => <List.Item key={w}>{w}</List.Item>)}</List> : null}
          </Banner>
        ) : null}
        <FormLayout>
          <TextField label="Delay after abandonment (hours)" value={fields.delayHours ?? ""} onChange={set("delayHours")} autoComplete="off" type="number" error={errors.delayMinutes ? `Delay ${errors.delayMinutes}` : undefined} />
          <TextField label="Subject" value={fields.subject ?? ""} onChange={set("subject")} autoComplete="off" error={errors.subject ?? problemText("subject")} />
          <TextField label="Body (Liquid)" value={fields.bodyTemplate ?? ""} onChange={set("bodyTemplate")} autoComplete="off" multiline={10} monospaced error={errors.bodyTemplate ?? problemText("body")} />
          <FormLayout.Group>
            <Select label="Incentive" value={fields.incentiveType ?? ""} onChange={set("incentiveType")} options={[{ label: "None", value: "" }, { label: "Percentage off", value: "percentage" }, { label: "Fixed amount off", value: "fixed_amount" }]} />
            {fields.incentiveType ? <TextField label={fields.incentiveType === "percentage" ? "Percent" : "Amount (minor units of the cart's currency)"} value={fields.incentiveValue ?? ""} onChange={set("incentiveValue")} autoComplete="off" type="number" error={errors.incentiveValue} /> : null}
            {fields.incentiveType ? <TextField label="Code expires after (days)" value={fields.incentiveExpiresDays ?? ""} onChange={set("incentiveExpiresDays")} autoComplete="off" type="number" error={errors.incentiveExpiresDays} /> : null}
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
          {fields.incentiveType ? <Text as="p" tone="subdued">{incentiveBySource.shopify} {incentiveBySource.stripe}</Text> : null}
        </FormLayout>
        <InlineStack align="end" gap="200">
          <Form method="post">
            <input type="hidden" name="intent" value="save-step" />
            {hidden}
            <Button submit variant="primary" loading={busy("save-step")}>{`Save email ${step.position}`}</Button>
          </Form>
        </InlineStack>
        <BlockStack gap="200">
          <InlineStack align="space-between" blockAlign="end">
            <Text as="h3" variant="headingSm">Preview</Text>
            <Box minWidth="320px">
              <Select label="Preview with" labelInline value={recoveryId} onChange={setRecoveryId} options={[{ label: "Sample data", value: "" }, ...recoveries]} />
            </Box>
          </InlineStack>
          {preview.data?.ok && preview.data.email ? (
            <BlockStack gap="100">
              <Text as="p"><Text as="span" tone="subdued">Subject: </Text>{preview.data.email.subject}</Text>
              <iframe title={`Preview of email ${step.position}`} sandbox="" srcDoc={preview.data.email.html} style={{ width: "100%", height: 420, border: "1px solid var(--p-color-border)", borderRadius: 8, background: "#fff" }} />
            </BlockStack>
          ) : preview.data && !preview.data.ok ? (
            <Banner tone="warning">The preview shows once the template has no errors.</Banner>
          ) : (
            <Text as="p" tone="subdued">Rendering…</Text>
          )}
        </BlockStack>
        <Form method="post">
          <input type="hidden" name="intent" value="test-email" />
          {hidden}
          <InlineStack gap="200" blockAlign="end">
            <Box minWidth="280px"><TextField label="Send a test of this email to" name="to" value={to} onChange={setTo} autoComplete="email" type="email" error={result?.intent === "test-email" && !result.ok ? result.fieldErrors?.to : undefined} /></Box>
            <Button submit loading={busy("test-email")}>Send test</Button>
          </InlineStack>
          {result?.intent === "test-email" && result.ok ? <Text as="p" tone="success">{result.message}</Text> : null}
        </Form>
      </BlockStack>
    </Card>
  );
}

export function ErrorBoundary() {
  return <PageError title="Campaign" />;
}
