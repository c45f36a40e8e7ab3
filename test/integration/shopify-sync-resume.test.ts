// Issue 14, the sync's fetch side: the next page is fetched while the current one is stored (and dropped, harmlessly,
// when the run pauses, fails or is stopped), and a bulk backfill that stopped part-way resumes by asking for the rest
// of its file from the saved byte offset (Range), falling back to skipping what is stored when the server ignores Range.
// Against the fake Admin API through the app's real path; docs/decisions/095.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SyncHookInfo } from "~/sources/shopify/sync-types";
import { gid, seedCheckouts, startHarness, T0, type Harness } from "./shopify-sync-harness";

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h?.close());

const DAY = 86_400_000;

async function syncOnce(shopId: string, extra: Record<string, unknown> = {}) {
  const { syncShopifyCheckouts } = await import("~/sources/shopify/sync.server");
  const { CostPacer } = await import("~/sources/shopify/cost-pacer");
  return syncShopifyCheckouts(h.db, shopId, { now: h.now, sleep: h.sleep, random: () => 0.5, pacer: new CostPacer(), ...extra });
}

const syncRow = (shopId: string) => h.db.sourceSync.findFirstOrThrow({ where: { shopId } });
const storedIds = async (shopId: string) => (await h.db.recovery.findMany({ where: { shopId }, select: { externalId: true } })).map((r) => r.externalId).sort();
const pageRequests = (domain: string) =>
  h.fake.documents(domain).filter((d) => d.operationName === null && d.query.includes("ReclaimAbandonedCheckouts(") && d.outcome === "ok");

/** A shop polled from an old watermark (backfill done), with a small query cap so that its checkouts take many pages. */
async function polledShop(name: string, count: number) {
  const { store, shop } = await h.addShop(`${name}.myshopify.com`, { maxQueryCost: 300 });
  const all = seedCheckouts(store, count, { days: 3, seed: count + 7 });
  await h.db.sourceSync.create({ data: { shopId: shop.id, source: "shopify", watermark: new Date(T0 - 10 * DAY), backfillStatus: "done" } });
  return { store, shop, all, domain: store.shop.domain };
}

/** The real Admin client of the shop, with some answers to page requests (after the first page) replaced. */
async function graphqlWith(domain: string, replace: (variables: Record<string, unknown>) => { kind: "failed"; message: string } | null) {
  const { adminGraphqlFor } = await import("~/sources/shopify/admin-client.server");
  const real = adminGraphqlFor(domain);
  return (async (query: string, variables: Record<string, unknown>, options?: { timeoutMs?: number }) =>
    (typeof variables.query === "string" && variables.after ? replace(variables) : null) ?? real(query, variables, options)) as typeof real;
}

describe("the next page is fetched while this one is stored", () => {
  it("a run out of time after page 2 drops the page fetched ahead: the next run resumes after page 2 and reads nothing twice", async () => {
    const { shop, all, domain } = await polledShop("resume-pause", 60);
    const first = await syncOnce(shop.id, {
      maxRunMs: 60_000,
      hooks: {
        pageStored: ({ page }: SyncHookInfo) => {
          if (page === 2) h.clock += 61_000; // the run's time is up
        },
      },
    });
    expect(first).toMatchObject({ outcome: "ok", more: true, nextRunInMs: 0 });
    const saved = JSON.parse((await syncRow(shop.id)).syncRun!);
    expect(saved.pages).toBe(2);
    expect(await h.db.recovery.count({ where: { shopId: shop.id } })).toBe(first.stats.checkouts);

    const before = pageRequests(domain).length;
    const second = await syncOnce(shop.id);
    expect(second.outcome).toBe("ok");
    expect(pageRequests(domain)[before]!.variables!.after).toBe(saved.after);
    expect(second.stats.unchanged).toBe(0);
    expect(first.stats.checkouts + second.stats.checkouts).toBe(all.length);
    expect(await storedIds(shop.id)).toEqual(all.map((c) => gid(c.id)).sort());
    expect(await syncRow(shop.id)).toMatchObject({ syncRun: null, status: "healthy" });
  });

  it("the worker stopping during a page: that page is stored with its progress, the page ahead dropped, the restart goes on from there", async () => {
    const { shop, all } = await polledShop("resume-abort", 60);
    const controller = new AbortController();
    const first = await syncOnce(shop.id, {
      signal: controller.signal,
      hooks: {
        beforeCommit: ({ page }: SyncHookInfo) => {
          if (page === 3) controller.abort();
        },
      },
    });
    expect(first).toMatchObject({ outcome: "ok", more: true });
    expect(JSON.parse((await syncRow(shop.id)).syncRun!).pages).toBe(3);
    const second = await syncOnce(shop.id);
    expect(second.stats.unchanged).toBe(0);
    expect(first.stats.checkouts + second.stats.checkouts).toBe(all.length);
    expect(await storedIds(shop.id)).toEqual(all.map((c) => gid(c.id)).sort());
  });

  it("the page fetched ahead fails: the page being stored is kept with its progress, and the run fails to be retried from there", async () => {
    const { shop, all, domain } = await polledShop("resume-prefetch-fails", 60);
    let failed = 0;
    const graphql = await graphqlWith(domain, (v) => (v.after && failed++ === 0 ? { kind: "failed", message: "Internal error while reading" } : null));
    const first = await syncOnce(shop.id, { graphql });
    expect(first.outcome).toBe("failed");
    expect(failed).toBeGreaterThan(0);
    const saved = JSON.parse((await syncRow(shop.id)).syncRun!);
    expect(saved.pages).toBe(1);
    expect(await h.db.recovery.count({ where: { shopId: shop.id } })).toBe(first.stats.checkouts);
    expect(first.stats.checkouts).toBeGreaterThan(0);

    const second = await syncOnce(shop.id);
    expect(second.outcome).toBe("ok");
    expect(second.stats.unchanged).toBe(0);
    expect(await storedIds(shop.id)).toEqual(all.map((c) => gid(c.id)).sort());
  });

  it("a cursor Shopify refuses when the page ahead is fetched: the poll starts its pages again and stores every checkout once", async () => {
    const { shop, all, domain } = await polledShop("resume-bad-cursor", 60);
    let refused = 0;
    const graphql = await graphqlWith(domain, (v) =>
      v.after && refused++ === 0 ? { kind: "failed", message: "Invalid cursor for current pagination sort." } : null,
    );
    const result = await syncOnce(shop.id, { graphql });
    expect(result.outcome).toBe("ok");
    expect(refused).toBeGreaterThan(1);
    expect(result.stats.checkouts).toBe(all.length);
    expect(await storedIds(shop.id)).toEqual(all.map((c) => gid(c.id)).sort());
    expect(await syncRow(shop.id)).toMatchObject({ syncRun: null, status: "healthy" });
  });

  it("the paged backfill fetches ahead too, and a crash after a page resumes after it", async () => {
    const { store, shop } = await h.addShop("resume-paged.myshopify.com", { maxQueryCost: 300 });
    const all = seedCheckouts(store, 50, { days: 20, seed: 5, now: h.clock - 10 * 60_000 });
    const { startShopifySync } = await import("~/sources/shopify/sync.server");
    await startShopifySync(shop.id, h.db, h.now());
    const first = await syncOnce(shop.id, {
      backfillMode: "paged",
      hooks: {
        pageStored: ({ phase, page }: SyncHookInfo) => {
          if (phase === "backfill" && page === 2) throw new Error("killed");
        },
      },
    });
    expect(first.outcome).toBe("failed");
    const progress = JSON.parse((await syncRow(shop.id)).backfillCursor!);
    expect(progress).toMatchObject({ mode: "paged", done: first.stats.backfillCheckouts });
    const second = await syncOnce(shop.id, { backfillMode: "paged" });
    expect(second.outcome).toBe("ok");
    expect(second.stats.unchanged).toBe(0);
    expect(first.stats.backfillCheckouts + second.stats.backfillCheckouts).toBe(all.length);
    expect(await storedIds(shop.id)).toEqual(all.map((c) => gid(c.id)).sort());
    expect(await syncRow(shop.id)).toMatchObject({ backfillStatus: "done" });
  });
});

describe("line items beyond the page's first ten", () => {
  it("are read for several checkouts per request, over as many rounds as the largest cart needs, each cart stored whole", async () => {
    const { store, shop, domain } = await polledShop("resume-large-carts", 30);
    // Five carts of 12, 40, 61, 80 and 95 lines (Shopify allows far more than a page's ten).
    const large = store.listCheckouts().slice(0, 5);
    [12, 40, 61, 80, 95].forEach((count, k) => {
      const template = large[k]!.lineItems[0]!;
      const lineItems = Array.from({ length: count }, (_, i) => ({ ...template, id: template.id * 1000 + i, title: `${template.title} #${i}` }));
      store.upsertCheckout({ id: large[k]!.id, lineItems, updatedAt: large[k]!.updatedAt });
    });
    const all = store.listCheckouts();
    const result = await syncOnce(shop.id);
    expect(result.outcome).toBe("ok");
    const recoveries = await h.db.recovery.findMany({ where: { shopId: shop.id } });
    for (const c of all) expect(JSON.parse(recoveries.find((r) => r.externalId === gid(c.id))!.lineItems)).toHaveLength(c.lineItems.length);
    // Carts share follow-up requests (this shop's small query cap allows two per request).
    const followUps = h.fake.documents(domain).filter((d) => d.query.includes("ReclaimAbandonedCheckoutsLineItems(") && d.outcome === "ok");
    expect(result.stats.lineItemRequests).toBe(followUps.length);
    expect(followUps.some((d) => d.variables?.id1)).toBe(true);
    expect(h.fake.stats(domain).throttled).toBe(0);
  });
});

describe("a bulk backfill resumes from the saved byte offset", () => {
  /** A new install whose backfill is a bulk operation, run until its file is being streamed and `stop` stops it. */
  async function bulkShop(name: string, count: number) {
    const { store, shop } = await h.addShop(`${name}.myshopify.com`);
    // Created well before now: all in the backfill's window, none in the first poll's.
    const all = seedCheckouts(store, count, { days: 25, seed: count, now: h.clock - 10 * 60_000 });
    const { startShopifySync } = await import("~/sources/shopify/sync.server");
    await startShopifySync(shop.id, h.db, h.now());
    return { store, shop, all, domain: store.shop.domain };
  }

  /** Runs until the backfill has stored `batches` batches of `size` in a run, then stops that run (out of time). */
  async function runUntilStopped(shopId: string, size: number, batches: number) {
    let stopped = false;
    const results = [];
    for (let i = 0; i < 6 && !stopped; i++) {
      results.push(
        await syncOnce(shopId, {
          bulkBatchSize: size,
          maxRunMs: 60_000,
          hooks: {
            pageStored: ({ phase, page }: SyncHookInfo) => {
              if (phase === "backfill" && page === batches) {
                stopped = true;
                h.clock += 61_000;
              }
            },
          },
        }),
      );
    }
    expect(stopped).toBe(true);
    return results.reduce((n, r) => n + r.stats.backfillCheckouts, 0);
  }

  it("stopped mid-file, it asks for the rest from the start of the next checkout's line (206) and stores every checkout once", async () => {
    const { shop, all, domain } = await bulkShop("resume-bulk-range", 57);
    const storedFirst = await runUntilStopped(shop.id, 8, 3);
    const progress = JSON.parse((await syncRow(shop.id)).backfillCursor!);
    expect(progress).toMatchObject({ mode: "bulk", done: 24 });
    expect(storedFirst).toBe(24);
    // The saved offset is the start of a checkout's line (not one of its line items), just after the last one stored.
    const file = Buffer.from(h.fake.bulkOperations(domain)[0]!.jsonl);
    const lineAtOffset = JSON.parse(file.subarray(progress.offset).toString("utf8").split("\n")[0]!);
    expect(lineAtOffset.__parentId).toBeUndefined();
    expect(lineAtOffset.id).toBe(gid(all[24]!.id));
    expect(file[progress.offset - 1]).toBe(0x0a);

    const downloadsBefore = h.fake.bulkFileDownloads().length;
    const resumed = await syncOnce(shop.id, { bulkBatchSize: 8 });
    expect(resumed.outcome).toBe("ok");
    expect(h.fake.bulkFileDownloads().slice(downloadsBefore)).toEqual([expect.objectContaining({ range: `bytes=${progress.offset}-`, status: 206 })]);
    expect(resumed.stats.unchanged).toBe(0);
    expect(resumed.stats.backfillCheckouts).toBe(all.length - 24);
    expect(await storedIds(shop.id)).toEqual(all.map((c) => gid(c.id)).sort());
    const row = await syncRow(shop.id);
    expect(row.backfillStatus).toBe("done");
    expect(JSON.parse(row.backfillCursor!)).toMatchObject({ done: all.length, offset: file.length });
    // Each checkout's line items arrived whole across the resume.
    const recoveries = await h.db.recovery.findMany({ where: { shopId: shop.id } });
    for (const c of all) expect(JSON.parse(recoveries.find((r) => r.externalId === gid(c.id))!.lineItems)).toHaveLength(c.lineItems.length);
  });

  it("when the file's server ignores Range (200, the whole file), it skips the checkouts already stored and stores the rest once", async () => {
    const { shop, all } = await bulkShop("resume-bulk-no-range", 41);
    await runUntilStopped(shop.id, 10, 2);
    const progress = JSON.parse((await syncRow(shop.id)).backfillCursor!);
    expect(progress).toMatchObject({ mode: "bulk", done: 20 });
    h.fake.setBulkFileRanges(false);
    try {
      const downloadsBefore = h.fake.bulkFileDownloads().length;
      const resumed = await syncOnce(shop.id, { bulkBatchSize: 10 });
      expect(resumed.outcome).toBe("ok");
      expect(h.fake.bulkFileDownloads().slice(downloadsBefore)).toEqual([expect.objectContaining({ range: `bytes=${progress.offset}-`, status: 200 })]);
      expect(resumed.stats.unchanged).toBe(0);
      expect(resumed.stats.backfillCheckouts).toBe(all.length - 20);
    } finally {
      h.fake.setBulkFileRanges(true);
    }
    expect(await storedIds(shop.id)).toEqual(all.map((c) => gid(c.id)).sort());
    expect(await syncRow(shop.id)).toMatchObject({ backfillStatus: "done" });
  });

  it("a saved offset at the very end of the file (416): nothing is read again and the backfill is done", async () => {
    const { shop, all, domain } = await bulkShop("resume-bulk-at-end", 12);
    await runUntilStopped(shop.id, 5, 1);
    await syncOnce(shop.id, { bulkBatchSize: 5 });
    // As if the run had stopped after storing the last batch and before marking the backfill done.
    const row = await syncRow(shop.id);
    const size = Buffer.byteLength(h.fake.bulkOperations(domain)[0]!.jsonl);
    await h.db.sourceSync.update({
      where: { id: row.id },
      data: { backfillStatus: "running", backfillCursor: JSON.stringify({ ...JSON.parse(row.backfillCursor!), offset: size }) },
    });
    const downloadsBefore = h.fake.bulkFileDownloads().length;
    const again = await syncOnce(shop.id, { bulkBatchSize: 5 });
    expect(again.outcome).toBe("ok");
    expect(h.fake.bulkFileDownloads().slice(downloadsBefore)).toEqual([expect.objectContaining({ range: `bytes=${size}-`, status: 416 })]);
    expect(again.stats.backfillCheckouts + again.stats.unchanged).toBe(0);
    expect(await storedIds(shop.id)).toEqual(all.map((c) => gid(c.id)).sort());
    expect(await syncRow(shop.id)).toMatchObject({ backfillStatus: "done" });
  });
});
