import type { PrismaClient } from "@prisma/client";
import { cancelScheduledMessages } from "./message-cancel.server";
import { ensureSweepScheduled } from "./message-sweep.server";

/** Merchant action: no more emails for this recovery. Returns null when the recovery is not this shop's. */
export async function stopRecovery(db: PrismaClient, shopId: string, recoveryId: string, now: Date) {
  return db.$transaction(async (tx) => {
    const recovery = await tx.recovery.findFirst({ where: { id: recoveryId, shopId }, select: { id: true } });
    if (!recovery) return null;
    const cancelled = await cancelScheduledMessages(tx, { recoveryId: recovery.id }, "stopped_by_merchant", "stopped by the merchant", now);
    return { cancelled };
  });
}

/**
 * Merchant action: bring the next scheduled email forward to now. The send job still runs every decision first
 * (consent, unsubscribes, purchases, caps), so this never bypasses the rules. Returns "none" when nothing is scheduled.
 */
export async function sendNextStepNow(db: PrismaClient, shopId: string, recoveryId: string, now: Date): Promise<"queued" | "none" | null> {
  const recovery = await db.recovery.findFirst({ where: { id: recoveryId, shopId }, select: { id: true } });
  if (!recovery) return null;
  const next = await db.message.findFirst({ where: { recoveryId, shopId, status: "scheduled" }, orderBy: { position: "asc" } });
  if (!next) return "none";
  await db.message.updateMany({ where: { id: next.id, status: "scheduled" }, data: { scheduledFor: now } });
  // Run the sweep now rather than at its next 30-second turn.
  await ensureSweepScheduled(db, now);
  return "queued";
}
