/**
 * A step's preview in one language (issue 19, docs/decisions/093), for the campaign editor's per-language tabs: the
 * version's subject and body rendered as the real send would render an email in that language (money, numbers and
 * dates in it, the layout's footer and fonts in it), against sample data or one of the shop's real recoveries. Same
 * render worker and preview allowance as previewStep (app/email/campaign-editor.server.ts).
 */
import type { PrismaClient } from "@prisma/client";
import type { Language } from "../i18n/locales";
import { getShopById } from "../models/shop.server";
import { sampleTemplateInput, templateVariables } from "../recovery/template";
import { previewTemplateInput } from "./campaign-editor.server";
import { editorRenderKey, takePreview, type Limited } from "./editor-limits.server";
import { TemplateRenderError, type RenderedEmail, type TemplateProblem } from "./render";
import { checkTemplateInWorker, RenderBusyError, renderEmailInWorker } from "./render-pool.server";
import { shopTemplateFacts } from "./variables";

/** One language's version of a step (the main version or a CampaignStepTranslation) with the step's incentive. */
export interface StepVersionForPreview {
  subject: string;
  bodyTemplate: string;
  incentiveType: string | null;
  incentiveValue: number | null;
  incentiveExpiresDays: number | null;
  stripePromotionCode?: string | null;
}

export async function renderStepPreview(
  db: PrismaClient,
  shopId: string,
  version: StepVersionForPreview,
  language: Language,
  options: { recoveryId?: string; now?: Date } = {},
): Promise<{ ok: true; email: RenderedEmail; language: Language } | { ok: false; problems: TemplateProblem[]; limited?: Limited }> {
  const limited = takePreview(shopId, options.now?.getTime());
  if (limited) return { ok: false, problems: [], limited };
  const shop = await getShopById(db, shopId);
  const key = editorRenderKey(shopId);
  try {
    const sample = { ...sampleTemplateInput(shopTemplateFacts(shop), shop.currency), language };
    const problems = await checkTemplateInWorker(version, templateVariables(sample), { key });
    if (problems.length > 0) return { ok: false, problems };
    const input = { ...(await previewTemplateInput(db, shop, version, options)), language };
    return { ok: true, language, email: await renderEmailInWorker(version, templateVariables(input), { key, language }) };
  } catch (error) {
    // The chosen recovery's data can still break a template that renders with the sample data.
    if (error instanceof TemplateRenderError) return { ok: false, problems: [error.problem] };
    if (error instanceof RenderBusyError) return { ok: false, problems: [], limited: { message: `${error.message}.`, retryAfterSeconds: 2 } };
    throw error;
  }
}
