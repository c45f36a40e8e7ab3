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
  return { webhook, raw: bounded.raw };
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
