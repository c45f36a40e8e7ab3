import type { LoaderFunctionArgs } from "@remix-run/node";
import { json, redirect } from "@remix-run/node";
import { useLoaderData } from "@remix-run/react";
import { useMemo } from "react";
import { shippedLanguage, type Language } from "../i18n/locales";
import { translatorFor } from "../i18n/translator";

/**
 * The first shipped language of an `Accept-Language` header, by preference: this page is opened outside the admin,
 * so there is no admin locale to follow, only the browser's.
 */
function browserLanguage(header: string | null): Language {
  const ranked = (header ?? "")
    .split(",")
    .map((part, index) => {
      const [tag = "", ...params] = part.trim().split(";");
      const q = params.map((p) => /^\s*q=([0-9.]+)\s*$/.exec(p)?.[1]).find(Boolean);
      return { tag: tag.trim(), q: q === undefined ? 1 : Number(q), index };
    })
    .filter((entry) => entry.tag && entry.q > 0)
    .sort((a, b) => b.q - a.q || a.index - b.index);
  for (const { tag } of ranked) {
    const language = shippedLanguage(tag);
    if (language) return language;
  }
  return "en";
}

/** Opening the app URL with a shop (as the admin does) goes to the embedded app; otherwise explain how to install. */
export const loader = async ({ request }: LoaderFunctionArgs) => {
  const url = new URL(request.url);
  if (url.searchParams.get("shop")) throw redirect(`/app?${url.searchParams.toString()}`);
  return json({ language: browserLanguage(request.headers.get("accept-language")) }, { headers: { Vary: "Accept-Language" } });
};

export default function Landing() {
  const { language } = useLoaderData<typeof loader>();
  const t = useMemo(() => translatorFor(language), [language]);
  return (
    <main style={{ fontFamily: "system-ui, sans-serif", maxWidth: 640, margin: "4rem auto", lineHeight: 1.5 }}>
      <h1>Reclaim</h1>
      <p>{t("common:landing.tagline")}</p>
      <p>{t("common:landing.install")}</p>
    </main>
  );
}
