// The "Checkout recovered" Shopify Flow trigger end to end: conversions credited by ingest (Shopify and Stripe, link and
// window) queue one delivery each in the same transaction; the real job runner sends it with flowTriggerReceive to the
// fake Admin API (which validates every document against the real 2026-10 schema); failures are retried with backoff,
// shown on Settings → Shopify Flow, and can be retried by the merchant.
import type { Shop } from "@prisma/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadApp } from "../helpers/app-server";
import { H, MIN, shopifyCheckout, shopifyOrder, startPipeline, stripePayment, stripeSession, type Pipeline } from "../helpers/pipeline";
import { bearerRequest, embeddedRequest, OTHER_SHOP, signSessionToken, TEST_SHOP } from "../helpers/shopify";
import { TEST_ENV } from "../setup/test-env";
import { jobTable } from "../helpers/jobs";

let p: Pipeline;
let app: Awaited<ReturnType<typeof loadApp>>;
let testShop: Shop;
let otherShop: Shop;

beforeAll(async () => {
  app = await loadApp();
  p = await startPipeline({ start: new Date("2027-06-01T08:00:00Z") });
  testShop = await p.newShop({ domain: TEST_SHOP, name: "Reclaim Test" });
  otherShop = await p.newShop({ domain: OTHER_SHOP, name: "Other Store" });
});
afterAll(async () => {
  await p?.close();
  await app?.close();
});

const ROUTE = "routes/app.settings.flow";
const withData = (path: string) => {
  const url = new URL(path, TEST_ENV.SHOPIFY_APP_URL);
  url.searchParams.set("_data", ROUTE);
  return url.pathname + url.search;
};
/** Settings → Shopify Flow as the embedded app fetches it. */
async function flowPage(token = signSessionToken()) {
  const response = await app.handle(bearerRequest(withData("/app/settings/flow"), {}, token));
  return { status: response.status, body: await response.json() };
}
async function postRetry(form: Record<string, string>, token = signSessionToken()) {
  const response = await app.handle(bearerRequest(withData("/app/settings/flow"), { method: "POST", body: new URLSearchParams(form) }, token));
  return { status: response.status, body: response.headers.get("content-type")?.includes("json") ? await response.json() : await response.text() };
}
/** What a person reads on the server-rendered page. */
const pageText = async (path = "/app/settings/flow") =>
  (await (await app.handle(embeddedRequest(path))).text())
    .replace(/<!-- -->/g, "")
    .replace(/&#x27;/g, "'")
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, "&");

const triggersOf = (shop: Shop) => p.admin.store(shop.domain).flowTriggers;
const mailTo = (email: string) => p.sink.received.filter((m) => m.rcptTo.includes(email));
const pageUrl = (shop: Shop, recoveryId: string) => `https://${shop.domain}/admin/apps/${TEST_ENV.SHOPIFY_API_KEY}/app/recoveries/${recoveryId}`;

/** A Shopify checkout emailed at +1 h and completed through its link at +2 h: one link conversion claimed by Reclaim. */
async function recoveredShopifyCheckout(shop: Shop) {
  const t = p.clock.now();
  const checkout = shopifyCheckout(t);
  const { recoveryId } = (await p.ingest(shop, checkout)) as { recoveryId: string };
  await p.runAt(new Date(t.getTime() + H));
  expect(mailTo(checkout.email!)).toHaveLength(1);
  p.clock.set(new Date(t.getTime() + 2 * H));
  const completed = { ...checkout, completedAt: p.clock.now(), updatedAt: p.clock.now() };
  await p.ingest(shop, completed);
  const delivery = await p.db.flowTriggerDelivery.findFirstOrThrow({ where: { conversion: { recoveryId } } });
  return { checkout, completed, recoveryId, delivery };
}

describe("firing on every conversion Reclaim claims", () => {
  it("a Shopify checkout completed through its recovery link fires one trigger with the customer, amount, source and method", async () => {
    const shop = await p.newShop();
    const { checkout, completed, recoveryId, delivery } = await recoveredShopifyCheckout(shop);
    // Stored with the conversion, in its transaction, before anything is sent.
    expect(delivery).toMatchObject({ shopId: shop.id, status: "pending", attempts: 0, sentAt: null });
    expect(await jobTable(p.db).count({ where: { name: "fire-flow-trigger", key: `flow-trigger:${delivery.id}`, status: "queued" } })).toBe(1);

    await p.drain();
    const expected = {
      customer_id: Number(checkout.shopifyCustomerId!.split("/").pop()),
      "Recovered amount": 100.5,
      Currency: "USD",
      Source: "Shopify",
      "Purchase source": "Shopify",
      "Attribution method": "link",
      "Recovery ID": recoveryId,
      "Reclaim recovery page": pageUrl(shop, recoveryId),
    };
    expect(triggersOf(shop)).toEqual([expect.objectContaining({ handle: "checkout-recovered", payload: expected, accepted: true })]);
    const sent = await p.db.flowTriggerDelivery.findUniqueOrThrow({ where: { id: delivery.id } });
    expect(sent).toMatchObject({ status: "sent", attempts: 1, lastError: null, sentAt: p.clock.now() });
    expect(JSON.parse(sent.payload)).toEqual(expected);
    // The fake validated the document against the 2026-10 schema and ran it.
    const documents = p.admin.documents(shop.domain).filter((d) => d.query.includes("mutation ReclaimFlowTriggerReceive"));
    expect(documents.map((d) => d.outcome)).toEqual(["ok"]);

    // Redelivered checkout and order events credit nothing new and fire nothing new.
    await p.ingest(shop, completed);
    await p.ingest(
      shop,
      shopifyOrder(checkout.email!, p.clock.now(), { checkoutToken: checkout.checkoutToken, shopifyCustomerId: checkout.shopifyCustomerId }),
    );
    await p.ingest(shop, completed);
    await p.drain();
    expect(await p.db.flowTriggerDelivery.count({ where: { shopId: shop.id } })).toBe(1);
    expect(triggersOf(shop)).toHaveLength(1);

    // A job run again for a delivery already sent (a retried job after its commit) sends nothing.
    const { enqueueJob } = await import("~/jobs/queue.server");
    await enqueueJob(p.db, "fire-flow-trigger", { deliveryId: delivery.id }, { shopId: shop.id, runAt: p.clock.now() });
    await p.drain();
    expect(triggersOf(shop)).toHaveLength(1);
  });

  it("a Stripe session recovered with recovered_from fires one trigger; a buyer with no Shopify customer has no customer reference", async () => {
    const shop = await p.newShop();
    const t = p.clock.now();
    const session = stripeSession(t);
    const { recoveryId } = (await p.ingest(shop, session)) as { recoveryId: string };
    await p.runAt(new Date(t.getTime() + H));
    expect(mailTo(session.email!)).toHaveLength(1);

    p.clock.set(new Date(t.getTime() + 3 * H));
    const payment = stripePayment(session.email!, p.clock.now(), { recoveredFrom: session.externalId, amount: { amountMinor: 123450, currency: "EUR" } });
    await p.ingest(shop, payment);
    await p.ingest(shop, payment); // Stripe redelivers the event
    await p.drain();
    await p.ingest(shop, payment);
    await p.drain();

    const conversion = await p.db.conversion.findFirstOrThrow({ where: { recoveryId } });
    expect(conversion).toMatchObject({ method: "link", matchedBy: "recovered_from", source: "stripe" });
    expect(triggersOf(shop).map((c) => c.payload)).toEqual([
      {
        "Recovered amount": 1234.5,
        Currency: "EUR",
        Source: "Stripe",
        "Purchase source": "Stripe",
        "Attribution method": "link",
        "Recovery ID": recoveryId,
        "Reclaim recovery page": pageUrl(shop, recoveryId),
      },
    ]);
    expect(await p.db.flowTriggerDelivery.findUniqueOrThrow({ where: { conversionId: conversion.id } })).toMatchObject({ status: "sent", attempts: 1 });
  });

  it("a Shopify order after a click on a Stripe recovery's email fires a window trigger, with the customer the order names", async () => {
    const shop = await p.newShop();
    const t = p.clock.now();
    const session = stripeSession(t);
    const { recoveryId } = (await p.ingest(shop, session)) as { recoveryId: string };
    await p.runAt(new Date(t.getTime() + H));
    const clickUrl = /href="(https:\/\/reclaim\.test\/email\/click[^"]+)"/.exec(String(mailTo(session.email!)[0]!.parsed.html))![1]!.replace(/&amp;/g, "&");
    expect((await app.handle(new Request(clickUrl))).status).toBe(302);
    const click = await p.db.click.findFirstOrThrow({ where: { recoveryId } });

    const order = shopifyOrder(session.email!, new Date(click.clickedAt.getTime() + H), {
      shopifyCustomerId: "gid://shopify/Customer/880055",
      amount: { amountMinor: 4200, currency: "USD" },
    });
    await p.ingest(shop, order);
    await p.ingest(shop, order);
    await p.drain();

    expect(triggersOf(shop).map((c) => c.payload)).toEqual([
      {
        customer_id: 880055,
        "Recovered amount": 42,
        Currency: "USD",
        Source: "Stripe",
        "Purchase source": "Shopify",
        "Attribution method": "window",
        "Recovery ID": recoveryId,
        "Reclaim recovery page": pageUrl(shop, recoveryId),
      },
    ]);
  });

  it("a purchase before Reclaim emailed anyone is not Reclaim's to claim and fires nothing", async () => {
    const shop = await p.newShop();
    const t = p.clock.now();
    const checkout = shopifyCheckout(t);
    const { recoveryId } = (await p.ingest(shop, checkout)) as { recoveryId: string };
    p.clock.set(new Date(t.getTime() + 20 * MIN));
    await p.ingest(shop, { ...checkout, completedAt: p.clock.now(), updatedAt: p.clock.now() });
    await p.drain();
    expect(await p.db.conversion.findFirstOrThrow({ where: { recoveryId } })).toMatchObject({ method: "link", messageId: null });
    expect(await p.db.flowTriggerDelivery.count({ where: { shopId: shop.id } })).toBe(0);
    expect(await jobTable(p.db).count({ where: { name: "fire-flow-trigger", shopId: shop.id } })).toBe(0);
    expect(triggersOf(shop)).toHaveLength(0);
  });
});

describe("a purchase that is taken back", () => {
  const cancel = async (shop: Shop, checkout: ReturnType<typeof shopifyCheckout>, orderId: number) => {
    const { ingestPurchaseCancellation } = await import("~/models/ingest-cancellation.server");
    const at = p.clock.now();
    await ingestPurchaseCancellation(
      p.db,
      shop.id,
      {
        kind: "purchase.observed",
        source: "shopify",
        externalId: `gid://shopify/Order/${orderId}`,
        email: checkout.email,
        checkoutToken: checkout.checkoutToken,
        amount: { amountMinor: 10050, currency: "USD" },
        occurredAt: at,
        cancelledAt: at,
      },
      at,
    );
  };

  it("before its trigger went out: the trigger is withdrawn, never sent, and cannot be retried", async () => {
    const shop = await p.newShop();
    const { checkout, delivery } = await recoveredShopifyCheckout(shop);
    await cancel(shop, checkout, 7_700_001);
    await p.drain();
    expect(triggersOf(shop)).toEqual([]);
    expect(await p.db.flowTriggerDelivery.findUniqueOrThrow({ where: { id: delivery.id } })).toMatchObject({ status: "withdrawn", sentAt: null });
    const { retryDelivery, listDeliveries } = await import("~/flow/deliveries.server");
    expect(await retryDelivery(p.db, shop.id, delivery.id, p.clock.now())).toMatchObject({ ok: false, status: 409 });
    const { rows, counts } = await listDeliveries(p.db, shop.id);
    expect(counts).toMatchObject({ withdrawn: 1, pending: 0, sent: 0 });
    expect(rows[0]).toMatchObject({ status: "withdrawn", reversed: { reason: "order_cancelled" } });
  });

  it("after its trigger was sent: Flow is not told twice, and Settings → Shopify Flow says the purchase no longer counts", async () => {
    const { checkout, delivery } = await recoveredShopifyCheckout(testShop);
    await p.drain();
    expect(await p.db.flowTriggerDelivery.findUniqueOrThrow({ where: { id: delivery.id } })).toMatchObject({ status: "sent" });
    await cancel(testShop, checkout, 7_700_002);
    await p.drain();
    expect(triggersOf(testShop).filter((t) => (t.payload as Record<string, unknown>)["Recovery ID"] === delivery.id)).toHaveLength(0);
    const { listDeliveries } = await import("~/flow/deliveries.server");
    const { rows } = await listDeliveries(p.db, testShop.id);
    expect(rows.find((r) => r.id === delivery.id)).toMatchObject({ status: "sent", reversed: { reason: "order_cancelled" } });
    expect(await pageText()).toContain("a sent trigger cannot be recalled");
  });
});

describe("failures: retried, visible, never lost", () => {
  it("a refused trigger is retried by the job and then sent; in between the merchant sees the error and the next attempt", async () => {
    p.admin.failFlowTrigger(TEST_SHOP, { count: 1, message: "Flow is temporarily unavailable" });
    const { delivery } = await recoveredShopifyCheckout(testShop);
    await p.drain();

    const failedOnce = await p.db.flowTriggerDelivery.findUniqueOrThrow({ where: { id: delivery.id } });
    expect(failedOnce).toMatchObject({
      status: "pending",
      attempts: 1,
      sentAt: null,
      lastError: "Shopify Flow refused the trigger: Flow is temporarily unavailable",
    });
    const retryAt = new Date(p.clock.now().getTime() + MIN);
    const { status, body } = await flowPage();
    expect(status).toBe(200);
    expect(body.deliveries.find((d: { id: string }) => d.id === delivery.id)).toMatchObject({
      status: "pending",
      attempts: 1,
      lastError: "Shopify Flow refused the trigger: Flow is temporarily unavailable",
      nextAttemptAt: retryAt.toISOString(),
    });
    expect(await pageText()).toContain("Last error: Shopify Flow refused the trigger: Flow is temporarily unavailable");

    // Not before the backoff, then sent at the next attempt with the same payload.
    const calls = () => triggersOf(testShop).filter((c) => JSON.stringify(c.payload) === failedOnce.payload);
    await p.drain();
    expect(calls().map((c) => c.accepted)).toEqual([false]);
    await p.runAt(retryAt);
    expect(calls().map((c) => c.accepted)).toEqual([false, true]);
    expect(await p.db.flowTriggerDelivery.findUniqueOrThrow({ where: { id: delivery.id } })).toMatchObject({
      status: "sent",
      attempts: 2,
      lastError: null,
      sentAt: retryAt,
    });
    expect((await flowPage()).body.deliveries.find((d: { id: string }) => d.id === delivery.id)).toMatchObject({ status: "sent", nextAttemptAt: null });
  });

  it("after the last attempt the delivery is failed and shown as such; Retry sends it again", async () => {
    p.admin.failFlowTrigger(TEST_SHOP, { count: 8, message: "Trigger is not enabled for this shop" });
    const { delivery, recoveryId } = await recoveredShopifyCheckout(testShop);
    const before = (await flowPage()).body.counts.failed as number;
    for (let attempt = 1; attempt <= 8; attempt++) {
      await p.drain();
      expect((await p.db.flowTriggerDelivery.findUniqueOrThrow({ where: { id: delivery.id } })).attempts).toBe(attempt);
      p.clock.advance(13 * H);
    }
    await p.drain();
    const failed = await p.db.flowTriggerDelivery.findUniqueOrThrow({ where: { id: delivery.id } });
    expect(failed).toMatchObject({
      status: "failed",
      attempts: 8,
      sentAt: null,
      lastError: "Shopify Flow refused the trigger: Trigger is not enabled for this shop",
    });
    expect(await jobTable(p.db).findFirstOrThrow({ where: { name: "fire-flow-trigger", payload: { contains: delivery.id } } })).toMatchObject({
      status: "failed",
      attempts: 8,
    });

    // Visible: on the Flow page (row and count) and as a count on the settings overview.
    const page = await flowPage();
    expect(page.body.counts.failed).toBe(before + 1);
    expect(page.body.deliveries.find((d: { id: string }) => d.id === delivery.id)).toMatchObject({ status: "failed", attempts: 8, nextAttemptAt: null });
    const text = await pageText();
    expect(text).toContain("Gave up after 8 attempts");
    expect(text).toContain("Last error: Shopify Flow refused the trigger: Trigger is not enabled for this shop");
    const overview = await app.handle(bearerRequest("/app/settings?_data=routes%2Fapp.settings._index"));
    expect((await overview.json()).failedFlowTriggers).toBe(before + 1);
    expect(await pageText(`/app/recoveries/${recoveryId}`)).toContain(
      "Shopify Flow “Checkout recovered”: not sent (Shopify Flow refused the trigger: Trigger is not enabled for this shop).",
    );

    // Retry: queued at once, sent by the next run.
    const retried = await postRetry({ intent: "retry", deliveryId: delivery.id });
    expect(retried).toMatchObject({ status: 200, body: { ok: true } });
    expect(await p.db.flowTriggerDelivery.findUniqueOrThrow({ where: { id: delivery.id } })).toMatchObject({ status: "pending" });
    await p.drain();
    expect(await p.db.flowTriggerDelivery.findUniqueOrThrow({ where: { id: delivery.id } })).toMatchObject({ status: "sent", attempts: 9, lastError: null });
    expect(
      triggersOf(testShop)
        .filter((c) => JSON.stringify(c.payload) === failed.payload)
        .map((c) => c.accepted),
    ).toEqual([...Array(8).fill(false), true]);
    expect((await flowPage()).body.counts.failed).toBe(before);
    expect(await pageText(`/app/recoveries/${recoveryId}`)).toMatch(/Shopify Flow “Checkout recovered”: sent [^.]+\. /);

    // A sent delivery cannot be retried into a duplicate.
    expect(await postRetry({ intent: "retry", deliveryId: delivery.id })).toMatchObject({ status: 409, body: { ok: false } });
  });

  it("a pending delivery waiting for its backoff can be retried now, without a second job", async () => {
    p.admin.failFlowTrigger(TEST_SHOP, { count: 2, message: "Internal error" });
    const { delivery } = await recoveredShopifyCheckout(testShop);
    await p.drain(); // attempt 1 refused
    await p.runAt(new Date(p.clock.now().getTime() + MIN)); // attempt 2 refused, next in 5 min
    expect(await postRetry({ intent: "retry", deliveryId: delivery.id })).toMatchObject({ status: 200 });
    expect(await jobTable(p.db).count({ where: { key: `flow-trigger:${delivery.id}` } })).toBe(1);
    await p.drain();
    expect(await p.db.flowTriggerDelivery.findUniqueOrThrow({ where: { id: delivery.id } })).toMatchObject({ status: "sent", attempts: 3 });
  });

  it("an uninstalled shop's trigger is not sent and says why; after a reinstall, Retry sends it", async () => {
    const { cancelShopJobs } = await import("~/jobs/queue.server");
    const { listDeliveries, retryDelivery } = await import("~/flow/deliveries.server");
    const shop = await p.newShop();
    const { delivery } = await recoveredShopifyCheckout(shop);

    // Uninstall as app/uninstalled does it: queued jobs are cancelled; the delivery stays pending with no next attempt.
    await p.db.shop.update({ where: { id: shop.id }, data: { uninstalledAt: p.clock.now() } });
    await cancelShopJobs(p.db, shop.id, "app uninstalled");
    await p.drain();
    expect(triggersOf(shop)).toHaveLength(0);
    expect((await listDeliveries(p.db, shop.id)).rows).toEqual([expect.objectContaining({ id: delivery.id, status: "pending", nextAttemptAt: null })]);

    // A job that still runs while the shop is uninstalled stops with the reason instead of calling Shopify.
    expect(await retryDelivery(p.db, shop.id, delivery.id, p.clock.now())).toEqual({ ok: true });
    await p.drain();
    expect(triggersOf(shop)).toHaveLength(0);
    expect(await p.db.flowTriggerDelivery.findUniqueOrThrow({ where: { id: delivery.id } })).toMatchObject({
      status: "failed",
      lastError: "Not sent: Reclaim was uninstalled from this store.",
    });

    await p.db.shop.update({ where: { id: shop.id }, data: { uninstalledAt: null } });
    expect(await retryDelivery(p.db, shop.id, delivery.id, p.clock.now())).toEqual({ ok: true });
    await p.drain();
    expect(triggersOf(shop)).toHaveLength(1);
    expect(await p.db.flowTriggerDelivery.findUniqueOrThrow({ where: { id: delivery.id } })).toMatchObject({ status: "sent" });
  });
});

describe("Settings → Shopify Flow", () => {
  it("lists what the trigger carries, in the extension's order", async () => {
    const { status, body } = await flowPage();
    expect(status).toBe(200);
    expect(body.handle).toBe("checkout-recovered");
    expect(body.fields.map((f: { payloadKey: string }) => f.payloadKey)).toEqual([
      "customer_id",
      "Recovered amount",
      "Currency",
      "Source",
      "Purchase source",
      "Attribution method",
      "Recovery ID",
      "Reclaim recovery page",
    ]);
    expect(await pageText()).toContain("Checkout recovered");
  });

  it("shows a shop only its own deliveries, and another shop's delivery cannot be retried (404)", async () => {
    p.admin.failFlowTrigger(TEST_SHOP, { count: 8, message: "Refused" });
    const { delivery } = await recoveredShopifyCheckout(testShop);
    for (let i = 0; i < 8; i++) {
      await p.drain();
      p.clock.advance(13 * H);
    }
    expect(await p.db.flowTriggerDelivery.findUniqueOrThrow({ where: { id: delivery.id } })).toMatchObject({ status: "failed" });

    const otherToken = signSessionToken({ shop: OTHER_SHOP });
    const other = await flowPage(otherToken);
    expect(other.status).toBe(200);
    expect(other.body.deliveries.map((d: { id: string }) => d.id)).not.toContain(delivery.id);
    expect(other.body.counts).toEqual({ pending: 0, sent: 0, failed: 0, withdrawn: 0 });
    expect((await postRetry({ intent: "retry", deliveryId: delivery.id }, otherToken)).status).toBe(404);
    expect(await p.db.flowTriggerDelivery.findUniqueOrThrow({ where: { id: delivery.id } })).toMatchObject({ status: "failed" });
    // No job was queued again (the failed one keeps its key and its error; a real Retry would replace it).
    expect(await jobTable(p.db).count({ where: { key: `flow-trigger:${delivery.id}`, status: { in: ["queued", "running"] } } })).toBe(0);
    expect(await jobTable(p.db).findFirstOrThrow({ where: { key: `flow-trigger:${delivery.id}` } })).toMatchObject({ status: "failed" });
    expect(await p.db.flowTriggerDelivery.count({ where: { shopId: otherShop.id } })).toBe(0);
  });

  it("refuses a retry without a delivery id or with an unknown action (400), and an unknown id (404)", async () => {
    expect(await postRetry({ intent: "retry" })).toMatchObject({ status: 400, body: { ok: false, message: expect.stringContaining("deliveryId") } });
    expect(await postRetry({ intent: "explode", deliveryId: "x" })).toMatchObject({ status: 400, body: { ok: false } });
    expect((await postRetry({ intent: "retry", deliveryId: "does-not-exist" })).status).toBe(404);
  });
});
