// One Shopify checkout, one recovery: what live shops send, not what Shopify's samples suggest. A real checkouts/create
// body (test/fixtures/shopify/real/, captured from a live shop) has a 32-hex `token`, a different `cart_token`, and a
// recovery URL whose path segment is the CART token; from 2026-04 it has no `id`. The poll (GraphQL) knows the gid and
// that URL, never `token`. Before the cart-token join, poll and webhook never met: two recoveries, two campaigns.
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadApp } from "../helpers/app-server";
import { shopifyWebhookRequest } from "../helpers/shopify";
import { gid, startHarness, type Harness } from "./shopify-sync-harness";

const REAL = JSON.parse(readFileSync("test/fixtures/shopify/real/checkouts-create.json", "utf8"));
const SNOWBOARD_IMAGE = "https://cdn.shopify.com/s/files/1/0590/2696/4593/files/snowboard-hydrogen.jpg";

let app: Awaited<ReturnType<typeof loadApp>>;
let h: Harness;
beforeAll(async () => {
  app = await loadApp();
  h = await startHarness(Date.now());
});
afterAll(async () => {
  await h?.close();
  await app?.close();
});

async function deliver(shop: string, topic: string, body: unknown) {
  const response = await app.handle(shopifyWebhookRequest("/webhooks/checkouts", topic, body, { shop }));
  expect(response.status).toBe(200);
  h.clock = Math.max(h.clock, Date.now());
  await h.runDueJobs();
}

async function poll(shopId: string) {
  h.clock += 6 * 60_000;
  const { requestShopifySync } = await import("~/sources/shopify/sync-request.server");
  await requestShopifySync(h.db, shopId, h.now());
  await h.syncUntilIdle(shopId);
}

/** A caught-up shop with a two-step campaign, and the captured checkout in its store (same tokens, with an image). */
async function shopWithRealCheckout(name: string, email: string) {
  const { store, shop } = await h.addShop(`${name}.myshopify.com`);
  await h.db.sourceSync.create({ data: { shopId: shop.id, source: "shopify", watermark: h.now(), backfillStatus: "done" } });
  await h.db.campaign.create({
    data: {
      shopId: shop.id,
      name: "Default",
      steps: { create: [1, 2].map((position) => ({ position, delayMinutes: position * 60, subject: "Still there?", bodyTemplate: "<p>Hi</p>" })) },
    },
  });
  const at = new Date(h.clock).toISOString();
  const price = { shop: 600, presentment: 600 };
  const checkout = store.upsertCheckout({
    currency: "USD",
    presentmentCurrency: "USD",
    token: REAL.token,
    cartToken: REAL.cart_token,
    customer: null,
    email,
    buyerAcceptsMarketing: true,
    createdAt: at,
    updatedAt: at,
    lineItems: [
      {
        id: 1,
        title: REAL.line_items[0].title,
        variantTitle: null,
        quantity: 1,
        sku: null,
        vendor: "Hydrogen Vendor",
        image: { url: SNOWBOARD_IMAGE, altText: null },
        variantId: REAL.line_items[0].variant_id,
        productId: REAL.line_items[0].product_id,
        unitPrice: price,
        discountedUnitPrice: price,
        requiresShipping: true,
        taxable: true,
        grams: 0,
      },
    ],
  });
  // The captured body as a 2026-04 delivery: no `id`; the buyer typed an email and ticked the box; times of this test.
  const { id: _dropped, ...body } = { ...REAL, email, buyer_accepts_marketing: true, created_at: at, updated_at: new Date(h.clock + 1_000).toISOString() };
  return { store, shop, domain: store.shop.domain, checkout, body };
}

async function state(shopId: string) {
  const recoveries = await h.db.recovery.findMany({ where: { shopId, status: { not: "merged" } } });
  const messages = await h.db.message.findMany({ where: { shopId, status: { notIn: ["cancelled"] } } });
  return { recoveries, messages };
}

describe("a real checkout, seen by the webhook and by the poll", () => {
  it("webhook first (no id, token ≠ cart token): the poll joins it by the cart token in its URL — one recovery, one campaign, the poll's images", async () => {
    const { shop, domain, checkout, body } = await shopWithRealCheckout("join-webhook-first", "snow.buyer@example.org");
    expect(body.token).not.toBe(body.cart_token);
    expect(body.abandoned_checkout_url).toContain(`/checkouts/ac/${body.cart_token}/recover`);
    await deliver(domain, "checkouts/create", body);
    await poll(shop.id);

    const { recoveries, messages } = await state(shop.id);
    expect(recoveries).toHaveLength(1);
    expect(recoveries[0]).toMatchObject({
      externalId: gid(checkout.id),
      checkoutToken: REAL.token,
      cartToken: REAL.cart_token,
      email: "snow.buyer@example.org",
      consent: "opt_in",
    });
    expect(JSON.parse(recoveries[0]!.lineItems)[0]).toMatchObject({ title: "The Collection Snowboard: Hydrogen", imageUrl: SNOWBOARD_IMAGE });
    expect(messages.map((m) => m.position).sort()).toEqual([1, 2]);
    expect(await h.db.dailyStat.aggregate({ where: { shopId: shop.id }, _sum: { abandoned: true } })).toMatchObject({ _sum: { abandoned: 1 } });
  });

  it("poll first: the webhook (newer, without images) joins the same recovery and the images stay", async () => {
    const { shop, domain, checkout, body } = await shopWithRealCheckout("join-poll-first", "poll.first@example.org");
    await poll(shop.id);
    let rows = (await state(shop.id)).recoveries;
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ externalId: gid(checkout.id), checkoutToken: null, cartToken: REAL.cart_token });

    await deliver(domain, "checkouts/update", { ...body, updated_at: new Date(h.clock + 60_000).toISOString() });
    const { recoveries, messages } = await state(shop.id);
    expect(recoveries).toHaveLength(1);
    expect(recoveries[0]).toMatchObject({
      externalId: gid(checkout.id),
      checkoutToken: REAL.token,
      email: "poll.first@example.org",
      consent: "opt_in",
      notContactableReason: null,
    });
    expect(JSON.parse(recoveries[0]!.lineItems)[0]).toMatchObject({ imageUrl: SNOWBOARD_IMAGE });
    expect(messages.map((m) => m.position).sort()).toEqual([1, 2]);
    rows = await h.db.recovery.findMany({ where: { shopId: shop.id } });
    expect(rows).toHaveLength(1); // joined, not merged after the fact
  });

  it("another checkout of the same cart (a different token) stays a recovery of its own", async () => {
    const { shop, domain, body } = await shopWithRealCheckout("join-same-cart", "twice@example.org");
    await deliver(domain, "checkouts/create", body);
    await deliver(domain, "checkouts/create", {
      ...body,
      token: "0123456789abcdef0123456789abcdef",
      created_at: new Date(h.clock + 3_600_000).toISOString(),
      updated_at: new Date(h.clock + 3_600_000).toISOString(),
    });
    expect((await state(shop.id)).recoveries.map((r) => r.checkoutToken).sort()).toEqual(["0123456789abcdef0123456789abcdef", REAL.token].sort());
  });
});

describe("checkouts the older join stored twice", () => {
  it("the upgrade moves the poll's URL token to the cart token column, and the repair job merges each pair: the emails already sent stay, nothing is sent twice, counted once", async () => {
    const { shop, checkout, body } = await shopWithRealCheckout("join-repair", "split@example.org");
    // What the old version stored: the poll under the gid with the URL segment as its "checkout token"…
    const campaign = await h.db.campaign.findFirstOrThrow({ where: { shopId: shop.id }, include: { steps: { orderBy: { position: "asc" } } } });
    const common = {
      shopId: shop.id,
      source: "shopify",
      email: "split@example.org",
      consent: "opt_in",
      totalMinor: 60000n,
      currency: "USD",
      abandonedAt: new Date(h.clock),
      sourceUpdatedAt: new Date(h.clock),
    };
    const polled = await h.db.recovery.create({
      data: {
        ...common,
        externalId: gid(checkout.id),
        checkoutToken: REAL.cart_token,
        cartToken: null,
        recoveryUrl: body.abandoned_checkout_url,
        lineItems: JSON.stringify([
          {
            title: "The Collection Snowboard: Hydrogen",
            variantTitle: null,
            quantity: 1,
            imageUrl: SNOWBOARD_IMAGE,
            unitPriceMinor: 60000,
            totalPriceMinor: 60000,
          },
        ]),
      },
    });
    // …and the 2026-04 webhook under its token, whose first email already went out.
    const hooked = await h.db.recovery.create({
      data: {
        ...common,
        externalId: `token:${REAL.token}`,
        checkoutToken: REAL.token,
        cartToken: REAL.cart_token,
        recoveryUrl: body.abandoned_checkout_url,
        status: "contacting",
        createdAt: new Date(h.clock - 60_000),
      },
    });
    const [step1, step2] = campaign.steps;
    const message = (recoveryId: string, step: typeof step1, extra: object = {}) =>
      h.db.message.create({
        data: {
          shopId: shop.id,
          recoveryId,
          campaignId: campaign.id,
          stepId: step!.id,
          position: step!.position,
          scheduledFor: new Date(h.clock + step!.delayMinutes * 60_000),
          ...extra,
        },
      });
    await message(hooked.id, step1, { status: "sent", sentAt: new Date(h.clock), toEmail: "split@example.org" });
    await message(hooked.id, step2);
    await message(polled.id, step1);
    await message(polled.id, step2);

    // The migration's data fix, as committed (read from the migration file and run for real).
    const sql = readFileSync("prisma/migrations/20261206000400_checkout_join/migration.sql", "utf8");
    for (const statement of sql
      .replace(/--.*$/gm, "")
      .split(";")
      .map((s) => s.trim())
      .filter((s) => s.startsWith("UPDATE")))
      await h.db.$executeRawUnsafe(statement);
    expect(await h.db.recovery.findUniqueOrThrow({ where: { id: polled.id } })).toMatchObject({ checkoutToken: null, cartToken: REAL.cart_token });

    const { enqueueJob } = await import("~/jobs/queue.server");
    await enqueueJob(h.db, "repair-split-checkouts", {}, { key: "repair-split-checkouts:v1", runAt: h.now() });
    await h.runDueJobs();

    const kept = await h.db.recovery.findUniqueOrThrow({ where: { id: hooked.id } });
    expect(kept).toMatchObject({ status: "contacting", externalId: gid(checkout.id), checkoutToken: REAL.token, cartToken: REAL.cart_token });
    expect(JSON.parse(kept.lineItems)[0]).toMatchObject({ imageUrl: SNOWBOARD_IMAGE }); // the poll's facts folded in
    expect(await h.db.recovery.findUniqueOrThrow({ where: { id: polled.id } })).toMatchObject({ status: "merged", mergedIntoId: hooked.id });
    // Step 1 went out once (from the kept record); only the kept record's step 2 is still to come.
    const live = await h.db.message.findMany({ where: { shopId: shop.id, status: { in: ["scheduled", "sent"] } }, orderBy: { position: "asc" } });
    expect(live.map((m) => [m.recoveryId, m.position, m.status])).toEqual([
      [hooked.id, 1, "sent"],
      [hooked.id, 2, "scheduled"],
    ]);
    expect(await h.db.decisionLog.findFirst({ where: { recoveryId: polled.id, reason: "duplicate" } })).not.toBeNull();
    // The dashboard counts one abandoned checkout and lists one recovery.
    expect(await h.db.dailyStat.aggregate({ where: { shopId: shop.id }, _sum: { abandoned: true } })).toMatchObject({ _sum: { abandoned: 1 } });
    const { listRecoveries } = await import("~/models/recovery-list.server");
    const page = await listRecoveries(h.db, { shopId: shop.id, filters: {} } as never);
    expect(JSON.stringify(page)).toContain(hooked.id);
    expect(JSON.stringify(page)).not.toContain(polled.id);

    // A later poll of the same checkout lands on the kept record.
    await poll(shop.id);
    expect((await state(shop.id)).recoveries.map((r) => r.id)).toEqual([hooked.id]);
  });
});
