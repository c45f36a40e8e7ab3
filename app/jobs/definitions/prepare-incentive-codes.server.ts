import { randomBytes } from "node:crypto";
import { z } from "zod";
import { defineJob } from "../engine.server";
import { createRecoveryDiscount } from "../../email/shopify-admin.server";
import { logger } from "../../logger.server";
import {
  chooseDiscountCode,
  codeCreatedForRecovery,
  enqueueIncentiveCodeJob,
  INCENTIVE_CODES_BATCH,
  INCENTIVE_CODES_JOB,
  markDiscountCreated,
  markDiscountFailed,
  messagesNeedingCodes,
} from "../../models/incentive-codes.server";
import { existingDiscountCode } from "../../models/message.server";
import { discountCodeFrom, stepIncentive } from "../../recovery/incentive";
import { refuseOtherShopsRow } from "../../security/job-scope.server";

/** Waits for the bucket this short happen in the job; longer ones hand the rest to a later run. */
const MAX_INLINE_WAIT_MS = 2_000;
/** After a failure worth retrying (Shopify throttled, 5xx, network), the rest waits this long. */
const RETRY_AFTER_MS = 30_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Creates the Shopify discount codes of a shop's incentive emails due within the hour, before their send (issue 14,
 * docs/decisions/092): paced against the shop's Admin API budget, the sync's, so the sync keeps its pace and a send
 * never waits on Shopify. It runs in the shop's send lane, so it never overlaps the shop's send job. A code that cannot
 * be created ahead is left to the send, which tries once more and otherwise sends without it (the template's
 * `{% if incentive %}` branch), saying why in the log.
 */
export const prepareIncentiveCodes = defineJob({
  name: INCENTIVE_CODES_JOB,
  payload: z.object({ shopId: z.string().min(1) }),
  async run({ payload, db, clock, job }) {
    await refuseOtherShopsRow(job, async () => payload.shopId, `shop ${payload.shopId}`);
    const shop = await db.shop.findUnique({ where: { id: payload.shopId }, select: { domain: true, currency: true, uninstalledAt: true } });
    if (!shop || shop.uninstalledAt) return;
    const due = await messagesNeedingCodes(db, payload.shopId, clock.now());
    for (const m of due) {
      const incentive = stepIncentive(m);
      if (!incentive) continue;
      const code = m.discountCode ?? (await existingDiscountCode(db, m.recoveryId)) ?? discountCodeFrom(randomBytes(8));
      if (m.discountCode !== code && !(await chooseDiscountCode(db, m.id, code))) continue; // claimed by a send meanwhile
      const createdBefore = await codeCreatedForRecovery(db, m.recoveryId, code);
      if (createdBefore) {
        await markDiscountCreated(db, m.id, code, createdBefore);
        continue;
      }
      let result = await createRecoveryDiscount(shop.domain, { code, incentive, shopCurrency: shop.currency, checkoutName: m.recoveryName, now: clock.now() });
      if (!result.ok && result.waitMs !== undefined && result.waitMs <= MAX_INLINE_WAIT_MS) {
        await sleep(result.waitMs);
        result = await createRecoveryDiscount(shop.domain, { code, incentive, shopCurrency: shop.currency, checkoutName: m.recoveryName, now: clock.now() });
      }
      if (result.ok) {
        await markDiscountCreated(db, m.id, code, clock.now());
      } else if (result.permanent) {
        logger.warn("incentive code not created ahead of the send", { shop: shop.domain, messageId: m.id, error: result.message });
        await markDiscountFailed(db, m.id, result.message);
      } else {
        // The bucket is low or Shopify is busy: the rest comes back when it has refilled (the sync keeps its share).
        await enqueueIncentiveCodeJob(db, payload.shopId, new Date(clock.now().getTime() + (result.waitMs ?? RETRY_AFTER_MS)), {
          fromRunningJob: true,
        });
        return;
      }
    }
    if (due.length >= INCENTIVE_CODES_BATCH) await enqueueIncentiveCodeJob(db, payload.shopId, clock.now(), { fromRunningJob: true });
  },
});
