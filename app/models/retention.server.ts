/**
 * Retention: what Reclaim stops keeping, and when (SECURITY.md › Retention). Each rule is one bounded statement, so a
 * run never holds long locks however far behind it is; the `prune-retention` job repeats it until nothing is left.
 *
 * - Webhook, Stripe event and pixel event bodies (`InboundEvent.payload`): cleared once processed and older than
 *   `bodyDays` (buyers' names and addresses are in them). The row itself stays, so a late redelivery is still
 *   recognised as a duplicate (Shopify retries for 48 hours, Stripe for 3 days), and is deleted after `rowDays`.
 *   Bodies not yet processed are never cleared: their job still needs them.
 * - Checkout-pixel rows (`PixelCheckout`: a buyer's email and cart as the pixel reported them, merged per checkout):
 *   deleted once processed and not seen for `bodyDays`, like an event body (a later event for the same checkout starts a
 *   new row, which ingest merges into the recovery as before). Rows not yet processed are kept for their job.
 * - Ended Stripe invoices and subscriptions (`StripeBillingEnd`, docs/decisions/087): remembered so that a failure event
 *   arriving after the end is stored closed; deleted after `rowDays`, when the events themselves are (Stripe stops
 *   redelivering after 3 days).
 * - Jobs (graphile-worker): succeeded ones are deleted by the engine when they finish and cancelled ones when cancelled;
 *   failed ones (shown to operators with their error) are deleted `failedJobDays` after their last attempt, with the
 *   shops' queue rows left empty. Queued and running jobs are never touched.
 */
import type { PrismaClient } from "@prisma/client";
import { deleteFailedJobs } from "../jobs/queue.server";

export interface RetentionPolicy {
  bodyDays: number;
  rowDays: number;
  failedJobDays: number;
}

export const DEFAULT_RETENTION: RetentionPolicy = { bodyDays: 3, rowDays: 30, failedJobDays: 30 };

/** What a cleared body says instead (the same marker shape as a redaction, so tools reading bodies can tell). */
export const EXPIRED_BODY = '{"expired":true}';

/** Rows changed per statement: small enough to keep each statement short on a busy table. */
export const PRUNE_BATCH = 5_000;

export interface PruneResult {
  bodiesCleared: number;
  eventsDeleted: number;
  pixelCheckoutsDeleted: number;
  billingEndsDeleted: number;
  jobsDeleted: number;
  /** True when a rule hit PRUNE_BATCH: there is more to do now. */
  more: boolean;
}

const DAY_MS = 86_400_000;

export async function pruneExpired(db: PrismaClient, now: Date, policy: RetentionPolicy = DEFAULT_RETENTION, batch = PRUNE_BATCH): Promise<PruneResult> {
  const before = (days: number) => new Date(now.getTime() - days * DAY_MS);
  const bodiesCleared = await db.$executeRawUnsafe(
    `UPDATE "InboundEvent" SET "payload" = $1
     WHERE "id" IN (SELECT "id" FROM "InboundEvent"
                    WHERE "processedAt" IS NOT NULL AND "receivedAt" < $2 AND "payload" <> $1 LIMIT $3)`,
    EXPIRED_BODY,
    before(policy.bodyDays),
    batch,
  );
  const eventsDeleted = await db.$executeRawUnsafe(
    `DELETE FROM "InboundEvent" WHERE "id" IN (SELECT "id" FROM "InboundEvent" WHERE "receivedAt" < $1 LIMIT $2)`,
    before(policy.rowDays),
    batch,
  );
  const pixelCheckoutsDeleted = await db.$executeRawUnsafe(
    `DELETE FROM "PixelCheckout" WHERE "id" IN (
       SELECT "id" FROM "PixelCheckout" WHERE "lastSeenAt" < $1 AND "processedCount" >= "eventCount" LIMIT $2)`,
    before(policy.bodyDays),
    batch,
  );
  const billingEndsDeleted = await db.$executeRawUnsafe(
    `DELETE FROM "StripeBillingEnd" WHERE "id" IN (SELECT "id" FROM "StripeBillingEnd" WHERE "createdAt" < $1 LIMIT $2)`,
    before(policy.rowDays),
    batch,
  );
  // graphile-worker deletes succeeded jobs itself, and cancelled ones are removed from the queue: failed ones are left.
  const jobsDeleted = await deleteFailedJobs(db, before(policy.failedJobDays), batch);
  return {
    bodiesCleared,
    eventsDeleted,
    pixelCheckoutsDeleted,
    billingEndsDeleted,
    jobsDeleted,
    more: bodiesCleared >= batch || eventsDeleted >= batch || pixelCheckoutsDeleted >= batch || billingEndsDeleted >= batch || jobsDeleted >= batch,
  };
}
