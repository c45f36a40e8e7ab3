import type { PrismaClient } from "@prisma/client";

/**
 * Clones one real, scheduled recovery of a shop (made through ingest, so every column is as the pipeline writes it)
 * into `count` more, each with its own contact and its own first email due at `dueAt`: a big shop's backlog in a few
 * statements instead of `count` ingests. Returns the clones' email addresses' prefix.
 */
export async function cloneDueRecoveries(db: PrismaClient, templateRecoveryId: string, count: number, dueAt: Date, prefix: string): Promise<void> {
  await db.$executeRawUnsafe(
    `INSERT INTO "Contact" ("id", "shopId", "email", "firstName", "createdAt", "updatedAt")
     SELECT $2 || '-c' || i, r."shopId", $2 || '-' || i || '@example.com', r."firstName", now(), now()
     FROM "Recovery" r, generate_series(1, $3) AS n(i) WHERE r."id" = $1`,
    templateRecoveryId,
    prefix,
    count,
  );
  await db.$executeRawUnsafe(
    `INSERT INTO "Recovery" ("id", "shopId", "source", "externalId", "checkoutToken", "name", "contactId", "email", "firstName", "consent",
       "consentEvidence", "lineItems", "totalMinor", "currency", "locale", "discountCodes", "recoveryUrl", "sourceMetadata",
       "abandonedAt", "sourceUpdatedAt", "status", "createdAt", "updatedAt")
     SELECT $2 || '-r' || i, r."shopId", r."source", $2 || '-x' || i, $2 || '-t' || i, r."name", $2 || '-c' || i, $2 || '-' || i || '@example.com',
       r."firstName", r."consent", r."consentEvidence", r."lineItems", r."totalMinor", r."currency", r."locale", r."discountCodes",
       r."recoveryUrl", r."sourceMetadata", r."abandonedAt", r."sourceUpdatedAt", r."status", now(), now()
     FROM "Recovery" r, generate_series(1, $3) AS n(i) WHERE r."id" = $1`,
    templateRecoveryId,
    prefix,
    count,
  );
  await db.$executeRawUnsafe(
    `INSERT INTO "Message" ("id", "shopId", "recoveryId", "campaignId", "stepId", "position", "status", "scheduledFor", "toEmail", "attempts", "createdAt", "updatedAt")
     SELECT $2 || '-m' || i, m."shopId", $2 || '-r' || i, m."campaignId", m."stepId", m."position", 'scheduled', $4, $2 || '-' || i || '@example.com', 0, now(), now()
     FROM "Message" m, generate_series(1, $3) AS n(i) WHERE m."recoveryId" = $1 AND m."position" = 1`,
    templateRecoveryId,
    prefix,
    count,
    dueAt,
  );
}
