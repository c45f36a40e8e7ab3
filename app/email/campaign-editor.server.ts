/**
 * The campaign editor's template work: saving a step once its templates render (checked in a render worker, with line
 * and column), and previews against sample data or one of the shop's real recoveries. The campaign model stores;
 * this composes it with rendering (app/email/render-pool.server.ts).
 */
import type { CampaignStep, PrismaClient } from "@prisma/client";
import { fieldErrorsOf, findPreviewRecovery, findStepForSaving, stepInputSchema, updateCampaignStep, type StepInput } from "../models/campaign.server";
import { getShopById } from "../models/shop.server";
import { stepIncentive, stripeAllowsPromotionCodes } from "../recovery/incentive";
import { stepOrderProblem, stepSpacingWarnings } from "../recovery/schedule";
import { sampleTemplateInput, templateVariables, type TemplateInput } from "../recovery/template";
import { editorRenderKey, takePreview, type Limited } from "./editor-limits.server";
import { TemplateRenderError, type RenderedEmail, type TemplateProblem } from "./render";
import { checkTemplateInWorker, RenderBusyError, renderEmailInWorker } from "./render-pool.server";
import { shopTemplateFacts, templateInputFor } from "./variables";

export type SaveStepResult =
  { ok: true; step: CampaignStep; warnings: string[] } | { ok: false; problems: TemplateProblem[]; fieldErrors: Record<string, string> };

/** Saves one step after checking its templates; nothing is written when anything is wrong. */
export async function saveCampaignStep(db: PrismaClient, shopId: string, stepId: string, input: StepInput): Promise<SaveStepResult> {
  const step = await findStepForSaving(db, shopId, stepId);
  if (!step) return { ok: false, problems: [], fieldErrors: { step: "not found" } };
  const parsed = stepInputSchema.safeParse(input);
  if (!parsed.success) return { ok: false, problems: [], fieldErrors: fieldErrorsOf(parsed.error) };
  // Emails go out in order: a delay that would send this one before the previous one (or after the next) is refused.
  const order = stepOrderProblem(step.campaign.steps, step.id, parsed.data.delayMinutes);
  if (order) return { ok: false, problems: [], fieldErrors: { delayMinutes: order } };
  const shop = await getShopById(db, shopId);
  // Off the event loop, one at a time per shop (app/email/render-pool.server.ts).
  const problems = await checkTemplateInWorker(parsed.data, templateVariables(sampleTemplateInput(shopTemplateFacts(shop), shop.currency)), {
    key: editorRenderKey(shopId),
  }).catch((error: unknown) => {
    if (error instanceof RenderBusyError) return [{ field: "body" as const, message: `${error.message}; nothing was saved`, line: null, column: null }];
    throw error;
  });
  if (problems.length > 0) return { ok: false, problems, fieldErrors: {} };
  const saved = await updateCampaignStep(db, step.id, parsed.data);
  const steps = step.campaign.steps.map((s) => (s.id === saved.id ? saved : s));
  return { ok: true, step: saved, warnings: stepSpacingWarnings(steps) };
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
  options: { recoveryId?: string; now?: Date } = {},
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
 * Renders a step for the editor's preview, with sample data or against one of the shop's real recoveries: in a render
 * worker, within the shop's preview allowance (`limited`: the route answers 429 with its message; docs/decisions/079).
 */
export async function previewStep(
  db: PrismaClient,
  shopId: string,
  step: StepForPreview,
  options: { recoveryId?: string; now?: Date } = {},
): Promise<{ ok: true; email: RenderedEmail } | { ok: false; problems: TemplateProblem[]; limited?: Limited }> {
  const limited = takePreview(shopId, options.now?.getTime());
  if (limited) return { ok: false, problems: [], limited };
  const shop = await getShopById(db, shopId);
  const key = editorRenderKey(shopId);
  try {
    const problems = await checkTemplateInWorker(step, templateVariables(sampleTemplateInput(shopTemplateFacts(shop), shop.currency)), { key });
    if (problems.length > 0) return { ok: false, problems };
    const input = await previewTemplateInput(db, shop, step, options);
    return { ok: true, email: await renderEmailInWorker(step, templateVariables(input), { key }) };
  } catch (error) {
    // The chosen recovery's data can still break a template that renders with the sample data.
    if (error instanceof TemplateRenderError) return { ok: false, problems: [error.problem] };
    if (error instanceof RenderBusyError) return { ok: false, problems: [], limited: { message: `${error.message}.`, retryAfterSeconds: 2 } };
    throw error;
  }
}
