// Issue 19: a string that exists in English but is missing (or empty, or loses a placeholder) in another shipped
// language fails here, before a merchant in Tokyo or Munich sees English or a raw key.
import { describe, expect, it } from "vitest";
import { CATALOGUES, NAMESPACES, type Catalogue } from "~/i18n/catalogues";
import { LANGUAGES, type Language } from "~/i18n/locales";
import { createTranslator } from "~/i18n/translator";

const PLURAL_SUFFIX = /_(zero|one|two|few|many|other)$/;

function flatten(catalogue: Catalogue, prefix = ""): Map<string, string> {
  const out = new Map<string, string>();
  for (const [key, value] of Object.entries(catalogue)) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (typeof value === "string") out.set(path, value);
    else for (const [k, v] of flatten(value, path)) out.set(k, v);
  }
  return out;
}

/** The keys a language must have for an English key: a plural key needs each of the language's plural forms. */
function expectedKeys(englishKeys: Iterable<string>, language: Language): Set<string> {
  const categories = new Intl.PluralRules(language).resolvedOptions().pluralCategories;
  const expected = new Set<string>();
  for (const key of englishKeys) {
    const base = key.replace(PLURAL_SUFFIX, "");
    if (base === key) expected.add(key);
    else for (const category of categories) expected.add(`${base}_${category}`);
  }
  return expected;
}

const placeholders = (text: string) => [...text.matchAll(/\{\{\s*([\w.]+)[^}]*\}\}/g)].map((m) => m[1]).sort();

describe("message catalogues", () => {
  for (const ns of NAMESPACES) {
    const english = flatten(CATALOGUES.en[ns]);
    for (const language of LANGUAGES.filter((l) => l !== "en")) {
      it(`${language}/${ns} has every English string, and nothing English does not`, () => {
        const actual = flatten(CATALOGUES[language][ns]);
        const expected = expectedKeys(english.keys(), language);
        expect(
          [...expected].filter((k) => !actual.has(k)),
          "missing",
        ).toEqual([]);
        expect(
          [...actual.keys()].filter((k) => !expected.has(k)),
          "not in English",
        ).toEqual([]);
      });

      it(`${language}/${ns} keeps every placeholder and leaves no string empty`, () => {
        const actual = flatten(CATALOGUES[language][ns]);
        for (const [key, value] of actual) {
          expect(value.trim(), `${language}/${ns}:${key} is empty`).not.toBe("");
          const englishValue = english.get(key) ?? english.get(key.replace(PLURAL_SUFFIX, "_other"));
          if (englishValue === undefined) continue;
          expect(placeholders(value), `${language}/${ns}:${key}`).toEqual(placeholders(englishValue));
        }
      });
    }
  }

  it("a page's text follows the language, and plural forms follow each language's rules", () => {
    expect(createTranslator("ja").t("common:nav.settings")).toBe("設定");
    expect(createTranslator("de").t("common:nav.settings")).toBe("Einstellungen");
    expect(createTranslator("en").t("common:nav.settings")).toBe("Settings");
  });
});
