import { currencyExponent } from "../../recovery/money";

/**
 * Stripe states amounts in "the currency's smallest unit" by its own table, which is not always ISO 4217's:
 * ISK is two-decimal in Stripe's API (100 = 1 króna) but zero-decimal in ISO; MGA is zero-decimal in Stripe but
 * two-decimal in ISO. Reclaim's Money uses ISO exponents (app/recovery/money.ts), so Stripe amounts are rescaled here.
 * Source: https://docs.stripe.com/currencies (zero-decimal, three-decimal and special cases).
 */
const STRIPE_ZERO_DECIMAL = new Set(["BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF"]);
const STRIPE_THREE_DECIMAL = new Set(["BHD", "JOD", "KWD", "OMR", "TND"]);

export function stripeExponent(currency: string): number {
  const code = currency.toUpperCase();
  if (STRIPE_ZERO_DECIMAL.has(code)) return 0;
  if (STRIPE_THREE_DECIMAL.has(code)) return 3;
  return 2;
}

/** Converts a Stripe integer amount to Reclaim's integer minor units of the same (upper-cased) currency. */
export function fromStripeAmount(amount: number, currency: string): number {
  const shift = currencyExponent(currency) - stripeExponent(currency);
  if (shift === 0) return amount;
  return shift > 0 ? amount * 10 ** shift : Math.round(amount / 10 ** -shift);
}
