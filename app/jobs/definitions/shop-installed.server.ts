import { z } from "zod";
import { defineJob } from "../runner.server";

/**
 * Runs once per installation (and reinstallation): each step must be idempotent.
 * Steps are added by the capabilities that need them (shop details, default campaign, first sync).
 */
export const shopInstalled = defineJob({
  name: "shop-installed",
  payload: z.object({ shopId: z.string() }),
  async run({ payload, db }) {
    const shop = await db.shop.findUnique({ where: { id: payload.shopId } });
    if (!shop || shop.uninstalledAt) return;
    for (const step of installSteps) await step(shop.id);
  },
});

type InstallStep = (shopId: string) => Promise<void>;
const installSteps: InstallStep[] = [];
