import { db } from "../../db.server";
import { recordInboundEvent } from "../../models/inbound-event.server";
import { jsonNestingDepth, MAX_JSON_DEPTH, readBodyWithLimit } from "../../security/request-limits.server";
import { authenticate } from "../../shopify.server";
import { minimiseWebhookBody } from "./webhook-fields";

/** Shopify normalises topics to `CHECKOUTS_CREATE`; we store them the way the TOML names them (`checkouts/create`). */
export function topicName(normalised: string): string {
  const lower = normalised.toLowerCase();
  for (const prefix of ["customers_email_marketing_consent", "customers", "checkouts", "orders", "app", "shop"]) {
    if (lower.startsWith(prefix + "_")) return `${prefix}/${lower.slice(prefix.length + 1)}`;
  }
  return lower;
}

/**
 * The body, checked before the Shopify library reads it: at most 1 MB (413) and nested at most 64 levels (400), so
 * neither the HMAC check nor JSON.parse ever sees an oversized or hostile body. Returns a fresh Request carrying the
 * same headers and bytes for `authenticate.webhook`, which verifies the HMAC over exactly those bytes.
 */
async function boundedWebhookRequest(request: Request): Promise<{ request: Request; raw: string }> {
  if (request.method !== "POST") throw new Response(undefined, { status: 405, headers: { allow: "POST" } });
  const body = await readBodyWithLimit(request);
  if (!body.ok) throw new Response(body.reason, { status: body.status });
  if (jsonNestingDepth(body.text, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) throw new Response(`JSON nested deeper than ${MAX_JSON_DEPTH} levels`, { status: 400 });
  const headers = new Headers(request.headers);
  headers.delete("content-length"); // recomputed for the copy
  return { request: new Request(request.url, { method: "POST", headers, body: body.text }), raw: body.text };
}

/**
 * Verifies the HMAC (401) and parses the payload; a signed body that is not a JSON object is a 400, not a 500.
 * Returns the body as signed too: what gets stored is read from it (JSON.parse has rounded ids past 2^53, the text has not).
 */
async function verifiedWebhook(request: Request) {
  let webhook: Awaited<ReturnType<typeof authenticate.webhook>>;
  const bounded = await boundedWebhookRequest(request);
  try {
    webhook = await authenticate.webhook(bounded.request);
  } catch (error) {
    if (error instanceof Response) throw error;
    // The library JSON.parses the body after checking the HMAC; a SyntaxError means a signed, malformed body.
    if (error instanceof SyntaxError) throw new Response("body is not valid JSON", { status: 400 });
    throw error;
  }
  // Every Shopify topic delivers a JSON object; anything else would only fail later, in the processing job.
  if (!webhook.payload || typeof webhook.payload !== "object" || Array.isArray(webhook.payload)) {
    throw new Response("payload is not a JSON object", { status: 400 });
  }
  checkShopInBody(webhook.shop, webhook.payload as Record<string, unknown>);
  return { webhook, raw: bounded.raw };
}

const MYSHOPIFY_DOMAIN = /^[a-z0-9][a-z0-9-]*\.myshopify\.com$/;

/**
 * The HMAC covers the body only: X-Shopify-Shop-Domain (which shop a delivery is stored and processed for) and
 * X-Shopify-Topic are unsigned headers. Where the signed body names the shop itself (the compliance topics'
 * `shop_domain`, app/uninstalled's `myshopify_domain`), it must name the same shop, so a signed body captured for one
 * shop cannot be replayed under another shop's header (a shop/redact erasing the wrong shop). Placeholders such as
 * Shopify's sample `{shop}.myshopify.com` and empty values carry nothing to compare. Topics whose body does not name
 * the shop rely on the header (SECURITY.md › What is signed or verified).
 */
function checkShopInBody(headerShop: string, payload: Record<string, unknown>): void {
  for (const key of ["shop_domain", "myshopify_domain"]) {
    const named = payload[key];
    if (typeof named !== "string") continue;
    const domain = named.trim().toLowerCase();
    if (MYSHOPIFY_DOMAIN.test(domain) && domain !== headerShop.trim().toLowerCase()) {
      throw new Response("the shop named in the payload does not match X-Shopify-Shop-Domain", { status: 400 });
    }
  }
}

/**
 * The whole of a Shopify webhook route: cap the body (413/400), verify the HMAC on the raw body (401, nothing written),
 * store the delivery once keyed by X-Shopify-Webhook-Id, enqueue its processing, answer 200. Returns what was stored
 * for routes that do more (app/uninstalled).
 */
export async function receiveShopifyWebhook(request: Request) {
  const { webhook, raw } = await verifiedWebhook(request);
  const topic = topicName(webhook.topic);
  const shop = await db.shop.findUnique({ where: { domain: webhook.shop }, select: { id: true } });
  const outcome = await recordInboundEvent(
    db,
    {
      source: "shopify",
      receiver: webhook.shop,
      externalId: webhook.webhookId,
      topic,
      // Only the fields the job reads (webhook-fields.ts), numbers as signed (exact ids past 2^53).
      payload: minimiseWebhookBody(topic, raw),
      shopId: shop?.id ?? null,
    },
    { name: "process-shopify-webhook" },
  );
  return { ...webhook, topic, outcome };
}
