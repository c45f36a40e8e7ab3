import type { PrismaClient } from "@prisma/client";
import { z } from "zod";

/** The recovery policy a merchant sets: consent, frequency cap, quiet hours, time zone, attribution window. */

const time = z
  .string()
  .trim()
  .transform((v) => (v === "" ? null : v))
  .refine((v) => v === null || /^([01]\d|2[0-3]):[0-5]\d$/.test(v), "must be a time like 21:00")
  .nullable()
  .optional();

function isTimeZone(value: string): boolean {
  try {
    new Intl.DateTimeFormat("en", { timeZone: value });
    return true;
  } catch {
    return false;
  }
}

export const policySettingsSchema = z
  .object({
    consentPolicy: z.enum(["explicit", "implied"], { errorMap: () => ({ message: "must be explicit or implied" }) }),
    frequencyCapHours: z.coerce
      .number({ invalid_type_error: "must be a number of hours" })
      .int("must be a whole number of hours")
      .min(1, "must be at least 1 hour")
      .max(720, "must be at most 720 hours (30 days)"),
    quietHoursStart: time,
    quietHoursEnd: time,
    timezone: z.string().trim().min(1, "is required").refine(isTimeZone, "must be an IANA time zone such as Europe/Paris"),
    attributionWindowDays: z.coerce
      .number({ invalid_type_error: "must be a number of days" })
      .int("must be a whole number of days")
      .min(1, "must be at least 1 day")
      .max(30, "must be at most 30 days"),
  })
  .superRefine((v, ctx) => {
    if (Boolean(v.quietHoursStart) !== Boolean(v.quietHoursEnd)) {
      ctx.addIssue({
        code: "custom",
        path: [v.quietHoursStart ? "quietHoursEnd" : "quietHoursStart"],
        message: "set both ends of the quiet hours, or neither",
      });
    } else if (v.quietHoursStart && v.quietHoursStart === v.quietHoursEnd) {
      ctx.addIssue({ code: "custom", path: ["quietHoursEnd"], message: "must differ from the start" });
    }
  });

const toMinute = (hhmm: string | null | undefined) => (hhmm ? Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3)) : null);
const toHHMM = (minute: number | null) =>
  minute === null ? "" : `${String(Math.floor(minute / 60)).padStart(2, "0")}:${String(minute % 60).padStart(2, "0")}`;

export type SavePolicyResult = { ok: true } | { ok: false; fieldErrors: Record<string, string> };

/** Validates everything first; on any error nothing is written. */
export async function savePolicySettings(db: PrismaClient, shopId: string, input: unknown): Promise<SavePolicyResult> {
  const parsed = policySettingsSchema.safeParse(input);
  if (!parsed.success) {
    return { ok: false, fieldErrors: Object.fromEntries(parsed.error.issues.map((i) => [i.path.join(".") || "form", i.message])) };
  }
  const v = parsed.data;
  await db.shop.update({
    where: { id: shopId },
    data: {
      consentPolicy: v.consentPolicy,
      frequencyCapHours: v.frequencyCapHours,
      quietHoursStartMinute: toMinute(v.quietHoursStart),
      quietHoursEndMinute: toMinute(v.quietHoursEnd),
      timezone: v.timezone,
      attributionWindowDays: v.attributionWindowDays,
    },
  });
  return { ok: true };
}

export async function loadPolicySettings(db: PrismaClient, shopId: string) {
  const shop = await db.shop.findUniqueOrThrow({ where: { id: shopId } });
  return {
    consentPolicy: shop.consentPolicy,
    frequencyCapHours: String(shop.frequencyCapHours),
    quietHoursStart: toHHMM(shop.quietHoursStartMinute),
    quietHoursEnd: toHHMM(shop.quietHoursEndMinute),
    timezone: shop.timezone,
    attributionWindowDays: String(shop.attributionWindowDays),
  };
}

/**
 * What Reclaim does when Shopify's own abandoned-checkout email was sent or is scheduled for a checkout
 * (docs/decisions/075-shopify-own-email.md): `defer` (default) holds Reclaim's campaign for that checkout.
 */
export const shopifyEmailSettingsSchema = z.object({
  shopifyEmailPolicy: z.enum(["defer", "send_anyway"], { errorMap: () => ({ message: "must be defer or send_anyway" }) }),
});

export async function saveShopifyEmailSettings(db: PrismaClient, shopId: string, input: unknown): Promise<SavePolicyResult> {
  const parsed = shopifyEmailSettingsSchema.safeParse(input);
  if (!parsed.success) {
    return { ok: false, fieldErrors: Object.fromEntries(parsed.error.issues.map((i) => [i.path.join(".") || "form", i.message])) };
  }
  await db.shop.update({ where: { id: shopId }, data: { shopifyEmailPolicy: parsed.data.shopifyEmailPolicy } });
  return { ok: true };
}
