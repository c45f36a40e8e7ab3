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
import type { TFunction } from "i18next";
import type { Language } from "../i18n/locales";
import { translatorFor } from "../i18n/translator";

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
  return db.campaign.findFirst({
    where: { id: campaignId, shopId },
    include: { steps: { orderBy: { position: "asc" }, include: { translations: { orderBy: { language: "asc" } } } } },
  });
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

/**
 * Form errors are catalogue keys (`errors.*` in the campaigns namespace, docs/decisions/093): the route translates them
 * into the admin's language with fieldErrorsOf(error, t). Without a `t`, English.
 */
const KEY_PREFIX = "errors.";

/** A step as the merchant fills it in. Every message is a whole sentence naming the field (shown as the field's error). */
export const stepInputSchema = z
  .object({
    delayMinutes: z.coerce
      .number({ invalid_type_error: "errors.delayNotNumber" })
      .int("errors.delayNotNumber")
      .min(5, "errors.delayTooShort")
      .max(60 * 24 * 30, "errors.delayTooLong"),
    subject: z.string().max(400, "errors.subjectTooLong"),
    // Bounded here, before any parsing or rendering, so a hostile template costs nothing (SECURITY.md, Merchant content).
    bodyTemplate: z.string().max(MAX_BODY_LENGTH, "errors.bodyTooLong"),
    incentiveType: z
      .enum(["percentage", "fixed_amount"], { errorMap: () => ({ message: "errors.incentiveTypeChoose" }) })
      .nullable()
      .default(null),
    /** Percent (1–100), or a fixed amount in minor units of the shop's currency (the editor converts what is typed). */
    incentiveValue: z.coerce
      .number({ invalid_type_error: "errors.discountNotNumber", required_error: "errors.discountRequired" })
      .int("errors.discountNotWhole")
      .positive("errors.discountNotPositive")
      .nullable()
      .default(null),
    incentiveExpiresDays: z.coerce
      .number({ invalid_type_error: "errors.validityNotNumber", required_error: "errors.validityRequired" })
      .int("errors.validityNotWhole")
      .min(1, "errors.validityTooShort")
      .max(90, "errors.validityTooLong")
      .nullable()
      .default(null),
    /** A promotion code created in Stripe; shown for Stripe recoveries whose session allowed promotion codes. */
    stripePromotionCode: z
      .string()
      .trim()
      .max(100, "errors.promotionCodeTooLong")
      .regex(/^[A-Za-z0-9_-]*$/, "errors.promotionCodeCharacters")
      .nullable()
      .default(null)
      .transform((v) => (v ? v : null)),
  })
  .superRefine((v, ctx) => {
    if (v.incentiveType && !v.incentiveValue) ctx.addIssue({ code: "custom", path: ["incentiveValue"], message: "errors.discountMissing" });
    if (v.incentiveType === "percentage" && (v.incentiveValue ?? 0) > 100)
      ctx.addIssue({ code: "custom", path: ["incentiveValue"], message: "errors.percentageTooHigh" });
    if (v.stripePromotionCode && !v.incentiveType) {
      ctx.addIssue({ code: "custom", path: ["stripePromotionCode"], message: "errors.promotionCodeNeedsIncentive" });
    }
  });

/** One language's version of a step's email (the main one or a translation): checked exactly as the step's own. */
export const stepVersionSchema = stepInputSchema.innerType().pick({ subject: true, bodyTemplate: true });
export type StepVersion = z.output<typeof stepVersionSchema>;

/** Values some messages name ("at most {{max}} characters"). */
const MESSAGE_VALUES: Record<string, Record<string, number>> = { "errors.bodyTooLong": { max: MAX_BODY_LENGTH } };

/** A message from a schema in the admin's language: a catalogue key is translated, anything else is kept as it is. */
export function translateMessage(message: string, t: TFunction = translatorFor("en")): string {
  if (!message.startsWith(KEY_PREFIX) || !/^[\w.]+$/.test(message)) return message;
  return t(`campaigns:${message}`, MESSAGE_VALUES[message] ?? {});
}

/**
 * One message per field (the first), keyed by the field's name: never a zod path or a type name. In the admin's
 * language with the route's `t`; English without.
 */
export function fieldErrorsOf(error: z.ZodError, t: TFunction = translatorFor("en")): Record<string, string> {
  const out: Record<string, string> = {};
  for (const issue of error.issues) {
    const key = String(issue.path[0] ?? "form");
    out[key] ??= translateMessage(issue.message, t);
  }
  return out;
}

export type StepInput = z.input<typeof stepInputSchema>;

/** A shop's step with its campaign's steps (saving checks their order) and its translations, or null when it is not the shop's. */
export function findStepForSaving(db: PrismaClient, shopId: string, stepId: string) {
  return db.campaignStep.findFirst({
    where: { id: stepId, campaign: { shopId } },
    include: { campaign: { include: { steps: true } }, translations: true },
  });
}

/**
 * Writes a step's checked fields and, in the same transaction, the checked versions in its other languages
 * (app/email/campaign-editor.server.ts checks every template first): all of it or nothing.
 */
export function updateCampaignStep(
  db: PrismaClient,
  stepId: string,
  data: z.output<typeof stepInputSchema>,
  translations: Partial<Record<Language, StepVersion>> = {},
): Promise<CampaignStep> {
  return db.$transaction(async (tx) => {
    const step = await tx.campaignStep.update({ where: { id: stepId }, data });
    for (const [language, version] of Object.entries(translations)) {
      if (!version || language === step.language) continue;
      await tx.campaignStepTranslation.upsert({
        where: { stepId_language: { stepId, language } },
        create: { stepId, language, subject: version.subject, bodyTemplate: version.bodyTemplate },
        update: { subject: version.subject, bodyTemplate: version.bodyTemplate },
      });
    }
    return step;
  });
}

/** Removes one of a shop's steps' versions in a language other than its main one; false when there was none. */
export async function removeStepTranslation(db: PrismaClient, shopId: string, stepId: string, language: string): Promise<boolean> {
  const { count } = await db.campaignStepTranslation.deleteMany({
    where: { stepId, language, step: { campaign: { shopId }, language: { not: language } } },
  });
  return count > 0;
}

/** One of the shop's recoveries, to preview a step against real data. */
export function findPreviewRecovery(db: PrismaClient, shopId: string, recoveryId: string) {
  return db.recovery.findFirst({ where: { id: recoveryId, shopId } });
}

export const campaignFiltersSchema = z.object({
  name: z.string().trim().min(1, "errors.nameRequired").max(100, "errors.nameTooLong").optional(),
  enabled: z.boolean().optional(),
  minCartMinor: z.number().int().min(0, "errors.minCartNegative").nullable().optional(),
  currencies: z.array(z.string().regex(/^[A-Za-z]{3}$/, "errors.currenciesFormat")).optional(),
  sources: z.enum(["both", "shopify", "stripe"], { errorMap: () => ({ message: "errors.sourcesChoose" }) }).optional(),
});

export async function updateCampaignFilters(
  db: PrismaClient,
  shopId: string,
  campaignId: string,
  input: z.input<typeof campaignFiltersSchema>,
  t: TFunction = translatorFor("en"),
) {
  const parsed = campaignFiltersSchema.safeParse(input);
  if (!parsed.success) return { ok: false as const, fieldErrors: fieldErrorsOf(parsed.error, t) };
  const { currencies, ...rest } = parsed.data;
  const { count } = await db.campaign.updateMany({
    where: { id: campaignId, shopId },
    data: { ...rest, ...(currencies ? { currencies: currencies.map((c) => c.toUpperCase()).join(",") } : {}) },
  });
  return count === 1 ? { ok: true as const } : { ok: false as const, fieldErrors: { campaign: t("campaigns:errors.campaignNotFound") } };
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
