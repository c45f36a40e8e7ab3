/**
 * The campaign editor's template work: saving a step once its templates render (checked in a render worker, with line
 * and column), and previews against sample data or one of the shop's real recoveries. The campaign model stores;
 * this composes it with rendering (app/email/render-pool.server.ts).
 */
import type { CampaignStep, PrismaClient } from "@prisma/client";
import type { TFunction } from "i18next";
import { formattingLocale, isLanguage, LANGUAGES, shippedLanguage, type Language } from "../i18n/locales";
import { translatorFor } from "../i18n/translator";
import {
  fieldErrorsOf,
  findPreviewRecovery,
  findStepForSaving,
  stepInputSchema,
  stepVersionSchema,
  updateCampaignStep,
  type StepInput,
  type StepVersion,
} from "../models/campaign.server";
import { getShopById } from "../models/shop.server";
import { stepIncentive, stripeAllowsPromotionCodes } from "../recovery/incentive";
import { sampleTemplateInput, templateVariables, type TemplateInput } from "../recovery/template";
import { editorRenderKey, takePreview, type Limited } from "./editor-limits.server";
import { TemplateRenderError, type RenderedEmail, type TemplateProblem } from "./render";
import { checkTemplateInWorker, RenderBusyError, renderEmailInWorker } from "./render-pool.server";
import { shopTemplateFacts, templateInputFor } from "./variables";

/** A template problem with the language version it is in (the editor shows it on that version). */
export type EditorProblem = TemplateProblem & { language?: string };

export type SaveStepResult =
  { ok: true; step: CampaignStep; warnings: string[] } | { ok: false; problems: EditorProblem[]; fieldErrors: Record<string, string> };

const english = translatorFor("en");

/** "1 hour", "1.5 hours", "24 Stunden": a delay in the admin's language. */
const hoursText = (minutes: number, t: TFunction) => t("campaigns:editor.hours", { count: +(minutes / 60).toFixed(2) });

/**
 * Why a step's new delay would put the campaign out of order, in the admin's language (the rule of stepOrderProblem
 * in app/recovery/schedule.ts), or null. Email 2 is never sent before Email 1.
 */
export function stepOrderMessage(
  steps: { id: string; position: number; delayMinutes: number }[],
  stepId: string,
  delayMinutes: number,
  t: TFunction = english,
): string | null {
  const sorted = [...steps].sort((a, b) => a.position - b.position);
  const i = sorted.findIndex((s) => s.id === stepId);
  if (i < 0) return null;
  const before = sorted[i - 1];
  const after = sorted[i + 1];
  const position = sorted[i]!.position;
  if (before && delayMinutes <= before.delayMinutes) {
    return t("campaigns:errors.orderAfter", { position, other: before.position, hours: hoursText(before.delayMinutes, t) });
  }
  if (after && delayMinutes >= after.delayMinutes) {
    return t("campaigns:errors.orderBefore", { position, other: after.position, hours: hoursText(after.delayMinutes, t) });
  }
  return null;
}

/** Steps sent at the same time as or before the one before them (stepSpacingWarnings in app/recovery/schedule.ts), in words. */
function spacingWarnings(steps: { position: number; delayMinutes: number }[], t: TFunction): string[] {
  const sorted = [...steps].sort((a, b) => a.position - b.position);
  const warnings: string[] = [];
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]!.delayMinutes <= sorted[i - 1]!.delayMinutes) warnings.push(t("campaigns:editor.spacingWarning", { later: i + 1, earlier: i }));
  }
  return warnings;
}

/** The render pool's "busy" refusals, in the admin's language (the pool's own words when it gives another reason). */
export function busyMessage(error: RenderBusyError, t: TFunction): string {
  if (error.message.startsWith("Too many templates are waiting")) return t("campaigns:errors.renderQueueFull");
  if (error.message.startsWith("Other renders of these templates")) return t("campaigns:errors.renderKeyBusy");
  return error.message;
}

type ShopRow = Awaited<ReturnType<typeof getShopById>>;

/**
 * A template's input as the version in `language` shows it: dates and money in that language. A locale already of that
 * language keeps its region (a `de-CH` buyer's prices in Swiss style); without a language, unchanged.
 */
export function templateInputIn(input: TemplateInput, language: Language | null | undefined): TemplateInput {
  if (!language) return input;
  // `language` too: the template input's own field for the email's language once the send chooses one (issue 19,
  // the emails' side), which formats money and dates the same way.
  const localized: TemplateInput & { language?: Language } = {
    ...input,
    shop: { ...input.shop, locale: formattingLocale(input.shop.locale, language) },
    recovery: { ...input.recovery, locale: formattingLocale(input.recovery.locale, language) },
    language,
  };
  return localized;
}

/** Variables to check a template with: the sample data, in the version's language. */
const sampleVariables = (shop: ShopRow, language: Language | null) =>
  templateVariables(templateInputIn(sampleTemplateInput(shopTemplateFacts(shop), shop.currency), language));

export interface SaveStepOptions {
  /** The admin's translator: field errors and warnings in their language (English without). */
  t?: TFunction;
  /** Versions of this step's email in other languages, by language: each one checked, then written with the step. */
  translations?: Record<string, StepVersion>;
}

/**
 * Saves one step, and its versions in other languages, after checking every template; nothing is written when
 * anything is wrong (the field errors of a version are keyed `subject:<language>`, `bodyTemplate:<language>`; its
 * template problems carry its `language`).
 */
export async function saveCampaignStep(
  db: PrismaClient,
  shopId: string,
  stepId: string,
  input: StepInput,
  options: SaveStepOptions = {},
): Promise<SaveStepResult> {
  const t = options.t ?? english;
  const step = await findStepForSaving(db, shopId, stepId);
  if (!step) return { ok: false, problems: [], fieldErrors: { step: t("campaigns:errors.stepNotFound") } };
  const parsed = stepInputSchema.safeParse(input);
  const fieldErrors: Record<string, string> = parsed.success ? {} : fieldErrorsOf(parsed.error, t);
  const translations: Partial<Record<Language, StepVersion>> = {};
  for (const [language, version] of Object.entries(options.translations ?? {})) {
    if (!isLanguage(language)) {
      fieldErrors.language ??= t("campaigns:errors.unknownLanguage");
      continue;
    }
    if (language === step.language) continue; // the main version is the step's own subject and body
    const checked = stepVersionSchema.safeParse(version);
    if (checked.success) translations[language] = checked.data;
    else for (const [field, message] of Object.entries(fieldErrorsOf(checked.error, t))) fieldErrors[`${field}:${language}`] = message;
  }
  if (!parsed.success || Object.keys(fieldErrors).length > 0) return { ok: false, problems: [], fieldErrors };
  // Emails go out in order: a delay that would send this one before the previous one (or after the next) is refused.
  const order = stepOrderMessage(step.campaign.steps, step.id, parsed.data.delayMinutes, t);
  if (order) return { ok: false, problems: [], fieldErrors: { delayMinutes: order } };
  const shop = await getShopById(db, shopId);
  const mainLanguage = shippedLanguage(step.language);
  const versions: { language: string; version: StepVersion; vars: ReturnType<typeof sampleVariables> }[] = [
    { language: step.language, version: parsed.data, vars: sampleVariables(shop, mainLanguage) },
    ...LANGUAGES.filter((l) => translations[l]).map((l) => ({ language: l as string, version: translations[l]!, vars: sampleVariables(shop, l) })),
  ];
  const problems: EditorProblem[] = [];
  try {
    // Off the event loop, one at a time per shop (app/email/render-pool.server.ts).
    for (const v of versions) {
      for (const problem of await checkTemplateInWorker(v.version, v.vars, { key: editorRenderKey(shopId) }))
        problems.push({ ...problem, language: v.language });
    }
  } catch (error: unknown) {
    if (!(error instanceof RenderBusyError)) throw error;
    const message = t("campaigns:errors.notSaved", { reason: busyMessage(error, t) });
    return { ok: false, problems: [{ field: "body", message, line: null, column: null }], fieldErrors: {} };
  }
  if (problems.length > 0) return { ok: false, problems, fieldErrors: {} };
  const saved = await updateCampaignStep(db, step.id, parsed.data, translations);
  const steps = step.campaign.steps.map((s) => (s.id === saved.id ? saved : s));
  return { ok: true, step: saved, warnings: spacingWarnings(steps, t) };
}

type PreviewShop = Parameters<typeof templateInputFor>[0] & { currency: string };
type StepForPreview = {
  subject: string;
  bodyTemplate: string;
  incentiveType: string | null;
  incentiveValue: number | null;
  incentiveExpiresDays: number | null;
  stripePromotionCode?: string | null;
};

/**
 * What a preview or a test of a step shows: the chosen recovery (or sample data in the shop's currency) with this
 * step's own incentive, as the real send would give it (a made-up code; none when the step has no incentive, or for a
 * Stripe cart that could not use the step's promotion code).
 */
export async function previewTemplateInput(
  db: PrismaClient,
  shop: PreviewShop & { id: string },
  step: StepForPreview,
  options: { recoveryId?: string; now?: Date; language?: Language } = {},
): Promise<TemplateInput> {
  return templateInputIn(await previewInput(db, shop, step, options), options.language);
}

async function previewInput(
  db: PrismaClient,
  shop: PreviewShop & { id: string },
  step: StepForPreview,
  options: { recoveryId?: string; now?: Date },
): Promise<TemplateInput> {
  const now = options.now ?? new Date();
  const sample = sampleTemplateInput(shopTemplateFacts(shop), shop.currency);
  const incentive = stepIncentive(step);
  const recovery = options.recoveryId ? await findPreviewRecovery(db, shop.id, options.recoveryId) : null;
  if (!recovery) {
    return {
      ...sample,
      incentive: incentive
        ? {
            code: "BACK-PREVIEW",
            type: incentive.type,
            value: incentive.value,
            currency: shop.currency,
            expiresAt: new Date(now.getTime() + incentive.expiresDays * 86_400_000),
          }
        : null,
    };
  }
  let metadata: Record<string, unknown> | null = null;
  try {
    metadata = JSON.parse(recovery.sourceMetadata) as Record<string, unknown>;
  } catch {
    metadata = null;
  }
  return templateInputFor(
    shop,
    recovery,
    sample.links,
    incentive && recovery.source === "shopify"
      ? {
          code: "BACK-PREVIEW",
          type: incentive.type,
          value: incentive.value,
          currency: shop.currency,
          expiresAt: new Date(now.getTime() + incentive.expiresDays * 86_400_000),
        }
      : incentive && recovery.source === "stripe" && step.stripePromotionCode && stripeAllowsPromotionCodes(metadata)
        ? { code: step.stripePromotionCode, type: incentive.type, value: incentive.value, currency: recovery.currency, expiresAt: null }
        : null,
  );
}

/**
 * Renders a step for the editor's preview, with sample data or against one of the shop's real recoveries, in the
 * version's `language` (dates and money in it): in a render worker, within the shop's preview allowance (`limited`: the
 * route answers 429 with its message; docs/decisions/079).
 */
export async function previewStep(
  db: PrismaClient,
  shopId: string,
  step: StepForPreview,
  options: { recoveryId?: string; now?: Date; language?: Language; t?: TFunction } = {},
): Promise<{ ok: true; email: RenderedEmail } | { ok: false; problems: TemplateProblem[]; limited?: Limited }> {
  const t = options.t ?? english;
  const limited = takePreview(shopId, options.now?.getTime(), t);
  if (limited) return { ok: false, problems: [], limited };
  const shop = await getShopById(db, shopId);
  const key = editorRenderKey(shopId);
  try {
    const problems = await checkTemplateInWorker(step, sampleVariables(shop, options.language ?? null), { key });
    if (problems.length > 0) return { ok: false, problems };
    const input = await previewTemplateInput(db, shop, step, options);
    // The layout's own text (the footer) in the version's language where the renderer takes one (issue 19, the
    // emails' side); a renderer without it ignores the field.
    const renderOptions: { key: string; language?: Language } = { key, ...(options.language ? { language: options.language } : {}) };
    return { ok: true, email: await renderEmailInWorker(step, templateVariables(input), renderOptions) };
  } catch (error) {
    // The chosen recovery's data can still break a template that renders with the sample data.
    if (error instanceof TemplateRenderError) return { ok: false, problems: [error.problem] };
    if (error instanceof RenderBusyError) return { ok: false, problems: [], limited: { message: `${busyMessage(error, t)}.`, retryAfterSeconds: 2 } };
    throw error;
  }
}
