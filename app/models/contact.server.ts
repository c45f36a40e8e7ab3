/**
 * Contact-level stops: unsubscribe and suppression apply to every recovery of the address, from either source.
 * They cancel what is scheduled at once, and decide() re-checks them right before every send, so a message already
 * being processed stops too.
 */
import type { Prisma, PrismaClient } from "@prisma/client";
import { enqueueJob } from "../jobs/queue.server";
import { cancelScheduledMessages } from "./message-cancel.server";
import { mirrorsUnsubscribes } from "./mirror-unsubscribes.server";

type Db = PrismaClient | Prisma.TransactionClient;

export interface UnsubscribeResult {
  /** False when the contact was already unsubscribed (the endpoint is idempotent). */
  changed: boolean;
  cancelled: number;
}

/**
 * Idempotent. When `mirrorToShopify` and the shop mirrors unsubscribes (its "Mirror unsubscribes to Shopify" setting
 * on and `write_customers` granted, app/models/mirror-unsubscribes.server.ts), the write-back to Shopify is queued in
 * the same transaction (job `mirror-unsubscribe-to-shopify`), so it happens even if the process stops right after.
 * Pass `mirrorToShopify: false` for an unsubscribe that came from Shopify itself.
 */
export async function unsubscribeContact(
  db: PrismaClient,
  contact: { id: string; shopId: string },
  now: Date,
  options: { via: string; mirrorToShopify: boolean },
): Promise<UnsubscribeResult> {
  return db.$transaction(async (tx) => {
    const { count } = await tx.contact.updateMany({ where: { id: contact.id, unsubscribedAt: null }, data: { unsubscribedAt: now, updatedAt: now } });
    if (count === 0) return { changed: false, cancelled: 0 };
    const cancelled = await cancelScheduledMessages(tx, { contactId: contact.id }, "unsubscribed", `Unsubscribed (${options.via})`, now);
    const shop = options.mirrorToShopify
      ? await tx.shop.findUnique({ where: { id: contact.shopId }, select: { mirrorUnsubscribes: true, grantedScopes: true, uninstalledAt: true } })
      : null;
    if (shop && mirrorsUnsubscribes(shop)) {
      await enqueueJob(tx, "mirror-unsubscribe-to-shopify", { contactId: contact.id }, { key: `mirror-unsubscribe:${contact.id}`, shopId: contact.shopId });
    }
    return { changed: true, cancelled };
  });
}

export type SuppressionReason = "hard_bounce" | "complaint" | "manual";

export async function suppressContact(tx: Db, contactId: string, reason: SuppressionReason, detail: string, now: Date): Promise<boolean> {
  const { count } = await tx.contact.updateMany({
    where: { id: contactId, suppressedAt: null },
    data: { suppressedAt: now, suppressionReason: reason, updatedAt: now },
  });
  if (count > 0) await cancelScheduledMessages(tx, { contactId }, "suppressed", detail, now);
  return count > 0;
}
