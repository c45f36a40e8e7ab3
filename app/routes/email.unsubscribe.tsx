import type { ActionFunctionArgs, HeadersFunction, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { json } from "@remix-run/node";
import { Form, useActionData, useLoaderData } from "@remix-run/react";
import { db } from "../db.server";
import { unsubscribeByToken, unsubscribePage, type UnsubscribeView } from "../email/public-links.server";
import { readFormWithLimit } from "../security/request-limits.server";

/**
 * Unsubscribe from recovery emails. GET shows a confirmation page and changes nothing (link scanners prefetch);
 * POST unsubscribes — the RFC 8058 one-click POST (`List-Unsubscribe=One-Click`) from the inbox, or the page's
 * button — with no cookie or login: the signed token in the URL is the authority. Idempotent.
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

export const meta: MetaFunction = () => [{ title: "Unsubscribe" }, { name: "robots", content: "noindex" }];
export const headers: HeadersFunction = () => NO_STORE;

export default function Unsubscribe() {
  const loaded = useLoaderData<typeof loader>() as UnsubscribeView;
  const acted = useActionData<typeof action>() as UnsubscribeView | undefined;
  const view = acted ?? loaded;
  return (
    <main
      style={{ fontFamily: "system-ui, -apple-system, sans-serif", maxWidth: 520, margin: "4rem auto", padding: "0 1rem", lineHeight: 1.55, color: "#111827" }}
    >
      {view.state === "invalid" ? (
        <>
          <h1 style={{ fontSize: "1.4rem" }}>This unsubscribe link is not valid</h1>
          <p>Please use the link from the email exactly as it was sent, or reply to the email and ask the shop to stop.</p>
        </>
      ) : view.state === "test" ? (
        <>
          <h1 style={{ fontSize: "1.4rem" }}>This was a test email</h1>
          <p>Nothing to unsubscribe from: in real recovery emails this link unsubscribes the buyer in one click.</p>
        </>
      ) : view.state === "confirm" ? (
        <>
          <h1 style={{ fontSize: "1.4rem" }}>Unsubscribe from {view.shopName}'s cart reminders?</h1>
          <p>
            {view.maskedEmail} will no longer receive reminder emails about unfinished checkouts from {view.shopName}.
          </p>
          <Form method="post">
            <button
              type="submit"
              style={{ font: "inherit", padding: "0.6rem 1.2rem", borderRadius: 8, border: 0, background: "#111827", color: "#fff", cursor: "pointer" }}
            >
              Unsubscribe
            </button>
          </Form>
          <Scope view={view} />
        </>
      ) : (
        <>
          <h1 style={{ fontSize: "1.4rem" }}>You're unsubscribed</h1>
          <p>
            {view.maskedEmail} won't receive any more cart reminder emails from {view.shopName}.
          </p>
          <Scope view={view} />
        </>
      )}
    </main>
  );
}

function Scope({ view }: { view: Extract<UnsubscribeView, { shopName: string }> }) {
  return view.mirroredToShopify ? (
    <p style={{ color: "#4b5563" }}>Your email marketing preference is also updated to "unsubscribed" with {view.shopName}.</p>
  ) : (
    <p style={{ color: "#4b5563" }}>
      This applies to the cart reminders {view.shopName} sends through Reclaim. It does not change other email subscriptions you may have with {view.shopName};
      to change those, use the unsubscribe link in those emails.
    </p>
  );
}
