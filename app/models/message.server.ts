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
import type { Prisma, PrismaClient } from "@prisma/client";
import { MAX_SEND_ATTEMPTS, ensureSweepScheduled } from "./message-sweep.server";

type Db = PrismaClient | Prisma.TransactionClient;
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
  facts: { toEmail: string; discountCode: string | null; subject: string; bodyHtml: string; /** The language it was rendered in. */ language?: string | null },
  now: Date,
): Promise<"handed_off" | "frequency_cap" | "lost_claim"> {
  const [, count] = await db.$transaction([
    db.$queryRawUnsafe(`SELECT 1 FROM "Contact" WHERE "id" = $1 FOR UPDATE`, m.contactId),
    db.$executeRawUnsafe(
      `UPDATE "Message" SET "status" = 'sending', "claimedAt" = $1, "toEmail" = $2, "discountCode" = $3, "subject" = $9, "bodyHtml" = $10, "language" = $11, "updatedAt" = $1
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
      facts.language ?? null,
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
  /** The language the email was rendered in (`en` | `ja` | `de`; docs/decisions/093). */
  language: string;
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
           "bodyHtml" = v."bodyHtml", "language" = v."language", "updatedAt" = $1
         FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $11::text[])
           AS v("id", "recoveryId", "contactId", "toEmail", "discountCode", "subject", "bodyHtml", "language")
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
        column("language"),
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
