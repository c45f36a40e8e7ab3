/**
 * Campaigns and their steps: the default campaign at install, storing a step (its templates are checked first by
 * app/email/campaign-editor.server.ts, which also renders previews), and per-campaign results where conversions by
 * link and by window are reported side by side and never added together.
 */
import { Prisma, type Campaign, type CampaignStep, type PrismaClient } from "@prisma/client";
import { z } from "zod";
import { MAX_BODY_LENGTH } from "../recovery/template";
import { DEFAULT_CAMPAIGN_NAMES, DEFAULT_STEPS_BY_LANGUAGE, defaultStepsCreate } from "../recovery/campaign-defaults";
import { shippedLanguage } from "../i18n/locales";
import { addConversion, type RecoveredByCurrency } from "../recovery/recovered";
import { RECOVERED_AMOUNT, RECOVERED_CONVERSION } from "./dashboard.server";
import { parseCurrencies, type CampaignForScheduling, type CampaignSources } from "../recovery/schedule";

type Db = PrismaClient | Prisma.TransactionClient;

/** Creates the shop's default 3-step campaign unless it already has one. Idempotent (install step). */
export async function ensureDefaultCampaign(db: PrismaClient, shopId: string): Promise<Campaign> {
  return db.$transaction(async (tx) => {
    const existing = await tx.campaign.findFirst({ where: { shopId, isDefault: true, kind: "cart" } });
    if (existing) return existing;
    // Each step in the shop's primary language, with a translation in each other shipped language (docs/decisions/093).
    const shop = await tx.shop.findUnique({ where: { id: shopId }, select: { locale: true } });
    const language = shippedLanguage(shop?.locale) ?? "en";
    return tx.campaign.create({
      data: {
        shopId,
        name: DEFAULT_CAMPAIGN_NAMES[language],
        isDefault: true,
        enabled: true,
        sources: "both",
        steps: { create: defaultStepsCreate(DEFAULT_STEPS_BY_LANGUAGE, language) },
      },
    });
  });
}

/** The shop's campaigns for the Campaigns page: the default first, then oldest first, with their step counts. */
export function listCampaigns(db: PrismaClient, shopId: string) {
  return db.campaign.findMany({
    where: { shopId },
    orderBy: [{ isDefault: "desc" }, { createdAt: "asc" }],
    include: { _count: { select: { steps: true } } },
  });
}

/** One of the shop's campaigns with its steps in order; null for an unknown id or another shop's campaign. */
export function findShopCampaign(db: PrismaClient, shopId: string, campaignId: string) {
  return db.campaign.findFirst({ where: { id: campaignId, shopId }, include: { steps: { orderBy: { position: "asc" } } } });
}

/** The shop's ten latest recoveries with an email: the checkouts a merchant can preview a step against. */
export function previewRecoveryChoices(db: PrismaClient, shopId: string) {
  return db.recovery.findMany({
    where: { shopId, email: { not: null } },
    orderBy: { abandonedAt: "desc" },
    take: 10,
    select: { id: true, name: true, email: true, source: true },
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
    kind: c.kind,
  }));
}

const wholeNumber = (what: string) => ({ invalid_type_error: `${what} must be a number`, required_error: `${what} is required` });

/** A step as the merchant fills it in. Every message is a whole sentence naming the field (shown as the field's error). */
export const stepInputSchema = z
  .object({
    delayMinutes: z.coerce
      .number({ invalid_type_error: "Delay must be a number of hours" })
      .int("Delay must be a number of hours")
      .min(5, "Delay must be at least 5 minutes (0.1 hours)")
      .max(60 * 24 * 30, "Delay must be at most 720 hours (30 days)"),
    subject: z.string().max(400, "Subject must be at most 400 characters"),
    // Bounded here, before any parsing or rendering, so a hostile template costs nothing (SECURITY.md, Merchant content).
    bodyTemplate: z.string().max(MAX_BODY_LENGTH, `Body must be at most ${MAX_BODY_LENGTH.toLocaleString("en")} characters`),
    incentiveType: z
      .enum(["percentage", "fixed_amount"], { errorMap: () => ({ message: "Choose an incentive type" }) })
      .nullable()
      .default(null),
    /** Percent (1–100), or a fixed amount in minor units of the shop's currency (the editor converts what is typed). */
    incentiveValue: z.coerce
      .number(wholeNumber("Discount"))
      .int("Discount must be a whole number")
      .positive("Discount must be more than 0")
      .nullable()
      .default(null),
    incentiveExpiresDays: z.coerce
      .number(wholeNumber("Code validity"))
      .int("Code validity must be a whole number of days")
      .min(1, "Code validity must be at least 1 day")
      .max(90, "Code validity must be at most 90 days")
      .nullable()
      .default(null),
    /** A promotion code created in Stripe; shown for Stripe recoveries whose session allowed promotion codes. */
    stripePromotionCode: z
      .string()
      .trim()
      .max(100, "Stripe promotion code must be at most 100 characters")
      .regex(/^[A-Za-z0-9_-]*$/, "Stripe promotion code may contain only letters, digits, - and _ (as in Stripe)")
      .nullable()
      .default(null)
      .transform((v) => (v ? v : null)),
  })
  .superRefine((v, ctx) => {
    if (v.incentiveType && !v.incentiveValue) ctx.addIssue({ code: "custom", path: ["incentiveValue"], message: "Enter the discount this step gives" });
    if (v.incentiveType === "percentage" && (v.incentiveValue ?? 0) > 100)
      ctx.addIssue({ code: "custom", path: ["incentiveValue"], message: "A percentage discount must be 100 or less" });
    if (v.stripePromotionCode && !v.incentiveType) {
      ctx.addIssue({
        code: "custom",
        path: ["stripePromotionCode"],
        message: "A Stripe promotion code needs an incentive (type and value) describing what the code gives",
      });
    }
  });

/** One message per field (the first), keyed by the field's name: never a zod path or a type name. */
export function fieldErrorsOf(error: z.ZodError): Record<string, string> {
  const out: Record<string, string> = {};
  for (const issue of error.issues) {
    const key = String(issue.path[0] ?? "form");
    out[key] ??= issue.message;
  }
  return out;
}

export type StepInput = z.input<typeof stepInputSchema>;

/** A shop's step with its campaign's steps (saving checks their order), or null when it is not the shop's. */
export function findStepForSaving(db: PrismaClient, shopId: string, stepId: string) {
  return db.campaignStep.findFirst({ where: { id: stepId, campaign: { shopId } }, include: { campaign: { include: { steps: true } } } });
}

/** Writes a step's checked fields (app/email/campaign-editor.server.ts checks the templates first). */
export function updateCampaignStep(db: PrismaClient, stepId: string, data: z.output<typeof stepInputSchema>): Promise<CampaignStep> {
  return db.campaignStep.update({ where: { id: stepId }, data });
}

/** One of the shop's recoveries, to preview a step against real data. */
export function findPreviewRecovery(db: PrismaClient, shopId: string, recoveryId: string) {
  return db.recovery.findFirst({ where: { id: recoveryId, shopId } });
}

export const campaignFiltersSchema = z.object({
  name: z.string().trim().min(1, "Name is required").max(100, "Name must be at most 100 characters").optional(),
  enabled: z.boolean().optional(),
  minCartMinor: z.number().int().min(0, "Minimum cart value can't be negative").nullable().optional(),
  currencies: z.array(z.string().regex(/^[A-Za-z]{3}$/, "Currencies must be 3-letter ISO codes such as USD, EUR")).optional(),
  sources: z.enum(["both", "shopify", "stripe"], { errorMap: () => ({ message: "Choose where the carts come from" }) }).optional(),
});

export async function updateCampaignFilters(db: PrismaClient, shopId: string, campaignId: string, input: z.input<typeof campaignFiltersSchema>) {
  const parsed = campaignFiltersSchema.safeParse(input);
  if (!parsed.success) return { ok: false as const, fieldErrors: fieldErrorsOf(parsed.error) };
  const { currencies, ...rest } = parsed.data;
  const { count } = await db.campaign.updateMany({
    where: { id: campaignId, shopId },
    data: { ...rest, ...(currencies ? { currencies: currencies.map((c) => c.toUpperCase()).join(",") } : {}) },
  });
  return count === 1 ? { ok: true as const } : { ok: false as const, fieldErrors: { campaign: "not found" } };
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
  /** The same figures per currency, as the Overview gives them (for the same summary of other currencies). */
  recoveredByCurrency: RecoveredByCurrency;
}

/**
 * A campaign's emails and what they recovered. Recovered follows the one definition (docs/decisions/082): purchases
 * after one of this campaign's emails (Conversion.messageId), not reversed, less refunds; with `period`, those whose
 * purchase falls in it, exactly as the Overview counts them. Email counts are all-time.
 */
export async function campaignResults(db: PrismaClient, shopId: string, campaignId: string, period?: { from: Date; to: Date }): Promise<CampaignResults> {
  const shop = await db.shop.findUniqueOrThrow({ where: { id: shopId }, select: { attributionWindowDays: true } });
  const inPeriod = period ? Prisma.sql`AND c."convertedAt" >= ${period.from} AND c."convertedAt" < ${period.to}` : Prisma.empty;
  const [byStep, reasons, clicks, conversions] = await Promise.all([
    db.message.groupBy({ by: ["position", "status"], where: { shopId, campaignId }, _count: { _all: true } }),
    db.message.groupBy({ by: ["skipReason"], where: { shopId, campaignId, status: { in: ["skipped", "cancelled"] } }, _count: { _all: true } }),
    // Counted in SQL: the page never loads click rows (a shop has one per click, up to 50 per email).
    db.$queryRaw<{ position: number; n: bigint }[]>`
      SELECT m."position" AS "position", count(*) AS "n" FROM "Click" c JOIN "Message" m ON m."id" = c."messageId"
      WHERE c."shopId" = ${shopId} AND m."shopId" = ${shopId} AND m."campaignId" = ${campaignId} GROUP BY m."position"`,
    db.$queryRaw<{ method: string; currency: string; n: bigint; amount: bigint | null }[]>`
      SELECT c."method" AS "method", c."currency" AS "currency", count(*) AS "n", sum(${RECOVERED_AMOUNT}) AS "amount"
      FROM "Conversion" c JOIN "Message" m ON m."id" = c."messageId"
      WHERE c."shopId" = ${shopId} AND m."shopId" = ${shopId} AND m."campaignId" = ${campaignId} AND ${RECOVERED_CONVERSION} ${inPeriod}
      GROUP BY 1, 2`,
  ]);
  const positions = [...new Set(byStep.map((r) => r.position))].sort((a, b) => a - b);
  const count = (position: number, statuses: string[]) =>
    byStep.filter((r) => r.position === position && statuses.includes(r.status)).reduce((n, r) => n + r._count._all, 0);
  const recoveredByCurrency: RecoveredByCurrency = {};
  for (const c of conversions) {
    if (c.method === "link" || c.method === "window") addConversion(recoveredByCurrency, c.method, c.currency, Number(c.n), Number(c.amount ?? 0));
  }
  const figures = (method: "link" | "window"): ConversionFigures => {
    const rows = Object.entries(recoveredByCurrency).filter(([, f]) => f[method].count > 0);
    return {
      count: rows.reduce((n, [, f]) => n + f[method].count, 0),
      amountByCurrency: Object.fromEntries(rows.map(([currency, f]) => [currency, f[method].revenueMinor])),
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
    recoveredByCurrency,
  };
}
