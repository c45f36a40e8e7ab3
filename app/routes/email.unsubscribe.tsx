import type { ActionFunctionArgs, HeadersFunction, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { json } from "@remix-run/node";
import { Form, useActionData, useLoaderData } from "@remix-run/react";
import { db } from "../db.server";
import { isLanguage } from "../i18n/locales";
import { translatorFor } from "../i18n/translator";
import { unsubscribeByToken, unsubscribePage, type UnsubscribeView } from "../email/public-links.server";
import { readFormWithLimit } from "../security/request-limits.server";

/**
 * Unsubscribe from recovery emails. GET shows a confirmation page and changes nothing (link scanners prefetch);
 * POST unsubscribes — the RFC 8058 one-click POST (`List-Unsubscribe=One-Click`) from the inbox, or the page's
 * button — with no cookie or login: the signed token in the URL is the authority. Idempotent.
 * In the language of the email the link came from (`language` in the data also sets <html lang>, app/root.tsx).
 */
const NO_STORE = { "Cache-Control": "no-store", "X-Robots-Tag": "noindex", "Referrer-Policy": "no-referrer" };

export const loader = async ({ request }: LoaderFunctionArgs) => {
  const view = await unsubscribePage(db, new URL(request.url).searchParams.get("t"));
  return json(view, { status: view.state === "invalid" ? 400 : 200, headers: NO_STORE });
};

export const action = async ({ request }: ActionFunctionArgs) => {
  // Over 1 MB is refused (413); an unreadable body still unsubscribes through the page's path, as before.
  const form = await readFormWithLimit(request).catch((error) => {
    if (error instanceof Response && error.status === 413) throw error;
    return null;
  });
  const oneClick = form?.get("List-Unsubscribe") === "One-Click";
  const view = await unsubscribeByToken(db, new URL(request.url).searchParams.get("t"), new Date(), oneClick ? "one-click" : "page");
  return json(view, { status: view.state === "invalid" ? 400 : 200, headers: NO_STORE });
};

export const meta: MetaFunction<typeof loader> = ({ data }) => {
  const t = translatorFor(isLanguage(data?.language) ? data.language : "en");
  return [{ title: t("emails:unsubscribe.title") }, { name: "robots", content: "noindex" }];
};
export const headers: HeadersFunction = () => NO_STORE;

export default function Unsubscribe() {
  const loaded = useLoaderData<typeof loader>() as UnsubscribeView;
  const acted = useActionData<typeof action>() as UnsubscribeView | undefined;
  const view = acted ?? loaded;
  const t = translatorFor(isLanguage(view.language) ? view.language : "en");
  return (
    <main
      lang={view.language}
      style={{ fontFamily: "system-ui, -apple-system, sans-serif", maxWidth: 520, margin: "4rem auto", padding: "0 1rem", lineHeight: 1.55, color: "#111827" }}
    >
      {view.state === "invalid" ? (
        <>
          <h1 style={{ fontSize: "1.4rem" }}>{t("emails:unsubscribe.invalid.heading")}</h1>
          <p>{t("emails:unsubscribe.invalid.body")}</p>
        </>
      ) : view.state === "test" ? (
        <>
          <h1 style={{ fontSize: "1.4rem" }}>{t("emails:unsubscribe.test.heading")}</h1>
          <p>{t("emails:unsubscribe.test.body")}</p>
        </>
      ) : view.state === "confirm" ? (
        <>
          <h1 style={{ fontSize: "1.4rem" }}>{t("emails:unsubscribe.confirm.heading", { shop: view.shopName })}</h1>
          <p>{t("emails:unsubscribe.confirm.body", { shop: view.shopName, email: view.maskedEmail })}</p>
          <Form method="post">
            <button
              type="submit"
              style={{ font: "inherit", padding: "0.6rem 1.2rem", borderRadius: 8, border: 0, background: "#111827", color: "#fff", cursor: "pointer" }}
            >
              {t("emails:unsubscribe.button")}
            </button>
          </Form>
          <Scope view={view} t={t} />
        </>
      ) : (
        <>
          <h1 style={{ fontSize: "1.4rem" }}>{t("emails:unsubscribe.done.heading")}</h1>
          <p>{t("emails:unsubscribe.done.body", { shop: view.shopName, email: view.maskedEmail })}</p>
          <Scope view={view} t={t} />
        </>
      )}
    </main>
  );
}

function Scope({ view, t }: { view: Extract<UnsubscribeView, { shopName: string }>; t: ReturnType<typeof translatorFor> }) {
  return (
    <p style={{ color: "#4b5563" }}>
      {view.mirroredToShopify ? t("emails:unsubscribe.scope.mirrored", { shop: view.shopName }) : t("emails:unsubscribe.scope.local", { shop: view.shopName })}
    </p>
  );
}
