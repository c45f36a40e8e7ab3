/** Cancelling a recovery's scheduled messages, each with a decision-log line that says why. */
import type { Prisma } from "@prisma/client";

type Tx = Prisma.TransactionClient;
export async function cancelPendingMessages(tx: Tx, recoveryId: string, shopId: string, reason: string, detail: string, now: Date): Promise<number> {
  const pending = await tx.message.findMany({ where: { recoveryId, status: "scheduled" }, select: { id: true } });
  if (pending.length === 0) return 0;
  await tx.message.updateMany({
    where: { id: { in: pending.map((m) => m.id) }, status: "scheduled" },
    data: { status: "cancelled", skipReason: reason },
  });
  await tx.decisionLog.createMany({
    data: pending.map((m) => ({ shopId, recoveryId, messageId: m.id, outcome: "cancel", reason, detail, decidedAt: now })),
  });
  return pending.length;
}
