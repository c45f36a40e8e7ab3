// Webhooks and the poll converge on one record per checkout, whichever comes first; an order by the same contact
// stops pending messages. Webhooks go through the real Remix app (signed deliveries, the inbox, the processing job);
// the poll goes through the sync against the fake Admin API.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadApp } from "../helpers/app-server";
import { shopifyWebhookRequest } from "../helpers/shopify";
import { checkoutWebhookPayload, orderCreatePayload, type CustomerRecord, type ShopStore } from "../../app/demo/fakes/shopify-admin";
import { gid, seedCheckouts, startHarness, type Harness } from "./shopify-sync-harness";
import { jobTable } from "../helpers/jobs";

let app: Awaited<ReturnType<typeof loadApp>>;
let h: Harness;
beforeAll(async () => {
  app = await loadApp();
  // After loadApp: loading the app's Shopify module installs the library's real fetch, which the harness replaces.
  h = await startHarness(Date.now());
});
afterAll(async () => {
  await h?.close();
  await app?.close();
});

const DAY = 86_400_000;

async function deliver(shop: string, uri: string, topic: string, body: unknown) {
  const response = await app.handle(shopifyWebhookRequest(uri, topic, body, { shop }));
  expect(response.status).toBe(200);
  h.clock = Math.max(h.clock, Date.now()); // the route queued its job at the real time
  await h.runDueJobs(); // the inbox's processing job
}

/** A shop whose sync is set up and caught up (backfill done), so each poll reads only what changes. */
async function syncedShop(name: string) {
  const { store, shop } = await h.addShop(`${name}.myshopify.com`);
  await h.db.sourceSync.create({ data: { shopId: shop.id, source: "shopify", watermark: h.now(), backfillStatus: "done" } });
  return { store, shop, domain: store.shop.domain };
}

/** A guest checkout as Shopify keeps it: the typed email is on the checkout (webhooks), not on a customer (GraphQL). */
function guestCheckout(store: ShopStore, email: string) {
  const template = seedCheckouts(store, 1, { seed: 101, now: h.clock, days: 0.001, firstId: 36_900_000_000_000 + Math.floor(Math.random() * 1e9) })[0]!;
  const at = new Date(h.clock).toISOString();
  return store.upsertCheckout({ id: template.id, customer: null, email, buyerAcceptsMarketing: true, createdAt: at, updatedAt: at });
}

/** A poll a few minutes later (as the schedule or "Sync now" would run it). */
async function poll(shopId: string) {
  h.clock += 6 * 60_000;
  const { requestShopifySync } = await import("~/sources/shopify/sync-request.server");
  await requestShopifySync(h.db, shopId, h.now());
  await h.syncUntilIdle(shopId);
}

describe("webhook and poll, one record per checkout", () => {
  it("webhook first: filed under its token, then the poll gives it its gid — one recovery, the webhook's email kept", async () => {
    const { store, shop, domain } = await syncedShop("converge-webhook-first");
    const checkout = guestCheckout(store, "Gia.Guest@Example.org");
    await deliver(domain, "/webhooks/checkouts", "checkouts/create", checkoutWebhookPayload(store, checkout));
    let rows = await h.db.recovery.findMany({ where: { shopId: shop.id } });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ externalId: `token:${checkout.token}`, checkoutToken: checkout.token, email: "gia.guest@example.org", consent: "opt_in" });

    await poll(shop.id);
    rows = await h.db.recovery.findMany({ where: { shopId: shop.id } });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ externalId: gid(checkout.id), checkoutToken: checkout.token, email: "gia.guest@example.org", consent: "opt_in" });
    expect(JSON.parse(rows[0]!.lineItems)).toHaveLength(checkout.lineItems.length);
  });

  it("poll first: the webhook that comes later completes the same record with the guest's email and consent", async () => {
    const { store, shop, domain } = await syncedShop("converge-poll-first");
    const checkout = guestCheckout(store, "late.webhook@example.org");
    await poll(shop.id);
    let rows = await h.db.recovery.findMany({ where: { shopId: shop.id } });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ externalId: gid(checkout.id), email: null, notContactableReason: "no_email" });

    await deliver(domain, "/webhooks/checkouts", "checkouts/update", checkoutWebhookPayload(store, checkout));
    rows = await h.db.recovery.findMany({ where: { shopId: shop.id } });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ externalId: gid(checkout.id), email: "late.webhook@example.org", consent: "opt_in", notContactableReason: null });

    // And a later poll (GraphQL knows no email for a guest) does not erase it.
    store.touchCheckout(checkout.id, new Date(h.clock));
    await poll(shop.id);
    rows = await h.db.recovery.findMany({ where: { shopId: shop.id } });
    expect(rows).toHaveLength(1);
    expect(rows[0]!.email).toBe("late.webhook@example.org");
  });

  it("the order for a polled checkout (joined by its cart token: the poll never sees `token`) credits it once, whether the poll's completedAt or the order comes first", async () => {
    const { store, shop, domain } = await syncedShop("converge-order");
    const checkout = guestCheckout(store, "buyer@example.org");
    await poll(shop.id);
    await deliver(domain, "/webhooks/orders/create", "orders/create", orderCreatePayload(store, checkout, { createdAt: new Date(h.clock).toISOString() }));
    store.completeCheckout(checkout.id, new Date(h.clock));
    await poll(shop.id);
    const recovery = await h.db.recovery.findFirstOrThrow({ where: { shopId: shop.id } });
    expect(recovery.status).toBe("purchased"); // no Reclaim email before the order (docs/decisions/082)
    const conversions = await h.db.conversion.findMany({ where: { recoveryId: recovery.id } });
    expect(conversions).toHaveLength(1);
    expect(conversions[0]).toMatchObject({ method: "link", matchedBy: "cart_token" });
  });
});

describe("an order by the same contact", () => {
  it("stops the pending messages of the contact's polled checkout, even with no checkout token on the order", async () => {
    const { store, shop, domain } = await syncedShop("order-stops-messages");
    const customer: CustomerRecord = {
      id: 880001,
      firstName: "Omar",
      lastName: "Haddad",
      email: "omar@example.com",
      phone: null,
      marketingState: "SUBSCRIBED",
      marketingOptInLevel: "CONFIRMED_OPT_IN",
      marketingUpdatedAt: "2026-03-01T00:00:00Z",
      locale: "en",
      createdAt: "2025-03-01T00:00:00Z",
      updatedAt: "2025-03-01T00:00:00Z",
      tags: [],
    };
    const at = new Date(h.clock).toISOString();
    const abandoned = store.upsertCheckout({
      id: 36_950_000_000_001,
      customer,
      email: customer.email,
      createdAt: at,
      updatedAt: at,
      lineItems: seedCheckouts(store, 1, { seed: 7, now: h.clock - DAY })[0]!.lineItems,
    });
    await poll(shop.id);
    const recovery = await h.db.recovery.findFirstOrThrow({ where: { shopId: shop.id, externalId: gid(abandoned.id) } });
    expect(recovery).toMatchObject({ email: "omar@example.com", consent: "opt_in", status: "open" });

    const campaign = await h.db.campaign.create({
      data: {
        shopId: shop.id,
        name: "Test",
        steps: { create: [1, 2].map((position) => ({ position, delayMinutes: position * 60, subject: "Still there?", bodyTemplate: "<p>Hi</p>" })) },
      },
      include: { steps: true },
    });
    const messages = await Promise.all(
      campaign.steps.map((step) =>
        h.db.message.create({
          data: {
            shopId: shop.id,
            recoveryId: recovery.id,
            campaignId: campaign.id,
            stepId: step.id,
            position: step.position,
            scheduledFor: new Date(h.clock + step.delayMinutes * 60_000),
          },
        }),
      ),
    );

    // The contact buys something else (another cart, placed later): the order carries their email, not this token.
    h.clock += 30 * 60_000;
    const other = seedCheckouts(store, 1, { seed: 8, now: h.clock, days: 0.001, firstId: 36_950_000_000_100 })[0]!;
    const order = orderCreatePayload(store, { ...other, email: customer.email, customer } as typeof other, {
      orderId: 6_100_000_000_001,
      createdAt: new Date(h.clock).toISOString(),
    });
    await deliver(domain, "/webhooks/orders/create", "orders/create", {
      ...order,
      checkout_token: null,
      cart_token: null,
      email: customer.email,
      contact_email: customer.email,
    });

    for (const m of messages) {
      expect(await h.db.message.findUniqueOrThrow({ where: { id: m.id } })).toMatchObject({ status: "cancelled", skipReason: "purchased" });
    }
    expect(await h.db.purchase.count({ where: { shopId: shop.id, email: "omar@example.com" } })).toBe(1);
    // Not credited as recovered by link: this checkout itself was not completed.
    expect(await h.db.conversion.count({ where: { recoveryId: recovery.id, method: "link" } })).toBe(0);
  });
});

describe("install and Sync now", () => {
  it("the shop-installed job creates the sync row and runs the first sync; 'Sync now' queues one run, never two", async () => {
    const { store, shop } = await h.addShop("install-flow.myshopify.com");
    seedCheckouts(store, 12, { seed: 3, now: h.clock - 60_000, days: 5 });
    const { enqueueJob } = await import("~/jobs/queue.server");
    await enqueueJob(h.db, "shop-installed", { shopId: shop.id }, { shopId: shop.id, runAt: new Date(h.clock) }); // due on the test clock, not real time
    await h.syncUntilIdle(shop.id);
    expect(await h.db.recovery.count({ where: { shopId: shop.id } })).toBe(12);
    expect(await h.db.sourceSync.findFirstOrThrow({ where: { shopId: shop.id } })).toMatchObject({ status: "healthy", backfillStatus: "done" });

    const { requestShopifySync } = await import("~/sources/shopify/sync-request.server");
    await requestShopifySync(h.db, shop.id, h.now());
    await requestShopifySync(h.db, shop.id, h.now());
    const queued = await jobTable(h.db).findMany({ where: { name: "sync-shopify-checkouts", shopId: shop.id, status: "queued" } });
    expect(queued).toHaveLength(1);
    expect(queued[0]!.runAt.getTime()).toBe(h.clock);
  });
});
