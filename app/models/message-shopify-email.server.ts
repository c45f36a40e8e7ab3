/** Shopify's own abandoned-checkout email (docs/decisions/075-shopify-own-email.md). */
import type { Prisma, PrismaClient } from "@prisma/client";

type Db = PrismaClient | Prisma.TransactionClient;
/** Remembers what Shopify said about its own email for a recovery's checkout (the send job reads it back). */
export async function recordShopifyEmailState(db: Db, recoveryId: string, found: { state: string; sentAt: Date | null }, now: Date): Promise<void> {
  await db.$executeRawUnsafe(
    `UPDATE "Recovery" SET "shopifyEmailState" = $1, "shopifyEmailSentAt" = $2, "shopifyEmailCheckedAt" = $3 WHERE "id" = $4`,
    found.state,
    found.sentAt,
    now,
    recoveryId,
  );
}

/** Marks a recovery as held because Shopify emailed its buyer (first time only: the overview counts it in that period). */
export async function markHeldForShopifyEmail(db: Db, recoveryId: string, now: Date): Promise<void> {
  await db.$executeRawUnsafe(`UPDATE "Recovery" SET "shopifyEmailHeldAt" = $1 WHERE "id" = $2 AND "shopifyEmailHeldAt" IS NULL`, now, recoveryId);
}

/** How many times this message already waited for the sync to bring its checkout's gid. */
export async function shopifyCheckoutHolds(db: Db, recoveryId: string, messageId: string): Promise<number> {
  // By recovery first (indexed): a recovery has a handful of decisions.
  return db.decisionLog.count({ where: { recoveryId, messageId, outcome: "hold", reason: "shopify_checkout_pending" } });
}
