/**
 * Messages: scheduling, the due-message sweep, and the state machine that makes a send happen at most once per
 * (recovery, step) across crashes, retries and racing workers (docs/decisions/020-message-send-at-most-once.md).
 *
 *   scheduled ──claim──> claimed ──handoff──> sending ──> sent
 *       ^                  │  │                  │
 *       │  hold / release  │  └─> skipped         ├─> failed (refused, or outcome unknown)
 *       └──────────────────┘                      └─> scheduled (server said "try later": nothing was delivered)
 *
 * - claim: `UPDATE … WHERE id = ? AND status = 'scheduled'` with a fresh claim token; only one worker wins.
 * - handoff: `claimed → sending`, conditional on our claim token and (atomically) on the contact's frequency cap,
 *   written *before* the email is given to the mail server.
 * - A crash leaves `claimed` (nothing was handed over: the sweep puts it back to `scheduled` and it is retried) or
 *   `sending` (it may have been delivered: the sweep marks it `failed`, "delivery unknown", and never resends).
 */
import { randomUUID } from "node:crypto";
import type { Prisma, PrismaClient, Recovery, Shop } from "@prisma/client";
import { addJobsSql, enqueueJob, unfinishedJobWithKeySql } from "../jobs/queue.server";
import { chooseCampaign, planMessages } from "../recovery/schedule";
import { campaignsForScheduling } from "./campaign.server";

type Db = PrismaClient | Prisma.TransactionClient;

/** One job per shop sends that shop's due emails in batches (docs/decisions/085-sends-in-flight.md). */
export const SEND_SHOP_JOB = "send-shop-messages";
export const sendShopJobKey = (shopId: string) => `${SEND_SHOP_JOB}:${shopId}`;
export const SWEEP_JOB = "send-due-messages";
export const SWEEP_JOB_KEY = "send-due-messages";
/** Most shops' send jobs one sweep enqueues; a full batch makes the next sweep run at once. */
export const SWEEP_BATCH = 500;
/** How often the sweep runs when nothing is pending. */
export const SWEEP_INTERVAL_MS = 30_000;
/** A claim older than this was left by a worker that died (sends take seconds; SMTP timeouts are ≤ 60 s). */
export const STALE_CLAIM_MS = 10 * 60_000;
export const MAX_SEND_ATTEMPTS = 5;
export const SEND_JOB_MAX_ATTEMPTS = 5;

// ---------------------------------------------------------------------------------------------------------------
// Scheduling (called by ingest, in the ingest transaction)

export type ScheduleOutcome =
  | { kind: "scheduled"; messages: number; firstDueAt: Date }
  | { kind: "superseded"; byRecoveryId: string }
  | { kind: "none"; reason: string }
  | { kind: "not_applicable" };

/**
 * Schedules a recovery's campaign the first time it is contactable (new, or it just gained an email/link), and makes
 * the contact's newest recovery supersede the older ones (either source). Order-independent: an older checkout
 * arriving after a newer one is superseded at once.
 */
export async function scheduleRecovery(tx: Prisma.TransactionClient, recovery: Recovery, now: Date): Promise<ScheduleOutcome> {
  // A pixel-only recovery waits for Shopify to confirm it (docs/decisions/050): the campaign starts at confirmation.
  if (recovery.notContactableReason || !recovery.contactId || recovery.completedAt || recovery.status !== "open" || recovery.pixelOnly)
    return { kind: "not_applicable" };
  if ((await tx.message.count({ where: { recoveryId: recovery.id } })) > 0) return { kind: "not_applicable" };
  const log = (outcome: string, reason: string, detail: string) =>
    tx.decisionLog.create({ data: { shopId: recovery.shopId, recoveryId: recovery.id, outcome, reason, detail, decidedAt: now } });

  // Bought since starting this checkout (either source): nothing to recover. Measured from startedAt (Stripe: the
  // session's `created`), not the expiry, which can come up to 24 h later (docs/decisions/076).
  const startedAt = recovery.startedAt ?? recovery.abandonedAt;
  const bought = await tx.purchase.findFirst({
    where: {
      shopId: recovery.shopId,
      cancelledAt: null,
      occurredAt: { gte: startedAt },
      OR: [{ contactId: recovery.contactId }, ...(recovery.email ? [{ email: recovery.email }] : [])],
    },
    orderBy: { occurredAt: "asc" },
    select: { source: true, occurredAt: true },
  });
  if (bought) {
    const where = bought.source === "stripe" ? "Stripe" : "Shopify";
    await log("skip", "purchased", `Bought on ${where} on ${bought.occurredAt.toISOString().slice(0, 16).replace("T", " ")} UTC, after starting this checkout`);
    return { kind: "none", reason: "purchased" };
  }

  const newer = await tx.recovery.findFirst({
    where: {
      shopId: recovery.shopId,
      contactId: recovery.contactId,
      id: { not: recovery.id },
      abandonedAt: { gt: recovery.abandonedAt },
      notContactableReason: null,
      completedAt: null,
      kind: "cart", // a failed subscription payment is not a newer cart (docs/decisions/087)
    },
    orderBy: { abandonedAt: "desc" },
    select: { id: true, source: true },
  });
  if (newer) {
    await tx.recovery.update({ where: { id: recovery.id }, data: { status: "superseded" } });
    await log("skip", "superseded", `A newer checkout on ${newer.source === "stripe" ? "Stripe" : "Shopify"} replaces this one`);
    return { kind: "superseded", byRecoveryId: newer.id };
  }
  const older = await tx.recovery.findMany({
    where: {
      shopId: recovery.shopId,
      contactId: recovery.contactId,
      id: { not: recovery.id },
      abandonedAt: { lte: recovery.abandonedAt },
      status: { in: ["open", "contacting"] },
      kind: "cart",
    },
    select: { id: true },
  });
  const detail = `A newer checkout on ${recovery.source === "stripe" ? "Stripe" : "Shopify"} replaces this one`;
  for (const o of older) {
    await tx.recovery.update({ where: { id: o.id }, data: { status: "superseded" } });
    const pending = await tx.message.findMany({ where: { recoveryId: o.id, status: "scheduled" }, select: { id: true } });
    await tx.message.updateMany({ where: { recoveryId: o.id, status: "scheduled" }, data: { status: "cancelled", skipReason: "superseded", updatedAt: now } });
    await tx.decisionLog.createMany({
      data: pending.length
        ? pending.map((m) => ({ shopId: recovery.shopId, recoveryId: o.id, messageId: m.id, outcome: "cancel", reason: "superseded", detail, decidedAt: now }))
        : [{ shopId: recovery.shopId, recoveryId: o.id, outcome: "cancel", reason: "superseded", detail, decidedAt: now }],
    });
  }

  const campaigns = await campaignsForScheduling(tx, recovery.shopId);
  // A shop with no campaign at all is one whose install step has not run yet: nothing to explain per recovery.
  if (campaigns.length === 0) return { kind: "none", reason: "no_campaign" };
  const chosen = chooseCampaign(campaigns, { ...recovery, totalMinor: Number(recovery.totalMinor) } as Omit<Recovery, "totalMinor"> & {
    totalMinor: number;
    source: "shopify" | "stripe";
  });
  if (!chosen.campaign) {
    await log("skip", "no_matching_campaign", chosen.detail);
    return { kind: "none", reason: "no_matching_campaign" };
  }
  const plan = planMessages(chosen.campaign, recovery.abandonedAt, now);
  if (plan.kind === "none") {
    await log("skip", plan.reason, plan.detail);
    return { kind: "none", reason: plan.reason };
  }
  await tx.message.createMany({
    data: plan.messages.map((m) => ({
      shopId: recovery.shopId,
      recoveryId: recovery.id,
      campaignId: plan.campaignId,
      stepId: m.stepId,
      position: m.position,
      scheduledFor: m.scheduledFor,
      toEmail: recovery.email,
      createdAt: now,
      updatedAt: now,
    })),
  });
  const firstDueAt = plan.messages[0]!.scheduledFor;
  if (plan.shiftedByMs > 0) {
    await log(
      "hold",
      "late_start",
      `Detected ${Math.round(plan.shiftedByMs / 60_000)} min after the first step was due: the campaign starts now and keeps its spacing`,
    );
  }
  await ensureSweepScheduled(tx, firstDueAt);
  return { kind: "scheduled", messages: plan.messages.length, firstDueAt };
}

// ---------------------------------------------------------------------------------------------------------------
// The sweep

/**
 * One statement: enqueue one send job per installed shop that has due messages and no send job queued or running yet
 * (the job key `send-shop-messages:<shopId>`, graphile-worker's add_jobs). The job sends that shop's due emails in
 * batches (app/jobs/definitions/send-message.server.ts, docs/decisions/085); the queue holds one row per shop, not one
 * per email. Each shop is one index probe of `Message(shopId, status, scheduledFor)`, whatever its backlog; shops are
 * taken oldest due email first, `$2` at most per run.
 */
export const DUE_SENDS_SQL = `SELECT '${SEND_SHOP_JOB}' AS name, json_build_object('shopId', s."id") AS payload, s."id" AS shop_id,
  d."scheduledFor" AT TIME ZONE 'UTC' AS run_at, ${SEND_JOB_MAX_ATTEMPTS} AS max_attempts, '${SEND_SHOP_JOB}:' || s."id" AS job_key
-- An uninstalled shop's emails wait (a reinstall resumes them: app/models/shop.server.ts).
FROM "Shop" s
CROSS JOIN LATERAL (
  SELECT m."scheduledFor" FROM "Message" m
  WHERE m."shopId" = s."id" AND m."status" = 'scheduled' AND m."scheduledFor" <= $1
  ORDER BY m."scheduledFor"
  LIMIT 1
) d
WHERE s."uninstalledAt" IS NULL AND NOT ${unfinishedJobWithKeySql(`'${SEND_SHOP_JOB}:' || s."id"`)}
ORDER BY d."scheduledFor"
LIMIT $2`;

/** The sweep's statement: a send job added for each shop with due emails that has none; returns how many. */
export const ENQUEUE_DUE_SQL = `WITH due AS MATERIALIZED (${DUE_SENDS_SQL}),
  -- Two sweeps at once (two workers) may pick the same shop: the job key keeps one job.
  added AS (${addJobsSql("SELECT * FROM due")})
SELECT (SELECT count(*) FROM due)::int AS "enqueued", (SELECT "added" FROM added) AS "added"`;

export interface SweepOutcome {
  /** Shops' send jobs queued by this run. */
  enqueued: number;
  /** The batch of shops was full: more shops may have due emails, so the next run should come at once. */
  more: boolean;
}

export async function enqueueDueSendJobs(db: Db, now: Date, limit = SWEEP_BATCH): Promise<SweepOutcome> {
  const [row] = await db.$queryRawUnsafe<{ enqueued: number }[]>(ENQUEUE_DUE_SQL, now, limit);
  const enqueued = row?.enqueued ?? 0;
  return { enqueued, more: enqueued >= limit };
}

/** Queues the shop's send job to run at once (its running job, out of batch room or time, hands the rest on). */
export async function enqueueShopSend(db: Db, shopId: string, runAt: Date, options: { fromRunningJob?: boolean } = {}): Promise<void> {
  await enqueueJob(
    db,
    SEND_SHOP_JOB,
    { shopId },
    { key: sendShopJobKey(shopId), keyMode: options.fromRunningJob ? "replace" : "dedupe", shopId, runAt, maxAttempts: SEND_JOB_MAX_ATTEMPTS },
  );
}

/** Makes sure a sweep is queued no later than `runAt` (job key dedupe: a later one is moved earlier). */
export async function ensureSweepScheduled(db: Db, runAt: Date): Promise<void> {
  // One statement, safe inside a caller's transaction and against another writer doing the same. A running sweep has
  // already handed its key to the next run (scheduleNextSweep), which this moves earlier if need be.
  await enqueueJob(db, SWEEP_JOB, {}, { key: SWEEP_JOB_KEY, runAt, maxAttempts: 3 });
}

/** From inside the running sweep: queues the next run, which takes the key over (job_key_mode `replace`). */
export async function scheduleNextSweep(db: Db, runAt: Date): Promise<void> {
  await enqueueJob(db, SWEEP_JOB, {}, { key: SWEEP_JOB_KEY, keyMode: "replace", runAt, maxAttempts: 3 });
}

export interface InterruptedSends {
  /** Claimed but never handed over: back to scheduled, will be retried. */
  requeued: number;
  /** Handed to the mail server, outcome unknown: failed, never resent. */
  markedUnknown: number;
}

export async function recoverInterruptedSends(db: Db, now: Date, staleMs = STALE_CLAIM_MS): Promise<InterruptedSends> {
  const before = new Date(now.getTime() - staleMs);
  const at = now;
  const requeued = await db.$executeRawUnsafe(
    `UPDATE "Message" SET "status" = 'scheduled', "claimedBy" = NULL, "lastError" = $1, "updatedAt" = $2 WHERE "status" = 'claimed' AND "claimedAt" < $3`,
    "The worker stopped before handing this email over; it will be retried",
    at,
    before,
  );
  const unknown = (await db.$queryRawUnsafe(`SELECT "id", "shopId", "recoveryId" FROM "Message" WHERE "status" = 'sending' AND "claimedAt" < $1`, before)) as {
    id: string;
    shopId: string;
    recoveryId: string;
  }[];
  if (unknown.length > 0) {
    const detail =
      "The worker stopped while handing this email to the mail server: it may or may not have been delivered, and it is not resent so nobody gets it twice";
    await db.message.updateMany({
      where: { id: { in: unknown.map((m) => m.id) }, status: "sending" },
      data: { status: "failed", lastError: detail, updatedAt: now },
    });
    await db.decisionLog.createMany({
      data: unknown.map((m) => ({
        shopId: m.shopId,
        recoveryId: m.recoveryId,
        messageId: m.id,
        outcome: "fail",
        reason: "delivery_unknown",
        detail,
        decidedAt: now,
      })),
    });
  }
  return { requeued, markedUnknown: unknown.length };
}

// ---------------------------------------------------------------------------------------------------------------
// Sending one message

// The send path runs once per email, thousands of times a minute, so it speaks SQL directly: Prisma 6.19's client
// engine compiles every query in WASM (≈ 0.3–1.4 ms each, measured) where a raw statement costs ≈ 0.06 ms.
// See docs/decisions/024-send-path-in-raw-sql.md. Raw results still come back typed: timestamp → Date, boolean → boolean; bigint → string (node-postgres), hence Number().

export interface SendRow {
  message: {
    id: string;
    shopId: string;
    recoveryId: string;
    status: string;
    scheduledFor: Date;
    attempts: number;
    discountCode: string | null;
    position: number;
  };
  recovery: Pick<
    Recovery,
    | "id"
    | "shopId"
    | "source"
    | "status"
    | "consent"
    | "consentEvidence"
    | "abandonedAt"
    | "startedAt"
    | "completedAt"
    | "recoveryUrl"
    | "recoveryUrlExpiresAt"
    | "notContactableReason"
    | "contactId"
    | "email"
    | "firstName"
    | "name"
    | "lineItems"
    | "currency"
    | "locale"
    | "pixelOnly"
    | "pixelCompletedAt"
    | "externalId"
    | "shopifyEmailState"
    | "shopifyEmailSentAt"
    | "shopifyEmailCheckedAt"
    | "kind"
    | "paymentReason"
    | "attemptCount"
    | "nextPaymentAttemptAt"
  > & { totalMinor: number; /** Payment recoveries: the merchant said Stripe Billing emails this kind of payment itself. */ stripeSendsOwnEmail: boolean };
  contact: { unsubscribedAt: Date | null; suppressedAt: Date | null; suppressionReason: string | null; lastPurchaseAt: Date | null } | null;
  step: { subject: string; bodyTemplate: string; incentiveType: string | null; incentiveValue: number | null; incentiveExpiresDays: number | null };
  shop: Shop;
  /** The email's campaign: turned off since scheduling means the email is skipped at send. */
  campaign: { enabled: boolean; name: string };
  /** What decide() needs beyond the rows, read in the same statement. */
  history: SendHistory;
}

export interface SendHistory {
  newerRecovery: { source: "shopify" | "stripe"; abandonedAt: Date } | null;
  purchaseSinceAbandonment: { source: "shopify" | "stripe"; at: Date } | null;
  lastEmailedForOtherRecoveryAt: Date | null;
}

const SHOP_COLUMNS = [
  "id",
  "domain",
  "name",
  "email",
  "currency",
  "locale",
  "timezone",
  "installedAt",
  "uninstalledAt",
  "grantedScopes",
  "consentPolicy",
  "frequencyCapHours",
  "quietHoursStartMinute",
  "quietHoursEndMinute",
  "attributionWindowDays",
  "backfillDays",
  "syncIntervalMinutes",
  "postalAddress",
  "emailTransport",
  "senderName",
  "senderEmail",
  "replyTo",
  "smtpHost",
  "smtpPort",
  "smtpSecure",
  "smtpUser",
  "smtpPasswordEncrypted",
  "shopifyEmailPolicy",
  "createdAt",
  "updatedAt",
] as const satisfies readonly (keyof Shop)[];

const SEND_ROW_SQL = `SELECT m."id", m."shopId", m."recoveryId", m."status", m."scheduledFor", m."attempts", m."discountCode", m."position",
  r."source" AS "r_source", r."status" AS "r_status", r."consent" AS "r_consent", r."consentEvidence" AS "r_consentEvidence", r."abandonedAt" AS "r_abandonedAt",
  r."startedAt" AS "r_startedAt", r."completedAt" AS "r_completedAt", r."recoveryUrl" AS "r_recoveryUrl", r."recoveryUrlExpiresAt" AS "r_recoveryUrlExpiresAt",
  r."notContactableReason" AS "r_notContactableReason", r."contactId" AS "r_contactId", r."email" AS "r_email", r."firstName" AS "r_firstName",
  r."name" AS "r_name", r."lineItems" AS "r_lineItems", r."totalMinor" AS "r_totalMinor", r."currency" AS "r_currency", r."locale" AS "r_locale",
  r."pixelOnly" AS "r_pixelOnly", r."pixelCompletedAt" AS "r_pixelCompletedAt",
  r."externalId" AS "r_externalId", r."shopifyEmailState" AS "r_shopifyEmailState", r."shopifyEmailSentAt" AS "r_shopifyEmailSentAt",
  r."shopifyEmailCheckedAt" AS "r_shopifyEmailCheckedAt",
  r."kind" AS "r_kind", r."paymentReason" AS "r_paymentReason", r."attemptCount" AS "r_attemptCount", r."nextPaymentAttemptAt" AS "r_nextPaymentAttemptAt",
  -- Payment recoveries (docs/decisions/087): the shop's connection's answer about Stripe Billing's own customer emails.
  CASE WHEN r."kind" = 'payment' THEN (SELECT CASE WHEN r."paymentReason" = 'action_required' THEN sc."stripeEmailsActionRequired" ELSE sc."stripeEmailsFailedPayments" END
    FROM "StripeConnection" sc WHERE sc."shopId" = r."shopId" ORDER BY sc."createdAt" ASC, sc."id" ASC LIMIT 1) END AS "r_stripeSendsOwnEmail",
  c."id" AS "c_id", c."unsubscribedAt" AS "c_unsubscribedAt", c."suppressedAt" AS "c_suppressedAt", c."suppressionReason" AS "c_suppressionReason",
  c."lastPurchaseAt" AS "c_lastPurchaseAt",
  st."subject" AS "st_subject", st."bodyTemplate" AS "st_bodyTemplate", st."incentiveType" AS "st_incentiveType",
  st."incentiveValue" AS "st_incentiveValue", st."incentiveExpiresDays" AS "st_incentiveExpiresDays",
  cp."enabled" AS "cp_enabled", cp."name" AS "cp_name",
  ${SHOP_COLUMNS.map((c) => `s."${c}" AS "s_${c}"`).join(", ")},
  -- History for decide(): a newer contactable recovery of the contact, a purchase by the same email since the buyer
  -- started the checkout (startedAt, else abandonedAt; either source; docs/decisions/076), and the last email for another
  -- recovery of the contact. Each an indexed look-up.
  (SELECT x."source" || '|' || to_char(x."abandonedAt", 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') FROM "Recovery" x
    WHERE x."contactId" = r."contactId" AND x."shopId" = r."shopId" AND x."id" <> r."id" AND x."abandonedAt" > r."abandonedAt"
      AND x."notContactableReason" IS NULL AND x."kind" = 'cart'
    ORDER BY x."abandonedAt" DESC LIMIT 1) AS "h_newer",
  (SELECT p."source" || '|' || to_char(p."occurredAt", 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') FROM "Purchase" p
    WHERE p."shopId" = r."shopId" AND p."email" = r."email" AND p."occurredAt" >= COALESCE(r."startedAt", r."abandonedAt")
    ORDER BY p."occurredAt" ASC LIMIT 1) AS "h_purchase",
  (SELECT max(o."claimedAt") FROM "Recovery" x JOIN "Message" o ON o."recoveryId" = x."id"
    WHERE x."contactId" = r."contactId" AND x."id" <> r."id" AND o."status" IN ('sending', 'sent') AND x."kind" = 'cart') AS "h_lastOther"
FROM "Message" m
JOIN "Shop" s ON s."id" = m."shopId"
JOIN "Recovery" r ON r."id" = m."recoveryId"
JOIN "CampaignStep" st ON st."id" = m."stepId"
JOIN "Campaign" cp ON cp."id" = st."campaignId"
LEFT JOIN "Contact" c ON c."id" = r."contactId"
WHERE m."id" = ANY($1::text[])`;

export async function loadMessageForSend(db: Db, messageId: string): Promise<SendRow | null> {
  return (await loadMessagesForSend(db, [messageId]))[0] ?? null;
}

/** Everything decide() and the email need for these messages, in one statement (oldest due first). */
export async function loadMessagesForSend(db: Db, messageIds: string[]): Promise<SendRow[]> {
  if (messageIds.length === 0) return [];
  const rows = (await db.$queryRawUnsafe(SEND_ROW_SQL, messageIds)) as Record<string, any>[];
  return rows.map(sendRowFrom).sort((a, b) => a.message.scheduledFor.getTime() - b.message.scheduledFor.getTime());
}

function sendRowFrom(row: Record<string, any>): SendRow {
  const shop = Object.fromEntries(SHOP_COLUMNS.map((c) => [c, row[`s_${c}`]])) as unknown as Shop;
  return {
    message: {
      id: row.id,
      shopId: row.shopId,
      recoveryId: row.recoveryId,
      status: row.status,
      scheduledFor: row.scheduledFor,
      attempts: Number(row.attempts),
      discountCode: row.discountCode,
      position: Number(row.position),
    },
    recovery: {
      id: row.recoveryId,
      shopId: row.shopId,
      source: row.r_source,
      status: row.r_status,
      consent: row.r_consent,
      consentEvidence: row.r_consentEvidence,
      abandonedAt: row.r_abandonedAt,
      startedAt: row.r_startedAt,
      completedAt: row.r_completedAt,
      recoveryUrl: row.r_recoveryUrl,
      recoveryUrlExpiresAt: row.r_recoveryUrlExpiresAt,
      notContactableReason: row.r_notContactableReason,
      contactId: row.r_contactId,
      email: row.r_email,
      firstName: row.r_firstName,
      name: row.r_name,
      lineItems: row.r_lineItems,
      totalMinor: Number(row.r_totalMinor),
      currency: row.r_currency,
      locale: row.r_locale,
      pixelOnly: Boolean(row.r_pixelOnly),
      pixelCompletedAt: textDate(row.r_pixelCompletedAt),
      externalId: row.r_externalId,
      shopifyEmailState: row.r_shopifyEmailState,
      shopifyEmailSentAt: row.r_shopifyEmailSentAt,
      shopifyEmailCheckedAt: row.r_shopifyEmailCheckedAt,
      kind: row.r_kind,
      paymentReason: row.r_paymentReason,
      attemptCount: row.r_attemptCount === null ? null : Number(row.r_attemptCount),
      nextPaymentAttemptAt: textDate(row.r_nextPaymentAttemptAt),
      stripeSendsOwnEmail: row.r_stripeSendsOwnEmail === true,
    },
    contact: row.c_id
      ? {
          unsubscribedAt: row.c_unsubscribedAt,
          suppressedAt: row.c_suppressedAt,
          suppressionReason: row.c_suppressionReason,
          lastPurchaseAt: row.c_lastPurchaseAt,
        }
      : null,
    step: {
      subject: row.st_subject,
      bodyTemplate: row.st_bodyTemplate,
      incentiveType: row.st_incentiveType,
      incentiveValue: row.st_incentiveValue === null ? null : Number(row.st_incentiveValue),
      incentiveExpiresDays: row.st_incentiveExpiresDays === null ? null : Number(row.st_incentiveExpiresDays),
    },
    shop: { ...shop, smtpSecure: Boolean(shop.smtpSecure) },
    campaign: { enabled: Boolean(row.cp_enabled), name: String(row.cp_name) },
    history: row.r_contactId
      ? (() => {
          const newer = sourceAndDate(row.h_newer);
          return {
            newerRecovery: newer ? { source: newer.source, abandonedAt: newer.at } : null,
            purchaseSinceAbandonment: sourceAndDate(row.h_purchase),
            lastEmailedForOtherRecoveryAt: textDate(row.h_lastOther),
          };
        })()
      : { newerRecovery: null, purchaseSinceAbandonment: null, lastEmailedForOtherRecoveryAt: null },
  };
}

/** `stripe|2026-11-20T10:00:00.000Z` (a concatenated sub-select) → {source, at}. */
function sourceAndDate(value: string | null): { source: "shopify" | "stripe"; at: Date } | null {
  if (!value) return null;
  const i = value.indexOf("|");
  const at = textDate(value.slice(i + 1));
  return at ? { source: value.slice(0, i) === "stripe" ? "stripe" : "shopify", at } : null;
}

/**
 * Claims up to `limit` of a shop's due messages in one statement, oldest first; rows another worker holds are skipped
 * (`FOR UPDATE SKIP LOCKED`), and only a still-scheduled row is taken, so each message is claimed once.
 */
export async function claimDueMessages(db: Db, shopId: string, claimToken: string, now: Date, limit: number): Promise<string[]> {
  const rows = await db.$queryRawUnsafe<{ id: string }[]>(
    // The ids are picked once (a materialized CTE): a LIMIT sub-select joined into the UPDATE may be re-run by the plan,
    // each run locking another `limit` rows (seen: 30 claimed for a limit of 5).
    `WITH d AS MATERIALIZED (
       SELECT "id" FROM "Message" WHERE "shopId" = $3 AND "status" = 'scheduled' AND "scheduledFor" <= $1
       ORDER BY "scheduledFor" LIMIT $4 FOR UPDATE SKIP LOCKED)
     UPDATE "Message" m SET "status" = 'claimed', "claimedAt" = $1, "claimedBy" = $2, "attempts" = m."attempts" + 1, "updatedAt" = $1
     FROM d WHERE m."id" = d."id" AND m."status" = 'scheduled'
     RETURNING m."id"`,
    now,
    claimToken,
    shopId,
    limit,
  );
  return rows.map((r) => r.id);
}

export async function claimMessage(db: Db, messageId: string, claimToken: string, now: Date): Promise<boolean> {
  const count = await db.$executeRawUnsafe(
    `UPDATE "Message" SET "status" = 'claimed', "claimedAt" = $1, "claimedBy" = $2, "attempts" = "attempts" + 1, "updatedAt" = $1
     WHERE "id" = $3 AND "status" = 'scheduled' AND "scheduledFor" <= $1`,
    now,
    claimToken,
    messageId,
  );
  return count === 1;
}

/** A datetime from an expression column: a Date, or ISO 8601 text (to_char in SEND_ROW_SQL). */
function textDate(value: unknown): Date | null {
  if (value == null) return null;
  if (value instanceof Date) return value;
  const d = new Date(String(value).replace(" ", "T"));
  return Number.isNaN(d.getTime()) ? null : d;
}

/**
 * `claimed → sending`, written before the email goes to the mail server. Atomic with the frequency cap: no other
 * recovery of the contact may have been emailed (or be being emailed) since `capSince`. Two workers sending to the same
 * person for two checkouts at the same moment can't both pass: the contact's row lock orders them, and the second
 * one's check (a new statement, so a new snapshot under READ COMMITTED) sees the first one's 'sending'.
 */
export async function handOff(
  db: PrismaClient,
  m: { id: string; recoveryId: string; contactId: string },
  claimToken: string,
  capSince: Date | null,
  facts: { toEmail: string; discountCode: string | null; subject: string; bodyHtml: string },
  now: Date,
): Promise<"handed_off" | "frequency_cap" | "lost_claim"> {
  const [, count] = await db.$transaction([
    db.$queryRawUnsafe(`SELECT 1 FROM "Contact" WHERE "id" = $1 FOR UPDATE`, m.contactId),
    db.$executeRawUnsafe(
      `UPDATE "Message" SET "status" = 'sending', "claimedAt" = $1, "toEmail" = $2, "discountCode" = $3, "subject" = $9, "bodyHtml" = $10, "updatedAt" = $1
       WHERE "id" = $4 AND "status" = 'claimed' AND "claimedBy" = $5
         AND NOT EXISTS (
           SELECT 1 FROM "Recovery" r JOIN "Message" o ON o."recoveryId" = r."id"
           WHERE r."contactId" = $6 AND r."id" <> $7 AND o."status" IN ('sending', 'sent') AND o."claimedAt" >= $8
             AND r."kind" = 'cart' AND (SELECT x."kind" FROM "Recovery" x WHERE x."id" = $7) = 'cart')`,
      now,
      facts.toEmail,
      facts.discountCode,
      m.id,
      claimToken,
      m.contactId,
      m.recoveryId,
      capSince ?? new Date("9999-12-31T00:00:00Z"),
      facts.subject,
      facts.bodyHtml,
    ),
  ]);
  if (count === 1) return "handed_off";
  const current = await db.message.findUnique({ where: { id: m.id }, select: { status: true, claimedBy: true } });
  return current?.status === "claimed" && current.claimedBy === claimToken ? "frequency_cap" : "lost_claim";
}

export interface HandOffItem {
  id: string;
  recoveryId: string;
  contactId: string;
  toEmail: string;
  discountCode: string | null;
  subject: string;
  bodyHtml: string;
}

/**
 * `handOff` for many messages of one batch: one transaction per round of messages to distinct contacts (the contacts'
 * rows locked in id order, then one UPDATE with the same frequency-cap condition). Two messages to the same contact
 * never share a round, so the second one's check, a later statement, sees the first one's 'sending'. Returns each
 * message's outcome by id.
 */
export async function handOffBatch(
  db: PrismaClient,
  items: HandOffItem[],
  claimToken: string,
  capSince: Date | null,
  now: Date,
): Promise<Map<string, "handed_off" | "frequency_cap" | "lost_claim">> {
  const outcome = new Map<string, "handed_off" | "frequency_cap" | "lost_claim">();
  let rest = items;
  while (rest.length > 0) {
    const seen = new Set<string>();
    const round: HandOffItem[] = [];
    const later: HandOffItem[] = [];
    for (const item of rest) {
      if (seen.has(item.contactId)) later.push(item);
      else {
        seen.add(item.contactId);
        round.push(item);
      }
    }
    const column = <K extends keyof HandOffItem>(key: K) => round.map((i) => i[key]);
    const [, handed] = await db.$transaction([
      db.$queryRawUnsafe(`SELECT 1 FROM "Contact" WHERE "id" = ANY($1::text[]) ORDER BY "id" FOR UPDATE`, [...seen]),
      db.$queryRawUnsafe<{ id: string }[]>(
        `UPDATE "Message" m SET "status" = 'sending', "claimedAt" = $1, "toEmail" = v."toEmail", "discountCode" = v."discountCode", "subject" = v."subject",
           "bodyHtml" = v."bodyHtml", "updatedAt" = $1
         FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[])
           AS v("id", "recoveryId", "contactId", "toEmail", "discountCode", "subject", "bodyHtml")
         WHERE m."id" = v."id" AND m."status" = 'claimed' AND m."claimedBy" = $9
           AND NOT EXISTS (
             SELECT 1 FROM "Recovery" r JOIN "Message" o ON o."recoveryId" = r."id"
             WHERE r."contactId" = v."contactId" AND r."id" <> v."recoveryId" AND o."status" IN ('sending', 'sent') AND o."claimedAt" >= $10
               -- The cap is between carts: payment notices neither wait for nor hold back cart emails (docs/decisions/087).
               AND r."kind" = 'cart' AND (SELECT x."kind" FROM "Recovery" x WHERE x."id" = v."recoveryId") = 'cart')
         RETURNING m."id"`,
        now,
        column("id"),
        column("recoveryId"),
        column("contactId"),
        column("toEmail"),
        column("discountCode"),
        column("subject"),
        column("bodyHtml"),
        claimToken,
        capSince ?? new Date("9999-12-31T00:00:00Z"),
      ),
    ]);
    for (const { id } of handed as { id: string }[]) outcome.set(id, "handed_off");
    const missed = round.filter((i) => !outcome.has(i.id)).map((i) => i.id);
    if (missed.length > 0) {
      const current = await db.$queryRawUnsafe<{ id: string; status: string; claimedBy: string | null }[]>(
        `SELECT "id", "status", "claimedBy" FROM "Message" WHERE "id" = ANY($1::text[])`,
        missed,
      );
      const byId = new Map(current.map((c) => [c.id, c]));
      for (const id of missed) {
        const c = byId.get(id);
        outcome.set(id, c?.status === "claimed" && c.claimedBy === claimToken ? "frequency_cap" : "lost_claim");
      }
    }
    rest = later;
  }
  return outcome;
}

export interface SentItem {
  id: string;
  shopId: string;
  recoveryId: string;
  contactId: string;
  recoveryStatus: string;
  providerMessageId: string;
  detail: string;
}

/** `markSent` for many messages: one transaction of four statements, whatever their number. */
export async function markSentBatch(db: PrismaClient, items: SentItem[], claimToken: string, now: Date): Promise<void> {
  if (items.length === 0) return;
  const opened = items.filter((i) => i.recoveryStatus === "open").map((i) => i.recoveryId);
  await db.$transaction([
    // By claim token, not status: if the sweep gave up on a slow send in the meantime, the truth is still "sent".
    db.$executeRawUnsafe(
      `UPDATE "Message" m SET "status" = 'sent', "sentAt" = $1, "providerMessageId" = v."pid", "lastError" = NULL, "updatedAt" = $1
       FROM unnest($2::text[], $3::text[]) AS v("id", "pid") WHERE m."id" = v."id" AND m."claimedBy" = $4`,
      now,
      items.map((i) => i.id),
      items.map((i) => i.providerMessageId),
      claimToken,
    ),
    // In id order, like the hand-off's locks: two batches touching the same contacts never wait on each other in a circle.
    db.$executeRawUnsafe(
      `UPDATE "Contact" c SET "lastEmailedAt" = $1, "updatedAt" = $1
       FROM (SELECT "id" FROM "Contact" WHERE "id" = ANY($2::text[]) ORDER BY "id" FOR UPDATE) l WHERE c."id" = l."id"`,
      now,
      [...new Set(items.map((i) => i.contactId))],
    ),
    // First email of the recovery: open → contacting.
    ...(opened.length
      ? [
          db.$executeRawUnsafe(
            `UPDATE "Recovery" SET "status" = 'contacting', "updatedAt" = $1 WHERE "id" = ANY($2::text[]) AND "status" = 'open'`,
            now,
            opened,
          ),
        ]
      : []),
    db.$executeRawUnsafe(
      `INSERT INTO "DecisionLog" ("id", "shopId", "recoveryId", "messageId", "outcome", "reason", "detail", "decidedAt")
       SELECT v."id", v."shopId", v."recoveryId", v."messageId", 'send', 'sent', v."detail", $1
       FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[]) AS v("id", "shopId", "recoveryId", "messageId", "detail")`,
      now,
      items.map(() => `dl${randomUUID().replace(/-/g, "")}`),
      items.map((i) => i.shopId),
      items.map((i) => i.recoveryId),
      items.map((i) => i.id),
      items.map((i) => i.detail),
    ),
  ]);
}

export async function markSent(
  db: PrismaClient,
  m: { id: string; shopId: string; recoveryId: string; contactId: string; recoveryStatus: string },
  claimToken: string,
  delivery: { providerMessageId: string; detail: string },
  now: Date,
): Promise<void> {
  const at = now;
  await db.$transaction([
    // By claim token, not status: if the sweep gave up on a slow send in the meantime, the truth is still "sent".
    db.$executeRawUnsafe(
      `UPDATE "Message" SET "status" = 'sent', "sentAt" = $1, "providerMessageId" = $2, "lastError" = NULL, "updatedAt" = $1 WHERE "id" = $3 AND "claimedBy" = $4`,
      at,
      delivery.providerMessageId,
      m.id,
      claimToken,
    ),
    db.$executeRawUnsafe(`UPDATE "Contact" SET "lastEmailedAt" = $1, "updatedAt" = $1 WHERE "id" = $2`, at, m.contactId),
    // First email of the recovery: open → contacting.
    ...(m.recoveryStatus === "open"
      ? [db.$executeRawUnsafe(`UPDATE "Recovery" SET "status" = 'contacting', "updatedAt" = $1 WHERE "id" = $2 AND "status" = 'open'`, at, m.recoveryId)]
      : []),
    db.$executeRawUnsafe(
      `INSERT INTO "DecisionLog" ("id", "shopId", "recoveryId", "messageId", "outcome", "reason", "detail", "decidedAt") VALUES ($1, $2, $3, $4, 'send', 'sent', $5, $6)`,
      `dl${randomUUID().replace(/-/g, "")}`,
      m.shopId,
      m.recoveryId,
      m.id,
      delivery.detail,
      at,
    ),
  ]);
}

/** Ends a claimed message without sending (skip) and records why. */
export async function finishWithoutSending(
  db: PrismaClient,
  m: { id: string; shopId: string; recoveryId: string },
  claimToken: string,
  outcome: { status: "skipped" | "failed"; reason: string; detail: string },
  now: Date,
): Promise<void> {
  await db.$transaction([
    db.message.updateMany({
      where: { id: m.id, claimedBy: claimToken, status: { in: ["claimed", "sending"] } },
      data: {
        status: outcome.status,
        skipReason: outcome.status === "skipped" ? outcome.reason : null,
        lastError: outcome.status === "failed" ? outcome.detail : null,
        updatedAt: now,
      },
    }),
    db.decisionLog.create({
      data: {
        shopId: m.shopId,
        recoveryId: m.recoveryId,
        messageId: m.id,
        outcome: outcome.status === "skipped" ? "skip" : "fail",
        reason: outcome.reason,
        detail: outcome.detail,
        decidedAt: now,
      },
    }),
  ]);
}

/** Defers a claimed message (quiet hours): back to scheduled at `until`; a hold is not a send attempt. */
export async function holdMessage(
  db: PrismaClient,
  m: { id: string; shopId: string; recoveryId: string },
  claimToken: string,
  hold: { reason: string; detail: string; until: Date },
  now: Date,
): Promise<void> {
  await db.$transaction([
    db.message.updateMany({
      where: { id: m.id, claimedBy: claimToken, status: "claimed" },
      data: { status: "scheduled", scheduledFor: hold.until, claimedBy: null, attempts: { decrement: 1 }, updatedAt: now },
    }),
    db.decisionLog.create({
      data: { shopId: m.shopId, recoveryId: m.recoveryId, messageId: m.id, outcome: "hold", reason: hold.reason, detail: hold.detail, decidedAt: now },
    }),
  ]);
  await ensureSweepScheduled(db, hold.until);
}

/**
 * Gives a claimed (or refused-for-now) message back for a later attempt, or fails it after MAX_SEND_ATTEMPTS.
 * Only for states where nothing was delivered.
 */
export async function retryLater(
  db: PrismaClient,
  m: { id: string; shopId: string; recoveryId: string; attempts: number },
  claimToken: string,
  error: string,
  now: Date,
): Promise<"retrying" | "failed"> {
  if (m.attempts >= MAX_SEND_ATTEMPTS) {
    await finishWithoutSending(db, m, claimToken, { status: "failed", reason: "send_failed", detail: `Gave up after ${m.attempts} attempts: ${error}` }, now);
    return "failed";
  }
  const delay = Math.min(5 * 60_000 * 2 ** Math.max(0, m.attempts - 1), 6 * 3_600_000);
  const at = new Date(now.getTime() + delay);
  await db.message.updateMany({
    where: { id: m.id, claimedBy: claimToken, status: { in: ["claimed", "sending"] } },
    data: { status: "scheduled", scheduledFor: at, claimedBy: null, lastError: error.slice(0, 1000), updatedAt: now },
  });
  await ensureSweepScheduled(db, at);
  return "retrying";
}

/** The code already chosen for this recovery (one per recovery, reused by any later incentive step). */
export async function existingDiscountCode(db: Db, recoveryId: string): Promise<string | null> {
  const m = await db.message.findFirst({ where: { recoveryId, discountCode: { not: null } }, orderBy: { position: "asc" }, select: { discountCode: true } });
  return m?.discountCode ?? null;
}

/** Stores the chosen code on the claimed message before Shopify is asked to create it (so a retry reuses it). */
export async function rememberDiscountCode(db: Db, messageId: string, claimToken: string, code: string): Promise<void> {
  await db.message.updateMany({ where: { id: messageId, claimedBy: claimToken, status: "claimed" }, data: { discountCode: code } });
}

// ---------------------------------------------------------------------------------------------------------------
// Shopify's own abandoned-checkout email (docs/decisions/075-shopify-own-email.md)

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
