// Issue 19: money, numbers and dates as a merchant in Tokyo, Munich or New York reads them, for the locale the admin
// (or the email) is in: yen without decimals, euros after the amount with a decimal comma, dates in the language's own
// order and words.
import { describe, expect, it } from "vitest";
import { date, dateTime, money, number, percent } from "~/components/format";
import { formattingLocale, shippedLanguage } from "~/i18n/locales";

// Intl separates a currency from its amount with a no-break space in German; compare with plain spaces.
const plain = (s: string) => s.replace(/[\u00a0\u202f]/g, " ");

describe("formatting per shipped locale", () => {
  it("yen has no decimals in Japanese and in English", () => {
    expect(money(1200, "JPY", "ja")).toBe("￥1,200");
    expect(money(1_234_567, "JPY", "ja-JP")).toBe("￥1,234,567");
    expect(money(1200, "JPY", "en")).toBe("¥1,200");
  });

  it("euros are EU-style in German: decimal comma, dot grouping, the sign after the amount", () => {
    expect(plain(money(1200, "EUR", "de"))).toBe("12,00 €");
    expect(plain(money(123_456_789, "EUR", "de-DE"))).toBe("1.234.567,89 €");
    expect(money(1200, "EUR", "en")).toBe("€12.00");
  });

  it("a Swiss German admin keeps Swiss grouping and francs", () => {
    expect(formattingLocale("de-CH", "de")).toBe("de-CH");
    // ICU versions differ on the apostrophe (U+0027 or U+2019); both are Swiss grouping.
    expect(plain(money(123_456_700, "CHF", formattingLocale("de-CH", "de")))).toMatch(/^CHF 1['’]234['’]567\.00$/);
  });

  it("numbers and percentages follow the locale", () => {
    expect(number(1234567, "de")).toBe("1.234.567");
    expect(number(1234567, "ja")).toBe("1,234,567");
    expect(plain(percent(0.125, "de"))).toBe("12,5 %");
    expect(percent(0.125, "ja")).toBe("12.5%");
  });

  it("dates are in the language's order and words, in the shop's time zone", () => {
    const at = "2026-12-07T03:30:00Z";
    expect(dateTime(at, "ja", "Asia/Tokyo")).toBe("2026/12/07 12:30");
    expect(dateTime(at, "de", "Europe/Berlin")).toBe("07.12.2026, 04:30");
    expect(plain(dateTime(at, "en", "America/New_York"))).toBe("Dec 6, 2026, 10:30 PM");
    expect(date(at, "ja")).toBe("2026/12/07");
    expect(date(at, "de")).toBe("07.12.2026");
  });

  it("a buyer's or admin's tag maps to a shipped language, or to none", () => {
    expect(shippedLanguage("ja-JP")).toBe("ja");
    expect(shippedLanguage("de_AT")).toBe("de");
    expect(shippedLanguage("EN-us")).toBe("en");
    expect(shippedLanguage("auto")).toBeNull();
    expect(shippedLanguage("pt-BR")).toBeNull();
    expect(shippedLanguage("")).toBeNull();
    expect(shippedLanguage(null)).toBeNull();
    expect(formattingLocale("fr-FR", "en")).toBe("en");
  });
});
