import type { PrismaClient, Shop } from "@prisma/client";
import { healthIssues, type HealthIssue } from "../recovery/health";

const DAY = 86_400_000;

/** The facts behind the Overview's health strip, for one shop (each query uses an index starting with shopId). */
export async function loadHealth(db: PrismaClient, shop: Shop, now: Date): Promise<HealthIssue[]> {
  const [activeCampaigns, failedLast24h, lastFailed, held, sync] = await Promise.all([
    db.campaign.count({ where: { shopId: shop.id, enabled: true, steps: { some: {} } } }),
    db.message.count({ where: { shopId: shop.id, status: "failed", updatedAt: { gte: new Date(now.getTime() - DAY) } } }),
    db.message.findFirst({
      where: { shopId: shop.id, status: "failed", updatedAt: { gte: new Date(now.getTime() - DAY) } },
      orderBy: { updatedAt: "desc" },
      select: { lastError: true },
    }),
    db.recovery.count({ where: { shopId: shop.id, shopifyEmailHeldAt: { gte: new Date(now.getTime() - 7 * DAY) } } }),
    db.sourceSync.findUnique({ where: { shopId_source: { shopId: shop.id, source: "shopify" } } }),
  ]);
  return healthIssues({
    now,
    activeCampaigns,
    failedLast24h,
    lastFailure: lastFailed?.lastError ?? null,
    shopifyEmailPolicy: shop.shopifyEmailPolicy,
    heldForShopifyEmailLast7d: held,
    shopDetailsProblem: shop.detailsProblem,
    currency: shop.currency,
    timezone: shop.timezone,
    shopifySync: sync
      ? {
          status: sync.status,
          lastSuccessAt: sync.lastSuccessAt,
          lastError: sync.lastError,
          intervalMinutes: shop.syncIntervalMinutes,
          installedAt: shop.installedAt,
        }
      : null,
  });
}
