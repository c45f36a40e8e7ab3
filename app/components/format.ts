import { formatMoney } from "../recovery/money";

/** Formatting for the shop's locale; shared by every dashboard page. */
export const money = (amountMinor: number, currency: string, locale: string) => formatMoney({ amountMinor, currency }, locale);
export const number = (n: number, locale: string) => new Intl.NumberFormat(locale).format(n);
export const percent = (ratio: number | null, locale: string) =>
  ratio === null ? "—" : new Intl.NumberFormat(locale, { style: "percent", maximumFractionDigits: 1 }).format(ratio);
export const dateTime = (iso: string, locale: string, timeZone = "UTC") =>
  new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeStyle: "short", timeZone }).format(new Date(iso));
export const date = (iso: string, locale: string) => new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeZone: "UTC" }).format(new Date(iso));
