// The sync under the failures Shopify produces, against the fake Admin API: THROTTLED, 5xx, timeouts and dropped
// connections recover; repeated failures are shown to the merchant and the sync keeps trying; missing scopes and
// protected customer data give a clear status, never a crash.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gid, seedCheckouts, startHarness, T0, type Harness } from "./shopify-sync-harness";
import { jobTable } from "../helpers/jobs";

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h?.close());

const DAY = 86_400_000;

/** A shop whose checkouts are all in the poll's window (the backfill is done). */
async function polledShop(name: string, count: number, options: Parameters<Harness["addShop"]>[1] = {}) {
  const { store, shop } = await h.addShop(`${name}.myshopify.com`, options);
  const all = seedCheckouts(store, count, { days: 2, seed: count });
  await h.db.sourceSync.create({ data: { shopId: shop.id, source: "shopify", watermark: new Date(T0 - 5 * DAY), backfillStatus: "done" } });
  return { store, shop, all, domain: store.shop.domain };
}

async function sync(shopId: string, extra: Record<string, unknown> = {}) {
  const { syncShopifyCheckouts } = await import("~/sources/shopify/sync.server");
  const { CostPacer } = await import("~/sources/shopify/cost-pacer");
  return syncShopifyCheckouts(h.db, shopId, { now: h.now, sleep: h.sleep, random: () => 0.5, pacer: new CostPacer(), ...extra });
}

const syncRow = (shopId: string) => h.db.sourceSync.findFirstOrThrow({ where: { shopId } });
const storedIds = async (shopId: string) => (await h.db.recovery.findMany({ where: { shopId }, select: { externalId: true } })).map((r) => r.externalId).sort();

describe("rate limit", () => {
  it("THROTTLED (bucket drained by someone else): waits what the restore rate needs, retries, stores everything", async () => {
    const { shop, all, domain } = await polledShop("faults-throttled", 40);
    h.fake.bucket(domain).set(0);
    const start = h.clock;
    const result = await sync(shop.id);
    expect(result.outcome).toBe("ok");
    expect(result.stats.throttled).toBe(1);
    expect(h.fake.stats(domain).throttled).toBe(1);
    // The first page asked for ≤ 250 points with the bucket empty at 100 points/s: about 2.5 s of waiting.
    expect(h.clock - start).toBeGreaterThanOrEqual(2000);
    expect(await storedIds(shop.id)).toEqual(all.map((c) => gid(c.id)).sort());
    expect(await syncRow(shop.id)).toMatchObject({ status: "healthy", lastError: null });
  });

  it("paces a small, slow bucket from the first response on: no THROTTLED at all, close to the restore rate", async () => {
    const { shop, all, domain } = await polledShop("faults-small-bucket", 120, { bucketSize: 600, restoreRate: 20 });
    const start = h.clock;
    // About two minutes of pacing: a run may stop at its time limit (dropping the page it fetched ahead) and the next
    // run, with the same process's pacer, goes on.
    const { CostPacer } = await import("~/sources/shopify/cost-pacer");
    const pacer = new CostPacer();
    let result = await sync(shop.id, { pacer });
    for (let runs = 1; result.more && runs < 5; runs++) result = await sync(shop.id, { pacer });
    expect(result.outcome).toBe("ok");
    expect(result.more).toBe(false);
    expect(h.fake.stats(domain).throttled).toBe(0);
    expect(await storedIds(shop.id)).toEqual(all.map((c) => gid(c.id)).sort());
    const { actualCost } = h.fake.stats(domain);
    const lowerBoundMs = ((actualCost - 600) / 20) * 1000;
    expect((h.clock - start) / lowerBoundMs).toBeLessThan(1.1);
  });

  it("a lower single-query cap than assumed (MAX_COST_EXCEEDED) shrinks the pages and carries on", async () => {
    const { shop, all, domain } = await polledShop("faults-max-cost", 30, { maxQueryCost: 200 });
    const { CostPacer } = await import("~/sources/shopify/cost-pacer");
    const pacer = new CostPacer();
    pacer.observe(
      { requestedQueryCost: 1, actualQueryCost: 1, throttleStatus: { maximumAvailable: 2000, currentlyAvailable: 2000, restoreRate: 100 } },
      h.clock,
    );
    const result = await sync(shop.id, { pacer });
    expect(result.outcome).toBe("ok");
    expect(h.fake.stats(domain).maxCostExceeded).toBe(1);
    expect(await storedIds(shop.id)).toEqual(all.map((c) => gid(c.id)).sort());
  });
});

describe("5xx, timeouts, dropped connections", () => {
  it.each([500, 502, 503, 504])("HTTP %i twice, then answers: retried with backoff, nothing lost", async (status) => {
    const { shop, all, domain } = await polledShop(`faults-${status}`, 25);
    h.fake.failNext({ status, count: 2, shop: domain });
    const start = h.clock;
    const result = await sync(shop.id);
    expect(result.outcome).toBe("ok");
    expect(result.stats.retries).toBe(2);
    expect(h.clock - start).toBeGreaterThanOrEqual(1000 + 2000); // 1 s, then 2 s (jitter pinned at 0.5)
    expect(await storedIds(shop.id)).toEqual(all.map((c) => gid(c.id)).sort());
    expect(await syncRow(shop.id)).toMatchObject({ status: "healthy", consecutiveFailures: 0 });
  });

  it("HTTP 429 with Retry-After waits as told", async () => {
    const { shop, all, domain } = await polledShop("faults-429", 10);
    h.fake.failNext({ status: 429, count: 1, shop: domain, retryAfter: 7 });
    const start = h.clock;
    const result = await sync(shop.id);
    expect(result.outcome).toBe("ok");
    expect(h.clock - start).toBeGreaterThanOrEqual(7000);
    expect(await storedIds(shop.id)).toEqual(all.map((c) => gid(c.id)).sort());
  });

  it("a request that hangs is abandoned after the request timeout and retried", async () => {
    const { shop, all, domain } = await polledShop("faults-timeout", 15);
    h.fake.timeoutNext({ count: 1, ms: 5_000, shop: domain });
    const result = await sync(shop.id, { requestTimeoutMs: 250 });
    expect(result.outcome).toBe("ok");
    expect(result.stats.retries).toBe(1);
    expect(await storedIds(shop.id)).toEqual(all.map((c) => gid(c.id)).sort());
  });

  it("a dropped connection is retried", async () => {
    const { shop, all, domain } = await polledShop("faults-destroy", 15);
    h.fake.timeoutNext({ count: 2, mode: "destroy", shop: domain });
    const result = await sync(shop.id);
    expect(result.outcome).toBe("ok");
    expect(result.stats.retries).toBe(2);
    expect(await storedIds(shop.id)).toEqual(all.map((c) => gid(c.id)).sort());
  });

  it("repeated failures: degraded, then unhealthy with a message for the merchant; the sync keeps its schedule and recovers", async () => {
    const { shop, all, domain } = await polledShop("faults-down", 20);
    const { startShopifySync } = await import("~/sources/shopify/sync.server");
    await startShopifySync(shop.id, h.db, h.now());
    h.fake.failNext({ status: 503, count: 10_000, shop: domain });

    const statuses: string[] = [];
    for (let run = 0; run < 3; run++) {
      expect(await h.runDueJobs({ maxAttempts: 3 })).toBeGreaterThanOrEqual(1);
      const row = await syncRow(shop.id);
      statuses.push(row.status);
      expect(row.lastError).toBe("Shopify did not answer (HTTP 503). Reclaim retries automatically.");
      // The next attempt is queued (backing off), never dropped.
      const next = await jobTable(h.db).findFirstOrThrow({ where: { name: "sync-shopify-checkouts", shopId: shop.id, status: "queued" } });
      h.clock = next.runAt.getTime();
    }
    expect(statuses).toEqual(["degraded", "degraded", "unhealthy"]);
    expect((await syncRow(shop.id)).consecutiveFailures).toBe(3);

    h.fake.clearFaults();
    await h.syncUntilIdle(shop.id);
    expect(await syncRow(shop.id)).toMatchObject({ status: "healthy", lastError: null, consecutiveFailures: 0 });
    expect(await storedIds(shop.id)).toEqual(all.map((c) => gid(c.id)).sort());
  });
});

describe("a worker that stops", () => {
  it("stopping mid-run (the runner's abort) is not a failure: progress is kept and the next run resumes at once", async () => {
    const { shop, all } = await polledShop("faults-abort", 60, { maxQueryCost: 300 });
    const controller = new AbortController();
    const result = await sync(shop.id, {
      signal: controller.signal,
      hooks: { pageStored: ({ page }: { page: number }) => (page === 2 ? controller.abort() : undefined) },
    });
    expect(result).toMatchObject({ outcome: "ok", more: true, nextRunInMs: 0 });
    const row = await syncRow(shop.id);
    expect(row).toMatchObject({ status: "healthy", consecutiveFailures: 0 });
    expect(JSON.parse(row.syncRun!)).toMatchObject({ pages: 2 });
    const rest = await sync(shop.id);
    expect(rest.outcome).toBe("ok");
    expect(result.stats.checkouts + rest.stats.checkouts).toBe(all.length);
    expect(await storedIds(shop.id)).toEqual(all.map((c) => gid(c.id)).sort());
  });
});

describe("access the merchant must grant", () => {
  it("without read_orders: unhealthy with what to do, no crash, and the next attempt queued", async () => {
    const { shop, domain } = await polledShop("faults-no-scope", 5);
    h.fake.setScopes(domain, "read_customers,write_discounts");
    const { startShopifySync } = await import("~/sources/shopify/sync.server");
    const { SYNC_MESSAGES } = await import("~/sources/shopify/sync-types");
    await startShopifySync(shop.id, h.db, h.now());
    await h.syncUntilIdle(shop.id);
    expect(await syncRow(shop.id)).toMatchObject({ status: "unhealthy", lastError: SYNC_MESSAGES.accessDenied });
    expect(await jobTable(h.db).count({ where: { name: "sync-shopify-checkouts", shopId: shop.id, status: "queued" } })).toBe(1);
    expect(await h.db.recovery.count({ where: { shopId: shop.id } })).toBe(0);
  });

  it("a shop without protected customer data access: checkouts still stored, and the clear status 'emails hidden'", async () => {
    const { store, shop } = await h.addShop("faults-protected.myshopify.com", { protectedCustomerData: false });
    const all = seedCheckouts(store, 30, { days: 10, seed: 77 });
    expect(all.filter((c) => c.customer?.email).length).toBeGreaterThan(5);
    const { startShopifySync } = await import("~/sources/shopify/sync.server");
    await startShopifySync(shop.id, h.db, h.now());
    await h.syncUntilIdle(shop.id);

    const row = await syncRow(shop.id);
    expect(row.status).toBe("degraded");
    expect(row.lastError).toMatch(/^emails hidden: protected customer data access not granted/);
    // The bulk operation was refused (ACCESS_DENIED): the backfill went on by pages.
    expect(h.fake.bulkOperations(store.shop.domain).map((op) => op.errorCode)).toEqual(["ACCESS_DENIED"]);
    expect(row.backfillStatus).toBe("done");
    const recoveries = await h.db.recovery.findMany({ where: { shopId: shop.id } });
    expect(recoveries.map((r) => r.externalId).sort()).toEqual(all.map((c) => gid(c.id)).sort());
    expect(recoveries.every((r) => r.email === null)).toBe(true);

    // A later poll that sees no customer at all keeps the status; once access is granted, it clears.
    h.clock += 6 * 60_000;
    await h.syncUntilIdle(shop.id);
    expect((await syncRow(shop.id)).lastError).toMatch(/^emails hidden/);
    h.fake.setProtectedCustomerData(store.shop.domain, { email: true, name: true, phone: true, address: true });
    const withEmail = all.find((c) => c.customer?.email)!;
    store.touchCheckout(withEmail.id, new Date(h.clock));
    h.clock += 6 * 60_000;
    await h.syncUntilIdle(shop.id);
    expect(await syncRow(shop.id)).toMatchObject({ status: "healthy", lastError: null });
    const fixed = await h.db.recovery.findFirstOrThrow({ where: { shopId: shop.id, externalId: gid(withEmail.id) } });
    expect(fixed.email).toBe(withEmail.customer!.email!.toLowerCase());
  });

  it("no offline session (uninstalled without the webhook yet): unhealthy, asks to reconnect", async () => {
    const { shop, domain } = await polledShop("faults-no-session", 3);
    await h.db.session.deleteMany({ where: { shop: domain } });
    const { SYNC_MESSAGES } = await import("~/sources/shopify/sync-types");
    const result = await sync(shop.id);
    expect(result.outcome).toBe("failed");
    expect(await syncRow(shop.id)).toMatchObject({ status: "unhealthy", lastError: SYNC_MESSAGES.unauthorized });
  });

  it("an uninstalled shop is skipped and its chain of runs ends", async () => {
    const { shop } = await polledShop("faults-uninstalled", 3);
    await h.db.shop.update({ where: { id: shop.id }, data: { uninstalledAt: h.now() } });
    const { requestShopifySync } = await import("~/sources/shopify/sync-request.server");
    await requestShopifySync(h.db, shop.id, h.now());
    await h.syncUntilIdle(shop.id);
    expect(await h.fake.stats("faults-uninstalled.myshopify.com").requests).toBe(0);
    expect(await jobTable(h.db).count({ where: { name: "sync-shopify-checkouts", shopId: shop.id, status: "queued" } })).toBe(0);
  });
});
