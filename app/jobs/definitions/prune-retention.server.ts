import { z } from "zod";
import { env } from "../../env.server";
import { logger } from "../../logger.server";
import { pruneExpired } from "../../models/retention.server";
import { enqueueJob } from "../queue.server";
import { defineJob } from "../runner.server";

export const PRUNE_JOB = "prune-retention";
export const PRUNE_JOB_KEY = "prune-retention";
/** How often retention runs: hourly keeps every table within an hour of its policy. */
export const PRUNE_INTERVAL_MS = 60 * 60 * 1000;

/** Queues the next retention run (or moves a queued one earlier); called at runner start and by each run. */
export async function ensurePruneScheduled(db: Parameters<typeof enqueueJob>[0], runAt: Date): Promise<void> {
  await enqueueJob(db, PRUNE_JOB, {}, { key: PRUNE_JOB_KEY, runAt, maxAttempts: 3 });
}

/**
 * Retention (app/models/retention.server.ts): clears old webhook bodies, deletes old event rows and finished jobs.
 * Keeps itself going like the send sweep: each run gives up its key and queues the next one, sooner when a batch was full.
 */
export const pruneRetention = defineJob({
  name: PRUNE_JOB,
  payload: z.object({}).passthrough(),
  async run({ db, clock, job }) {
    const now = clock.now();
    await db.job.updateMany({ where: { id: job.id, key: PRUNE_JOB_KEY }, data: { key: null } });
    const result = await pruneExpired(db, now, {
      bodyDays: env.RETENTION_WEBHOOK_BODY_DAYS,
      rowDays: env.RETENTION_WEBHOOK_ROW_DAYS,
      jobDays: env.RETENTION_JOB_DAYS,
      failedJobDays: env.RETENTION_FAILED_JOB_DAYS,
    });
    await ensurePruneScheduled(db, new Date(now.getTime() + (result.more ? 1_000 : PRUNE_INTERVAL_MS)));
    if (result.bodiesCleared || result.eventsDeleted || result.pixelCheckoutsDeleted || result.jobsDeleted) logger.info("retention pruned", { ...result });
  },
});
