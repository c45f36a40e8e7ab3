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
  // One statement for every installed shop (a LATERAL probe per shop), not one per shop: the sweep runs every 30 s and
  // its cost must not grow by a round trip per installed shop (docs/decisions/085).
  return db.$executeRawUnsafe(
    `UPDATE "Recovery" SET "status" = 'lost', "updatedAt" = $1
     WHERE "status" = 'contacting' AND "id" IN (
       SELECT x."id" FROM "Shop" s
       CROSS JOIN LATERAL (
         SELECT r."id" FROM "Recovery" r
         WHERE r."shopId" = s."id" AND r."status" = 'contacting' AND r."abandonedAt" < $1::timestamp - s."attributionWindowDays" * interval '1 day'
           AND NOT EXISTS (SELECT 1 FROM "Message" m WHERE m."recoveryId" = r."id" AND m."status" IN ('scheduled', 'claimed', 'sending'))
           AND (SELECT MAX(m."sentAt") FROM "Message" m WHERE m."recoveryId" = r."id" AND m."status" = 'sent') < $1::timestamp - s."attributionWindowDays" * interval '1 day'
         ORDER BY r."abandonedAt"
         LIMIT $2) x
       WHERE s."uninstalledAt" IS NULL)`,
    now,
    batch,
  );
}
