import { z } from "zod";
import { logger } from "../../logger.server";
import { ACTIVATE_WEB_PIXEL_JOB, activateAndRecord } from "../../sources/pixel/activate.server";
import { adminGraphqlFor } from "../../sources/shopify/admin-client.server";
import { defineJob } from "../engine.server";
import { refuseOtherShopsRow } from "../../security/job-scope.server";

/**
 * Turns the checkout pixel on for a shop (webPixelCreate / webPixelUpdate) and records the outcome on the Shop row for
 * Settings → Checkout pixel. Missing scopes and refused settings are final (the merchant or operator must act); when
 * Shopify does not answer, the runner retries with backoff while the page says it is retrying.
 */
export const activateWebPixelJob = defineJob({
  name: ACTIVATE_WEB_PIXEL_JOB,
  payload: z.object({ shopId: z.string().min(1) }),
  async run({ payload, db, clock, job }) {
    await refuseOtherShopsRow(job, async () => payload.shopId, `shop ${payload.shopId}`);
    const result = await activateAndRecord(db, payload.shopId, adminGraphqlFor, clock.now());
    if (!result || result.status === "active") return;
    logger.warn("checkout pixel not activated", { shopId: payload.shopId, status: result.status, error: result.error });
    if (result.retry) throw new Error(result.error ?? "pixel activation failed");
  },
});
