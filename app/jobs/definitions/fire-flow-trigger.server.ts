import { z } from "zod";
import { FIRE_FLOW_TRIGGER_JOB } from "../../recovery/checkout-recovered";
import { fireDelivery, flowRetryDelayMs } from "../../flow/deliveries.server";
import { FLOW_MAX_ATTEMPTS } from "../../models/flow-trigger.server";
import { logger } from "../../logger.server";
import { defineJob } from "../engine.server";
import { refuseOtherShopsRow } from "../../security/job-scope.server";

/**
 * Sends one "Checkout recovered" trigger to Shopify Flow (flowTriggerReceive). Queued with the conversion, in its
 * transaction (app/models/flow-trigger.server.ts). A failure is written on the delivery for the merchant to see and retried
 * with a backoff of minutes to hours; after the last attempt the delivery is `failed` until the merchant retries it.
 */
export const fireFlowTrigger = defineJob({
  name: FIRE_FLOW_TRIGGER_JOB,
  payload: z.object({ deliveryId: z.string().min(1) }),
  backoffMs: flowRetryDelayMs,
  async run({ payload, db, clock, job }) {
    await refuseOtherShopsRow(
      job,
      async () => (await db.flowTriggerDelivery.findUnique({ where: { id: payload.deliveryId }, select: { shopId: true } }))?.shopId,
      `flow trigger delivery ${payload.deliveryId}`,
    );
    const finalAttempt = job.attempts >= (job.maxAttempts ?? FLOW_MAX_ATTEMPTS);
    const result = await fireDelivery(db, payload.deliveryId, { now: clock.now(), finalAttempt });
    if (result.kind === "stopped") logger.info("flow trigger not sent", { deliveryId: payload.deliveryId, reason: result.message });
    if (result.kind === "failed") {
      logger.warn("flow trigger not accepted", { deliveryId: payload.deliveryId, attempt: job.attempts, final: result.final, error: result.message });
      // The runner retries with flowRetryDelayMs, or marks the job failed after its last attempt.
      throw new Error(result.message);
    }
  },
});
