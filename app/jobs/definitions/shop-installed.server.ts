import { z } from "zod";
import { defineJob } from "../engine.server";
import { createDefaultCampaign } from "./create-default-campaign.server";
import { startShopifySync } from "../../sources/shopify/sync.server";
import { enqueuePixelActivation } from "../../sources/pixel/activate.server";
import { refuseOtherShopsRow } from "../../security/job-scope.server";
import { storeShopDetailsAtInstall } from "../../sources/shopify/shop-details.server";
import { db as appDb } from "../../db.server";

/**
 * Runs once per installation (and reinstallation): each step must be idempotent.
 * Steps are added by the capabilities that need them (shop details, default campaign, first sync).
 */
export const shopInstalled = defineJob({
  name: "shop-installed",
  payload: z.object({ shopId: z.string() }),
  async run({ payload, db, job, clock }) {
    await refuseOtherShopsRow(job, async () => payload.shopId, `shop ${payload.shopId}`);
    const shop = await db.shop.findUnique({ where: { id: payload.shopId } });
    if (!shop || shop.uninstalledAt) return;
    for (const step of installSteps) await step(shop.id, clock.now());
  },
});

type InstallStep = (shopId: string, now: Date) => Promise<void>;
// The first sync comes after the default campaign, so the checkouts it brings in are scheduled at once.
// The checkout pixel is activated by its own job (its retries must not repeat the other steps).
// Shop details first: the currency and time zone the rest shows and schedules with.
const installSteps: InstallStep[] = [
  // Not answered: the install carries on with the defaults and the read is retried by its own job.
  (shopId, now) => storeShopDetailsAtInstall(appDb, shopId, now),
  createDefaultCampaign,
  (shopId) => startShopifySync(shopId),
  (shopId) => enqueuePixelActivation(appDb, shopId),
];
