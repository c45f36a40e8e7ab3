/**
 * The one way scheduled messages are stopped: cancelled, each with a decision-log line that says why (the recovery's
 * timeline shows it). A message already claimed is left alone: its send re-checks decide() and stops itself.
 * (A customer redaction is the exception: it also stops claimed sends and keeps no reason, since it erases the rows'
 * history; app/privacy/redact-customer.server.ts.)
 */
import type { Prisma, PrismaClient } from "@prisma/client";

type Db = PrismaClient | Prisma.TransactionClient;

/** Which scheduled messages: one recovery's, several recoveries', every recovery's of a contact, or these messages. */
export type CancelScope = { recoveryId: string } | { recoveryIds: string[] } | { contactId: string } | { messageIds: string[] };

/**
 * Cancels the still-scheduled messages in `scope` with `reason` (the skip reason and decision code) and `detail` (the
 * sentence a merchant reads); returns how many. `recordWhenNone`: when nothing was pending, the recovery still gets one
 * line saying why it stopped (a superseded recovery whose emails were all sent); each of `recoveryIds` that had none.
 */
export async function cancelScheduledMessages(
  db: Db,
  scope: CancelScope,
  reason: string,
  detail: string,
  now: Date,
  options: { recordWhenNone?: { shopId: string; recoveryIds: string[] } } = {},
): Promise<number> {
  const where: Prisma.MessageWhereInput =
    "recoveryId" in scope
      ? { recoveryId: scope.recoveryId }
      : "recoveryIds" in scope
        ? { recoveryId: { in: scope.recoveryIds } }
        : "contactId" in scope
          ? { recovery: { contactId: scope.contactId } }
          : { id: { in: scope.messageIds } };
  const pending = await db.message.findMany({ where: { ...where, status: "scheduled" }, select: { id: true, recoveryId: true, shopId: true } });
  if (pending.length > 0) {
    await db.message.updateMany({
      where: { id: { in: pending.map((m) => m.id) }, status: "scheduled" },
      data: { status: "cancelled", skipReason: reason, updatedAt: now },
    });
  }
  const withPending = new Set(pending.map((m) => m.recoveryId));
  const lines = [
    ...pending.map((m) => ({ shopId: m.shopId, recoveryId: m.recoveryId, messageId: m.id, outcome: "cancel", reason, detail, decidedAt: now })),
    ...(options.recordWhenNone?.recoveryIds ?? [])
      .filter((recoveryId) => !withPending.has(recoveryId))
      .map((recoveryId) => ({ shopId: options.recordWhenNone!.shopId, recoveryId, outcome: "cancel", reason, detail, decidedAt: now })),
  ];
  if (lines.length > 0) await db.decisionLog.createMany({ data: lines });
  return pending.length;
}
