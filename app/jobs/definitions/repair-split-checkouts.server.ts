import { z } from "zod";
import { logger } from "../../logger.server";
import { repairSplitRecoveries } from "../../models/ingest-checkout.server";
import { enqueueJob } from "../queue.server";
import { defineJob } from "../engine.server";

export const REPAIR_SPLIT_JOB = "repair-split-checkouts";
/** While queued or running, one repair at a time. Finished jobs are removed, so each start queues one run: when nothing
 * is stored twice it merges nothing (one indexed query). */
export const REPAIR_SPLIT_JOB_KEY = "repair-split-checkouts:v1";

export async function ensureSplitRepairScheduled(db: Parameters<typeof enqueueJob>[0], runAt: Date): Promise<void> {
  await enqueueJob(db, REPAIR_SPLIT_JOB, {}, { key: REPAIR_SPLIT_JOB_KEY, runAt, maxAttempts: 3 });
}

/**
 * Once after the upgrade that joins the poll to webhooks by cart token (docs/decisions/074): merges every checkout the
 * older join had stored twice, in batches; a full batch queues the next one.
 */
export const repairSplitCheckouts = defineJob({
  name: REPAIR_SPLIT_JOB,
  payload: z.object({}).passthrough(),
  async run({ db, clock }) {
    const now = clock.now();
    const result = await repairSplitRecoveries(db, now);
    if (result.merged > 0) logger.info("merged checkouts stored twice", result);
    if (result.more) await enqueueJob(db, REPAIR_SPLIT_JOB, {}, { runAt: new Date(now.getTime() + 1_000), maxAttempts: 3 });
  },
});
