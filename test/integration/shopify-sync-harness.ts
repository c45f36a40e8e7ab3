// Shared set-up for test/integration/shopify-sync*.test.ts: the fake Shopify Admin API on a virtual clock, reached
// through the app's real code path (unauthenticated.admin → the stored offline session → setAbstractFetchFunc),
// and a job runner on the same clock whose sync sleeps by moving that clock (so pacing and backoff take no time).
import type { PrismaClient, Shop } from "@prisma/client";
import { expect } from "vitest";
import { offlineSession } from "../helpers/shopify";
import { generateCheckouts, startFakeShopifyAdmin, type AddShopOptions, type FakeShopifyAdmin, type ShopStore } from "../../app/demo/fakes/shopify-admin";
import { jobTable } from "../helpers/jobs";

export const T0 = Date.parse("2026-11-20T12:00:00Z");
export const OFFLINE_TOKEN = "shpat_test_offline_token";

export interface Harness {
  fake: FakeShopifyAdmin;
  db: PrismaClient;
  /** virtual time, ms */
  clock: number;
  now(): Date;
  sleep(ms: number): Promise<void>;
  /** Adds a shop to the fake and to the app (offline session + Shop row installed now). */
  addShop(domain: string, options?: Partial<AddShopOptions>): Promise<{ store: ShopStore; shop: Shop }>;
  /** Runs the app's job runner (the real registry, sync sleeping on the virtual clock) until the shop's sync is caught up. */
  syncUntilIdle(shopId: string, syncOptions?: Record<string, unknown>): Promise<number>;
  /** Runs the jobs due now, once (no waiting for later runs). */
  runDueJobs(syncOptions?: Record<string, unknown>): Promise<number>;
  close(): Promise<void>;
}

/**
 * `start`: the virtual clock's first value (default T0). Tests that also go through the app's routes start it at the
 * real time, because routes queue their jobs at the real time and the runner must see them as due.
 */
export async function startHarness(start: number = T0): Promise<Harness> {
  let clock = start;
  const fake = await startFakeShopifyAdmin({ now: () => clock });
  const { db } = await import("~/db.server");
  const { sessionStorage } = await import("~/shopify.server");
  const { setAbstractFetchFunc } = await import("@shopify/shopify-api/runtime");
  // After shopify.server is imported: the library's node adapter installs the real fetch at import time.
  setAbstractFetchFunc(fake.fetchFor());
  const { JobRunner } = await import("../helpers/jobs");
  const { jobDefinitions } = await import("~/jobs/registry.server");
  const { makeSyncShopifyCheckoutsJob } = await import("~/jobs/definitions/sync-shopify-checkouts.server");
  const { SHOPIFY_SYNC_JOB } = await import("~/sources/shopify/sync-request.server");

  const runnerWith = (syncOptions: Record<string, unknown>) => {
    const definitions = [
      ...jobDefinitions.filter((d) => d.name !== SHOPIFY_SYNC_JOB),
      makeSyncShopifyCheckoutsJob({ sleep: (ms: number) => h.sleep(ms), random: () => 0.5, ...syncOptions }),
    ];
    return new JobRunner({ db, definitions, clock: { now: () => new Date(clock) }, random: () => 0.5 });
  };

  const h: Harness = {
    fake,
    db,
    get clock() {
      return clock;
    },
    set clock(value: number) {
      clock = value;
    },
    now: () => new Date(clock),
    sleep: async (ms: number) => {
      clock += Math.max(0, ms);
    },
    async addShop(domain, options = {}) {
      const store = fake.addShop({ domain, accessToken: OFFLINE_TOKEN, ...options });
      await sessionStorage.storeSession(offlineSession(domain));
      const shop = await db.shop.create({ data: { domain, installedAt: new Date(clock) } });
      return { store, shop };
    },
    async runDueJobs(syncOptions = {}) {
      return runnerWith(syncOptions).drain();
    },
    async syncUntilIdle(shopId, syncOptions = {}) {
      const runner = runnerWith(syncOptions);
      const shop = await db.shop.findUniqueOrThrow({ where: { id: shopId } });
      let runs = 0;
      for (let round = 0; round < 500; round++) {
        runs += await runner.drain();
        const next = await jobTable(db).findFirst({ where: { name: SHOPIFY_SYNC_JOB, shopId, status: "queued" }, orderBy: { runAt: "asc" } });
        // Caught up when the next run is the periodic one (or none: uninstalled).
        if (!next || next.runAt.getTime() - clock >= shop.syncIntervalMinutes * 60_000) break;
        clock = Math.max(clock, next.runAt.getTime());
      }
      expect(await jobTable(db).count({ where: { name: SHOPIFY_SYNC_JOB, status: "failed" } })).toBe(0);
      return runs;
    },
    close: () => fake.close(),
  };
  return h;
}

/** Realistic checkouts for a shop, all created in the `days` before `now` (default: the harness's T0). */
export function seedCheckouts(store: ShopStore, count: number, options: { seed?: number; now?: number; days?: number; firstId?: number } = {}) {
  const checkouts = generateCheckouts({
    shop: store.shop,
    count,
    seed: options.seed ?? 1,
    now: options.now ?? T0,
    days: options.days ?? 30,
    firstId: options.firstId,
  });
  store.upsertCheckouts(checkouts);
  return checkouts.map((c) => store.getCheckout(c.id!)!);
}

export const gid = (id: number) => `gid://shopify/AbandonedCheckout/${id}`;
