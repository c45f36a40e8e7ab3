import type { Shop } from "@prisma/client";
import { db } from "../db.server";
import { cancelShopJobs, enqueueJob } from "../jobs/queue.server";
import { logger } from "../logger.server";
import { isUniqueViolation } from "./inbound-event.server";

export async function findShopByDomain(domain: string): Promise<Shop | null> {
  return db.shop.findUnique({ where: { domain } });
}

export async function requireShop(domain: string): Promise<Shop> {
  const shop = await findShopByDomain(domain);
  if (!shop) throw new Response("Shop not installed", { status: 404 });
  return shop;
}

/**
 * Called after token exchange stores a session (afterAuth) and on the first authenticated request of a shop we
 * don't know yet. Creates the shop, or brings back one that was uninstalled, and queues the install work
 * (shop details, default campaign, first sync) exactly once per installation.
 */
export async function onShopAuthenticated(domain: string, scope: string): Promise<Shop> {
  const existing = await db.shop.findUnique({ where: { domain } });
  const installing = !existing || existing.uninstalledAt !== null;
  if (existing && !installing && existing.grantedScopes === scope) return existing;
  let shop: Shop;
  try {
    shop = await db.shop.upsert({
      where: { domain },
      create: { domain, grantedScopes: scope },
      update: { grantedScopes: scope, ...(installing ? { uninstalledAt: null, installedAt: new Date() } : {}) },
    });
  } catch (error) {
    // Remix runs loaders in parallel: another one created the shop a moment ago. Theirs stands.
    if (!isUniqueViolation(error)) throw error;
    return db.shop.findUniqueOrThrow({ where: { domain } });
  }
  if (installing) {
    await enqueueJob(db, "shop-installed", { shopId: shop.id }, { key: `shop-installed:${shop.id}`, shopId: shop.id });
    logger.info("shop installed", { shop: domain, reinstall: Boolean(existing) });
  }
  return shop;
}

/**
 * app/uninstalled: the shop's tokens are revoked, so its sessions go and its jobs stop at once. Personal data
 * stays until shop/redact (48 h later) so that a quick reinstall resumes where it left off.
 */
export async function markShopUninstalled(domain: string): Promise<void> {
  await db.session.deleteMany({ where: { shop: domain } });
  const shop = await db.shop.findUnique({ where: { domain }, select: { id: true } });
  if (!shop) return;
  await db.$transaction(async (tx) => {
    await tx.shop.update({ where: { id: shop.id }, data: { uninstalledAt: new Date() } });
    await cancelShopJobs(tx, shop.id, "app uninstalled");
  });
}
