/**
 * Which language a recovery email goes out in (issue 19, docs/decisions/093): the buyer's (`Recovery.locale`, as
 * Shopify or Stripe gave it) when the step has a version in it, else the shop's primary language when the step has it,
 * else the step's main version. Pure: the send path, the unsubscribe page and the editor's preview all ask here.
 */
import { formattingLocale, isLanguage, shippedLanguage, type Language } from "../i18n/locales";

export interface StepVersion {
  language: string;
  subject: string;
  bodyTemplate: string;
}

/** A step as stored: its main version (subject, body, language) and its translations. */
export interface LocalizedStep {
  subject: string;
  bodyTemplate: string;
  /** The main version's language (CampaignStep.language). */
  language: string;
  translations: readonly StepVersion[];
}

/** The language chosen for one email, and the subject and body to render. */
export interface ChosenVersion {
  language: Language;
  subject: string;
  bodyTemplate: string;
}

/** The step's main language as a shipped language (an unknown value is treated as English, the column's default). */
export function mainLanguage(step: Pick<LocalizedStep, "language">): Language {
  return shippedLanguage(step.language) ?? "en";
}

/** The step's version in `language`, or null when it has none. */
export function stepVersionIn(step: LocalizedStep, language: Language): ChosenVersion | null {
  if (mainLanguage(step) === language) return { language, subject: step.subject, bodyTemplate: step.bodyTemplate };
  const translation = step.translations.find((t) => t.language === language && t.subject.trim() && t.bodyTemplate.trim());
  return translation ? { language, subject: translation.subject, bodyTemplate: translation.bodyTemplate } : null;
}

/** The buyer's language if the step has it, else the shop's if the step has it, else the main version. */
export function chooseEmailLanguage(step: LocalizedStep, buyerLocale: string | null | undefined, shopLocale: string | null | undefined): ChosenVersion {
  for (const candidate of [shippedLanguage(buyerLocale), shippedLanguage(shopLocale)]) {
    if (!candidate) continue;
    const version = stepVersionIn(step, candidate);
    if (version) return version;
  }
  return { language: mainLanguage(step), subject: step.subject, bodyTemplate: step.bodyTemplate };
}

/**
 * The locale numbers, money and dates of an email in `language` are formatted with: the buyer's own tag when it is of
 * the same language (`de-CH` keeps Swiss grouping), else the shop's when it is, else the bare language.
 */
export function emailFormattingLocale(language: string, buyerLocale: string | null | undefined, shopLocale: string | null | undefined): string {
  const lang: Language = isLanguage(language) ? language : "en";
  if (shippedLanguage(buyerLocale) === lang) return formattingLocale(buyerLocale, lang);
  if (shippedLanguage(shopLocale) === lang) return formattingLocale(shopLocale, lang);
  return lang;
}

/** The language of an email already rendered (Message.language), else the buyer's, else the shop's, else English. */
export function pageLanguage(...candidates: (string | null | undefined)[]): Language {
  for (const c of candidates) {
    const language = shippedLanguage(c);
    if (language) return language;
  }
  return "en";
}
