import type { LoaderFunctionArgs } from "@remix-run/node";
import { db } from "../db.server";
import { escapeHtml } from "../email/render";
import { recordClick } from "../email/public-links.server";

/**
 * Signed click redirect: records the click (window attribution) and forwards to the checkout's recovery link, with
 * the discount code applied through the storefront on Shopify. The destination comes from the database, never from
 * the URL, so this is not an open redirect.
 */
export const loader = async ({ request }: LoaderFunctionArgs) => {
  // HEAD is what link checkers send; only a GET is a person following the link.
  const result = await recordClick(db, new URL(request.url).searchParams.get("t"), new Date(), { record: request.method === "GET" });
  if (result.ok) {
    return new Response(null, { status: 302, headers: { Location: result.location, "Cache-Control": "no-store", "Referrer-Policy": "no-referrer" } });
  }
  const body = `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>Link unavailable</title></head><body style="font-family:system-ui,sans-serif;max-width:520px;margin:4rem auto;padding:0 1rem;line-height:1.5"><h1 style="font-size:1.4rem">Link unavailable</h1><p>${escapeHtml(result.message)}</p></body></html>`;
  return new Response(body, {
    status: result.status,
    headers: { "Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store", "X-Robots-Tag": "noindex" },
  });
};
