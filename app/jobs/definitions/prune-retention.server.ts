import { z } from "zod";
import { env } from "../../env.server";
import { logger } from "../../logger.server";
import { pruneExpired } from "../../models/retention.server";
import { enqueueJob } from "../queue.server";
import { defineJob } from "../engine.server";

export const PRUNE_JOB = "prune-retention";
export const PRUNE_JOB_KEY = "prune-retention";
/** How often retention runs: hourly keeps every table within an hour of its policy. */
export const PRUNE_INTERVAL_MS = 60 * 60 * 1000;

/** Queues the next retention run (or moves a queued one earlier); called at runner start and by each run. */
export async function ensurePruneScheduled(db: Parameters<typeof enqueueJob>[0], runAt: Date): Promise<void> {
  await enqueueJob(db, PRUNE_JOB, {}, { key: PRUNE_JOB_KEY, runAt, maxAttempts: 3 });
}

/** From inside the running prune: the next run takes the key over (graphile-worker's `replace` job_key_mode). */
async function scheduleNextPrune(db: Parameters<typeof enqueueJob>[0], runAt: Date): Promise<void> {
  await enqueueJob(db, PRUNE_JOB, {}, { key: PRUNE_JOB_KEY, keyMode: "replace", runAt, maxAttempts: 3 });
}

/**
 * Retention (app/models/retention.server.ts): clears old webhook bodies, deletes old event rows and failed jobs
 * (graphile-worker deletes succeeded ones itself). Keeps itself going like the send sweep: each run hands its key to the
 * next one (job key, not cron: the next run comes a second later when a batch was full; ADR 080).
 */
export const pruneRetention = defineJob({
  name: PRUNE_JOB,
  payload: z.object({}).passthrough(),
  async run({ db, clock }) {
    const now = clock.now();
    const result = await pruneExpired(db, now, {
      bodyDays: env.RETENTION_WEBHOOK_BODY_DAYS,
      rowDays: env.RETENTION_WEBHOOK_ROW_DAYS,
      failedJobDays: env.RETENTION_FAILED_JOB_DAYS,
    });
    await scheduleNextPrune(db, new Date(now.getTime() + (result.more ? 1_000 : PRUNE_INTERVAL_MS)));
    if (result.bodiesCleared || result.eventsDeleted || result.pixelCheckoutsDeleted || result.jobsDeleted) logger.info("retention pruned", { ...result });
  },
});
