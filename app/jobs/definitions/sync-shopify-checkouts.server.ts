import { z } from "zod";
import { logger } from "../../logger.server";
import { rescheduleShopifySync, SHOPIFY_SYNC_JOB } from "../../sources/shopify/sync-request.server";
import { failureDelayMs, syncShopifyCheckouts } from "../../sources/shopify/sync.server";
import { type ShopifySyncOptions } from "../../sources/shopify/sync-types";
import { defineJob } from "../engine.server";
import { refuseOtherShopsRow } from "../../security/job-scope.server";

/**
 * The per-shop Shopify poll (issue 3): one run of app/sources/shopify/sync.server.ts, then the next run queued
 * under the same job key — at the shop's interval (default 5 minutes), sooner while a backfill or a long poll has
 * work left, later after failures. The sync records Shopify's failures on the shop's SourceSync itself, so this
 * job only fails (and is retried by the runner) if even queueing the next run was impossible; otherwise the chain
 * of runs continues, so a shop's sync never stops silently.
 *
 * `options` exist for tests and the benchmark (a virtual sleep, a smaller time budget); the app uses the defaults.
 */
export function makeSyncShopifyCheckoutsJob(options: Omit<ShopifySyncOptions, "now" | "signal"> = {}) {
  return defineJob({
    name: SHOPIFY_SYNC_JOB,
    // `pollFinishedAt`: set on a run queued only for the backfill (see ShopifySyncOptions.lastPollFinishedAt).
    payload: z.object({ shopId: z.string(), pollFinishedAt: z.string().datetime().optional() }),
    async run({ payload, db, clock, job, signal }) {
      await refuseOtherShopsRow(job, async () => payload.shopId, `shop ${payload.shopId}`);
      let nextRunInMs: number;
      let pollFinishedAt: Date | null = null;
      try {
        const lastPollFinishedAt = payload.pollFinishedAt ? new Date(payload.pollFinishedAt) : null;
        const result = await syncShopifyCheckouts(db, payload.shopId, { ...options, lastPollFinishedAt, now: () => clock.now(), signal });
        if (result.outcome === "skipped") return; // uninstalled or unknown shop: the chain ends here
        nextRunInMs = result.nextRunInMs;
        if (result.more && result.outcome === "ok") pollFinishedAt = result.pollFinishedAt ?? null;
      } catch (error) {
        // Not Shopify's answer (the sync turns those into values): most likely the database. Try again soon.
        logger.error("shopify sync job crashed", { shopId: payload.shopId, error: error instanceof Error ? error.message : String(error) });
        nextRunInMs = failureDelayMs(1, options.random);
      }
      // Uninstalled (or erased) while this run was in flight: the chain ends; a reinstall starts it again.
      const shop = await db.shop.findUnique({ where: { id: payload.shopId }, select: { uninstalledAt: true } });
      if (!shop || shop.uninstalledAt) return;
      await rescheduleShopifySync(db, job.id, payload.shopId, new Date(clock.now().getTime() + nextRunInMs), pollFinishedAt);
    },
  });
}

export const syncShopifyCheckoutsJob = makeSyncShopifyCheckoutsJob();
