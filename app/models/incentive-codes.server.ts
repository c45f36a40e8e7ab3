/**
 * Incentive codes created ahead of the send (issue 14, docs/decisions/092). A Shopify recovery's incentive step needs
 * a single-use discount code from the Admin API; creating it inside the send made the send wait on Shopify and spend
 * the shop's API budget unpaced, competing with the sync. Instead, an hour before such an email is due the shop's
 * `prepare-incentive-codes` job creates the code, paced against the same budget, and records it on the message; the
 * send then only reads it. What this module owns: which messages need a code, and the three writes around creating one.
 */
import type { Prisma, PrismaClient } from "@prisma/client";
import { enqueueJob } from "../jobs/queue.server";

type Db = PrismaClient | Prisma.TransactionClient;

export const INCENTIVE_CODES_JOB = "prepare-incentive-codes";
/** How long before an incentive email is due its code is created: enough to spread a campaign's codes over the bucket. */
export const INCENTIVE_CODES_AHEAD_MS = 60 * 60 * 1000;
/** Codes one run of a shop's job creates at most before handing the rest to its next run. */
export const INCENTIVE_CODES_BATCH = 50;

/**
 * The one definition of a message needing a code: scheduled, due by `$1` (now + look-ahead), with no code created or
 * given up on, at an incentive step, of a Shopify recovery. Asked step first (docs/decisions/098): the few incentive
 * steps (of one shop's campaigns with `shopParam`), then each step's messages through the partial index
 * "Message_needing_code_idx" (stepId, scheduledFor; its predicate is the first three conditions, written in
 * prisma/migrations/20261207001900_incentive_scan_by_step), so the cost follows the incentive emails due within the
 * hour, not every due email. `select` reads `m` (Message) and `r` (Recovery) and must include m."shopId" and
 * m."scheduledFor"; each step gives at most `perStep` rows, soonest due first, as `n`.
 */
function needingCodes(select: string, { perStep, shopParam }: { perStep: string; shopParam?: string }): string {
  return `FROM "CampaignStep" s
  ${shopParam ? `JOIN "Campaign" c ON c."id" = s."campaignId" AND c."shopId" = ${shopParam}` : ""}
  CROSS JOIN LATERAL (
    SELECT ${select} FROM "Message" m JOIN "Recovery" r ON r."id" = m."recoveryId"
    WHERE m."stepId" = s."id" AND m."status" = 'scheduled' AND m."discountCreatedAt" IS NULL AND m."discountError" IS NULL
      AND m."scheduledFor" <= $1 AND r."source" = 'shopify'
    ORDER BY m."scheduledFor", m."id" LIMIT ${perStep}
  ) n
  WHERE s."incentiveType" IN ('percentage', 'fixed_amount') AND s."incentiveValue" > 0${shopParam ? ` AND n."shopId" = ${shopParam}` : ""}`;
}

/**
 * The shops with a message needing a code: one probe per incentive step that stops at the step's first such message
 * (a step's messages are its campaign's shop's). `$1` = now + look-ahead.
 */
const SHOPS_NEEDING_CODES_SQL = `SELECT DISTINCT n."shopId" ${needingCodes(`m."shopId"`, { perStep: "1" })} LIMIT 1000`;

/** Queues each shop's code job when it has incentive emails due within the hour (one queued per shop: job key). */
export async function enqueueIncentiveCodeJobs(db: Db, now: Date): Promise<number> {
  const shops = await db.$queryRawUnsafe<{ shopId: string }[]>(SHOPS_NEEDING_CODES_SQL, new Date(now.getTime() + INCENTIVE_CODES_AHEAD_MS));
  for (const { shopId } of shops) await enqueueIncentiveCodeJob(db, shopId, now);
  return shops.length;
}

export async function enqueueIncentiveCodeJob(db: Db, shopId: string, runAt: Date, options: { fromRunningJob?: boolean } = {}): Promise<void> {
  await enqueueJob(
    db,
    INCENTIVE_CODES_JOB,
    { shopId },
    { key: `incentive-codes:${shopId}`, keyMode: options.fromRunningJob ? "replace" : "dedupe", shopId, runAt, maxAttempts: 5 },
  );
}

export interface MessageNeedingCode {
  id: string;
  recoveryId: string;
  /** A code already chosen for this message (a run that stopped between choosing and creating it). */
  discountCode: string | null;
  recoveryName: string | null;
  incentiveType: string;
  incentiveValue: number;
  incentiveExpiresDays: number | null;
}

/** The shop's messages needing a code, soonest due first. */
export async function messagesNeedingCodes(db: Db, shopId: string, now: Date, limit = INCENTIVE_CODES_BATCH): Promise<MessageNeedingCode[]> {
  return db.$queryRawUnsafe<MessageNeedingCode[]>(
    `SELECT n."id", n."recoveryId", n."discountCode", n."recoveryName", s."incentiveType", s."incentiveValue", s."incentiveExpiresDays"
     ${needingCodes(`m."id", m."shopId", m."recoveryId", m."discountCode", r."name" AS "recoveryName", m."scheduledFor"`, { perStep: "$3", shopParam: "$2" })}
     ORDER BY n."scheduledFor", n."id" LIMIT $3`,
    new Date(now.getTime() + INCENTIVE_CODES_AHEAD_MS),
    shopId,
    limit,
  );
}

/**
 * When Shopify created `code` for another message of the same recovery (a recovery keeps one code across its incentive
 * steps, app/models/message.server existingDiscountCode), or null.
 */
export async function codeCreatedForRecovery(db: Db, recoveryId: string, code: string): Promise<Date | null> {
  const m = await db.message.findFirst({
    where: { recoveryId, discountCode: code, OR: [{ discountCreatedAt: { not: null } }, { status: "sent" }] },
    orderBy: { position: "asc" },
    select: { discountCreatedAt: true, sentAt: true },
  });
  return m ? (m.discountCreatedAt ?? m.sentAt) : null;
}

/**
 * Records the chosen code on the message *before* Shopify is asked to create it, so a retry asks for the same code
 * (Shopify answers TAKEN, which counts as created) instead of minting a second one. Only while the message is still
 * scheduled: a send that claimed it meanwhile owns it. Returns whether it was recorded.
 */
export async function chooseDiscountCode(db: Db, messageId: string, code: string): Promise<boolean> {
  const { count } = await db.message.updateMany({ where: { id: messageId, status: "scheduled" }, data: { discountCode: code } });
  return count === 1;
}

/** Shopify created the message's code at `at` (the email's "valid until" counts from then). */
export async function markDiscountCreated(db: Db, messageId: string, code: string, at: Date): Promise<void> {
  await db.message.updateMany({ where: { id: messageId, discountCode: code, discountCreatedAt: null }, data: { discountCreatedAt: at } });
}

/** Creating the code ahead failed for good: not tried ahead again; the send tries once more and says why if it fails. */
export async function markDiscountFailed(db: Db, messageId: string, why: string): Promise<void> {
  await db.message.updateMany({ where: { id: messageId, discountCreatedAt: null }, data: { discountError: why.slice(0, 500) } });
}
