import type { PrismaClient } from "@prisma/client";
import { enqueueJob } from "../../jobs/queue.server";

/** The per-shop Shopify poll job. One unfinished job per shop (job key), so "Sync now" never stacks syncs. */
export const SHOPIFY_SYNC_JOB = "sync-shopify-checkouts";

export function shopifySyncKey(shopId: string) {
  return `${SHOPIFY_SYNC_JOB}:${shopId}`;
}

/** Queues a sync of the shop's abandoned checkouts (now, unless runAt is given); an already queued one is moved earlier. */
export function requestShopifySync(db: PrismaClient, shopId: string, runAt: Date = new Date()) {
  return enqueueJob(db, SHOPIFY_SYNC_JOB, { shopId }, { key: shopifySyncKey(shopId), shopId, runAt, maxAttempts: 3 });
}

/**
 * Queues the shop's next sync from inside the running sync job. The running job still holds the job key (one
 * unfinished job per key), so the next one takes it over (graphile-worker's `replace` job_key_mode: the running holder
 * keeps running without the key and is not retried). Not cron: each shop's interval changes from run to run (ADR 080).
 */
export async function rescheduleShopifySync(db: PrismaClient, _runningJobId: string, shopId: string, runAt: Date, pollFinishedAt: Date | null = null) {
  const payload = pollFinishedAt ? { shopId, pollFinishedAt: pollFinishedAt.toISOString() } : { shopId };
  return enqueueJob(db, SHOPIFY_SYNC_JOB, payload, { key: shopifySyncKey(shopId), keyMode: "replace", shopId, runAt, maxAttempts: 3 });
}
