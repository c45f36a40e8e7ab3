/**
 * Checkouts seen for the first time, stored as a batch (issue 14, docs/decisions/097): a page of the Shopify sync or a
 * batch of webhook events in a handful of statements instead of a dozen per checkout. Same rules as the one-by-one path
 * (ingest-checkout.server.ts): the row is what mergeCheckout and recoveryRowData make of the observation, a completed
 * checkout is credited as ingestCheckout credits it, and scheduling follows scheduleRecovery step by step (bought since
 * starting, superseded by a newer checkout, superseding older ones, the campaign's plan). Only the reads and writes are
 * grouped. Whatever this path does not take — a checkout already stored (a merge), one a stored purchase names, one
 * sharing an id, token or email with another event of the batch — goes one by one through ingestCheckout.
 */
import type { Prisma, Recovery } from "@prisma/client";
import { completionMatch } from "../recovery/attribution";
import { mergeCheckout } from "../recovery/merge-checkout";
import { normalizeEmail, type CheckoutObserved, type SourceEvent } from "../recovery/model";
import { statusAfterLinkPurchase } from "../recovery/recovered";
import { chooseCampaign, planMessages, type CampaignForScheduling, type RecoveryForScheduling } from "../recovery/schedule";
import { supersedes } from "../recovery/supersession";
import { campaignsForScheduling } from "./campaign.server";
import { recoveryRowData } from "./ingest-checkout.server";
import type { IngestResult } from "./ingest.server";
import { cancelScheduledMessages } from "./message-cancel.server";
import { boughtDetail, lateStartDetail, supersededDetail, supersedeOlder, type ScheduleOutcome } from "./message-schedule.server";
import { ensureSweepScheduled } from "./message-sweep.server";
import { insertRows, newId, type ColumnType } from "../database/insert-rows.server";
import { CONTACT_COLUMNS, CONVERSION_COLUMNS, DECISION_LOG_COLUMNS, MESSAGE_COLUMNS } from "./row-columns.server";
import { suppressionsAfterRedaction } from "./redacted-suppression.server";
import { moveLastPurchaseForward } from "./ingest-contact.server";

type Tx = Prisma.TransactionClient;

const STORED_ROW = {
  id: true,
  shopId: true,
  source: true,
  externalId: true,
  kind: true,
  contactId: true,
  email: true,
  status: true,
  completedAt: true,
  notContactableReason: true,
  totalMinor: true,
  currency: true,
  abandonedAt: true,
  startedAt: true,
} as const;
type StoredRow = Pick<Recovery, keyof typeof STORED_ROW>;
/** What scheduling reads of a row the batch wrote (as createManyAndReturn would have read it back). */
const storedRow = (row: Omit<StoredRow, "totalMinor"> & { totalMinor: number | bigint }): StoredRow => ({
  ...(Object.fromEntries(Object.keys(STORED_ROW).map((k) => [k, row[k as keyof StoredRow]])) as StoredRow),
  totalMinor: BigInt(row.totalMinor),
});

/** The columns the batch writes, with their PostgreSQL types (insertRows): every key of recoveryRowData and the row's own. */
const RECOVERY_COLUMNS = {
  id: "text",
  shopId: "text",
  source: "text",
  kind: "text",
  status: "text",
  updatedAt: "timestamp(3)",
  externalId: "text",
  checkoutToken: "text",
  cartToken: "text",
  name: "text",
  contactId: "text",
  email: "text",
  firstName: "text",
  fullName: "text",
  lastName: "text",
  consent: "text",
  consentEvidence: "text",
  lineItems: "text",
  totalMinor: "bigint",
  currency: "text",
  shopTotalMinor: "bigint",
  shopCurrency: "text",
  locale: "text",
  discountCodes: "text",
  recoveryUrl: "text",
  recoveryUrlExpiresAt: "timestamp(3)",
  sourceMetadata: "text",
  abandonedAt: "timestamp(3)",
  startedAt: "timestamp(3)",
  checkoutMode: "text",
  sourceUpdatedAt: "timestamp(3)",
  completedAt: "timestamp(3)",
  notContactableReason: "text",
  pixelOnly: "boolean",
} satisfies Record<keyof ReturnType<typeof recoveryRowData> | "id" | "shopId" | "source" | "kind" | "status" | "updatedAt", ColumnType>;

/**
 * Checkout events of the batch that can go through the batch path (by index, in order): no other event of the batch
 * shares an id or token with one (that would be a merge), and every event sharing its buyer's email is such a checkout
 * too (a purchase or a pixel event of the same buyer goes one by one, and so do their checkouts). Several checkouts of
 * one buyer are fine: ingestNewCheckouts stores them in rounds, in their order.
 */
export function newCheckoutCandidates(events: SourceEvent[]): number[] {
  const seen = new Map<string, number>();
  for (const event of events) for (const key of new Set(lookupKeysOf(event))) seen.set(key, (seen.get(key) ?? 0) + 1);
  const single = (event: SourceEvent) => event.kind === "checkout.observed" && lookupKeysOf(event).every((k) => seen.get(k) === 1);
  const mixedEmails = new Set(events.flatMap((event) => (single(event) ? [] : [normalizeEmail(event.email)])));
  return events.flatMap((event, index) => {
    const email = normalizeEmail(event.email);
    return single(event) && !(email && mixedEmails.has(email)) ? [index] : [];
  });
}

/** `source:id-or-token` keys by which an event finds stored recoveries (ids and tokens share a space: ids never look like tokens). */
export function lookupKeysOf(event: SourceEvent): string[] {
  const tokens = (source: string, ...t: (string | null | undefined)[]) => t.filter((x): x is string => Boolean(x)).map((x) => `${source}:${x}`);
  if (event.kind === "checkout.observed") return tokens(event.source, event.externalId, event.checkoutToken, event.cartToken);
  if (event.kind === "checkout.pixel") return tokens("shopify", event.checkoutToken);
  return [...tokens("stripe", event.recoveredFrom), ...tokens(event.source, event.checkoutToken, event.cartToken)];
}

/** The stored recoveries the batch's events find by id or token: key → the emails on them ("" for none). */
async function storedRowsByKey(tx: Tx, shopId: string, events: SourceEvent[]): Promise<Map<string, string[]>> {
  const bySource = new Map<string, Set<string>>();
  for (const key of events.flatMap(lookupKeysOf)) {
    const [source, ...rest] = key.split(":");
    if (!bySource.has(source!)) bySource.set(source!, new Set());
    bySource.get(source!)!.add(rest.join(":"));
  }
  const found = new Map<string, string[]>();
  for (const [source, set] of bySource) {
    const keys = [...set];
    const rows = await tx.$queryRawUnsafe<{ externalId: string; checkoutToken: string | null; cartToken: string | null; email: string | null }[]>(
      `SELECT "externalId", "checkoutToken", "cartToken", "email" FROM "Recovery"
       WHERE "shopId" = $1 AND "source" = $2
         AND ("externalId" = ANY($3::text[]) OR ("status" <> 'merged' AND ("checkoutToken" = ANY($3::text[]) OR "cartToken" = ANY($3::text[]))))`,
      shopId,
      source,
      keys,
    );
    for (const r of rows)
      for (const key of [r.externalId, r.checkoutToken, r.cartToken])
        if (key) found.set(`${source}:${key}`, [...(found.get(`${source}:${key}`) ?? []), r.email ?? ""]);
  }
  return found;
}

/** Keys of the checkouts a stored (not cancelled) purchase names: Stripe `recovered_from`, Shopify checkout or cart token. */
async function purchasesNaming(tx: Tx, shopId: string, checkouts: CheckoutObserved[]): Promise<Set<string>> {
  const ids = checkouts.map((e) => e.externalId);
  const tokens = checkouts.flatMap((e) => [e.checkoutToken, e.cartToken].filter((t): t is string => Boolean(t)));
  const rows = await tx.$queryRawUnsafe<{ source: string; recoveredFrom: string | null; checkoutToken: string | null; cartToken: string | null }[]>(
    `SELECT "source", "recoveredFrom", "checkoutToken", "cartToken" FROM "Purchase"
     WHERE "shopId" = $1 AND "cancelledAt" IS NULL
       AND ("recoveredFrom" = ANY($2::text[]) OR "checkoutToken" = ANY($3::text[]) OR "cartToken" = ANY($3::text[]))`,
    shopId,
    ids,
    tokens,
  );
  return new Set(
    rows.flatMap((p) => [
      ...(p.recoveredFrom ? [`stripe:${p.recoveredFrom}`] : []),
      ...[p.checkoutToken, p.cartToken].filter((t): t is string => Boolean(t)).map((t) => `${p.source}:${t}`),
    ]),
  );
}

/**
 * Stores the events at `candidates` (indices into `events`, from newCheckoutCandidates) that are new to the store, and returns
 * their results by index. The caller holds the shop's ingest lock and runs the others one by one.
 */
export async function ingestNewCheckouts(tx: Tx, shopId: string, events: SourceEvent[], candidates: number[], now: Date): Promise<Map<number, IngestResult>> {
  const results = new Map<number, IngestResult>();
  let fresh = candidates.map((index) => ({ index, e: events[index] as CheckoutObserved }));
  if (fresh.length === 0) return results;

  // 1. Which candidates stay in the batch. Not one already stored (by id, or by a token on either token column) or named
  // by a purchase that came first: those are merges and credits, one by one. Nor one whose buyer has a stored checkout
  // that another event of the batch changes (its email, a purchase crediting it): taken one by one, in order, so what
  // that event does to the buyer's other checkouts is what storing them one by one does.
  const storedByKey = await storedRowsByKey(tx, shopId, events);
  const named = await purchasesNaming(
    tx,
    shopId,
    fresh.map(({ e }) => e),
  );
  const isKnown = (e: CheckoutObserved) => lookupKeysOf(e).some((k) => storedByKey.has(k) || named.has(k));
  const inBatch = new Set(fresh.filter(({ e }) => !isKnown(e)).map(({ index }) => index));
  const touched = new Set(events.flatMap((e, index) => (inBatch.has(index) ? [] : lookupKeysOf(e).flatMap((k) => storedByKey.get(k) ?? []))));
  // A buyer's checkouts stay together: if one of them goes one by one, so do the others (their order is the batch's).
  // (A checkout without an email has no buyer to share: only its own keys count.)
  const stays = ({ index, e }: (typeof fresh)[number]) => inBatch.has(index) && !(emailOf(e) && touched.has(emailOf(e)));
  const leftOut = new Set(fresh.flatMap((item) => (stays(item) || !emailOf(item.e) ? [] : [emailOf(item.e)])));
  fresh = fresh.filter((item) => stays(item) && !leftOut.has(emailOf(item.e)));

  // Rounds: a buyer's first new checkout of the batch in the first, their second in the second… so each round has one
  // checkout per buyer and sees the rounds before it stored, as storing them one by one in order would.
  const rounds: (typeof fresh)[] = [];
  const seenOf = new Map<string, number>();
  for (const item of fresh) {
    const email = emailOf(item.e);
    const round = email ? (seenOf.get(email) ?? 0) : 0;
    if (email) seenOf.set(email, round + 1);
    (rounds[round] ??= []).push(item);
  }
  const campaigns = await campaignsForScheduling(tx, shopId);
  for (const round of rounds) await storeRound(tx, shopId, round, campaigns, now, results);
  return results;
}

const emailOf = (e: CheckoutObserved) => normalizeEmail(e.email) ?? "";

/** Stores one round of new checkouts (at most one per buyer) and schedules them; their results go into `results`. */
async function storeRound(
  tx: Tx,
  shopId: string,
  fresh: { index: number; e: CheckoutObserved }[],
  campaigns: CampaignForScheduling[],
  now: Date,
  results: Map<number, IngestResult>,
) {
  // 2. The rows, as the one-by-one path makes them, and their contacts (read, created or updated in a few statements).
  const planned = fresh.map(({ index, e }) => ({ index, e, merged: mergeCheckout(null, e) }));
  const contactIds = await contactsFor(
    tx,
    shopId,
    planned.flatMap(({ e, merged }) =>
      merged.email ? [{ email: merged.email, firstName: merged.firstName, shopifyCustomerId: e.shopifyCustomerId ?? null }] : [],
    ),
  );
  const updatedAt = new Date();
  const rows = planned.map(({ e, merged }) => {
    const data = recoveryRowData(null, e, merged, merged.email ? (contactIds.get(merged.email) ?? null) : null);
    // A checkout completed when first seen: bought without an email (creditLinkConversion on a row with no email sent).
    const status = merged.becameCompleted && merged.completedAt ? statusAfterLinkPurchase(false) : "open";
    return { ...data, id: newId(), shopId, source: e.source, kind: "cart", status, updatedAt };
  });
  await insertRows(tx, "Recovery", RECOVERY_COLUMNS, rows);
  // What scheduling reads of each row, as written.
  const stored = planned.map((p, i) => ({ ...p, row: storedRow(rows[i]!) }));

  // 3. Their contacts' other recoveries: what supersedes them, what they supersede, what a completion stops.
  const contactList = [...new Set(stored.flatMap(({ row }) => (row.contactId ? [row.contactId] : [])))];
  const newIds = new Set(stored.map(({ row }) => row.id));
  const others = contactList.length
    ? (
        await tx.$queryRawUnsafe<
          Pick<Recovery, "id" | "shopId" | "contactId" | "abandonedAt" | "startedAt" | "notContactableReason" | "kind" | "status" | "source">[]
        >(
          `SELECT "id", "shopId", "contactId", "abandonedAt", "startedAt", "notContactableReason", "kind", "status", "source"
           FROM "Recovery" WHERE "shopId" = $1 AND "contactId" = ANY($2::text[])`,
          shopId,
          contactList,
        )
      ).filter((r) => !newIds.has(r.id))
    : [];
  const othersByContact = new Map<string, typeof others>();
  for (const o of others) if (o.contactId) othersByContact.set(o.contactId, [...(othersByContact.get(o.contactId) ?? []), o]);
  const othersOf = (contactId: string | null) => (contactId ? (othersByContact.get(contactId) ?? []) : []);

  // 4. Completed when first seen: credited as ingestCheckout credits it (no email was sent, so no Flow trigger fires),
  // and the contact's purchase stops their other carts started before it (notePurchase).
  const completed = stored.filter(({ merged, row }) => merged.becameCompleted && row.completedAt);
  if (completed.length) {
    await insertRows(
      tx,
      "Conversion",
      CONVERSION_COLUMNS,
      completed.map(({ e, row }) => ({
        id: newId(),
        shopId,
        recoveryId: row.id,
        messageId: null,
        method: "link",
        matchedBy: completionMatch(e.source),
        source: e.source,
        externalId: row.externalId,
        amountMinor: Number(row.totalMinor),
        currency: row.currency,
        convertedAt: row.completedAt!,
      })),
    );
    await notePurchases(tx, completed, othersOf, now);
  }

  // 5. Scheduling, as scheduleRecovery decides it for a new recovery.
  const contactable = stored.filter(({ row }) => !row.notContactableReason && row.contactId && !row.completedAt && row.status === "open");
  const contactableIds = new Set(contactable.map(({ row }) => row.id));
  const bought = await purchasesSince(
    tx,
    shopId,
    contactable.map(({ row }) => row),
  );
  const logs: (Prisma.DecisionLogCreateManyInput & { id: string })[] = [];
  const messages: (Prisma.MessageCreateManyInput & { id: string })[] = [];
  const superseded: string[] = [];
  // The contacts' older carts each new checkout supersedes, by its source (the sentence names it); stopped together.
  const olderBySource = new Map<string, { id: string }[]>();
  let firstDue: Date | null = null;
  const log = (row: StoredRow, outcome: string, reason: string, detail: string) =>
    logs.push({ id: newId(), shopId, recoveryId: row.id, messageId: null, outcome, reason, detail, decidedAt: now });
  for (const { index, row, merged } of stored) {
    const result = (schedule: ScheduleOutcome["kind"]) =>
      results.set(index, {
        kind: "checkout",
        recoveryId: row.id,
        created: true,
        changed: true,
        completed: merged.becameCompleted && row.completedAt !== null,
        schedule,
      });
    if (!contactableIds.has(row.id)) {
      result("not_applicable");
      continue;
    }
    const purchase = bought(row);
    if (purchase) {
      log(row, "skip", "purchased", boughtDetail(purchase));
      result("none");
      continue;
    }
    const newer = othersOf(row.contactId)
      .filter((o) => supersedes(o, row))
      .sort((a, b) => b.abandonedAt.getTime() - a.abandonedAt.getTime())[0];
    if (newer) {
      superseded.push(row.id);
      log(row, "skip", "superseded", supersededDetail(newer.source));
      result("superseded");
      continue;
    }
    const older = othersOf(row.contactId).filter((o) => supersedes(row, o) && (o.status === "open" || o.status === "contacting"));
    olderBySource.set(row.source, [...(olderBySource.get(row.source) ?? []), ...older]);
    if (campaigns.length === 0) {
      result("none");
      continue;
    }
    const chosen = chooseCampaign(campaigns, { ...row, totalMinor: Number(row.totalMinor) } as RecoveryForScheduling);
    if (!chosen.campaign) {
      log(row, "skip", "no_matching_campaign", chosen.detail);
      result("none");
      continue;
    }
    const plan = planMessages(chosen.campaign, row.abandonedAt, now);
    if (plan.kind === "none") {
      log(row, "skip", plan.reason, plan.detail);
      result("none");
      continue;
    }
    for (const m of plan.messages) {
      messages.push({
        id: newId(),
        shopId,
        recoveryId: row.id,
        campaignId: plan.campaignId,
        stepId: m.stepId,
        position: m.position,
        scheduledFor: m.scheduledFor,
        toEmail: row.email,
        createdAt: now,
        updatedAt: now,
      });
    }
    const first = plan.messages[0]!.scheduledFor;
    if (!firstDue || first < firstDue) firstDue = first;
    if (plan.shiftedByMs > 0) log(row, "hold", "late_start", lateStartDetail(plan.shiftedByMs));
    result("scheduled");
  }
  for (const [source, older] of olderBySource) await supersedeOlder(tx, { shopId, source }, older, now);
  if (superseded.length) await tx.recovery.updateMany({ where: { id: { in: superseded } }, data: { status: "superseded" } });
  if (messages.length) await insertRows(tx, "Message", MESSAGE_COLUMNS, messages, { onConflictDoNothing: true });
  if (logs.length) await insertRows(tx, "DecisionLog", DECISION_LOG_COLUMNS, logs);
  if (firstDue) await ensureSweepScheduled(tx, firstDue);
}

/**
 * The batch's contacts by email: read in one statement, the missing ones created in one (keeping a redacted person's
 * unsubscribe, as upsertContact does), a changed first name or Shopify customer id written as upsertContact writes it.
 */
async function contactsFor(tx: Tx, shopId: string, seen: { email: string; firstName: string | null; shopifyCustomerId: string | null }[]) {
  const ids = new Map<string, string>();
  if (seen.length === 0) return ids;
  const emails = [...new Set(seen.map((s) => s.email))];
  const existing = await tx.$queryRawUnsafe<{ id: string; email: string; firstName: string | null; shopifyCustomerId: string | null }[]>(
    `SELECT "id", "email", "firstName", "shopifyCustomerId" FROM "Contact" WHERE "shopId" = $1 AND "email" = ANY($2::text[])`,
    shopId,
    emails,
  );
  for (const c of existing) {
    ids.set(c.email, c.id);
    const s = seen.find((x) => x.email === c.email)!;
    const update = {
      ...(s.firstName && s.firstName !== c.firstName ? { firstName: s.firstName } : {}),
      ...(s.shopifyCustomerId && s.shopifyCustomerId !== c.shopifyCustomerId ? { shopifyCustomerId: s.shopifyCustomerId } : {}),
    };
    if (Object.keys(update).length > 0) await tx.contact.update({ where: { id: c.id }, data: update });
  }
  const missing = seen.filter((s, i) => !ids.has(s.email) && seen.findIndex((x) => x.email === s.email) === i);
  if (missing.length) {
    const kept = await suppressionsAfterRedaction(
      tx,
      shopId,
      missing.map((m) => m.email),
    );
    const updatedAt = new Date();
    const created = await insertRows<{ id: string; email: string }>(
      tx,
      "Contact",
      CONTACT_COLUMNS,
      missing.map((m) => ({
        id: newId(),
        shopId,
        email: m.email,
        firstName: m.firstName,
        shopifyCustomerId: m.shopifyCustomerId,
        unsubscribedAt: kept.get(m.email)?.unsubscribedAt ?? null,
        suppressedAt: kept.get(m.email)?.suppressedAt ?? null,
        suppressionReason: kept.get(m.email)?.suppressionReason ?? null,
        updatedAt,
      })),
      { onConflictDoNothing: true, returning: ["id", "email"] },
    );
    for (const c of created) ids.set(c.email, c.id);
    // Created meanwhile outside the ingest lock (a consent webhook): read them.
    const raced = missing.filter((m) => !ids.has(m.email)).map((m) => m.email);
    if (raced.length)
      for (const c of await tx.contact.findMany({ where: { shopId, email: { in: raced } }, select: { id: true, email: true } })) ids.set(c.email, c.id);
  }
  return ids;
}

/** A purchase of the contact (or their address) since the recovery's checkout started, as scheduleRecovery looks for it. */
async function purchasesSince(tx: Tx, shopId: string, rows: StoredRow[]) {
  if (rows.length === 0) return () => null;
  const started = (r: StoredRow) => r.startedAt ?? r.abandonedAt;
  const from = new Date(Math.min(...rows.map((r) => started(r).getTime())));
  const emails = rows.flatMap((r) => (r.email ? [r.email] : []));
  const purchases = await tx.$queryRawUnsafe<{ source: string; occurredAt: Date; contactId: string | null; email: string | null }[]>(
    `SELECT "source", "occurredAt", "contactId", "email" FROM "Purchase"
     WHERE "shopId" = $1 AND "cancelledAt" IS NULL AND "occurredAt" >= $2 AND ("contactId" = ANY($3::text[]) OR "email" = ANY($4::text[]))
     ORDER BY "occurredAt" ASC`,
    shopId,
    from,
    rows.map((r) => r.contactId!),
    emails,
  );
  return (r: StoredRow) =>
    purchases.find((p) => p.occurredAt >= started(r) && (p.contactId === r.contactId || (r.email !== null && p.email === r.email))) ?? null;
}

/**
 * notePurchase for the batch's completed checkouts: the contacts' last purchase moves forward (their rows locked in id
 * order, as the send path locks them), and each contact's other open carts started before it stop.
 */
async function notePurchases(
  tx: Tx,
  completed: { e: CheckoutObserved; row: StoredRow }[],
  othersOf: (contactId: string | null) => { id: string; kind: string; status: string; abandonedAt: Date; startedAt: Date | null }[],
  now: Date,
) {
  const latest = new Map<string, Date>();
  for (const { row } of completed) {
    if (row.contactId && (!latest.has(row.contactId) || latest.get(row.contactId)! < row.completedAt!)) latest.set(row.contactId, row.completedAt!);
  }
  await moveLastPurchaseForward(tx, latest, now);
  for (const { e, row } of completed) {
    const at = row.completedAt!;
    const detail = e.source === "shopify" ? "completed this checkout on Shopify" : "completed this session on Stripe";
    const stop = othersOf(row.contactId).filter(
      (o) => o.kind === "cart" && (o.status === "open" || o.status === "contacting") && (o.startedAt ?? o.abandonedAt) <= at,
    );
    for (const o of stop) await cancelScheduledMessages(tx, { recoveryId: o.id }, "purchased", detail, now);
  }
}
