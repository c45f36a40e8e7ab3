/**
 * The one definition of "recovered" (docs/decisions/082-one-definition-of-recovered.md). Pure: the models apply it in
 * SQL (app/models/dashboard.server.ts `RECOVERED_CONVERSION`, the DailyStat triggers) and every page formats it here.
 *
 * A purchase counts as recovered when a Reclaim email was sent before it (Conversion.messageId: the last email sent
 * before a link purchase, or the email whose link was clicked before a window purchase), it has not been reversed
 * (cancelled order, full refund, dispute), and for what is left after partial refunds. By link and by window are
 * reported apart and never added. A checkout bought without any Reclaim email before it is "Bought without an email":
 * kept on the recovery, never counted.
 */
import { formatMoney } from "./money";

export type CreditMethod = "link" | "window";

export interface ConversionFacts {
  messageId: string | null;
  reversedAt: Date | string | null;
  amountMinor: number | bigint;
  refundedMinor: number | bigint;
}

/** Whether a conversion counts in any total: a Reclaim email came first and the purchase still stands. */
export function countsAsRecovered(c: Pick<ConversionFacts, "messageId" | "reversedAt">): boolean {
  return c.messageId !== null && c.reversedAt === null;
}

/** What a counted conversion is worth: what the buyer paid less what was refunded. */
export function recoveredAmountMinor(c: Pick<ConversionFacts, "amountMinor" | "refundedMinor">): number {
  return Number(c.amountMinor) - Number(c.refundedMinor);
}

/**
 * The recovery's status once its own checkout was bought (a link purchase): `recovered` when a Reclaim email went out
 * before the purchase, otherwise `purchased` ("Bought without an email"), which no figure counts.
 */
export function statusAfterLinkPurchase(emailedBefore: boolean): "recovered" | "purchased" {
  return emailedBefore ? "recovered" : "purchased";
}

/** A recovery whose own checkout was bought, with or without an email before it. */
export const isBought = (status: string) => status === "recovered" || status === "purchased";

export interface RecoveredFigure {
  count: number;
  revenueMinor: number;
}

export interface RecoveredByCurrency {
  [currency: string]: { link: RecoveredFigure; window: RecoveredFigure };
}

export const emptyFigure = (): RecoveredFigure => ({ count: 0, revenueMinor: 0 });

/** Adds one counted conversion to per-currency figures (used by reads that aggregate rows in code). */
export function addConversion(into: RecoveredByCurrency, method: CreditMethod, currency: string, count: number, revenueMinor: number): void {
  const entry = (into[currency] ??= { link: emptyFigure(), window: emptyFigure() });
  entry[method].count += count;
  entry[method].revenueMinor += revenueMinor;
}

/**
 * The figure for the selected currency, with every other currency that has something summarised beside it ("+ 2 other
 * currencies: A$46.99, SEK 317.93"): never added to it, never silently dropped.
 */
export function currencySummary(byCurrency: RecoveredByCurrency, method: CreditMethod, selected: string, locale: string) {
  const main = byCurrency[selected]?.[method] ?? emptyFigure();
  const others = Object.entries(byCurrency)
    .filter(([currency, f]) => currency !== selected && (f[method].count > 0 || f[method].revenueMinor !== 0))
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([currency, f]) => ({ currency, ...f[method] }));
  const text = `${formatCount(main.count, locale)} · ${formatMoney({ amountMinor: main.revenueMinor, currency: selected }, locale)}`;
  const othersText = others.length
    ? `+ ${others.length} other ${others.length === 1 ? "currency" : "currencies"}: ${others.map((o) => formatMoney({ amountMinor: o.revenueMinor, currency: o.currency }, locale)).join(", ")}`
    : null;
  return { main, others, text, othersText };
}

const formatCount = (n: number, locale: string) => new Intl.NumberFormat(locale).format(n);

/**
 * A rate that says what it divides: "12% of abandoned carts (6 of 50)". Null denominator or zero → "—" with the same
 * words, so the reader still learns what the figure would be.
 */
export function rateText(numerator: number, denominator: number, denominatorLabel: string, locale: string): string {
  if (denominator <= 0) return `— of ${denominatorLabel}`;
  const pct = new Intl.NumberFormat(locale, { style: "percent", maximumFractionDigits: 1 }).format(numerator / denominator);
  return `${pct} of ${denominatorLabel} (${formatCount(numerator, locale)} of ${formatCount(denominator, locale)})`;
}

const isoDay = (d: Date) => d.toISOString().slice(0, 10);

/** The periods the Overview and Campaigns offer, in days ending today (UTC). */
export const PERIODS = ["7", "30", "90", "365"] as const;
export type Period = (typeof PERIODS)[number];
export const PERIOD_LABELS: Record<Period, string> = { "7": "Last 7 days", "30": "Last 30 days", "90": "Last 90 days", "365": "Last 12 months" };

/** First and last UTC day of a period of `days` days ending on `now`'s day, and the instants that bound it. */
export function periodBounds(days: number, now: Date) {
  const fromDay = isoDay(new Date(now.getTime() - (days - 1) * 86_400_000));
  const toDay = isoDay(now);
  return { fromDay, toDay, from: new Date(`${fromDay}T00:00:00Z`), to: new Date(Date.parse(`${toDay}T00:00:00Z`) + 86_400_000) };
}
