// Formatting integer minor units the way Shopify's two APIs print money.

const ZERO_DECIMAL = new Set(["JPY", "KRW", "VND", "CLP", "ISK", "HUF", "TWD", "UGX", "XAF", "XOF"]);
const THREE_DECIMAL = new Set(["BHD", "JOD", "KWD", "OMR", "TND"]);

export function currencyExponent(currency: string): number {
  if (ZERO_DECIMAL.has(currency)) return 0;
  if (THREE_DECIMAL.has(currency)) return 3;
  return 2;
}

/** Fixed-point text with the currency's decimals: 2400 USD → "24.00" (REST / webhook style). */
export function restAmount(minor: number, currency: string): string {
  const exp = currencyExponent(currency);
  const negative = minor < 0;
  const digits = Math.abs(Math.round(minor))
    .toString()
    .padStart(exp + 1, "0");
  const text = exp === 0 ? digits : `${digits.slice(0, -exp)}.${digits.slice(-exp)}`;
  return negative ? `-${text}` : text;
}

/**
 * GraphQL `Decimal` text: trailing zeros dropped but at least one decimal kept, as Shopify's
 * Ruby BigDecimal serialisation prints it: 2400 USD → "24.0", 1250 → "12.5", 1194 → "11.94".
 */
export function decimalAmount(minor: number, currency: string): string {
  const fixed = restAmount(minor, currency);
  if (!fixed.includes(".")) return `${fixed}.0`;
  const trimmed = fixed.replace(/0+$/, "");
  return trimmed.endsWith(".") ? `${trimmed}0` : trimmed;
}
