import { db } from "../db.server";
import { env } from "../env.server";
import { logger } from "../logger.server";
import { closeTransports } from "../email/transport.server";
import { ensureSweepScheduled, SEND_SHOP_JOB } from "../models/message-sweep.server";
import { ensurePruneScheduled } from "./definitions/prune-retention.server";
import { ensureSplitRepairScheduled } from "./definitions/repair-split-checkouts.server";
import { startWorker, type JobWorker } from "./engine.server";
import { jobDefinitions } from "./registry.server";

/** Starts the job worker (graphile-worker) for this process (web server in-process mode, or `npm run worker`). */
export async function startJobRunner(): Promise<JobWorker> {
  // The due-message sweep re-queues itself; this makes sure it exists after a fresh install or a wiped queue.
  await ensureSweepScheduled(db, new Date());
  // Retention (SECURITY.md › Retention) re-queues itself hourly; the first run comes a minute after start.
  await ensurePruneScheduled(db, new Date(Date.now() + 60_000));
  // Checkouts an older version stored twice are merged once (docs/decisions/074).
  await ensureSplitRepairScheduled(db, new Date());
  const worker = await startWorker({
    db,
    definitions: jobDefinitions,
    concurrency: env.JOB_CONCURRENCY,
    // Shops' send jobs in slots of their own (docs/decisions/085-sends-in-flight.md).
    dedicated: { names: [SEND_SHOP_JOB], concurrency: env.SEND_CONCURRENCY },
    pollIntervalMs: env.JOB_POLL_INTERVAL_MS,
    lockTimeoutMs: env.JOB_LOCK_TIMEOUT_MS,
    onEvent: (event) => {
      if (event.type === "failed") logger.error("job failed", event);
      else if (event.type === "retrying") logger.warn("job will retry", { ...event, runAt: event.runAt.toISOString() });
      else if (event.type === "reclaimed") logger.warn("unlocked jobs left by a stopped worker", event);
      else logger.debug("job done", event);
    },
  });
  logger.info("job worker started", { engine: "graphile-worker", concurrency: env.JOB_CONCURRENCY, sendConcurrency: env.SEND_CONCURRENCY });
  return {
    workerIds: worker.workerIds,
    async stop() {
      await worker.stop();
      // Shops' SMTP pools are closed once the last send job has ended.
      closeTransports();
    },
  };
}
