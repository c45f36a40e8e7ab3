/**
 * A body streamed without a Content-Length (chunked) is cut off at its route's limit WHILE it streams: the handler
 * stops pulling shortly after the limit, answers 413 quickly, and memory never grows by anything near the body size.
 * Also: a Shopify webhook's unsigned shop header is checked against the shop its signed body names.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAdminApp } from "../helpers/admin-app";
import { seedShop } from "../helpers/seed";
import { signSessionToken, TEST_SHOP } from "../helpers/shopify";

const MB = 1024 * 1024;
const CHUNK = 8 * 1024;
let admin: Awaited<ReturnType<typeof startAdminApp>>;
let connectionId: string;

beforeAll(async () => {
  admin = await startAdminApp();
  const { shop } = await seedShop(admin.db, TEST_SHOP);
  const { connectStripe } = await import("~/models/stripe-connection.server");
  const connected = await connectStripe(admin.db, shop.id, { webhookSecret: "whsec_streamedLimitsSecret0123456789abcd" });
  if (!connected.ok) throw new Error("could not connect Stripe");
  connectionId = connected.connection.id;
});
afterAll(() => admin?.close());

/**
 * A chunked body of `bytes` bytes that counts what the reader pulled and the peak growth of memory held in buffers
 * (process.memoryUsage().arrayBuffers: where received chunks live) while it streamed.
 */
function countingBody(bytes: number) {
  const baseline = process.memoryUsage().arrayBuffers;
  const seen = { pulled: 0, peakGrowth: 0 };
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (seen.pulled >= bytes) return controller.close();
      const size = Math.min(CHUNK, bytes - seen.pulled);
      seen.pulled += size;
      seen.peakGrowth = Math.max(seen.peakGrowth, process.memoryUsage().arrayBuffers - baseline);
      controller.enqueue(new Uint8Array(size).fill(0x61)); // a fresh buffer each time, as a socket would give
    },
  });
  return { stream, seen };
}

const shopifyHeaders = {
  "content-type": "application/json",
  "x-shopify-hmac-sha256": "AAAA",
  "x-shopify-topic": "orders/create",
  "x-shopify-shop-domain": TEST_SHOP,
  "x-shopify-webhook-id": "w-stream",
  "x-shopify-api-version": "2026-10",
};
const admin_ = () => ({ authorization: `Bearer ${signSessionToken()}`, "content-type": "application/x-www-form-urlencoded" });

const targets: [string, () => string, number, () => Record<string, string>][] = [
  ["Stripe webhook", () => `/webhooks/stripe/${connectionId}`, MB, () => ({ "content-type": "application/json", "stripe-signature": "t=1,v1=00" })],
  ["Shopify webhook", () => "/webhooks/checkouts", MB, () => shopifyHeaders],
  ["Shopify compliance webhook", () => "/webhooks/compliance", MB, () => ({ ...shopifyHeaders, "x-shopify-topic": "customers/redact" })],
  ["pixel collector", () => "/pixel/events", 16 * 1024, () => ({ "content-type": "application/json" })],
  [
    "email unsubscribe POST",
    () => "/email/unsubscribe?t=x.y&_data=routes%2Femail.unsubscribe",
    MB,
    () => ({ "content-type": "application/x-www-form-urlencoded" }),
  ],
  ["admin settings form", () => "/app/settings?_data=routes%2Fapp.settings._index", MB, admin_],
  ["admin pixel settings form", () => "/app/settings/pixel?_data=routes%2Fapp.settings.pixel", 4 * 1024, admin_],
];

describe("a chunked body of 10x the limit", () => {
  it.each(targets)("%s: 413, read no further than the limit, quickly, without buffering it", async (_name, path, limit, headers) => {
    const { stream, seen } = countingBody(10 * limit);
    const started = Date.now();
    const response = await admin.app.handle(
      new Request(new URL(path(), "https://reclaim.test"), { method: "POST", body: stream, headers: headers(), duplex: "half" } as RequestInit),
    );
    expect(response.status).toBe(413);
    expect(Date.now() - started).toBeLessThan(5_000);
    // Read up to the limit and at most a few chunks past it (the stream's own read-ahead), never the whole body.
    expect(seen.pulled).toBeLessThanOrEqual(limit + 4 * CHUNK);
    // Buffered whole, 10x the limit would be held at once; cut off while streaming, at most about the limit is.
    if (limit >= MB) expect(seen.peakGrowth).toBeLessThan(4 * limit);
  });
});

describe("Shopify webhooks: the unsigned shop header against the signed body", () => {
  it("a signed compliance body naming another shop is refused (400) and not stored", async () => {
    const { OTHER_SHOP, shopifyWebhookRequest } = await import("../helpers/shopify");
    const before = await admin.db.inboundEvent.count();
    const replayed = await admin.app.handle(
      shopifyWebhookRequest("/webhooks/compliance", "shop/redact", { shop_id: 1, shop_domain: OTHER_SHOP }, { shop: TEST_SHOP }),
    );
    expect(replayed.status).toBe(400);
    expect(await replayed.text()).toMatch(/does not match X-Shopify-Shop-Domain/);
    expect(await admin.db.inboundEvent.count()).toBe(before);
    // The same shop, or Shopify's sample placeholder, is accepted.
    const same = await admin.app.handle(
      shopifyWebhookRequest("/webhooks/compliance", "customers/data_request", {
        shop_id: 1,
        shop_domain: TEST_SHOP,
        customer: { id: 1 },
        orders_requested: [],
        data_request: { id: 1 },
      }),
    );
    expect(same.status).toBe(200);
    const sample = await admin.app.handle(
      shopifyWebhookRequest("/webhooks/compliance", "customers/data_request", {
        shop_id: 1,
        shop_domain: "{shop}.myshopify.com",
        customer: { id: 2 },
        orders_requested: [],
        data_request: { id: 2 },
      }),
    );
    expect(sample.status).toBe(200);
  });
});
