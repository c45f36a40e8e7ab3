/**
 * shop/redact: Shopify sends it 48 hours after an uninstall; everything Reclaim holds for the shop goes, in every table.
 * A shop that has been reinstalled since is installed again and keeps its data (docs/decisions/040-privacy-requests.md).
 * Idempotent: a second delivery finds nothing left and deletes nothing more.
 */
import type { PrismaClient } from "@prisma/client";
import { cancelJobsSql } from "../jobs/queue.server";
import { shopReceivers } from "./footprint.server";

export type ShopRedaction =
  | { outcome: "kept_installed"; shopId: string; installedAt: Date }
  | {
      outcome: "deleted";
      counts: { shops: number; recoveries: number; webhookDeliveries: number; jobs: number; sessions: number; dailyStats: number };
    };

/** Recoveries (with their messages, clicks, conversions…) deleted per transaction, so other shops' writes are not held up. */
const BATCH = 1000;

export async function redactShop(db: PrismaClient, domain: string, options: { exceptJobId?: string } = {}): Promise<ShopRedaction> {
  const shop = await db.shop.findUnique({ where: { domain }, select: { id: true, domain: true, uninstalledAt: true, installedAt: true } });
  if (shop && !shop.uninstalledAt) return { outcome: "kept_installed", shopId: shop.id, installedAt: shop.installedAt };
  // Collected before anything is deleted: the Stripe connection ids are how the shop's Stripe deliveries are addressed.
  const receivers = shop ? await shopReceivers(db, shop) : [domain];

  let recoveries = 0;
  if (shop) {
    for (;;) {
      const batch = await db.recovery.findMany({ where: { shopId: shop.id }, select: { id: true }, take: BATCH });
      if (batch.length === 0) break;
      recoveries += (await db.recovery.deleteMany({ where: { shopId: shop.id, id: { in: batch.map((r) => r.id) } } })).count;
    }
  }

  return db.$transaction(async (tx) => {
    // The shop's jobs (its queues), failed ones included, and jobs for its deliveries that were stored before the shop
    // row existed (no queue). The job running this request finishes its attempt and is then removed by the engine.
    const jobs = await cancelJobsSql(
      tx,
      `id::text <> $1 AND (queue_name LIKE $2::text OR
        (queue_name IS NULL AND (payload->>'inboundEventId') IN (SELECT "id" FROM "InboundEvent" WHERE "receiver" = ANY($3::text[]))))`,
      [options.exceptJobId ?? "", shop ? `shop:${shop.id}:%` : null, receivers],
      "shop data redacted",
      { includeFailed: true },
    );
    const webhookDeliveries = (await tx.inboundEvent.deleteMany({ where: { receiver: { in: receivers } } })).count;
    const sessions = (await tx.session.deleteMany({ where: { shop: domain } })).count;
    // Cascades to campaigns, contacts, purchases, syncs, Stripe connections, privacy requests, Flow deliveries.
    const deleted = shop ? (await tx.shop.deleteMany({ where: { id: shop.id } })).count : 0;
    // DailyStat has no relation to Shop (its triggers write during cascades): deleted last, explicitly.
    const dailyStats = shop ? (await tx.dailyStat.deleteMany({ where: { shopId: shop.id } })).count : 0;
    return { outcome: "deleted" as const, counts: { shops: deleted, recoveries, webhookDeliveries, jobs, sessions, dailyStats } };
  });
}
