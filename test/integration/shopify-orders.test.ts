// Shopify orders as they really are, end to end: signed checkouts/* and orders/* webhooks (bodies built by the fake
// Shopify Admin the way Shopify sends them) through the real routes, the inbox and the processing job, emails through the
// real send pipeline and an SMTP server, and what the merchant then sees: the dashboard's recovered revenue (DailyStat,
// kept by triggers), the recovery's status and timeline, the purchases.
//  - a multi-currency order is stored in the buyer's currency, the shop's amount kept apart;
//  - a test order, and an order that arrives already cancelled, are not purchases: no revenue, no email stopped;
//  - orders/cancelled reverses the conversion the order credited: revenue drops back, once, however often it is delivered.
import type { Shop } from "@prisma/client";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { loadApp } from "../helpers/app-server";
import { H, MIN, startPipeline, type Pipeline } from "../helpers/pipeline";
import { shopifyWebhookRequest } from "../helpers/shopify";
import { checkoutWebhookPayload, orderCreatePayload, type ShopStore, type StoredCheckout } from "../../app/demo/fakes/shopify-admin";
import { loadOverview } from "~/models/dashboard.server";
import { loadRecoveryDetail } from "~/models/recovery-detail.server";

let app: Awaited<ReturnType<typeof loadApp>>;
let p: Pipeline;
beforeAll(async () => {
  app = await loadApp();
});
// Each test starts its clock at the real time: routes queue their processing jobs at the real time.
beforeEach(async () => {
  p = await startPipeline({ start: new Date(Math.floor(Date.now() / 1000) * 1000) });
});
afterEach(async () => {
  await p?.close();
});
afterAll(async () => {
  await app?.close();
});

let n = 0;

/** A signed delivery through the real route; then the inbox's processing job runs. Returns the stored InboundEvent. */
async function deliver(shop: Shop, uri: string, topic: string, body: unknown, webhookId = `wh-${Date.now()}-${++n}`) {
  const response = await app.handle(shopifyWebhookRequest(uri, topic, body, { shop: shop.domain, webhookId }));
  expect(response.status).toBe(200);
  if (p.clock.now().getTime() < Date.now()) p.clock.set(new Date(Date.now() + 1000));
  await p.drain();
  return p.db.inboundEvent.findFirstOrThrow({ where: { receiver: shop.domain, externalId: webhookId } });
}

/** A shop whose checkouts the buyer sees in EUR while the shop keeps its books in USD (`presentment` vs `shop`). */
async function shopWithBuyer(email: string, presentmentCurrency: "USD" | "EUR" = "USD") {
  // Webhook-only checkouts (no gid) and no poll here: Shopify's own email is not what these tests are about (docs/decisions/075).
  const shop = await p.newShop({ currency: "USD", shopifyEmailPolicy: "send_anyway" });
  const store = p.admin.store(shop.domain);
  const at = p.clock.now().toISOString();
  const checkout = store.upsertCheckout({
    email,
    buyerAcceptsMarketing: true,
    createdAt: at,
    updatedAt: at,
    currency: "USD",
    presentmentCurrency,
    lineItems: [
      {
        id: 1,
        title: "Wool scarf",
        variantTitle: "Grey",
        quantity: 2,
        sku: null,
        vendor: null,
        image: null,
        variantId: 11,
        productId: 12,
        unitPrice: { shop: 5400, presentment: presentmentCurrency === "EUR" ? 4968 : 5400 },
        discountedUnitPrice: { shop: 5400, presentment: presentmentCurrency === "EUR" ? 4968 : 5400 },
        requiresShipping: true,
        taxable: true,
        grams: 100,
      },
    ],
  });
  return { shop, store, checkout };
}

/** The checkout is abandoned (checkouts/create) and its first recovery email goes out an hour later. */
async function abandonedAndEmailed(shop: Shop, store: ShopStore, checkout: StoredCheckout) {
  await deliver(shop, "/webhooks/checkouts", "checkouts/create", checkoutWebhookPayload(store, checkout));
  const recovery = await p.db.recovery.findFirstOrThrow({ where: { shopId: shop.id, checkoutToken: checkout.token } });
  await p.runAt(new Date(p.clock.now().getTime() + H + MIN));
  expect(p.sink.received.map((m) => m.rcptTo[0])).toEqual([checkout.email]);
  expect(await p.db.message.count({ where: { recoveryId: recovery.id, status: "sent" } })).toBe(1);
  expect(await p.db.message.count({ where: { recoveryId: recovery.id, status: "scheduled" } })).toBeGreaterThan(0);
  return recovery;
}

/** The dashboard's figures for today (UTC), in one currency, as the overview page loads them. */
async function dashboard(shop: Shop, currency: string) {
  const now = p.clock.now();
  const overview = await loadOverview(p.db, {
    shopId: shop.id,
    from: new Date(now.getTime() - 3 * 86_400_000),
    to: new Date(now.getTime() + 86_400_000),
    currency,
    consentPolicy: "explicit",
    now,
  });
  return {
    recoveredByLink: overview.total.recoveredByLink,
    recoveredByWindow: overview.total.recoveredByWindow,
    recoveredRecoveries: overview.daily.reduce((sum, d) => sum + d.recovered, 0),
  };
}

/** REST payloads print whole seconds: times the tests compare are built the same way. */
const seconds = (ms: number) => new Date(Math.floor(ms / 1000) * 1000).toISOString();
const orderAt = () => seconds(p.clock.now().getTime() + 10 * MIN);

describe("a multi-currency order (shop in USD, buyer in EUR)", () => {
  it("is stored in the buyer's currency with the shop's amount kept apart, and credits the EUR recovery in EUR", async () => {
    const { shop, store, checkout } = await shopWithBuyer("eu.buyer@example.com", "EUR");
    const recovery = await abandonedAndEmailed(shop, store, checkout);
    expect(recovery).toMatchObject({ currency: "EUR", totalMinor: 9936n });

    const order = orderCreatePayload(store, checkout, { orderId: 6_200_000_000_001, createdAt: orderAt() });
    expect(order).toMatchObject({ currency: "USD", presentment_currency: "EUR", total_price: "108.00" });
    const event = await deliver(shop, "/webhooks/orders/create", "orders/create", order);
    expect(event.error).toBeNull();

    const purchase = await p.db.purchase.findFirstOrThrow({ where: { shopId: shop.id } });
    expect(purchase).toMatchObject({
      externalId: "gid://shopify/Order/6200000000001",
      amountMinor: 9936n,
      currency: "EUR",
      shopAmountMinor: 10800n,
      shopCurrency: "USD",
      cancelledAt: null,
    });
    // The merchant's EUR figures carry the buyer's €99.36, not the shop's $108.00 relabelled as euros.
    expect(await dashboard(shop, "EUR")).toEqual({
      recoveredByLink: { count: 1, revenueMinor: 9936 },
      recoveredByWindow: { count: 0, revenueMinor: 0 },
      recoveredRecoveries: 1,
    });
    expect((await dashboard(shop, "USD")).recoveredByLink).toEqual({ count: 0, revenueMinor: 0 });
  });
});

describe("orders that are not purchases", () => {
  it("a test order and an order already cancelled: no purchase, no conversion, recovered revenue unchanged, no email stopped", async () => {
    const { shop, store, checkout } = await shopWithBuyer("tester@example.com");
    const recovery = await abandonedAndEmailed(shop, store, checkout);
    const before = await dashboard(shop, "USD");
    expect(before.recoveredByLink).toEqual({ count: 0, revenueMinor: 0 });
    const scheduled = await p.db.message.findMany({ where: { recoveryId: recovery.id, status: "scheduled" }, select: { id: true } });

    // The merchant places a test order (bogus gateway) from this very checkout…
    const testOrder = await deliver(
      shop,
      "/webhooks/orders/create",
      "orders/create",
      orderCreatePayload(store, checkout, { orderId: 6_200_000_000_101, createdAt: orderAt(), test: true }),
    );
    expect(testOrder.processedAt).not.toBeNull();
    expect(testOrder.error).toBe("ignored: a test order (test: true) is not a purchase");

    // …and an order arrives already cancelled (created and cancelled before its delivery was processed).
    const cancelledAt = orderAt();
    const cancelledOrder = await deliver(
      shop,
      "/webhooks/orders/create",
      "orders/create",
      orderCreatePayload(store, checkout, { orderId: 6_200_000_000_102, createdAt: cancelledAt, cancelledAt }),
    );
    expect(cancelledOrder.error).toBe("ignored: the order was already cancelled when it arrived, so it is not a purchase");

    expect(await p.db.purchase.count({ where: { shopId: shop.id } })).toBe(0);
    expect(await p.db.conversion.count({ where: { shopId: shop.id } })).toBe(0);
    expect(await p.db.contact.findFirstOrThrow({ where: { shopId: shop.id } })).toMatchObject({ lastPurchaseAt: null });
    expect(await p.db.recovery.findUniqueOrThrow({ where: { id: recovery.id } })).toMatchObject({ status: "contacting", completedAt: null });
    expect(await dashboard(shop, "USD")).toEqual(before);
    for (const m of scheduled) expect(await p.db.message.findUniqueOrThrow({ where: { id: m.id } })).toMatchObject({ status: "scheduled" });
    expect(await p.db.decisionLog.count({ where: { recoveryId: recovery.id, reason: "purchased" } })).toBe(0);

    // The next email still goes out when it is due.
    await p.runAt(new Date(p.clock.now().getTime() + 25 * H));
    expect(p.sink.received.filter((m) => m.rcptTo[0] === "tester@example.com").length).toBeGreaterThanOrEqual(2);
  });

  it("orders/cancelled before its orders/create: the late order is not counted either", async () => {
    const { shop, store, checkout } = await shopWithBuyer("early.cancel@example.com");
    const recovery = await abandonedAndEmailed(shop, store, checkout);
    const createdAt = orderAt();
    const cancelled = orderCreatePayload(store, checkout, { orderId: 6_200_000_000_201, createdAt, cancelledAt: seconds(Date.parse(createdAt) + MIN) });
    const created = orderCreatePayload(store, checkout, { orderId: 6_200_000_000_201, createdAt });

    const first = await deliver(shop, "/webhooks/orders/cancelled", "orders/cancelled", cancelled);
    expect(first.error).toBeNull();
    const late = await deliver(shop, "/webhooks/orders/create", "orders/create", created);
    expect(late.error).toBe("ignored: the order's cancellation was processed first, so it is not a purchase");

    expect(await p.db.purchase.findFirstOrThrow({ where: { shopId: shop.id } })).toMatchObject({ cancelledAt: expect.any(Date), amountMinor: 10800n });
    expect(await p.db.conversion.count({ where: { shopId: shop.id } })).toBe(0);
    expect(await p.db.recovery.findUniqueOrThrow({ where: { id: recovery.id } })).toMatchObject({ status: "contacting" });
    expect((await dashboard(shop, "USD")).recoveredByLink).toEqual({ count: 0, revenueMinor: 0 });
    expect(await p.db.message.count({ where: { recoveryId: recovery.id, status: "scheduled" } })).toBeGreaterThan(0);
  });
});

describe("orders/cancelled after the order recovered a checkout", () => {
  it("reverses the conversion: recovered revenue drops back, the recovery is lost, its timeline says why; redelivery changes nothing", async () => {
    const { shop, store, checkout } = await shopWithBuyer("changed.mind@example.com");
    const recovery = await abandonedAndEmailed(shop, store, checkout);
    const before = await dashboard(shop, "USD");

    const createdAt = orderAt();
    await deliver(shop, "/webhooks/orders/create", "orders/create", orderCreatePayload(store, checkout, { orderId: 6_200_000_000_301, createdAt }));
    const conversion = await p.db.conversion.findFirstOrThrow({ where: { recoveryId: recovery.id } });
    expect(conversion).toMatchObject({
      method: "link",
      matchedBy: "checkout_token",
      externalId: "gid://shopify/Order/6200000000301",
      amountMinor: 10800n,
      reversedAt: null,
    });
    expect(conversion.messageId).not.toBeNull();
    expect(await p.db.recovery.findUniqueOrThrow({ where: { id: recovery.id } })).toMatchObject({ status: "recovered" });
    expect(await dashboard(shop, "USD")).toEqual({ ...before, recoveredByLink: { count: 1, revenueMinor: 10800 }, recoveredRecoveries: 1 });
    // The purchase stopped the rest of the campaign.
    expect(await p.db.message.count({ where: { recoveryId: recovery.id, status: "scheduled" } })).toBe(0);

    const cancelledAt = seconds(p.clock.now().getTime() + 2 * H);
    const cancellation = orderCreatePayload(store, checkout, { orderId: 6_200_000_000_301, createdAt, cancelledAt, cancelReason: "customer" });
    const webhookId = "orders-cancelled-6200000000301";
    const event = await deliver(shop, "/webhooks/orders/cancelled", "orders/cancelled", cancellation, webhookId);
    expect(event).toMatchObject({ topic: "orders/cancelled", error: null });
    expect(event.processedAt).not.toBeNull();

    const reversed = await p.db.conversion.findUniqueOrThrow({ where: { id: conversion.id } });
    expect(reversed).toMatchObject({ reversedAt: new Date(cancelledAt), reversedReason: "order_cancelled" });
    expect(await p.db.purchase.findFirstOrThrow({ where: { shopId: shop.id } })).toMatchObject({ cancelledAt: new Date(cancelledAt) });
    // Every email is out (the rest were cancelled by the purchase and are not rescheduled): lost.
    expect(await p.db.recovery.findUniqueOrThrow({ where: { id: recovery.id } })).toMatchObject({ status: "lost" });
    const after = await dashboard(shop, "USD");
    expect(after).toEqual(before);

    const detail = await loadRecoveryDetail(p.db, shop.id, recovery.id);
    const cancelledEntry = detail!.timeline.find((e) => e.kind === "decision" && e.reason === "order_cancelled");
    expect(cancelledEntry).toMatchObject({
      outcome: "cancel",
      label: "The order was cancelled on Shopify: its $108.00 no longer counts as recovered; the recovery is lost",
    });

    // Shopify retries the same delivery (same webhook id): stored once, nothing changes.
    await deliver(shop, "/webhooks/orders/cancelled", "orders/cancelled", cancellation, webhookId);
    expect(await p.db.inboundEvent.count({ where: { receiver: shop.domain, externalId: webhookId } })).toBe(1);
    // And a second, distinct cancellation delivery for the same order is processed and changes nothing either.
    const again = await deliver(shop, "/webhooks/orders/cancelled", "orders/cancelled", cancellation);
    expect(again.error).toBeNull();
    expect(await dashboard(shop, "USD")).toEqual(before);
    expect(await p.db.conversion.findUniqueOrThrow({ where: { id: conversion.id } })).toMatchObject({ reversedAt: new Date(cancelledAt) });
    expect(await p.db.decisionLog.count({ where: { recoveryId: recovery.id, reason: "order_cancelled" } })).toBe(1);
    expect(await p.db.recovery.findUniqueOrThrow({ where: { id: recovery.id } })).toMatchObject({ status: "lost" });
    // The same order's creation, delivered again late, does not credit it back.
    await deliver(shop, "/webhooks/orders/create", "orders/create", orderCreatePayload(store, checkout, { orderId: 6_200_000_000_301, createdAt }));
    expect(await dashboard(shop, "USD")).toEqual(before);
    expect(await p.db.conversion.count({ where: { recoveryId: recovery.id, reversedAt: null } })).toBe(0);
  });

  it("also reverses the credit Shopify's completedAt gave the checkout before the order arrived (joined by checkout token)", async () => {
    const { shop, store, checkout } = await shopWithBuyer("completed.first@example.com");
    const recovery = await abandonedAndEmailed(shop, store, checkout);
    const createdAt = orderAt();
    const completed = store.completeCheckout(checkout.id, createdAt);
    await deliver(shop, "/webhooks/checkouts", "checkouts/update", checkoutWebhookPayload(store, completed));
    await deliver(shop, "/webhooks/orders/create", "orders/create", orderCreatePayload(store, completed, { orderId: 6_200_000_000_501, createdAt }));
    const conversions = await p.db.conversion.findMany({ where: { recoveryId: recovery.id } });
    expect(conversions).toHaveLength(1);
    expect(conversions[0]).toMatchObject({ matchedBy: "completedAt", externalId: recovery.externalId });
    expect((await dashboard(shop, "USD")).recoveredByLink).toEqual({ count: 1, revenueMinor: 10800 });

    await deliver(
      shop,
      "/webhooks/orders/cancelled",
      "orders/cancelled",
      orderCreatePayload(store, completed, { orderId: 6_200_000_000_501, createdAt, cancelledAt: seconds(Date.parse(createdAt) + H) }),
    );
    expect(await p.db.conversion.findUniqueOrThrow({ where: { id: conversions[0]!.id } })).toMatchObject({ reversedReason: "order_cancelled" });
    expect((await dashboard(shop, "USD")).recoveredByLink).toEqual({ count: 0, revenueMinor: 0 });
    expect(await p.db.recovery.findUniqueOrThrow({ where: { id: recovery.id } })).toMatchObject({ status: "lost" });
  });

  it("DailyStat stays a recount of the unreversed conversions (the reversal trigger subtracts once, clearing adds back)", async () => {
    const { shop, store, checkout } = await shopWithBuyer("trigger.check@example.com");
    const recovery = await abandonedAndEmailed(shop, store, checkout);
    await deliver(shop, "/webhooks/orders/create", "orders/create", orderCreatePayload(store, checkout, { orderId: 6_200_000_000_401, createdAt: orderAt() }));
    const conversion = await p.db.conversion.findFirstOrThrow({ where: { recoveryId: recovery.id } });
    const revenue = async () => (await dashboard(shop, "USD")).recoveredByLink;
    expect(await revenue()).toEqual({ count: 1, revenueMinor: 10800 });
    const t = p.clock.now();
    await p.db.conversion.update({ where: { id: conversion.id }, data: { reversedAt: t } });
    expect(await revenue()).toEqual({ count: 0, revenueMinor: 0 });
    await p.db.conversion.update({ where: { id: conversion.id }, data: { reversedAt: new Date(t.getTime() + 1) } });
    expect(await revenue()).toEqual({ count: 0, revenueMinor: 0 });
    await p.db.conversion.update({ where: { id: conversion.id }, data: { reversedAt: null } });
    expect(await revenue()).toEqual({ count: 1, revenueMinor: 10800 });
    // A conversion stored already reversed never counts.
    await p.db.conversion.create({
      data: {
        shopId: shop.id,
        recoveryId: recovery.id,
        messageId: conversion.messageId,
        method: "window",
        matchedBy: "order",
        source: "shopify",
        externalId: "gid://shopify/Order/1",
        amountMinor: 500,
        currency: "USD",
        convertedAt: t,
        reversedAt: t,
        reversedReason: "order_cancelled",
      },
    });
    expect((await dashboard(shop, "USD")).recoveredByWindow).toEqual({ count: 0, revenueMinor: 0 });
  });
});
