import type { Prisma, PrismaClient } from "@prisma/client";

type Db = PrismaClient | Prisma.TransactionClient;

/** Recoveries closed per shop per sweep; the rest wait for the next sweep (30 s later). */
export const CLOSE_BATCH = 200;

/**
 * Marks as `lost` the recoveries Reclaim wrote to that did not come back: status `contacting`, nothing left to send
 * (no message scheduled, claimed or being sent), and the shop's attribution window has passed since the last email.
 * A purchase through the recovery link later still turns it `recovered` (ingest does not look at the status).
 *
 * Per installed shop, the candidates come from the Recovery(shopId, status, abandonedAt) index: a recovery whose last
 * email went out a window ago was abandoned at least that long ago, so `abandonedAt < cutoff` loses nothing.
 */
export async function closeUnrecovered(db: Db, now: Date, batch = CLOSE_BATCH): Promise<number> {
  const shops = await db.shop.findMany({ where: { uninstalledAt: null }, select: { id: true, attributionWindowDays: true } });
  let closed = 0;
  for (const shop of shops) {
    const cutoff = new Date(now.getTime() - shop.attributionWindowDays * 86_400_000);
    closed += await db.$executeRawUnsafe(
      `UPDATE "Recovery" SET "status" = 'lost', "updatedAt" = $1
       WHERE "status" = 'contacting' AND "id" IN (
         SELECT r."id" FROM "Recovery" r
         WHERE r."shopId" = $2 AND r."status" = 'contacting' AND r."abandonedAt" < $3
           AND NOT EXISTS (SELECT 1 FROM "Message" m WHERE m."recoveryId" = r."id" AND m."status" IN ('scheduled', 'claimed', 'sending'))
           AND (SELECT MAX(m."sentAt") FROM "Message" m WHERE m."recoveryId" = r."id" AND m."status" = 'sent') < $3
         ORDER BY r."abandonedAt"
         LIMIT $4)`,
      now,
      shop.id,
      cutoff,
      batch,
    );
  }
  return closed;
}
