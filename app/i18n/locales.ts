/**
 * The languages Reclaim ships (issue 19, docs/decisions/093): the admin's pages and the default campaigns' emails exist
 * in each. A language is added by adding its catalogues (app/i18n/catalogues/<language>/) and its default templates;
 * test/unit/catalogues.test.ts fails until every English string has its translation.
 */
export const LANGUAGES = ["en", "ja", "de"] as const;
export type Language = (typeof LANGUAGES)[number];

/** Each language in its own words, for language pickers. */
export const LANGUAGE_NAMES: Record<Language, string> = { en: "English", ja: "日本語", de: "Deutsch" };

/**
 * A translate function: i18next's `t`, or any stand-in (tests, English defaults). The pure core and the email code take
 * one so their sentences come out in the caller's language without importing i18next.
 */
export type Translate = (key: string, options?: Record<string, unknown>) => string;

/** A BCP 47-looking tag as Shopify sends it (`ja`, `de-CH`, `pt_BR`): checked before it is stored. */
export const isLocaleTag = (value: string): boolean => /^[a-zA-Z]{2,3}([-_][a-zA-Z0-9]{2,8})*$/.test(value);

export const isLanguage = (value: unknown): value is Language => typeof value === "string" && (LANGUAGES as readonly string[]).includes(value);

/**
 * The shipped language of a BCP 47 tag as Shopify or Stripe give it (`ja`, `ja-JP`, `de-CH`, `pt_BR`), or null when the
 * tag is empty, malformed, `auto` (Stripe's "the browser decides") or a language Reclaim does not ship.
 */
export function shippedLanguage(tag: string | null | undefined): Language | null {
  if (!tag) return null;
  const primary = tag.trim().replace(/_/g, "-").split("-")[0]!.toLowerCase();
  return isLanguage(primary) ? primary : null;
}

/**
 * The locale to format numbers, money and dates with: the tag itself when it is a valid tag of the chosen language
 * (`de-CH` keeps Swiss grouping), otherwise the bare language.
 */
export function formattingLocale(tag: string | null | undefined, language: Language): string {
  if (tag && shippedLanguage(tag) === language) {
    try {
      return Intl.getCanonicalLocales(tag.replace(/_/g, "-"))[0] ?? language;
    } catch {
      return language;
    }
  }
  return language;
}
