import { z } from "zod";
import { defineJob } from "../engine.server";
import { refuseOtherShopsRow } from "../../security/job-scope.server";
import { REFRESH_SHOP_DETAILS_JOB, storeShopDetails } from "../../sources/shopify/shop-details.server";

/**
 * Retries the install step that reads the shop's details (name, email, currency, time zone) when Shopify did not answer
 * at install: a failure throws, so the runner tries again with backoff (DEFAULT_MAX_ATTEMPTS), while the Overview says
 * the details are not read yet. Stops by itself once read, or when the shop is gone or uninstalled.
 */
export const refreshShopDetails = defineJob({
  name: REFRESH_SHOP_DETAILS_JOB,
  payload: z.object({ shopId: z.string().min(1) }),
  async run({ payload, db, job }) {
    await refuseOtherShopsRow(job, async () => payload.shopId, `shop ${payload.shopId}`);
    const shop = await db.shop.findUnique({ where: { id: payload.shopId }, select: { uninstalledAt: true } });
    if (!shop || shop.uninstalledAt) return;
    const outcome = await storeShopDetails(db, payload.shopId);
    if (outcome && !outcome.ok) throw new Error(`shop details not read: ${outcome.problem}`);
  },
});
