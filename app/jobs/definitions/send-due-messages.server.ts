import { z } from "zod";
import {
  enqueueDueSendJobs,
  ensureSweepScheduled,
  recoverInterruptedSends,
  SWEEP_BATCH,
  SWEEP_INTERVAL_MS,
  SWEEP_JOB,
  scheduleNextSweep,
} from "../../models/message-sweep.server";
import { enqueueIncentiveCodeJobs } from "../../models/incentive-codes.server";
import { closeUnrecovered } from "../../models/recovery-outcome.server";
import { defineJob } from "../engine.server";

/**
 * The sweep: queues one send job per shop with due emails (`send-shop-messages`, which sends them in batches), and
 * recovers sends left half-done by a worker that died. It keeps itself going: each run first queues the next one (job key `send-due-messages`), sooner when
 * it filled a whole batch. Ingest and holds pull the next run earlier when something becomes due sooner.
 */
export const sendDueMessages = defineJob({
  name: SWEEP_JOB,
  payload: z.object({}).passthrough(),
  async run({ db, clock }) {
    const now = clock.now();
    // Hand the key to the next run now (job_key_mode `replace`); if this run fails, the next one still comes.
    await scheduleNextSweep(db, new Date(now.getTime() + SWEEP_INTERVAL_MS));
    await recoverInterruptedSends(db, now);
    // One job per shop with due emails (a shop's job hands its own rest on; ADR 085). A full batch of shops: look again
    // in a second.
    const round = await enqueueDueSendJobs(db, now, SWEEP_BATCH);
    if (round.more) await ensureSweepScheduled(db, new Date(now.getTime() + 1_000));
    // Incentive emails due within the hour get their Shopify discount codes now, paced (docs/decisions/092).
    await enqueueIncentiveCodeJobs(db, now);
    // Recoveries whose emails are all out and whose attribution window has passed did not come back: `lost`.
    await closeUnrecovered(db, now);
  },
});
