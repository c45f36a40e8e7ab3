import type { Money } from "./model";

/** ISO 4217 minor-unit exponents that differ from 2 (the ones a shop is likely to use). */
const EXPONENT: Record<string, number> = {
  BIF: 0,
  CLP: 0,
  DJF: 0,
  GNF: 0,
  ISK: 0,
  JPY: 0,
  KMF: 0,
  KRW: 0,
  PYG: 0,
  RWF: 0,
  UGX: 0,
  VND: 0,
  VUV: 0,
  XAF: 0,
  XOF: 0,
  XPF: 0,
  BHD: 3,
  IQD: 3,
  JOD: 3,
  KWD: 3,
  LYD: 3,
  OMR: 3,
  TND: 3,
};

export function currencyExponent(currency: string): number {
  return EXPONENT[currency.toUpperCase()] ?? 2;
}

/**
 * Converts a decimal string ("19.90", as Shopify sends money) to integer minor units without floating point.
 * Throws on anything that is not a plain decimal number.
 */
export function toMinorUnits(amount: string, currency: string): number {
  const match = /^(-)?(\d+)(?:\.(\d+))?$/.exec(amount.trim());
  if (!match) throw new RangeError(`Not a decimal amount: ${JSON.stringify(amount)}`);
  const [, sign, whole, fraction = ""] = match;
  const exp = currencyExponent(currency);
  const padded = (fraction + "0".repeat(exp)).slice(0, exp);
  // Round half up on the first dropped digit.
  const roundUp = fraction.length > exp && Number(fraction[exp]) >= 5 ? 1 : 0;
  const minor = Number(whole) * 10 ** exp + Number(padded || "0") + roundUp;
  if (!Number.isSafeInteger(minor)) throw new RangeError(`Amount out of range: ${amount}`);
  return sign ? -minor : minor;
}

/** Formats money for people, in the given locale. */
export function formatMoney(money: Money, locale = "en"): string {
  const exp = currencyExponent(money.currency);
  try {
    return new Intl.NumberFormat(locale, { style: "currency", currency: money.currency, minimumFractionDigits: exp, maximumFractionDigits: exp }).format(
      money.amountMinor / 10 ** exp,
    );
  } catch {
    return `${(money.amountMinor / 10 ** exp).toFixed(exp)} ${money.currency}`;
  }
}
