// A shop's Shopify checkout and order webhooks processed together (docs/decisions/096), through the real signed routes
// and job runner: deliveries queued at once are each processed once, in fewer jobs than deliveries, with the outcome of
// their order (a checkout, its order, the order's cancellation); a delivery of another topic ends the batch and runs
// alone; an unreadable payload is kept with its reason; a delivery that fails does not hold up the others.
import type { PrismaClient, Shop } from "@prisma/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadApp } from "../helpers/app-server";
import { offlineSession, shopifyWebhookRequest } from "../helpers/shopify";
import { jobTable } from "../helpers/jobs";

let app: Awaited<ReturnType<typeof loadApp>>;
let db: PrismaClient;
let drain: () => Promise<number>;
let n = 0;

beforeAll(async () => {
  app = await loadApp();
  db = (await import("~/db.server")).db;
  const { JobRunner } = await import("../helpers/jobs");
  const { jobDefinitions } = await import("~/jobs/registry.server");
  drain = () => new JobRunner({ db, definitions: jobDefinitions }).drain();
});
afterAll(() => app?.close());

async function newShop(name: string): Promise<Shop> {
  const { sessionStorage } = await import("~/shopify.server");
  const domain = `batch-${name}.myshopify.com`;
  await sessionStorage.storeSession(offlineSession(domain));
  return db.shop.create({ data: { domain } });
}

const at = (minutesAgo: number) => new Date(Math.floor(Date.now() / 1000) * 1000 - minutesAgo * 60_000).toISOString();
const checkout = (token: string, email: string, extra: Record<string, unknown> = {}) => ({
  token,
  cart_token: `cart-${token}`,
  email,
  buyer_accepts_marketing: true,
  created_at: at(90),
  updated_at: at(80),
  total_price: "42.00",
  currency: "USD",
  line_items: [{ title: "Wool scarf", quantity: 1, price: "42.00" }],
  ...extra,
});
const order = (id: number, token: string, email: string, extra: Record<string, unknown> = {}) => ({
  id,
  admin_graphql_api_id: `gid://shopify/Order/${id}`,
  email,
  checkout_token: token,
  created_at: at(30),
  processed_at: at(30),
  currency: "USD",
  total_price: "42.00",
  total_price_set: { shop_money: { amount: "42.00", currency_code: "USD" }, presentment_money: { amount: "42.00", currency_code: "USD" } },
  test: false,
  cancelled_at: null,
  ...extra,
});

const URI: Record<string, string> = {
  "checkouts/create": "/webhooks/checkouts",
  "checkouts/update": "/webhooks/checkouts",
  "orders/create": "/webhooks/orders/create",
  "orders/cancelled": "/webhooks/orders/cancelled",
  "customers_email_marketing_consent/update": "/webhooks/customers_email_marketing_consent/update",
};
async function deliver(shop: Shop, topic: string, body: unknown): Promise<string> {
  const webhookId = `batch-wh-${++n}`;
  const response = await app.handle(shopifyWebhookRequest(URI[topic]!, topic, body, { shop: shop.domain, webhookId }));
  expect(response.status).toBe(200);
  return webhookId;
}
const eventRow = (shop: Shop, webhookId: string) => db.inboundEvent.findFirstOrThrow({ where: { receiver: shop.domain, externalId: webhookId } });
const queued = (shop: Shop) => jobTable(db).count({ where: { name: "process-shopify-webhook", shopId: shop.id } });

describe("a shop's Shopify webhooks queued together", () => {
  it("are all processed, each once, in far fewer jobs than deliveries", async () => {
    const shop = await newShop("many");
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) ids.push(await deliver(shop, "checkouts/create", checkout(`tok-many-${i}`, `many.${i}@example.com`)));
    // The same checkouts updated: the batch stores them in order, once each.
    for (let i = 0; i < 10; i++)
      ids.push(await deliver(shop, "checkouts/update", checkout(`tok-many-${i}`, `many.${i}@example.com`, { updated_at: at(70), total_price: "50.00" })));
    expect(await queued(shop)).toBe(40);

    expect(await drain()).toBeLessThanOrEqual(2);
    expect(await queued(shop)).toBe(0);
    for (const id of ids) expect(await eventRow(shop, id)).toMatchObject({ processedAt: expect.any(Date), error: null });
    const recoveries = await db.recovery.findMany({ where: { shopId: shop.id } });
    expect(recoveries).toHaveLength(30);
    // The first ten as updated (the update came after their create), the rest as created.
    for (const r of recoveries) expect([r.checkoutToken, r.totalMinor]).toEqual([r.checkoutToken, Number(r.checkoutToken!.split("-")[2]) < 10 ? 5000n : 4200n]);
  });

  it("give the outcome of their order: a checkout, its order, then the order's cancellation; a test order and an unreadable one say why", async () => {
    const shop = await newShop("order");
    const created = await deliver(shop, "checkouts/create", checkout("tok-order-1", "order.one@example.com"));
    const bought = await deliver(shop, "orders/create", order(7001, "tok-order-1", "order.one@example.com"));
    const testOrder = await deliver(shop, "orders/create", order(7002, "tok-order-2", "order.two@example.com", { test: true }));
    const unreadable = await deliver(shop, "checkouts/create", { email: "no.token@example.com", created_at: at(10) });
    const cancelled = await deliver(shop, "orders/cancelled", order(7001, "tok-order-1", "order.one@example.com", { cancelled_at: at(5) }));
    const later = await deliver(shop, "checkouts/create", checkout("tok-order-3", "order.three@example.com"));
    expect(await drain()).toBe(1);

    const recovery = await db.recovery.findFirstOrThrow({ where: { shopId: shop.id, checkoutToken: "tok-order-1" }, include: { conversions: true } });
    // Bought, then the cancellation found the purchase the batch had stored just before it, and reversed its credit.
    expect(recovery.conversions).toEqual([expect.objectContaining({ reversedReason: "order_cancelled" })]);
    expect(await db.purchase.findFirstOrThrow({ where: { shopId: shop.id, externalId: "gid://shopify/Order/7001" } })).toMatchObject({
      cancelledAt: expect.any(Date),
    });
    expect(await eventRow(shop, testOrder)).toMatchObject({ error: "ignored: a test order (test: true) is not a purchase" });
    expect(await eventRow(shop, unreadable)).toMatchObject({ processedAt: expect.any(Date), error: "checkout payload has no token" });
    for (const id of [created, bought, cancelled, later]) expect(await eventRow(shop, id)).toMatchObject({ processedAt: expect.any(Date), error: null });
    expect(await db.recovery.count({ where: { shopId: shop.id, checkoutToken: "tok-order-3" } })).toBe(1);
    expect(await queued(shop)).toBe(0);
  });

  it("end at a delivery of another topic, which runs alone, in order", async () => {
    const shop = await newShop("topics");
    const before = await deliver(shop, "checkouts/create", checkout("tok-topics-1", "topics.one@example.com"));
    const consent = await deliver(shop, "customers_email_marketing_consent/update", {
      customer_id: 1234,
      email_address: "topics.one@example.com",
      email_marketing_consent: { state: "unsubscribed", opt_in_level: "single_opt_in", consent_updated_at: at(1) },
    });
    const after = await deliver(shop, "checkouts/create", checkout("tok-topics-2", "topics.two@example.com"));
    // The first checkout alone (the consent update after it is not taken), the consent update, then the last checkout.
    expect(await drain()).toBe(3);
    for (const id of [before, consent, after]) expect(await eventRow(shop, id)).toMatchObject({ processedAt: expect.any(Date) });
    expect(await queued(shop)).toBe(0);
  });

  it("go on past a delivery that fails: the others are processed, the failing one stays queued with its error", async () => {
    const shop = await newShop("poison");
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push(await deliver(shop, "checkouts/create", checkout(`tok-poison-${i}`, `poison.${i}@example.com`)));
    // A NUL character cannot be stored in a PostgreSQL text column: this delivery's writes fail every time.
    const poison = await deliver(shop, "checkouts/create", checkout("tok-poison-bad", "poison.bad@example.com", { name: "#Bad\u0000" }));
    for (let i = 4; i < 8; i++) ids.push(await deliver(shop, "checkouts/create", checkout(`tok-poison-${i}`, `poison.${i}@example.com`)));

    await drain();
    for (const id of ids) expect(await eventRow(shop, id)).toMatchObject({ processedAt: expect.any(Date), error: null });
    expect(await db.recovery.count({ where: { shopId: shop.id } })).toBe(8);
    const poisonRow = await eventRow(shop, poison);
    expect(poisonRow.processedAt).toBeNull();
    const job = await jobTable(db).findFirstOrThrow({ where: { name: "process-shopify-webhook", shopId: shop.id } });
    expect(job).toMatchObject({ status: "queued", attempts: 1, payload: JSON.stringify({ inboundEventId: poisonRow.id }) });
    expect(job.lastError).toMatch(/0x00|invalid byte sequence|null character/i);
    await jobTable(db).deleteMany({ where: { name: "process-shopify-webhook", shopId: shop.id } });
  });
});
