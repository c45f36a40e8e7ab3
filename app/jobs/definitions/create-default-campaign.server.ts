import { db } from "../../db.server";
import { ensureDefaultCampaign } from "../../models/campaign.server";
import { ensureSweepScheduled } from "../../models/message-sweep.server";

/**
 * Install step: the shop's default 3-step campaign (1 h, 24 h, 72 h; the last with a 10% single-use code), and the
 * message sweep's first run if none is queued. Idempotent, as install steps must be.
 */
export async function createDefaultCampaign(shopId: string): Promise<void> {
  await ensureDefaultCampaign(db, shopId);
  await ensureSweepScheduled(db, new Date());
}
