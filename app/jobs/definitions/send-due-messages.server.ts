import { z } from "zod";
import {
  enqueueDueSendJobs,
  ensureSweepScheduled,
  recoverInterruptedSends,
  SWEEP_BATCH,
  SWEEP_INTERVAL_MS,
  SWEEP_JOB,
  scheduleNextSweep,
} from "../../models/message.server";
import { closeUnrecovered } from "../../models/recovery-outcome.server";
import { defineJob } from "../engine.server";

/**
 * The sweep: turns due messages into one `send-message` job each, and recovers sends left half-done by a worker
 * that died. It keeps itself going: each run first queues the next one (job key `send-due-messages`), sooner when
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
    // Rounds of at most SWEEP_PER_SHOP per shop: every shop gets its share in the first round; shops with more due
    // fill what the batch has left in the next rounds (so a lone big shop is not held to one share per run).
    let room = SWEEP_BATCH;
    let round: Awaited<ReturnType<typeof enqueueDueSendJobs>>;
    do {
      round = await enqueueDueSendJobs(db, now, room);
      room -= round.enqueued;
    } while (round.more && room > 0);
    // The batch full, or a shop's share still full in the last round: more may be due, look again in a second.
    if (round.more) await ensureSweepScheduled(db, new Date(now.getTime() + 1_000));
    // Recoveries whose emails are all out and whose attribution window has passed did not come back: `lost`.
    await closeUnrecovered(db, now);
  },
});
