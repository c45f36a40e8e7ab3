/**
 * The public collector behind POST /pixel/events (docs/decisions/050). Anyone can call it, so every step refuses early
 * and cheaply, and nothing is written until the event has passed them all:
 *
 *   client rate limit (429) → body cap (413) → JSON (400) → shape (400) → shop key (403) → shop rate limit (429)
 *   → installed shop (404) → event time and money (400) → merged into its checkout's row, a new checkout only under
 *   the shop's daily cap (429), one processing job queued per checkout (202)
 *
 * CORS: the pixel runs in Shopify's sandboxed worker, whose origin is not the app's. It posts `text/plain` (a "simple"
 * request, so browsers send no preflight); OPTIONS is still answered for clients that preflight anyway. No cookies are
 * read or allowed, so `Access-Control-Allow-Origin: *` exposes nothing.
 */
import { db } from "../../db.server";
import { logger } from "../../logger.server";
import { mergePixelEvent } from "../../models/pixel-checkout.server";
import { parseJsonWithLimits, readBodyWithLimit } from "../../security/request-limits.server";
import { collectorKeyMatches } from "./collector-key.server";
import { parsePixelRequest, toPixelObservation, type PixelEventBody } from "./payload";
import { TokenBuckets } from "./rate-limit.server";

/** A real event is 1–10 KB (50 line items at most); nothing legitimate comes near this. */
export const MAX_PIXEL_BODY_BYTES = 16 * 1024;
/** One buyer's browser: a checkout sends 2–5 events; a shared NAT address gets room for a few dozen buyers a minute. */
export const CLIENT_LIMIT = { capacity: 30, refillPerSecond: 0.5 };
/** One shop: bursts of 600, then 20 events a second (≈ 400 checkouts a minute) — beyond that the poll still catches up. */
export const SHOP_LIMIT = { capacity: 600, refillPerSecond: 20 };

/**
 * New checkouts the pixel may report per shop in any 24 hours. Events are merged per checkout, so only a new checkout
 * adds a row; but the collector key is public, and the rate limits alone would let anyone add 20 made-up checkouts a
 * second (≈1.7 million a day) for any shop. A large shop's real traffic (a few thousand checkouts a day) stays far
 * below; beyond the cap events for new checkouts are refused (events for known ones still merge) and the poll and the
 * checkouts webhook still see every checkout: the pixel only shows a checkout early.
 */
export const PIXEL_DAILY_CAP = 50_000;
/** The cap in force (tests lower it rather than store 50,000 rows). */
export const pixelCap = { perDay: PIXEL_DAILY_CAP };

const clientBuckets = new TokenBuckets(CLIENT_LIMIT);
const shopBuckets = new TokenBuckets(SHOP_LIMIT, 20_000);

const CORS = {
  "access-control-allow-origin": "*",
  "access-control-allow-methods": "POST, OPTIONS",
  "access-control-allow-headers": "content-type",
  "access-control-max-age": "86400",
};

function reply(status: number, body: Record<string, unknown> | null, headers: Record<string, string> = {}): Response {
  return new Response(body ? JSON.stringify(body) : null, {
    status,
    headers: { ...CORS, "cache-control": "no-store", ...(body ? { "content-type": "application/json" } : {}), ...headers },
  });
}

/** OPTIONS (a preflight) gets the CORS answer; any other non-POST method is not served here. */
export function pixelPreflight(request: Request): Response {
  if (request.method === "OPTIONS") return reply(204, null);
  return reply(405, { error: "method not allowed: POST checkout events here" }, { allow: "POST, OPTIONS" });
}

/**
 * The client's address for the per-client limit: the last X-Forwarded-For entry (the one the proxy in front of the app
 * appended, which the client cannot choose), else the socket address the server passes in, else one shared bucket.
 */
export function clientAddress(request: Request, socketAddress?: string | null): string {
  const forwarded = request.headers.get("x-forwarded-for");
  const last = forwarded
    ?.split(",")
    .map((s) => s.trim())
    .filter(Boolean)
    .at(-1);
  return last || socketAddress || "unknown";
}

export async function receivePixelEvent(request: Request, client: string, now: Date = new Date()): Promise<Response> {
  const nowMs = now.getTime();
  const byClient = clientBuckets.take(client, nowMs);
  if (!byClient.ok) return reply(429, { error: "too many events from this client" }, { "retry-after": String(byClient.retryAfterSeconds) });

  const read = await readBodyWithLimit(request, MAX_PIXEL_BODY_BYTES);
  if (!read.ok) return reply(read.status, { error: read.reason });
  const json = parseJsonWithLimits(read.text, 8);
  if (!json.ok) return reply(400, { error: json.reason });
  const parsed = parsePixelRequest(json.value);
  if (!parsed.ok) return reply(400, { error: parsed.reason });
  const body = parsed.value;

  if (!collectorKeyMatches(body.shop, body.key)) return reply(403, { error: "the collector key does not belong to this shop" });
  const byShop = shopBuckets.take(body.shop, nowMs);
  if (!byShop.ok) return reply(429, { error: "too many events for this shop" }, { "retry-after": String(byShop.retryAfterSeconds) });

  const shop = await db.shop.findUnique({ where: { domain: body.shop }, select: { id: true, uninstalledAt: true } });
  if (!shop || shop.uninstalledAt) return reply(404, { error: "Reclaim is not installed on this shop" });

  const event: PixelEventBody = { event: body.event, checkout: body.checkout };
  const observation = toPixelObservation(event, now);
  if (!observation.ok) return reply(400, { error: observation.reason });

  const outcome = await mergePixelEvent(db, { shopId: shop.id, eventId: body.event.id, observation: observation.value, receivedAt: now }, pixelCap.perDay);
  if (outcome === "capped") {
    logger.warn("pixel events refused: daily cap of new checkouts reached", { shop: body.shop, cap: pixelCap.perDay });
    return reply(
      429,
      {
        error: `this shop's pixel has reported ${pixelCap.perDay} new checkouts in the last 24 hours; events for other checkouts are refused until older ones age out`,
      },
      { "retry-after": "3600" },
    );
  }
  if (outcome === "duplicate") logger.debug("pixel event already received", { shop: body.shop, event: body.event.name });
  return reply(202, { status: outcome === "duplicate" ? "duplicate" : "accepted" });
}
