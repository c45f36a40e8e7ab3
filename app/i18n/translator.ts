import { createInstance, type i18n, type TFunction } from "i18next";
import { CATALOGUES, NAMESPACES } from "./catalogues";
import type { Language } from "./locales";

/**
 * One i18next instance per language, initialised synchronously from the bundled catalogues (no backend, no network), so
 * a server render and the browser's hydration produce the same text. Interpolation does not HTML-escape: React and
 * LiquidJS escape what they output.
 */
export function createTranslator(language: Language): i18n {
  const instance = createInstance();
  void instance.init({
    lng: language,
    // A key missing in one language shows English rather than the key (test/unit/catalogues.test.ts keeps that from
    // shipping).
    fallbackLng: "en",
    supportedLngs: ["en", "ja", "de"],
    resources: CATALOGUES,
    ns: [...NAMESPACES],
    defaultNS: "common",
    initAsync: false,
    interpolation: { escapeValue: false },
    returnNull: false,
  });
  return instance;
}

const cache = new Map<Language, i18n>();

/** A server-side `t` for one language (loaders, actions, emails); instances are shared because they are never mutated. */
export function translatorFor(language: Language): TFunction {
  let instance = cache.get(language);
  if (!instance) {
    instance = createTranslator(language);
    cache.set(language, instance);
  }
  return instance.t;
}
