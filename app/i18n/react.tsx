import { useMemo, type ReactNode } from "react";
import { I18nextProvider } from "react-i18next";
import polarisGerman from "@shopify/polaris/locales/de.json";
import polarisEnglish from "@shopify/polaris/locales/en.json";
import polarisJapanese from "@shopify/polaris/locales/ja.json";
import type { Language } from "./locales";
import { createTranslator } from "./translator";

/** The app's strings in the admin's language, for every component below it (`useTranslation("<namespace>")`). */
export function AdminI18nProvider({ language, children }: { language: Language; children: ReactNode }) {
  const instance = useMemo(() => createTranslator(language), [language]);
  return <I18nextProvider i18n={instance}>{children}</I18nextProvider>;
}

/** Polaris' own translations of its components (pagination, filters, date pickers…) for each shipped language. */
export const POLARIS_TRANSLATIONS: Record<Language, typeof polarisEnglish> = { en: polarisEnglish, ja: polarisJapanese, de: polarisGerman };
