/**
 * The one way scheduled messages are stopped: cancelled, each with a decision-log line that says why (the recovery's
 * timeline shows it). A message already claimed is left alone: its send re-checks decide() and stops itself.
 * (A customer redaction is the exception: it also stops claimed sends and keeps no reason, since it erases the rows'
 * history; app/privacy/redact-customer.server.ts.)
 */
import type { Prisma, PrismaClient } from "@prisma/client";
import { insertRows, newId } from "../database/insert-rows.server";
import { DECISION_LOG_COLUMNS } from "./row-columns.server";

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
  return (await cancelScheduledMessagesOf(db, scope, reason, () => detail, now, options)).length;
}

/**
 * cancelScheduledMessages where each recovery's lines may say something different (`detailOf(recoveryId)`: the batch
 * of purchases stops each buyer's carts with its own sentence); returns the messages cancelled.
 */
export async function cancelScheduledMessagesOf(
  db: Db,
  scope: CancelScope,
  reason: string,
  detailOf: (recoveryId: string) => string,
  now: Date,
  options: { recordWhenNone?: { shopId: string; recoveryIds: string[] } } = {},
): Promise<{ id: string; recoveryId: string }[]> {
  // One statement picks and cancels (a message claimed meanwhile is no longer `scheduled`, so it is left alone). Plain SQL:
  // this runs for every superseded cart of a sync page (ADR 097).
  const [condition, value] =
    "recoveryId" in scope
      ? [`m."recoveryId" = $3`, scope.recoveryId]
      : "recoveryIds" in scope
        ? [`m."recoveryId" = ANY($3::text[])`, scope.recoveryIds]
        : "contactId" in scope
          ? [`m."recoveryId" IN (SELECT r."id" FROM "Recovery" r WHERE r."contactId" = $3)`, scope.contactId]
          : [`m."id" = ANY($3::text[])`, scope.messageIds];
  const pending = await db.$queryRawUnsafe<{ id: string; recoveryId: string; shopId: string }[]>(
    `UPDATE "Message" m SET "status" = 'cancelled', "skipReason" = $1, "updatedAt" = $2
     WHERE ${condition} AND m."status" = 'scheduled'
     RETURNING m."id", m."recoveryId", m."shopId"`,
    reason,
    now,
    value,
  );
  const withPending = new Set(pending.map((m) => m.recoveryId));
  const lines = [
    ...pending.map((m) => ({ shopId: m.shopId, recoveryId: m.recoveryId, messageId: m.id })),
    ...(options.recordWhenNone?.recoveryIds ?? [])
      .filter((recoveryId) => !withPending.has(recoveryId))
      .map((recoveryId) => ({ shopId: options.recordWhenNone!.shopId, recoveryId, messageId: null })),
  ].map((line) => ({ id: newId(), ...line, outcome: "cancel", reason, detail: detailOf(line.recoveryId), decidedAt: now }));
  await insertRows(db, "DecisionLog", DECISION_LOG_COLUMNS, lines);
  return pending;
}
