import { db } from "../db.server";
import { env } from "../env.server";
import { logger } from "../logger.server";
import { ensureSweepScheduled } from "../models/message.server";
import { ensurePruneScheduled } from "./definitions/prune-retention.server";
import { ensureSplitRepairScheduled } from "./definitions/repair-split-checkouts.server";
import { jobDefinitions } from "./registry.server";
import { JobRunner } from "./runner.server";

/** Starts the job runner for this process (web server in-process mode, or `npm run worker`). */
export async function startJobRunner(): Promise<JobRunner> {
  const runner = new JobRunner({
    db,
    definitions: jobDefinitions,
    concurrency: env.JOB_CONCURRENCY,
    shopConcurrency: env.JOB_SHOP_CONCURRENCY,
    pollIntervalMs: env.JOB_POLL_INTERVAL_MS,
    lockTimeoutMs: env.JOB_LOCK_TIMEOUT_MS,
    onEvent: (event) => {
      if (event.type === "failed") logger.error("job failed", event);
      else if (event.type === "retrying") logger.warn("job will retry", { ...event, runAt: event.runAt.toISOString() });
      else if (event.type === "reclaimed") logger.warn("requeued jobs left by a stopped worker", event);
      else logger.debug("job done", event);
    },
  });
  // The due-message sweep re-queues itself; this makes sure it exists after a fresh install or a wiped queue.
  await ensureSweepScheduled(db, new Date());
  // Retention (SECURITY.md › Retention) re-queues itself hourly; the first run comes a minute after start.
  await ensurePruneScheduled(db, new Date(Date.now() + 60_000));
  // Checkouts an older version stored twice are merged once (docs/decisions/074).
  await ensureSplitRepairScheduled(db, new Date());
  runner.start();
  logger.info("job runner started", { workerId: runner.workerId, concurrency: env.JOB_CONCURRENCY });
  return runner;
}
