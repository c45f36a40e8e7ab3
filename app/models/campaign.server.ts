/**
 * Campaigns and their steps: the default campaign at install, saving a step (templates checked with line and
 * column), previews against sample data or a real recovery, and per-campaign results where conversions by link
 * and by window are reported side by side and never added together.
 */
import type { Campaign, CampaignStep, Prisma, PrismaClient } from "@prisma/client";
import { z } from "zod";
import { checkTemplate, MAX_BODY_LENGTH, renderEmail, type RenderedEmail, type TemplateProblem } from "../email/render";
import { templateInputFor } from "../email/variables";
import { DEFAULT_CAMPAIGN_NAME, DEFAULT_STEPS } from "../recovery/campaign-defaults";
import { stepIncentive, stripeAllowsPromotionCodes } from "../recovery/incentive";
import { parseCurrencies, stepSpacingWarnings, type CampaignForScheduling, type CampaignSources } from "../recovery/schedule";
import { sampleTemplateInput, templateVariables } from "../recovery/template";

type Db = PrismaClient | Prisma.TransactionClient;

/** Creates the shop's default 3-step campaign unless it already has one. Idempotent (install step). */
export async function ensureDefaultCampaign(db: PrismaClient, shopId: string): Promise<Campaign> {
  return db.$transaction(async (tx) => {
    const existing = await tx.campaign.findFirst({ where: { shopId, isDefault: true } });
    if (existing) return existing;
    return tx.campaign.create({
      data: {
        shopId,
        name: DEFAULT_CAMPAIGN_NAME,
        isDefault: true,
        enabled: true,
        sources: "both",
        steps: { create: DEFAULT_STEPS.map((s) => ({ ...s })) },
      },
    });
  });
}

export async function campaignsForScheduling(db: Db, shopId: string): Promise<CampaignForScheduling[]> {
  const rows = await db.campaign.findMany({
    where: { shopId, enabled: true },
    include: { steps: { select: { id: true, position: true, delayMinutes: true }, orderBy: { position: "asc" } } },
  });
  return rows.map((c) => ({
    id: c.id,
    name: c.name,
    enabled: c.enabled,
    isDefault: c.isDefault,
    createdAt: c.createdAt,
    minCartMinor: c.minCartMinor,
    currencies: parseCurrencies(c.currencies),
    sources: (["both", "shopify", "stripe"].includes(c.sources) ? c.sources : "both") as CampaignSources,
    steps: c.steps,
  }));
}

export const stepInputSchema = z
  .object({
    delayMinutes: z.coerce.number().int().min(5, "must be at least 5 minutes").max(60 * 24 * 30, "must be at most 30 days"),
    subject: z.string().max(400),
    // Bounded here, before any parsing or rendering, so a hostile template costs nothing (SECURITY.md, Merchant content).
    bodyTemplate: z.string().max(MAX_BODY_LENGTH, `must be at most ${MAX_BODY_LENGTH.toLocaleString("en")} characters`),
    incentiveType: z.enum(["percentage", "fixed_amount"]).nullable().default(null),
    incentiveValue: z.coerce.number().int().positive().nullable().default(null),
    incentiveExpiresDays: z.coerce.number().int().min(1).max(90).nullable().default(null),
    /** A promotion code created in Stripe; shown for Stripe recoveries whose session allowed promotion codes. */
    stripePromotionCode: z
      .string()
      .trim()
      .max(100, "must be at most 100 characters")
      .regex(/^[A-Za-z0-9_-]*$/, "may contain only letters, digits, - and _ (as in Stripe)")
      .nullable()
      .default(null)
      .transform((v) => (v ? v : null)),
  })
  .superRefine((v, ctx) => {
    if (v.incentiveType && !v.incentiveValue) ctx.addIssue({ code: "custom", path: ["incentiveValue"], message: "is required with an incentive" });
    if (v.incentiveType === "percentage" && (v.incentiveValue ?? 0) > 100) ctx.addIssue({ code: "custom", path: ["incentiveValue"], message: "must be 100 or less" });
    if (v.stripePromotionCode && !v.incentiveType) {
      ctx.addIssue({ code: "custom", path: ["stripePromotionCode"], message: "needs an incentive (type and value) describing what the code gives" });
    }
  });

export type StepInput = z.input<typeof stepInputSchema>;

export type SaveStepResult =
  | { ok: true; step: CampaignStep; warnings: string[] }
  | { ok: false; problems: TemplateProblem[]; fieldErrors: Record<string, string> };

/** Saves one step after checking its templates; nothing is written when anything is wrong. */
export async function saveCampaignStep(db: PrismaClient, shopId: string, stepId: string, input: StepInput): Promise<SaveStepResult> {
  const step = await db.campaignStep.findFirst({ where: { id: stepId, campaign: { shopId } }, include: { campaign: { include: { steps: true } }, } });
  if (!step) return { ok: false, problems: [], fieldErrors: { step: "not found" } };
  const parsed = stepInputSchema.safeParse(input);
  if (!parsed.success) {
    return { ok: false, problems: [], fieldErrors: Object.fromEntries(parsed.error.issues.map((i) => [i.path.join("."), i.message])) };
  }
  const shop = await db.shop.findUniqueOrThrow({ where: { id: shopId } });
  const problems = checkTemplate(parsed.data, templateVariables(sampleTemplateInput({ name: shop.name ?? undefined, domain: shop.domain, postalAddress: shop.postalAddress, locale: shop.locale })));
  if (problems.length > 0) return { ok: false, problems, fieldErrors: {} };
  const saved = await db.campaignStep.update({ where: { id: step.id }, data: parsed.data });
  const steps = step.campaign.steps.map((s) => (s.id === saved.id ? saved : s));
  return { ok: true, step: saved, warnings: stepSpacingWarnings(steps) };
}

export const campaignFiltersSchema = z.object({
  name: z.string().trim().min(1).max(100).optional(),
  enabled: z.boolean().optional(),
  minCartMinor: z.number().int().min(0).nullable().optional(),
  currencies: z.array(z.string().regex(/^[A-Za-z]{3}$/, "must be an ISO 4217 code")).optional(),
  sources: z.enum(["both", "shopify", "stripe"]).optional(),
});

export async function updateCampaignFilters(db: PrismaClient, shopId: string, campaignId: string, input: z.input<typeof campaignFiltersSchema>) {
  const parsed = campaignFiltersSchema.safeParse(input);
  if (!parsed.success) return { ok: false as const, fieldErrors: Object.fromEntries(parsed.error.issues.map((i) => [i.path.join("."), i.message])) };
  const { currencies, ...rest } = parsed.data;
  const { count } = await db.campaign.updateMany({
    where: { id: campaignId, shopId },
    data: { ...rest, ...(currencies ? { currencies: currencies.map((c) => c.toUpperCase()).join(",") } : {}) },
  });
  return count === 1 ? { ok: true as const } : { ok: false as const, fieldErrors: { campaign: "not found" } };
}

/** Renders a step for the editor's preview, with sample data or against one of the shop's real recoveries. */
export async function previewStep(
  db: PrismaClient,
  shopId: string,
  step: { subject: string; bodyTemplate: string; incentiveType: string | null; incentiveValue: number | null; incentiveExpiresDays: number | null; stripePromotionCode?: string | null },
  options: { recoveryId?: string; now?: Date } = {},
): Promise<{ ok: true; email: RenderedEmail } | { ok: false; problems: TemplateProblem[] }> {
  const shop = await db.shop.findUniqueOrThrow({ where: { id: shopId } });
  const sample = sampleTemplateInput({ name: shop.name ?? undefined, domain: shop.domain, postalAddress: shop.postalAddress, timeZone: shop.timezone, locale: shop.locale });
  const problems = checkTemplate(step, templateVariables(sample));
  if (problems.length > 0) return { ok: false, problems };
  let input = sample;
  if (options.recoveryId) {
    const recovery = await db.recovery.findFirst({ where: { id: options.recoveryId, shopId } });
    if (recovery) {
      const incentive = stepIncentive(step);
      let metadata: Record<string, unknown> | null = null;
      try {
        metadata = JSON.parse(recovery.sourceMetadata) as Record<string, unknown>;
      } catch {
        metadata = null;
      }
      input = templateInputFor(shop, recovery, sample.links, incentive && recovery.source === "shopify"
        ? { code: "BACK-PREVIEW", type: incentive.type, value: incentive.value, currency: shop.currency, expiresAt: new Date((options.now ?? new Date()).getTime() + incentive.expiresDays * 86_400_000) }
        : incentive && recovery.source === "stripe" && step.stripePromotionCode && stripeAllowsPromotionCodes(metadata)
          ? { code: step.stripePromotionCode, type: incentive.type, value: incentive.value, currency: recovery.currency, expiresAt: null }
          : null);
    }
  }
  return { ok: true, email: renderEmail(step, templateVariables(input)) };
}

export interface ConversionFigures {
  count: number;
  /** Amounts per currency (minor units); currencies are never added together either. */
  amountByCurrency: Record<string, number>;
}

export interface CampaignResults {
  steps: { position: number; sent: number; skipped: number; failed: number; scheduled: number; clicks: number }[];
  skippedByReason: Record<string, number>;
  /** Credited by link: Shopify completedAt on the same checkout, Stripe recovered_from. */
  conversionsByLink: ConversionFigures;
  /** Credited by window: an order/payment by the same contact within N days after a click. Reported apart from link. */
  conversionsByWindow: ConversionFigures & { windowDays: number };
}

export async function campaignResults(db: PrismaClient, shopId: string, campaignId: string): Promise<CampaignResults> {
  const shop = await db.shop.findUniqueOrThrow({ where: { id: shopId }, select: { attributionWindowDays: true } });
  const [byStep, reasons, clicks, conversions] = await Promise.all([
    db.message.groupBy({ by: ["position", "status"], where: { shopId, campaignId }, _count: { _all: true } }),
    db.message.groupBy({ by: ["skipReason"], where: { shopId, campaignId, status: { in: ["skipped", "cancelled"] } }, _count: { _all: true } }),
    // Counted in SQL: the page never loads click rows (a shop has one per click, up to 50 per email).
    db.$queryRaw<{ position: number; n: bigint }[]>`
      SELECT m."position" AS "position", count(*) AS "n" FROM "Click" c JOIN "Message" m ON m."id" = c."messageId"
      WHERE c."shopId" = ${shopId} AND m."shopId" = ${shopId} AND m."campaignId" = ${campaignId} GROUP BY m."position"`,
    db.conversion.groupBy({ by: ["method", "currency"], where: { shopId, OR: [{ message: { campaignId } }, { recovery: { messages: { some: { campaignId } } } }] }, _count: { _all: true }, _sum: { amountMinor: true } }),
  ]);
  const positions = [...new Set(byStep.map((r) => r.position))].sort((a, b) => a - b);
  const count = (position: number, statuses: string[]) =>
    byStep.filter((r) => r.position === position && statuses.includes(r.status)).reduce((n, r) => n + r._count._all, 0);
  const figures = (method: string): ConversionFigures => {
    const rows = conversions.filter((c) => c.method === method);
    return {
      count: rows.reduce((n, r) => n + r._count._all, 0),
      amountByCurrency: Object.fromEntries(rows.map((r) => [r.currency, Number(r._sum.amountMinor ?? 0)])),
    };
  };
  return {
    steps: positions.map((position) => ({
      position,
      sent: count(position, ["sent"]),
      skipped: count(position, ["skipped", "cancelled"]),
      failed: count(position, ["failed"]),
      scheduled: count(position, ["scheduled", "claimed", "sending"]),
      clicks: Number(clicks.find((c) => Number(c.position) === position)?.n ?? 0),
    })),
    skippedByReason: Object.fromEntries(reasons.map((r) => [r.skipReason ?? "unknown", r._count._all])),
    conversionsByLink: figures("link"),
    conversionsByWindow: { ...figures("window"), windowDays: shop.attributionWindowDays },
  };
}
