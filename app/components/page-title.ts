import { isLanguage, type Language } from "../i18n/locales";
import { translatorFor } from "../i18n/translator";

/**
 * The document title of an admin page ("Recoveries · Reclaim"): what a browser tab and a screen reader announce. `page`
 * is the page's name, already in the admin's language.
 */
export const pageTitle = (page: string) => `${page} · Reclaim`;

/**
 * The admin's language in a meta function (which cannot use hooks): the deepest route whose data says one, as the app
 * layout's loader (routes/app.tsx) does; English when none does. It still answers when the page's own loader failed.
 */
export function metaLanguage(matches: readonly { data?: unknown }[]): Language {
  return (
    matches
      .map((m) => (m.data as { language?: unknown } | undefined)?.language)
      .filter(isLanguage)
      .at(-1) ?? "en"
  );
}

/**
 * The document title of an admin page from its catalogue key, in the admin's language:
 * `export const meta: MetaFunction = ({ matches }) => [{ title: adminPageTitle(matches, "overview:title") }];`
 */
export const adminPageTitle = (matches: readonly { data?: unknown }[], key: string) => pageTitle(translatorFor(metaLanguage(matches))(key));
