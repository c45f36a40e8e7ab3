import type { Prisma, PrismaClient, Shop } from "@prisma/client";
import { db } from "../db.server";
import { cancelShopJobs, enqueueJob } from "../jobs/queue.server";
import { logger } from "../logger.server";
import { planResume } from "../recovery/resume-after-reinstall";
import { isUniqueViolation } from "./inbound-event.server";
import { ensureSweepScheduled } from "./message-sweep.server";
import { cancelScheduledMessages } from "./message-cancel.server";

/** The shop row by id (it must exist: callers hold an authenticated shop). */
export function getShopById(db: Prisma.TransactionClient | PrismaClient, shopId: string): Promise<Shop> {
  return db.shop.findUniqueOrThrow({ where: { id: shopId } });
}

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
export async function onShopAuthenticated(domain: string, scope: string, now: Date = new Date()): Promise<Shop> {
  const existing = await db.shop.findUnique({ where: { domain } });
  if (existing && existing.uninstalledAt === null) {
    if (existing.grantedScopes === scope) return existing;
    return db.shop.update({ where: { id: existing.id }, data: { grantedScopes: scope } });
  }
  if (existing) return reinstall(existing, scope, now);
  let shop: Shop;
  try {
    shop = await db.shop.create({ data: { domain, grantedScopes: scope, installedAt: now } });
  } catch (error) {
    // Remix runs loaders in parallel: another one created the shop a moment ago. Theirs stands.
    if (!isUniqueViolation(error)) throw error;
    return db.shop.findUniqueOrThrow({ where: { domain } });
  }
  await enqueueJob(db, "shop-installed", { shopId: shop.id }, { key: `shop-installed:${shop.id}`, shopId: shop.id });
  logger.info("shop installed", { shop: domain, reinstall: false });
  return shop;
}

/**
 * A reinstall before shop/redact: the shop's data is all still here, so it resumes where it stopped. The install job
 * runs again (idempotent: the default campaign is not duplicated, the sync continues from its watermark), and emails
 * that came due while the app was uninstalled are rescheduled in the same transaction that marks the shop installed,
 * so the sweep never sees them overdue in a burst.
 */
async function reinstall(existing: Shop, scope: string, now: Date): Promise<Shop> {
  const resumed = await db.$transaction(async (tx) => {
    // Conditional: of two loaders racing here, exactly one brings the shop back.
    const { count } = await tx.shop.updateMany({
      where: { id: existing.id, uninstalledAt: { not: null } },
      data: { uninstalledAt: null, installedAt: now, grantedScopes: scope },
    });
    if (count === 0) return null;
    const result = await resumeScheduledEmails(tx, existing.id, now);
    await enqueueJob(tx, "shop-installed", { shopId: existing.id }, { key: `shop-installed:${existing.id}`, shopId: existing.id });
    return result;
  });
  if (resumed) {
    logger.info("shop installed", { shop: existing.domain, reinstall: true, uninstalledAt: existing.uninstalledAt?.toISOString(), ...resumed });
  }
  return db.shop.findUniqueOrThrow({ where: { id: existing.id } });
}

/** Applies planResume (app/recovery/resume-after-reinstall.ts) to the shop's scheduled emails, logging each decision. */
async function resumeScheduledEmails(tx: Prisma.TransactionClient, shopId: string, now: Date) {
  const overdue = await tx.message.findMany({
    where: { shopId, status: "scheduled", scheduledFor: { lt: now } },
    select: { recoveryId: true },
    distinct: ["recoveryId"],
  });
  if (overdue.length === 0) return { emailsResumed: 0, campaignsStopped: 0 };
  const pending = await tx.message.findMany({
    where: { shopId, status: "scheduled", recoveryId: { in: overdue.map((m) => m.recoveryId) } },
    select: { id: true, recoveryId: true, position: true, scheduledFor: true },
  });
  const plan = planResume(
    pending.map((m) => ({ messageId: m.id, recoveryId: m.recoveryId, position: m.position, scheduledFor: m.scheduledFor })),
    now,
  );
  const at = now;
  const hours = (ms: number) => Math.max(1, Math.round(ms / 3_600_000));
  // Raw statements: one per email (a shop back after two days may have thousands), each a cheap primary-key update.
  for (const m of plan.moved) {
    await tx.$executeRaw`UPDATE "Message" SET "scheduledFor" = ${m.scheduledFor}, "updatedAt" = ${at} WHERE "id" = ${m.messageId} AND "status" = 'scheduled'`;
  }
  const resumedRecoveries = [...new Map(plan.moved.map((m) => [m.recoveryId, m.lateByMs])).entries()];
  await tx.decisionLog.createMany({
    data: resumedRecoveries.map(([recoveryId, late]) => ({
      shopId,
      recoveryId,
      outcome: "hold",
      reason: "reinstalled",
      detail: `Reclaim was uninstalled when the next email was due; it goes out now, ${hours(late)} h late, and the later ones keep their spacing`,
      decidedAt: now,
    })),
  });
  for (const stop of plan.tooLate) {
    const detail = `Reclaim was uninstalled when the next email was due, ${hours(stop.lateByMs)} h ago: too late to resume this campaign`;
    await cancelScheduledMessages(tx, { messageIds: stop.messageIds }, "too_old", detail, now, { recordWhenNone: { shopId, recoveryIds: [stop.recoveryId] } });
  }
  if (plan.moved.length > 0) await ensureSweepScheduled(tx, now);
  return { emailsResumed: plan.moved.length, campaignsStopped: plan.tooLate.length };
}

/**
 * Deliveries already stored are still processed after an uninstall: they carry data kept until shop/redact, and
 * privacy requests, which must be honoured whether or not the app is installed.
 */
const KEEP_ON_UNINSTALL = ["process-shopify-webhook", "process-stripe-event"];

/**
 * app/uninstalled: the shop's tokens are revoked, so its sessions go and its jobs stop at once (the sync, queued sends,
 * consent mirroring…); the send sweep skips uninstalled shops, so scheduled emails wait. Personal data stays until
 * shop/redact (48 h later) so that a quick reinstall resumes where it left off.
 *
 * `triggeredAt` (X-Shopify-Triggered-At): a retried delivery of an uninstall that happened before the shop was
 * installed again is stale and changes nothing.
 */
export async function markShopUninstalled(
  domain: string,
  options: { now?: Date; triggeredAt?: Date | null } = {},
): Promise<"uninstalled" | "stale" | "unknown"> {
  const now = options.now ?? new Date();
  const shop = await db.shop.findUnique({ where: { domain }, select: { id: true, installedAt: true, uninstalledAt: true } });
  if (shop && options.triggeredAt && shop.installedAt > options.triggeredAt) {
    logger.info("app/uninstalled older than the current installation: ignored", { shop: domain, triggeredAt: options.triggeredAt.toISOString() });
    return "stale";
  }
  await db.session.deleteMany({ where: { shop: domain } });
  if (!shop) return "unknown";
  await db.$transaction(async (tx) => {
    // The first uninstall time stands (Shopify's 48 h to shop/redact count from it); a redelivery only re-cancels.
    if (!shop.uninstalledAt) await tx.shop.update({ where: { id: shop.id }, data: { uninstalledAt: now } });
    await cancelShopJobs(tx, shop.id, "app uninstalled", { except: KEEP_ON_UNINSTALL });
  });
  return "uninstalled";
}
