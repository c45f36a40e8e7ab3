/**
 * The sweep: one send job per shop with due emails (docs/decisions/085-sends-in-flight.md), and putting back the
 * sends a dead worker left behind (docs/decisions/020-message-send-at-most-once.md).
 */
import type { Prisma, PrismaClient } from "@prisma/client";
import { addJobsSql, enqueueJob, unfinishedJobWithKeySql } from "../jobs/queue.server";

type Db = PrismaClient | Prisma.TransactionClient;

/** One job per shop sends that shop's due emails in batches (docs/decisions/085-sends-in-flight.md). */
export const SEND_SHOP_JOB = "send-shop-messages";
export const sendShopJobKey = (shopId: string) => `${SEND_SHOP_JOB}:${shopId}`;
export const SWEEP_JOB = "send-due-messages";
export const SWEEP_JOB_KEY = "send-due-messages";
/** Most shops' send jobs one sweep enqueues; a full batch makes the next sweep run at once. */
export const SWEEP_BATCH = 500;
/** How often the sweep runs when nothing is pending. */
export const SWEEP_INTERVAL_MS = 30_000;
/** A claim older than this was left by a worker that died (sends take seconds; SMTP timeouts are ≤ 60 s). */
export const STALE_CLAIM_MS = 10 * 60_000;
export const MAX_SEND_ATTEMPTS = 5;
export const SEND_JOB_MAX_ATTEMPTS = 5;

/**
 * One statement: enqueue one send job per installed shop that has due messages and no send job queued or running yet
 * (the job key `send-shop-messages:<shopId>`, graphile-worker's add_jobs). The job sends that shop's due emails in
 * batches (app/jobs/definitions/send-message.server.ts, docs/decisions/085); the queue holds one row per shop, not one
 * per email. Each shop is one index probe of `Message(shopId, status, scheduledFor)`, whatever its backlog; shops are
 * taken oldest due email first, `$2` at most per run.
 */
export const DUE_SENDS_SQL = `SELECT '${SEND_SHOP_JOB}' AS name, json_build_object('shopId', s."id") AS payload, s."id" AS shop_id,
  d."scheduledFor" AT TIME ZONE 'UTC' AS run_at, ${SEND_JOB_MAX_ATTEMPTS} AS max_attempts, '${SEND_SHOP_JOB}:' || s."id" AS job_key
-- An uninstalled shop's emails wait (a reinstall resumes them: app/models/shop.server.ts).
FROM "Shop" s
CROSS JOIN LATERAL (
  SELECT m."scheduledFor" FROM "Message" m
  WHERE m."shopId" = s."id" AND m."status" = 'scheduled' AND m."scheduledFor" <= $1
  ORDER BY m."scheduledFor"
  LIMIT 1
) d
WHERE s."uninstalledAt" IS NULL AND NOT ${unfinishedJobWithKeySql(`'${SEND_SHOP_JOB}:' || s."id"`)}
ORDER BY d."scheduledFor"
LIMIT $2`;

/** The sweep's statement: a send job added for each shop with due emails that has none; returns how many. */
export const ENQUEUE_DUE_SQL = `WITH due AS MATERIALIZED (${DUE_SENDS_SQL}),
  -- Two sweeps at once (two workers) may pick the same shop: the job key keeps one job.
  added AS (${addJobsSql("SELECT * FROM due")})
SELECT (SELECT count(*) FROM due)::int AS "enqueued", (SELECT "added" FROM added) AS "added"`;

export interface SweepOutcome {
  /** Shops' send jobs queued by this run. */
  enqueued: number;
  /** The batch of shops was full: more shops may have due emails, so the next run should come at once. */
  more: boolean;
}

export async function enqueueDueSendJobs(db: Db, now: Date, limit = SWEEP_BATCH): Promise<SweepOutcome> {
  const [row] = await db.$queryRawUnsafe<{ enqueued: number }[]>(ENQUEUE_DUE_SQL, now, limit);
  const enqueued = row?.enqueued ?? 0;
  return { enqueued, more: enqueued >= limit };
}

/** Queues the shop's send job to run at once (its running job, out of batch room or time, hands the rest on). */
export async function enqueueShopSend(db: Db, shopId: string, runAt: Date, options: { fromRunningJob?: boolean } = {}): Promise<void> {
  await enqueueJob(
    db,
    SEND_SHOP_JOB,
    { shopId },
    { key: sendShopJobKey(shopId), keyMode: options.fromRunningJob ? "replace" : "dedupe", shopId, runAt, maxAttempts: SEND_JOB_MAX_ATTEMPTS },
  );
}

/** Makes sure a sweep is queued no later than `runAt` (job key dedupe: a later one is moved earlier). */
export async function ensureSweepScheduled(db: Db, runAt: Date): Promise<void> {
  // One statement, safe inside a caller's transaction and against another writer doing the same. A running sweep has
  // already handed its key to the next run (scheduleNextSweep), which this moves earlier if need be.
  await enqueueJob(db, SWEEP_JOB, {}, { key: SWEEP_JOB_KEY, runAt, maxAttempts: 3 });
}

/** From inside the running sweep: queues the next run, which takes the key over (job_key_mode `replace`). */
export async function scheduleNextSweep(db: Db, runAt: Date): Promise<void> {
  await enqueueJob(db, SWEEP_JOB, {}, { key: SWEEP_JOB_KEY, keyMode: "replace", runAt, maxAttempts: 3 });
}

export interface InterruptedSends {
  /** Claimed but never handed over: back to scheduled, will be retried. */
  requeued: number;
  /** Handed to the mail server, outcome unknown: failed, never resent. */
  markedUnknown: number;
}

export async function recoverInterruptedSends(db: Db, now: Date, staleMs = STALE_CLAIM_MS): Promise<InterruptedSends> {
  const before = new Date(now.getTime() - staleMs);
  const at = now;
  const requeued = await db.$executeRawUnsafe(
    `UPDATE "Message" SET "status" = 'scheduled', "claimedBy" = NULL, "lastError" = $1, "updatedAt" = $2 WHERE "status" = 'claimed' AND "claimedAt" < $3`,
    "The worker stopped before handing this email over; it will be retried",
    at,
    before,
  );
  const unknown = (await db.$queryRawUnsafe(`SELECT "id", "shopId", "recoveryId" FROM "Message" WHERE "status" = 'sending' AND "claimedAt" < $1`, before)) as {
    id: string;
    shopId: string;
    recoveryId: string;
  }[];
  if (unknown.length > 0) {
    const detail =
      "The worker stopped while handing this email to the mail server: it may or may not have been delivered, and it is not resent so nobody gets it twice";
    await db.message.updateMany({
      where: { id: { in: unknown.map((m) => m.id) }, status: "sending" },
      data: { status: "failed", lastError: detail, updatedAt: now },
    });
    await db.decisionLog.createMany({
      data: unknown.map((m) => ({
        shopId: m.shopId,
        recoveryId: m.recoveryId,
        messageId: m.id,
        outcome: "fail",
        reason: "delivery_unknown",
        detail,
        decidedAt: now,
      })),
    });
  }
  return { requeued, markedUnknown: unknown.length };
}
