/**
 * Recovery incentives. Shopify recoveries get a unique single-use discount code per recovery, created with
 * `discountCodeBasicCreate` and applied through the storefront's `/discount/CODE?redirect=` route; Stripe recoveries
 * get no code: the recovery URL reopens the session, where promotion codes work only if the session allowed them.
 * Pure: the GraphQL documents, the input builder and the link; the Admin API call lives in app/email/shopify-admin.server.ts.
 */
import type { Source } from "./model";
import { currencyExponent } from "./money";

export type IncentiveType = "percentage" | "fixed_amount";

export interface StepIncentive {
  type: IncentiveType;
  /** 1–100 for percentage; minor units of the shop currency for fixed_amount. */
  value: number;
  /** Days the code stays valid after it is created. */
  expiresDays: number;
}

export const DEFAULT_INCENTIVE_EXPIRES_DAYS = 7;

/** What a merchant is told about incentives for each source (shown in the campaign editor). */
export const INCENTIVE_BY_SOURCE: Record<Source, string> = {
  shopify: "Shopify checkouts: Reclaim creates a unique single-use discount code for each checkout and applies it through the email's link.",
  stripe:
    "Stripe checkouts: Reclaim creates no code. Enter a promotion code you created in Stripe (Product catalogue → Coupons → Promotion codes) that gives this discount: the email shows it only for sessions created with after_expiration.recovery.allow_promotion_codes (or Payment Links that allow promotion codes). For any other Stripe cart this step is sent without the incentive, because the buyer could not enter the code.",
};

/** Whether a Stripe recovery may be shown a promotion code: its session (or Payment Link) allowed promotion codes. */
export function stripeAllowsPromotionCodes(sourceMetadata: Record<string, unknown> | null): boolean {
  return sourceMetadata?.allow_promotion_codes === true;
}

export function stepIncentive(step: {
  incentiveType: string | null;
  incentiveValue: number | null;
  incentiveExpiresDays: number | null;
}): StepIncentive | null {
  if ((step.incentiveType !== "percentage" && step.incentiveType !== "fixed_amount") || !step.incentiveValue || step.incentiveValue <= 0) return null;
  return { type: step.incentiveType, value: step.incentiveValue, expiresDays: step.incentiveExpiresDays ?? DEFAULT_INCENTIVE_EXPIRES_DAYS };
}

// No 0/O, 1/I/L: codes get read aloud and typed from phones. No special characters (they break /discount/ links).
const ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789";

/** `BACK-XXXXXXXX` from 8 random bytes (≈ 39 bits: unguessable for a single-use code, still easy to type). */
export function discountCodeFrom(random: Uint8Array, prefix = "BACK"): string {
  if (random.length < 8) throw new RangeError("need 8 random bytes");
  let out = "";
  for (let i = 0; i < 8; i++) out += ALPHABET[random[i]! % ALPHABET.length];
  return `${prefix}-${out}`;
}

/** "5.00" from 500 minor units of USD. */
export function decimalString(amountMinor: number, currency: string): string {
  const exp = currencyExponent(currency);
  const sign = amountMinor < 0 ? "-" : "";
  const abs = Math.abs(amountMinor);
  if (exp === 0) return `${sign}${abs}`;
  const s = String(abs).padStart(exp + 1, "0");
  return `${sign}${s.slice(0, -exp)}.${s.slice(-exp)}`;
}

export const DISCOUNT_CODE_BASIC_CREATE = `#graphql
mutation ReclaimDiscountCodeCreate($basicCodeDiscount: DiscountCodeBasicInput!) {
  discountCodeBasicCreate(basicCodeDiscount: $basicCodeDiscount) {
    codeDiscountNode { id }
    userErrors { field code message }
  }
}`;

export interface DiscountInputFacts {
  code: string;
  incentive: StepIncentive;
  /** The shop's currency: fixed amounts are in it (Shopify converts for other presentment currencies). */
  shopCurrency: string;
  checkoutName: string | null;
  now: Date;
}

/** `DiscountCodeBasicInput` for one recovery: usable once, by anyone holding the code, until it expires. */
export function discountCodeBasicInput(f: DiscountInputFacts) {
  const value =
    f.incentive.type === "percentage"
      ? { percentage: Math.min(100, f.incentive.value) / 100 }
      : { discountAmount: { amount: decimalString(f.incentive.value, f.shopCurrency), appliesOnEachItem: false } };
  const what = f.incentive.type === "percentage" ? `${f.incentive.value}%` : `${decimalString(f.incentive.value, f.shopCurrency)} ${f.shopCurrency}`;
  return {
    title: `Reclaim ${what} off${f.checkoutName ? ` for ${f.checkoutName}` : ""} (${f.code})`,
    code: f.code,
    startsAt: f.now.toISOString(),
    endsAt: new Date(f.now.getTime() + f.incentive.expiresDays * 86_400_000).toISOString(),
    usageLimit: 1,
    appliesOncePerCustomer: false,
    context: { all: "ALL" },
    customerGets: { value, items: { all: true } },
    tags: ["reclaim"],
  };
}

/**
 * Where a click on an incentive email goes: the storefront applies the code to the session, then redirects to the
 * recovery link's path (Shopify only redirects within the shop, so only the path and query are passed).
 */
export function storefrontDiscountUrl(shopDomain: string, code: string, recoveryUrl: string): string {
  const target = new URL(recoveryUrl);
  return `https://${shopDomain}/discount/${encodeURIComponent(code)}?redirect=${encodeURIComponent(target.pathname + target.search)}`;
}
