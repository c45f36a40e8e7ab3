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
 * unfinished job per key), so it releases the key first; the runner clears it anyway when the job finishes.
 */
export async function rescheduleShopifySync(db: PrismaClient, runningJobId: string, shopId: string, runAt: Date) {
  await db.job.updateMany({ where: { id: runningJobId, key: shopifySyncKey(shopId) }, data: { key: null } });
  return requestShopifySync(db, shopId, runAt);
}
