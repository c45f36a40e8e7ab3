// The Shopify sync against the fake Admin API, through the app's real path (job runner → sync → unauthenticated.admin
// → admin.graphql → fake). Checks from issue 3: backfill then polls store new and updated checkouts exactly once; a
// crash after page k then a restart stores each checkout once and misses none; a later completedAt records one
// Conversion and stops pending messages.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StoredCheckout } from "../../app/demo/fakes/shopify-admin";
import { gid, seedCheckouts, startHarness, T0, type Harness } from "./shopify-sync-harness";
import { jobTable } from "../helpers/jobs";

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h?.close());

const DAY = 86_400_000;

async function recoveriesOf(shopId: string) {
  return h.db.recovery.findMany({ where: { shopId }, orderBy: { externalId: "asc" } });
}

/** What Reclaim must hold for a fake checkout, field by field. */
function expectStoredLike(recovery: Awaited<ReturnType<typeof recoveriesOf>>[number], checkout: StoredCheckout) {
  expect(recovery.externalId).toBe(gid(checkout.id));
  // The poll reads tokens only from the recovery URL: live shops put the cart token there (…/checkouts/ac/<cart token>/…),
  // never `token`; a checkout without a cart token has the older URL carrying its checkout token.
  expect([recovery.checkoutToken, recovery.cartToken]).toEqual(checkout.cartToken ? [null, checkout.cartToken] : [checkout.token, null]);
  expect(recovery.sourceUpdatedAt.toISOString()).toBe(new Date(checkout.updatedAt).toISOString().replace(/\.\d{3}Z$/, ".000Z"));
  expect(recovery.completedAt?.toISOString() ?? null).toBe(checkout.completedAt ? new Date(checkout.completedAt).toISOString() : null);
  expect(JSON.parse(recovery.lineItems)).toHaveLength(checkout.lineItems.length);
  expect(recovery.currency).toBe(checkout.presentmentCurrency);
  const customerEmail = checkout.customer?.email?.toLowerCase() ?? null;
  expect(recovery.email).toBe(customerEmail);
}

describe("backfill, then polls", () => {
  it("a new install backfills 30 days by bulk operation, then each poll stores new and updated checkouts exactly once", async () => {
    const { store, shop } = await h.addShop("sync-main.myshopify.com");
    // 80 checkouts over 40 days: those older than 30 days stay out of the backfill.
    const all = seedCheckouts(store, 80, { days: 40, seed: 11 });
    const { startShopifySync } = await import("~/sources/shopify/sync.server");
    await startShopifySync(shop.id, h.db, h.now()); // the install step

    await h.syncUntilIdle(shop.id);
    const inWindow = all.filter((c) => Date.parse(c.createdAt) >= T0 - 30 * DAY || Date.parse(c.updatedAt) >= T0 - 2 * 60_000);
    expect(inWindow.length).toBeGreaterThan(40);
    expect(inWindow.length).toBeLessThan(all.length);
    let stored = await recoveriesOf(shop.id);
    expect(stored.map((r) => r.externalId).sort()).toEqual(inWindow.map((c) => gid(c.id)).sort());
    for (const checkout of inWindow)
      expectStoredLike(
        stored.find((r) => r.externalId === gid(checkout.id))!,
        checkout,
      );
    expect(h.fake.bulkOperations(store.shop.domain).map((op) => op.status)).toEqual(["COMPLETED"]);
    let sync = await h.db.sourceSync.findUniqueOrThrow({ where: { shopId_source: { shopId: shop.id, source: "shopify" } } });
    expect(sync).toMatchObject({ status: "healthy", backfillStatus: "done", lastError: null, consecutiveFailures: 0, syncRun: null });
    expect(h.fake.stats(store.shop.domain).throttled).toBe(0);

    // Ten minutes later: 6 new checkouts, 3 carts edited, 2 completed.
    h.clock += 10 * 60_000;
    const fresh = seedCheckouts(store, 6, { seed: 12, now: h.clock, days: 0.005, firstId: Math.max(...all.map((c) => c.id)) + 10 });
    const open = inWindow.filter((c) => !c.completedAt);
    const edited = open.slice(0, 3).map((c) => store.touchCheckout(c.id, new Date(h.clock - 60_000), { lineItems: c.lineItems.slice(0, 1) }));
    const completed = open.slice(3, 5).map((c) => store.completeCheckout(c.id, new Date(h.clock - 30_000)));
    const untouched = stored.filter((r) => ![...edited, ...completed].some((c) => gid(c.id) === r.externalId));
    const before = new Map(untouched.map((r) => [r.id, r.updatedAt.getTime()]));

    await h.syncUntilIdle(shop.id);
    stored = await recoveriesOf(shop.id);
    expect(stored).toHaveLength(inWindow.length + fresh.length);
    for (const checkout of [...fresh, ...edited, ...completed])
      expectStoredLike(
        stored.find((r) => r.externalId === gid(checkout.id))!,
        checkout,
      );
    // Read again by the overlap or not at all, the untouched ones were not written again.
    for (const r of stored.filter((x) => before.has(x.id))) expect(r.updatedAt.getTime()).toBe(before.get(r.id));
    // One Conversion per completed checkout: completed before install, just now, or new and already completed.
    expect(await h.db.conversion.count({ where: { shopId: shop.id, matchedBy: "completedAt" } })).toBe(
      [...inWindow.filter((c) => c.completedAt), ...completed, ...fresh.filter((c) => c.completedAt)].length,
    );

    // A poll with nothing new changes nothing and moves the watermark no further than the newest change.
    h.clock += 6 * 60_000;
    const snapshot = (await recoveriesOf(shop.id)).map((r) => [r.id, r.updatedAt.getTime()]);
    await h.syncUntilIdle(shop.id);
    expect((await recoveriesOf(shop.id)).map((r) => [r.id, r.updatedAt.getTime()])).toEqual(snapshot);
    sync = await h.db.sourceSync.findUniqueOrThrow({ where: { id: sync.id } });
    expect(sync.watermark!.getTime()).toBeLessThanOrEqual(Math.max(...fresh.map((c) => Date.parse(c.updatedAt)), h.clock));
    expect(sync.status).toBe("healthy");
    // The next run is queued at the shop's interval.
    const next = await jobTable(h.db).findFirstOrThrow({ where: { name: "sync-shopify-checkouts", shopId: shop.id, status: "queued" } });
    expect(next.runAt.getTime() - h.clock).toBe(5 * 60_000);
  });

  it("reads the recent checkouts once while the bulk backfill is being built, not again on every look at the operation", async () => {
    const { store, shop } = await h.addShop("sync-bulk-looks.myshopify.com");
    seedCheckouts(store, 30, { days: 10, seed: 21 });
    const { startShopifySync } = await import("~/sources/shopify/sync.server");
    await startShopifySync(shop.id, h.db, h.now());
    await h.syncUntilIdle(shop.id);
    const named = (name: string) => h.fake.documents(store.shop.domain).filter((d) => d.query.includes(`query ${name}(`));
    // The operation was looked at until it completed (each look a run of its own), yet the poll ran once.
    expect(named("ReclaimBulkOperation").length).toBeGreaterThanOrEqual(2);
    expect(named("ReclaimAbandonedCheckouts")).toHaveLength(1);
    expect(await h.db.recovery.count({ where: { shopId: shop.id } })).toBe(30);

    // The next scheduled run (the shop's interval later) polls again.
    h.clock += 6 * 60_000;
    await h.syncUntilIdle(shop.id);
    expect(named("ReclaimAbandonedCheckouts")).toHaveLength(2);
  });

  it("falls back to paced pages when the bulk operation fails, and still backfills everything once", async () => {
    const { store, shop } = await h.addShop("sync-bulk-fails.myshopify.com");
    const all = seedCheckouts(store, 30, { days: 20, seed: 21 });
    h.fake.failNextBulkOperation(store.shop.domain, "INTERNAL_SERVER_ERROR");
    const { startShopifySync } = await import("~/sources/shopify/sync.server");
    await startShopifySync(shop.id, h.db, h.now());
    await h.syncUntilIdle(shop.id);
    expect((await recoveriesOf(shop.id)).map((r) => r.externalId).sort()).toEqual(all.map((c) => gid(c.id)).sort());
    expect(h.fake.bulkOperations(store.shop.domain).map((op) => op.status)).toEqual(["FAILED"]);
    const sync = await h.db.sourceSync.findFirstOrThrow({ where: { shopId: shop.id } });
    expect(sync).toMatchObject({ backfillStatus: "done", status: "healthy" });
    expect(JSON.parse(sync.backfillCursor!)).toMatchObject({ mode: "paged", done: all.length });
  });
});

describe("a later completedAt", () => {
  it("records one Conversion (link, via completedAt) and cancels the recovery's pending messages, however often it is read", async () => {
    const { store, shop } = await h.addShop("sync-completed.myshopify.com");
    const { startShopifySync } = await import("~/sources/shopify/sync.server");
    await startShopifySync(shop.id, h.db, h.now());
    h.clock += 60_000;
    const customer = {
      id: 990001,
      firstName: "Ana",
      lastName: "Silva",
      email: "ana@example.com",
      phone: null,
      marketingState: "SUBSCRIBED" as const,
      marketingOptInLevel: "SINGLE_OPT_IN" as const,
      marketingUpdatedAt: "2026-01-01T00:00:00Z",
      locale: "en",
      createdAt: "2025-01-01T00:00:00Z",
      updatedAt: "2025-01-01T00:00:00Z",
      tags: [],
    };
    const checkout = store.upsertCheckout({
      createdAt: new Date(h.clock).toISOString(),
      updatedAt: new Date(h.clock).toISOString(),
      customer,
      lineItems: seedCheckouts(store, 1, { seed: 5 })[0]!.lineItems,
    });
    await h.syncUntilIdle(shop.id);
    const recovery = await h.db.recovery.findFirstOrThrow({ where: { shopId: shop.id, externalId: gid(checkout.id) } });
    expect(recovery).toMatchObject({ email: "ana@example.com", consent: "opt_in", completedAt: null, status: "open" });

    // A message is waiting for this recovery.
    const campaign = await h.db.campaign.create({
      data: { shopId: shop.id, name: "Test", steps: { create: { position: 1, delayMinutes: 60, subject: "Still thinking?", bodyTemplate: "<p>Hi</p>" } } },
      include: { steps: true },
    });
    const message = await h.db.message.create({
      data: {
        shopId: shop.id,
        recoveryId: recovery.id,
        campaignId: campaign.id,
        stepId: campaign.steps[0]!.id,
        position: 1,
        scheduledFor: new Date(h.clock + 3600_000),
      },
    });

    h.clock += 10 * 60_000;
    store.completeCheckout(checkout.id, new Date(h.clock - 60_000));
    await h.syncUntilIdle(shop.id);
    h.clock += 6 * 60_000;
    store.touchCheckout(checkout.id, new Date(h.clock - 1000)); // read again by a later poll
    await h.syncUntilIdle(shop.id);

    const conversions = await h.db.conversion.findMany({ where: { recoveryId: recovery.id } });
    expect(conversions).toHaveLength(1);
    expect(conversions[0]).toMatchObject({ method: "link", matchedBy: "completedAt", source: "shopify" });
    // Completed while its email was still waiting: "Bought without an email", not recovered (docs/decisions/082).
    expect(await h.db.recovery.findUniqueOrThrow({ where: { id: recovery.id } })).toMatchObject({ status: "purchased" });
    expect(await h.db.message.findUniqueOrThrow({ where: { id: message.id } })).toMatchObject({ status: "cancelled", skipReason: "purchased" });
  });
});

describe("crash and restart", () => {
  /** A shop with a small single-query cap, so that 60 checkouts take many pages. */
  async function crashShop(name: string) {
    const { store, shop } = await h.addShop(`${name}.myshopify.com`, { maxQueryCost: 300 });
    // Polled, not backfilled: the watermark is older than every checkout.
    const all = seedCheckouts(store, 60, { days: 3, seed: 31 });
    await h.db.sourceSync.create({ data: { shopId: shop.id, source: "shopify", watermark: new Date(T0 - 10 * DAY), backfillStatus: "done" } });
    return { store, shop, all };
  }

  const pageRequests = (domain: string) =>
    h.fake.documents(domain).filter((d) => d.operationName === null && d.query.includes("ReclaimAbandonedCheckouts(") && d.outcome === "ok");

  it.each([1, 3, 7])(
    "a crash while page %i is being stored (its checkouts and its progress written, not committed) stores neither: the restart reads that page again and nothing else",
    async (k) => {
      const { store, shop, all } = await crashShop(`sync-crash-${k}`);
      const { syncShopifyCheckouts } = await import("~/sources/shopify/sync.server");
      class Crash extends Error {}
      const first = await syncShopifyCheckouts(h.db, shop.id, {
        now: h.now,
        sleep: h.sleep,
        hooks: {
          beforeCommit: ({ phase, page }) => {
            if (phase === "poll" && page === k) throw new Crash(`killed while storing page ${k}`);
          },
        },
      });
      expect(first.outcome).toBe("failed");
      const storedAfterCrash = await h.db.recovery.count({ where: { shopId: shop.id } });
      const saved = JSON.parse((await h.db.sourceSync.findFirstOrThrow({ where: { shopId: shop.id } })).syncRun ?? "null");
      expect(saved?.pages ?? 0).toBe(k - 1);

      const before = pageRequests(store.shop.domain).length;
      const second = await syncShopifyCheckouts(h.db, shop.id, { now: h.now, sleep: h.sleep });
      expect(second.outcome).toBe("ok");
      const resumed = pageRequests(store.shop.domain)[before]!;
      expect(resumed.variables!.after).toBe(saved?.after ?? null);
      // Page k was rolled back with its progress: the restart stores it (and the rest), each checkout once.
      expect(storedAfterCrash + second.stats.checkouts).toBe(all.length);
      expect(second.stats.unchanged).toBe(0);
      const stored = await h.db.recovery.findMany({ where: { shopId: shop.id } });
      expect(stored.map((r) => r.externalId).sort()).toEqual(all.map((c) => gid(c.id)).sort());
      const sync = await h.db.sourceSync.findFirstOrThrow({ where: { shopId: shop.id } });
      expect(sync).toMatchObject({ syncRun: null, status: "healthy" });
    },
  );

  it.each([1, 3, 7])("a crash just after page %i is stored: its progress was saved with it, so the restart reads none of it again", async (k) => {
    const { store, shop, all } = await crashShop(`sync-crash-after-${k}`);
    const { syncShopifyCheckouts } = await import("~/sources/shopify/sync.server");
    const first = await syncShopifyCheckouts(h.db, shop.id, {
      now: h.now,
      sleep: h.sleep,
      hooks: {
        pageStored: ({ phase, page }) => {
          if (phase === "poll" && page === k) throw new Error(`killed after page ${k}`);
        },
      },
    });
    expect(first.outcome).toBe("failed");
    // The next page was being fetched while page k was stored: at most one page ahead, then dropped.
    expect(first.stats.pages).toBeGreaterThanOrEqual(k);
    expect(first.stats.pages).toBeLessThanOrEqual(k + 1);
    const saved = JSON.parse((await h.db.sourceSync.findFirstOrThrow({ where: { shopId: shop.id } })).syncRun ?? "null");
    expect(saved.pages).toBe(k);
    expect(await h.db.recovery.count({ where: { shopId: shop.id } })).toBe(first.stats.checkouts);

    const before = pageRequests(store.shop.domain).length;
    const second = await syncShopifyCheckouts(h.db, shop.id, { now: h.now, sleep: h.sleep });
    expect(second.outcome).toBe("ok");
    expect(pageRequests(store.shop.domain)[before]!.variables!.after).toBe(saved.after);
    expect(first.stats.checkouts + second.stats.checkouts).toBe(all.length);
    expect(second.stats.unchanged).toBe(0);
    const stored = await h.db.recovery.findMany({ where: { shopId: shop.id } });
    expect(stored.map((r) => r.externalId).sort()).toEqual(all.map((c) => gid(c.id)).sort());
    expect(await h.db.sourceSync.findFirstOrThrow({ where: { shopId: shop.id } })).toMatchObject({ syncRun: null, status: "healthy" });
  });

  it("a crash in the middle of a bulk backfill resumes after the last stored batch, asking for the rest of the file only", async () => {
    const { store, shop } = await h.addShop("sync-crash-bulk.myshopify.com");
    const all = seedCheckouts(store, 45, { days: 25, seed: 41 });
    const { startShopifySync, syncShopifyCheckouts } = await import("~/sources/shopify/sync.server");
    await startShopifySync(shop.id, h.db, h.now());
    const options = { now: h.now, sleep: h.sleep, bulkBatchSize: 10 };
    // Runs start the bulk operation, look at it until it completes, then stream it: killed after batch 2.
    let killed = false;
    for (let i = 0; i < 6 && !killed; i++) {
      const r = await syncShopifyCheckouts(h.db, shop.id, {
        ...options,
        hooks: {
          pageStored: ({ phase, page }) => {
            if (phase === "backfill" && page === 2) {
              killed = true;
              throw new Error("killed");
            }
          },
        },
      });
      if (killed) expect(r.outcome).toBe("failed");
    }
    expect(killed).toBe(true);
    // Batch 2 was stored with its progress, in one transaction.
    const progress = JSON.parse((await h.db.sourceSync.findFirstOrThrow({ where: { shopId: shop.id } })).backfillCursor!);
    expect(progress).toMatchObject({ mode: "bulk", done: 20 });
    expect(progress.offset).toBeGreaterThan(0);
    expect(await h.db.recovery.count({ where: { shopId: shop.id } })).toBe(20);

    const downloadsBefore = h.fake.bulkFileDownloads().length;
    const resumed = await syncShopifyCheckouts(h.db, shop.id, options);
    expect(resumed.outcome).toBe("ok");
    expect(h.fake.bulkFileDownloads().slice(downloadsBefore)).toEqual([expect.objectContaining({ range: `bytes=${progress.offset}-`, status: 206 })]);
    // Nothing read twice, the rest stored once.
    expect(resumed.stats.unchanged).toBe(0);
    expect(resumed.stats.backfillCheckouts).toBe(all.length - 20);
    expect((await recoveriesOf(shop.id)).map((r) => r.externalId).sort()).toEqual(all.map((c) => gid(c.id)).sort());
    expect(h.fake.bulkOperations(store.shop.domain)).toHaveLength(1);
    expect(await h.db.sourceSync.findFirstOrThrow({ where: { shopId: shop.id } })).toMatchObject({ backfillStatus: "done" });
  });
});
