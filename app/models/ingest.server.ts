import { isBought, statusAfterLinkPurchase } from "../recovery/recovered";
import { createHash } from "node:crypto";
import type { Prisma, PrismaClient, Recovery } from "@prisma/client";
import { mergeCheckout, notContactableReason, type StoredCheckout } from "../recovery/merge-checkout";
import type { CheckoutObserved, CheckoutPixelObserved, ConsentEvidence, PurchaseObserved, SourceEvent } from "../recovery/model";
import { normalizeEmail } from "../recovery/model";
import { suppressionAfterRedaction } from "../privacy/suppression.server";
import { scheduleRecovery, type ScheduleOutcome } from "./message.server";
import { recordFlowTrigger } from "../flow/record.server";
import { formatMoney } from "../recovery/money";

type Tx = Prisma.TransactionClient;

export type IngestResult =
  | { kind: "checkout"; recoveryId: string; created: boolean; changed: boolean; completed: boolean; schedule?: ScheduleOutcome["kind"] }
  | { kind: "purchase"; purchaseId: string; created: boolean; convertedRecoveryIds: string[]; stoppedMessages: number }
  | { kind: "purchase_ignored"; externalId: string; reason: string }
  | { kind: "purchase_cancelled"; purchaseId: string; changed: boolean; reversedConversionIds: string[] }
  | { kind: "pixel"; recoveryId: string | null; outcome: PixelIngestOutcome; reason?: string };

/**
 * Applies one SourceEvent to the store. Idempotent and order-independent: the same event twice changes nothing,
 * and a purchase that arrives before the checkout it completes is matched when the checkout arrives.
 * This is the one place where vendor-neutral events become Recovery, Contact, Purchase and Conversion rows.
 */
export async function ingestSourceEvent(db: PrismaClient, shopId: string, event: SourceEvent, now: Date): Promise<IngestResult> {
  return db.$transaction(async (tx) => {
    await lockShopIngest(tx, shopId);
    return event.kind === "checkout.observed"
      ? ingestCheckout(tx, shopId, event, now)
      : event.kind === "checkout.pixel"
        ? ingestPixelCheckout(tx, shopId, event, now)
        : ingestPurchase(tx, shopId, event, now);
  });
}

/**
 * One ingest at a time per shop, across every process: a transaction-scoped advisory lock, released at commit. Ingest
 * reads before it writes (is this checkout known, by id or by token? is there a conversion already? a contact?), and
 * under READ COMMITTED two concurrent ingests of one checkout (the poll and its webhook, a redelivery) would both read
 * "nothing yet" and write two recoveries or two conversions. Shops still ingest in parallel with each other.
 * docs/decisions/070-postgresql.md.
 */
export async function lockShopIngest(tx: Tx, shopId: string): Promise<void> {
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(${INGEST_LOCK_SPACE}::int, ${lockKey(shopId)}::int)`;
}
const INGEST_LOCK_SPACE = 71_001;
/** A stable 32-bit key for an id (the same in every process). */
export function lockKey(id: string): number {
  return createHash("sha256").update(id).digest().readInt32BE(0);
}

export async function upsertContact(tx: Tx, shopId: string, email: string | null, extra: { firstName?: string | null; shopifyCustomerId?: string | null }) {
  if (!email) return null;
  const existing = await tx.contact.findUnique({ where: { shopId_email: { shopId, email } } });
  if (existing) {
    const update = {
      ...(extra.firstName && extra.firstName !== existing.firstName ? { firstName: extra.firstName } : {}),
      ...(extra.shopifyCustomerId && extra.shopifyCustomerId !== existing.shopifyCustomerId ? { shopifyCustomerId: extra.shopifyCustomerId } : {}),
    };
    return Object.keys(update).length > 0 ? tx.contact.update({ where: { id: existing.id }, data: update }) : existing;
  }
  // A person whose data was erased (customers/redact) after they unsubscribed or bounced stays unsubscribed when they
  // come back: only a hash of their address was kept for this (docs/decisions/040).
  const kept = await suppressionAfterRedaction(tx, shopId, email);
  return tx.contact.create({
    data: { shopId, email, firstName: extra.firstName ?? null, shopifyCustomerId: extra.shopifyCustomerId ?? null, ...(kept ?? {}) },
  });
}

function toStored(r: Recovery): StoredCheckout {
  return {
    email: r.email,
    firstName: r.firstName,
    fullName: r.fullName,
    consent: r.consent as StoredCheckout["consent"],
    consentEvidence: r.consentEvidence === "{}" ? null : (JSON.parse(r.consentEvidence) as ConsentEvidence),
    lineItems: JSON.parse(r.lineItems),
    recoveryUrl: r.recoveryUrl,
    recoveryUrlExpiresAt: r.recoveryUrlExpiresAt,
    checkoutToken: r.checkoutToken,
    sourceUpdatedAt: r.sourceUpdatedAt,
    completedAt: r.completedAt,
    abandonedAt: r.abandonedAt,
  };
}

/** A webhook that knows only the checkout token files the recovery under this placeholder until a poll brings the gid. */
export const tokenPlaceholderId = (token: string) => `token:${token}`;

/**
 * The stored recoveries an observation is about: by vendor id, and by every token it carries. The sides carry different
 * identifiers — webhooks `token` and `cart_token` (and, from 2026-04, no id), the poll the gid and the recovery URL's
 * segment, which on live shops is the cart token (tokensFromRecoveryUrl) — so a token is matched against both token
 * columns. A row naming a different checkout token is another checkout of the same cart (the buyer came back): not this
 * one. More than one row means the same checkout was stored twice before (an older join missed it): they are merged.
 */
async function findExistingRecovery(tx: Tx, shopId: string, e: CheckoutObserved, now: Date): Promise<Recovery | null> {
  const byId = await tx.recovery.findUnique({ where: { shopId_source_externalId: { shopId, source: e.source, externalId: e.externalId } } });
  const tokens = [...new Set([e.checkoutToken, e.cartToken, byId?.checkoutToken, byId?.cartToken].filter((t): t is string => Boolean(t)))];
  if (tokens.length === 0) return byId;
  const byToken = await tx.recovery.findMany({
    where: {
      shopId,
      source: e.source,
      status: { not: "merged" },
      OR: [{ checkoutToken: { in: tokens } }, { cartToken: { in: tokens } }],
      ...(byId ? { id: { not: byId.id } } : {}),
    },
    orderBy: { createdAt: "asc" },
    take: 20,
  });
  // Which checkout this is: the event's own token, else the one the id match knows, else the newest row's.
  const anchor =
    e.checkoutToken ??
    byId?.checkoutToken ??
    [...byToken].sort((a, b) => b.abandonedAt.getTime() - a.abandonedAt.getTime()).find((r) => r.checkoutToken)?.checkoutToken ??
    null;
  const sameCheckout = (r: Recovery) =>
    !r.checkoutToken || !anchor || r.checkoutToken === anchor || (tokens.includes(r.checkoutToken) && r.checkoutToken === e.cartToken);
  const rows = [...(byId ? [byId] : []), ...byToken.filter(sameCheckout)];
  if (rows.length <= 1) return rows[0] ?? null;
  return mergeSplitRecoveries(tx, shopId, rows, now);
}

/**
 * One checkout stored as several recoveries (before the poll could join webhooks by cart token, every 2026-04 webhook
 * and its poll made two): keeps one, folds the others' facts into it, and retires them as `merged` so that nothing is
 * sent twice and nothing is counted twice (the DailyStat trigger drops merged rows). The kept one is the one the buyer
 * already heard from (or that was recovered), so its campaign carries on where it is; the others' pending emails are
 * cancelled. Their sent emails, clicks and decisions stay on them as history.
 */
async function mergeSplitRecoveries(tx: Tx, shopId: string, rows: Recovery[], now: Date): Promise<Recovery> {
  const firstContact = new Map<string, number>();
  for (const r of rows) {
    const m = await tx.message.findFirst({
      where: { recoveryId: r.id, status: { in: ["claimed", "sending", "sent"] } },
      orderBy: { createdAt: "asc" },
      select: { createdAt: true },
    });
    firstContact.set(r.id, m ? m.createdAt.getTime() : Number.POSITIVE_INFINITY);
  }
  const ranked = [...rows].sort(
    (a, b) =>
      Number(isBought(b.status)) - Number(isBought(a.status)) ||
      firstContact.get(a.id)! - firstContact.get(b.id)! ||
      Number(a.pixelOnly) - Number(b.pixelOnly) ||
      a.createdAt.getTime() - b.createdAt.getTime(),
  );
  let keeper = ranked[0]!;
  for (const other of ranked.slice(1)) {
    const detail = `The same checkout as another recovery (${keeper.id}); joined by its checkout and cart tokens`;
    await cancelPendingMessages(tx, other.id, shopId, "duplicate", detail, now);
    // One purchase, counted once: the other record's credit moves to the kept one, or is reversed if it has its own.
    const keeperCredited = await tx.conversion.count({ where: { recoveryId: keeper.id, reversedAt: null } });
    if (keeperCredited > 0) {
      await tx.conversion.updateMany({
        where: { recoveryId: other.id, reversedAt: null },
        data: { reversedAt: now, reversedReason: "duplicate record of this checkout" },
      });
    } else {
      await tx.conversion.updateMany({ where: { recoveryId: other.id }, data: { recoveryId: keeper.id } });
    }
    await tx.recovery.update({
      where: { id: other.id },
      data: {
        status: "merged",
        notContactableReason: "merged",
        mergedIntoId: keeper.id,
        externalId: `merged:${other.id}`,
        checkoutToken: null,
        cartToken: null,
      },
    });
    await tx.decisionLog.create({ data: { shopId, recoveryId: other.id, outcome: "merge", reason: "duplicate", detail, decidedAt: now } });
    // The vendor id moves to the kept row (a real gid beats a token placeholder), then the other's facts are folded in.
    const gid = keeper.externalId.startsWith("token:") && !other.externalId.startsWith("token:") ? other.externalId : keeper.externalId;
    if (gid !== keeper.externalId) keeper = await tx.recovery.update({ where: { id: keeper.id }, data: { externalId: gid } });
    keeper = (await storeObservation(tx, shopId, keeper, { ...observationOf(other), externalId: keeper.externalId })).recovery;
    await tx.decisionLog.create({
      data: {
        shopId,
        recoveryId: keeper.id,
        outcome: "merge",
        reason: "duplicate",
        detail: `Another record of this checkout (${other.id}) was merged into this one`,
        decidedAt: now,
      },
    });
  }
  return keeper;
}

/**
 * Merges the checkouts an older version stored twice (poll under the gid, webhook under its token, never joined because
 * the recovery URL carries the cart token): finds rows sharing a cart token that name no different checkout tokens and
 * runs the same join ingest runs, under the shop's ingest lock. Run by the `repair-split-checkouts` job after an upgrade.
 */
export async function repairSplitRecoveries(db: PrismaClient, now: Date, limit = 200): Promise<{ checked: number; merged: number; more: boolean }> {
  const rows = await db.$queryRaw<{ shopId: string; id: string }[]>`
    SELECT p."shopId", p."id" FROM "Recovery" p
    WHERE p."source" = 'shopify' AND p."status" <> 'merged' AND p."cartToken" IS NOT NULL
      AND EXISTS (
        SELECT 1 FROM "Recovery" w
        WHERE w."shopId" = p."shopId" AND w."source" = 'shopify' AND w."cartToken" = p."cartToken" AND w."id" <> p."id"
          AND w."status" <> 'merged' AND (w."checkoutToken" IS NULL OR p."checkoutToken" IS NULL OR w."checkoutToken" = p."checkoutToken"))
    ORDER BY p."createdAt" ASC
    LIMIT ${limit}`;
  let merged = 0;
  for (const { shopId, id } of rows) {
    merged += await db.$transaction(async (tx) => {
      await lockShopIngest(tx, shopId);
      const row = await tx.recovery.findUnique({ where: { id } });
      if (!row || row.status === "merged") return 0;
      const before = await tx.recovery.count({ where: { shopId, status: "merged" } });
      await findExistingRecovery(tx, shopId, observationOf(row), now);
      return (await tx.recovery.count({ where: { shopId, status: "merged" } })) - before;
    });
  }
  // A batch that merged nothing found only rows the join keeps apart: stop rather than read them again forever.
  return { checked: rows.length, merged, more: rows.length === limit && merged > 0 };
}

/** A stored recovery read back as an observation of its source, to fold it into another record of the same checkout. */
function observationOf(r: Recovery): CheckoutObserved {
  const evidence = r.consentEvidence === "{}" ? null : (JSON.parse(r.consentEvidence) as ConsentEvidence);
  return {
    kind: "checkout.observed",
    source: r.source as CheckoutObserved["source"],
    externalId: r.externalId,
    checkoutToken: r.checkoutToken,
    cartToken: r.cartToken,
    name: r.name,
    email: r.email,
    firstName: r.firstName,
    fullName: r.fullName,
    consent: evidence ?? { state: r.consent as ConsentEvidence["state"], source: "reclaim.merged", detail: {}, at: null },
    lineItems: r.pixelOnly ? null : JSON.parse(r.lineItems),
    total: { amountMinor: Number(r.totalMinor), currency: r.currency },
    shopTotal: r.shopTotalMinor != null && r.shopCurrency ? { amountMinor: Number(r.shopTotalMinor), currency: r.shopCurrency } : null,
    locale: r.locale,
    discountCodes: JSON.parse(r.discountCodes),
    recoveryUrl: r.recoveryUrl,
    recoveryUrlExpiresAt: r.recoveryUrlExpiresAt,
    abandonedAt: r.abandonedAt,
    startedAt: r.startedAt,
    checkoutMode: r.checkoutMode,
    updatedAt: r.sourceUpdatedAt,
    completedAt: r.completedAt,
  };
}

/** Merges one observation into the stored row (or creates it): the facts only, no conversions and no scheduling. */
async function storeObservation(tx: Tx, shopId: string, existing: Recovery | null, e: CheckoutObserved) {
  // Shopify confirming a checkout first seen by the pixel: same row (one record), but nothing the pixel said stays.
  const confirming = existing?.pixelOnly === true;
  const merged = mergeCheckout(existing && !confirming ? toStored(existing) : null, e);
  const contact = await upsertContact(tx, shopId, merged.email, { firstName: merged.firstName, shopifyCustomerId: e.shopifyCustomerId });

  // A real vendor id replaces a token placeholder; never the other way round.
  const externalId = existing && !(existing.externalId.startsWith("token:") && !e.externalId.startsWith("token:")) ? existing.externalId : e.externalId;
  const data = {
    externalId,
    checkoutToken: merged.checkoutToken,
    cartToken: existing?.cartToken ?? e.cartToken ?? null,
    name: e.name ?? existing?.name ?? null,
    contactId: contact?.id ?? null,
    email: merged.email,
    firstName: merged.firstName,
    fullName: merged.fullName ?? null,
    consent: merged.consent,
    consentEvidence: JSON.stringify(merged.consentEvidence ?? {}),
    lineItems: JSON.stringify(merged.lineItems),
    totalMinor: e.total.amountMinor,
    currency: e.total.currency,
    shopTotalMinor: e.shopTotal?.amountMinor ?? null,
    shopCurrency: e.shopTotal?.currency ?? null,
    locale: e.locale ?? existing?.locale ?? null,
    discountCodes: JSON.stringify(e.discountCodes ?? []),
    recoveryUrl: merged.recoveryUrl,
    recoveryUrlExpiresAt: merged.recoveryUrlExpiresAt,
    sourceMetadata: JSON.stringify(e.metadata ?? (existing ? JSON.parse(existing.sourceMetadata) : {})),
    abandonedAt: merged.abandonedAt,
    // The earliest start any observation reported (Stripe session `created`); null = abandonedAt (docs/decisions/076).
    startedAt: earliest(existing?.startedAt ?? null, e.startedAt ?? null),
    checkoutMode: e.checkoutMode ?? existing?.checkoutMode ?? null,
    sourceUpdatedAt: merged.sourceUpdatedAt,
    // An order may have completed a pixel-only row before Shopify listed it: that completion is Shopify's, it stays.
    completedAt: merged.completedAt ?? (confirming ? existing.completedAt : null),
    notContactableReason: notContactableReason(merged),
    pixelOnly: false,
  };
  // Totals follow the newest observation only.
  if (existing && !confirming && e.updatedAt < existing.sourceUpdatedAt) {
    Object.assign(data, {
      totalMinor: existing.totalMinor,
      currency: existing.currency,
      shopTotalMinor: existing.shopTotalMinor,
      shopCurrency: existing.shopCurrency,
      discountCodes: existing.discountCodes,
    });
  }

  const startChanged =
    (data.startedAt?.getTime() ?? null) !== (existing?.startedAt?.getTime() ?? null) || data.checkoutMode !== (existing?.checkoutMode ?? null);
  const recovery = existing
    ? merged.changed ||
      startChanged ||
      externalId !== existing.externalId ||
      data.contactId !== existing.contactId ||
      data.cartToken !== existing.cartToken ||
      confirming
      ? await tx.recovery.update({ where: { id: existing.id }, data })
      : existing
    : await tx.recovery.create({ data: { ...data, shopId, source: e.source } });
  return { recovery, merged };
}

async function ingestCheckout(tx: Tx, shopId: string, e: CheckoutObserved, now: Date): Promise<IngestResult> {
  const existing = await findExistingRecovery(tx, shopId, e, now);
  const { recovery, merged } = await storeObservation(tx, shopId, existing, e);

  let completed = false;
  if (merged.becameCompleted && merged.completedAt) {
    completed = await creditLinkConversion(
      tx,
      recovery,
      {
        matchedBy: e.source === "shopify" ? "completedAt" : "recovered_from",
        source: e.source,
        externalId: recovery.externalId,
        amountMinor: Number(recovery.totalMinor),
        currency: recovery.currency,
        at: merged.completedAt,
      },
      now,
    );
    await notePurchase(
      tx,
      recovery.shopId,
      recovery.contactId,
      merged.completedAt,
      recovery.id,
      now,
      e.source === "shopify" ? "completed this checkout on Shopify" : "completed this session on Stripe",
    );
  }

  // A purchase that arrived first (Stripe recovered_from, a Shopify order with this checkout token) completes it now.
  const earlier = await tx.purchase.findFirst({
    where: {
      shopId,
      // A cancelled order (orders/cancelled, possibly before this checkout arrived) never recovered anything.
      cancelledAt: null,
      OR: [
        { recoveredFrom: recovery.externalId },
        ...(recovery.checkoutToken ? [{ checkoutToken: recovery.checkoutToken, source: recovery.source }] : []),
        ...(recovery.cartToken ? [{ cartToken: recovery.cartToken, source: recovery.source }] : []),
      ],
    },
    orderBy: { occurredAt: "asc" },
  });
  if (earlier && !isBought(recovery.status)) {
    completed =
      (await creditLinkConversion(
        tx,
        recovery,
        {
          matchedBy: earlier.recoveredFrom
            ? "recovered_from"
            : earlier.checkoutToken && earlier.checkoutToken === recovery.checkoutToken
              ? "checkout_token"
              : "cart_token",
          source: earlier.source,
          externalId: earlier.externalId,
          amountMinor: Number(earlier.amountMinor),
          currency: earlier.currency,
          at: earlier.occurredAt,
        },
        now,
      )) || completed;
  }

  // Schedule the campaign the first time the recovery can be contacted (new, or it just gained an email or link),
  // in this transaction: a recovery is never stored contactable without its messages.
  let schedule: ScheduleOutcome["kind"] | undefined;
  if (!existing || existing.notContactableReason !== null) {
    const current = await tx.recovery.findUniqueOrThrow({ where: { id: recovery.id } });
    schedule = (await scheduleRecovery(tx, current, now)).kind;
  }
  return { kind: "checkout", recoveryId: recovery.id, created: !existing, changed: !existing || merged.changed, completed, ...(schedule ? { schedule } : {}) };
}

interface ConversionFacts {
  matchedBy: string;
  source: string;
  externalId: string;
  amountMinor: number;
  currency: string;
  at: Date;
}

/** Records a link-attributed conversion once, marks the recovery recovered and cancels what is still scheduled. */
async function creditLinkConversion(tx: Tx, recovery: Recovery, facts: ConversionFacts, now: Date): Promise<boolean> {
  const existing = await tx.conversion.findUnique({ where: { recoveryId_method: { recoveryId: recovery.id, method: "link" } } });
  if (existing) return false;
  const lastSent = await tx.message.findFirst({
    where: { recoveryId: recovery.id, status: "sent", sentAt: { lte: facts.at } },
    orderBy: { sentAt: "desc" },
    select: { id: true },
  });
  const conversion = await tx.conversion.create({
    data: {
      shopId: recovery.shopId,
      recoveryId: recovery.id,
      messageId: lastSent?.id ?? null,
      method: "link",
      matchedBy: facts.matchedBy,
      source: facts.source,
      externalId: facts.externalId,
      amountMinor: facts.amountMinor,
      currency: facts.currency,
      convertedAt: facts.at,
    },
  });
  await recordFlowTrigger(tx, conversion, now);
  // Recovered only when a Reclaim email came first; otherwise "Bought without an email" (docs/decisions/082).
  await tx.recovery.update({
    where: { id: recovery.id },
    data: { status: statusAfterLinkPurchase(lastSent !== null), completedAt: recovery.completedAt ?? facts.at },
  });
  await cancelPendingMessages(tx, recovery.id, recovery.shopId, "purchased", "the checkout was completed", now);
  return true;
}

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

const earliest = (a: Date | null, b: Date | null): Date | null => (a && b ? (a.getTime() <= b.getTime() ? a : b) : (a ?? b));

/**
 * "Bought since abandoning" is measured from when the buyer started the checkout: a recovery's startedAt (Stripe: the
 * session's `created`), else its abandonedAt (Shopify: the checkout's createdAt). A Stripe session expires up to 24 h
 * after it was started, so its expiry would miss a purchase made in between (docs/decisions/076).
 */
export const startedNoLaterThan = (at: Date): Prisma.RecoveryWhereInput => ({
  OR: [{ startedAt: { lte: at } }, { startedAt: null, abandonedAt: { lte: at } }],
});

/**
 * A contact bought something: remember it (decisions re-check it before every send) and stop the pending messages
 * of their other recoveries started before the purchase, whatever their source.
 */
async function notePurchase(
  tx: Tx,
  shopId: string,
  contactId: string | null,
  at: Date,
  exceptRecoveryId: string | null,
  now: Date,
  detail: string,
): Promise<number> {
  if (!contactId) return 0;
  const contact = await tx.contact.findUnique({ where: { id: contactId }, select: { lastPurchaseAt: true } });
  if (!contact?.lastPurchaseAt || contact.lastPurchaseAt < at) {
    await tx.contact.update({ where: { id: contactId }, data: { lastPurchaseAt: at } });
  }
  const others = await tx.recovery.findMany({
    where: {
      shopId,
      contactId,
      ...startedNoLaterThan(at),
      status: { in: ["open", "contacting"] },
      kind: "cart", // buying something does not pay a failed subscription invoice (docs/decisions/087)
      ...(exceptRecoveryId ? { id: { not: exceptRecoveryId } } : {}),
    },
    select: { id: true },
  });
  let stopped = 0;
  for (const other of others) stopped += await cancelPendingMessages(tx, other.id, shopId, "purchased", detail, now);
  return stopped;
}

/** The Purchase row for an observed purchase (what it was, who, and every identifier that joins it to a checkout). */
function purchaseRow(shopId: string, e: PurchaseObserved, email: string | null, contactId: string | null) {
  return {
    shopId,
    source: e.source,
    externalId: e.externalId,
    email,
    contactId,
    checkoutToken: e.checkoutToken ?? null,
    cartToken: e.cartToken ?? null,
    recoveredFrom: e.recoveredFrom ?? null,
    paymentIntentId: e.paymentIntentId ?? null,
    amountMinor: e.amount.amountMinor,
    currency: e.amount.currency,
    shopAmountMinor: e.shopAmount?.amountMinor ?? null,
    shopCurrency: e.shopAmount?.currency ?? null,
    occurredAt: e.occurredAt,
  };
}

async function ingestPurchase(tx: Tx, shopId: string, e: PurchaseObserved, now: Date): Promise<IngestResult> {
  // A test order, or an order already cancelled, is not a purchase: no Purchase, no Conversion, no messages stopped.
  const notAPurchase = await purchaseRefusal(tx, shopId, e, now);
  if (notAPurchase) return notAPurchase;
  const email = normalizeEmail(e.email);
  const contact = await upsertContact(tx, shopId, email, { shopifyCustomerId: e.shopifyCustomerId });
  const existing = await tx.purchase.findUnique({ where: { shopId_source_externalId: { shopId, source: e.source, externalId: e.externalId } } });
  const purchase = existing ?? (await tx.purchase.create({ data: purchaseRow(shopId, e, email, contact?.id ?? null) }));
  const converted: string[] = [];

  // 1. Link attribution: the purchase names the recovery (Stripe recovered_from) or completes the same checkout.
  const byCheckoutToken =
    !e.recoveredFrom && e.checkoutToken ? await tx.recovery.findFirst({ where: { shopId, source: e.source, checkoutToken: e.checkoutToken } }) : null;
  // By cart token. An order naming a checkout token that no record has is another checkout of that cart than the
  // records that name theirs: only a record that knows no checkout token yet (the poll's) can be it.
  const byCartToken =
    !e.recoveredFrom && !byCheckoutToken && e.cartToken
      ? await tx.recovery.findFirst({
          where: { shopId, source: e.source, cartToken: e.cartToken, ...(e.checkoutToken ? { checkoutToken: null } : {}) },
          orderBy: { abandonedAt: "desc" },
        })
      : null;
  const target = e.recoveredFrom
    ? await tx.recovery.findUnique({ where: { shopId_source_externalId: { shopId, source: "stripe", externalId: e.recoveredFrom } } })
    : (byCheckoutToken ?? byCartToken);
  // An order carries both tokens: it teaches the record the one it lacks (a pixel record has no cart token, a poll
  // record no checkout token), so the poll and webhooks that come later join it instead of starting another.
  if (target && !e.recoveredFrom && ((!target.cartToken && e.cartToken) || (!target.checkoutToken && e.checkoutToken))) {
    await tx.recovery.update({
      where: { id: target.id },
      data: { cartToken: target.cartToken ?? e.cartToken ?? null, checkoutToken: target.checkoutToken ?? e.checkoutToken ?? null },
    });
  }
  if (target) {
    const credited = await creditLinkConversion(
      tx,
      target,
      {
        matchedBy: e.recoveredFrom ? "recovered_from" : byCheckoutToken ? "checkout_token" : "cart_token",
        source: e.source,
        externalId: e.externalId,
        amountMinor: e.amount.amountMinor,
        currency: e.amount.currency,
        at: e.occurredAt,
      },
      now,
    );
    if (credited) converted.push(target.id);
  } else if (contact) {
    // 2. Window attribution: the same contact clicked a recovery email within the shop's window before buying.
    const shop = await tx.shop.findUniqueOrThrow({ where: { id: shopId }, select: { attributionWindowDays: true } });
    const since = new Date(e.occurredAt.getTime() - shop.attributionWindowDays * 86_400_000);
    const click = await tx.click.findFirst({
      // A cart purchase is never credited to a payment notice (docs/decisions/087).
      where: { shopId, clickedAt: { gte: since, lte: e.occurredAt }, recovery: { contactId: contact.id, status: { not: "recovered" }, kind: "cart" } },
      orderBy: { clickedAt: "desc" },
      include: { recovery: true },
    });
    if (click) {
      const already = await tx.conversion.findUnique({ where: { recoveryId_method: { recoveryId: click.recoveryId, method: "window" } } });
      if (!already) {
        const conversion = await tx.conversion.create({
          data: {
            shopId,
            recoveryId: click.recoveryId,
            messageId: click.messageId,
            method: "window",
            matchedBy: e.source === "shopify" ? "order" : "payment",
            source: e.source,
            externalId: e.externalId,
            amountMinor: e.amount.amountMinor,
            currency: e.amount.currency,
            convertedAt: e.occurredAt,
          },
        });
        await recordFlowTrigger(tx, conversion, now);
        converted.push(click.recoveryId);
      }
    }
  }

  const stopped = await notePurchase(
    tx,
    shopId,
    contact?.id ?? null,
    e.occurredAt,
    null,
    now,
    e.source === "stripe" ? "bought on Stripe" : "ordered on Shopify",
  );
  return { kind: "purchase", purchaseId: purchase.id, created: !existing, convertedRecoveryIds: converted, stoppedMessages: stopped };
}

// ---------------------------------------------------------------------------------------------------------------
// Orders that are not purchases: test orders, and cancelled ones (orders/cancelled, or an order that arrives cancelled).

export const TEST_ORDER_REASON = "a test order (test: true) is not a purchase";
export const ALREADY_CANCELLED_REASON = "the order was already cancelled when it arrived, so it is not a purchase";
export const CANCELLED_FIRST_REASON = "the order's cancellation was processed first, so it is not a purchase";

const ignoredPurchase = (e: PurchaseObserved, reason: string): IngestResult => ({ kind: "purchase_ignored", externalId: e.externalId, reason });

/**
 * Why this purchase event must not count, or null when it is a purchase. A test order never is. An order that arrives
 * cancelled is not one either; if it had been stored as a purchase before (a delivery that raced its own update), the
 * cancellation is applied to it. An order whose cancellation came first (a cancelled Purchase row) stays not counted.
 */
async function purchaseRefusal(tx: Tx, shopId: string, e: PurchaseObserved, now: Date): Promise<IngestResult | null> {
  if (e.test === true) return ignoredPurchase(e, TEST_ORDER_REASON);
  const existing = await tx.purchase.findUnique({
    where: { shopId_source_externalId: { shopId, source: e.source, externalId: e.externalId } },
    select: { cancelledAt: true },
  });
  if (existing?.cancelledAt) return ignoredPurchase(e, CANCELLED_FIRST_REASON);
  if (!e.cancelledAt) return null;
  if (existing) return cancelPurchase(tx, shopId, e, e.cancelledAt, now);
  return ignoredPurchase(e, ALREADY_CANCELLED_REASON);
}

/**
 * `orders/cancelled`: the order is no longer a purchase. Idempotent (a redelivery, or a second cancellation of the same
 * order, changes nothing) and order-independent (a cancellation that arrives before its order stores the Purchase
 * already cancelled, so the late orders/create is not counted).
 */
export async function ingestPurchaseCancellation(
  db: PrismaClient,
  shopId: string,
  e: PurchaseObserved & { cancelledAt: Date },
  now: Date,
): Promise<IngestResult> {
  return db.$transaction(async (tx) => {
    await lockShopIngest(tx, shopId);
    if (e.test === true) return ignoredPurchase(e, TEST_ORDER_REASON);
    return cancelPurchase(tx, shopId, e, e.cancelledAt, now);
  });
}

/**
 * Marks the Purchase cancelled and reverses every conversion it credited: those that name the order (checkout or cart
 * token, window attribution) and, for a Shopify order, the one credited when Shopify reported its checkout completed
 * (`completedAt`, recorded under the checkout's id; a checkout token completes into exactly one order). The rows stay;
 * the dashboard's totals drop them (trigger "Conversion_reversed_daily_stat"). Messages the purchase stopped are not
 * rescheduled: the buyer did check out, and an email after a cancelled order (often the merchant's own decision: fraud,
 * stock) would be wrong. Contact.lastPurchaseAt is kept for the same reason.
 */
async function cancelPurchase(tx: Tx, shopId: string, e: PurchaseObserved, cancelledAt: Date, now: Date): Promise<IngestResult> {
  const where = { shopId_source_externalId: { shopId, source: e.source, externalId: e.externalId } };
  const existing = await tx.purchase.findUnique({ where });
  if (existing?.cancelledAt) return { kind: "purchase_cancelled", purchaseId: existing.id, changed: false, reversedConversionIds: [] };
  let purchase;
  if (existing) {
    purchase = await tx.purchase.update({ where: { id: existing.id }, data: { cancelledAt } });
  } else {
    // The cancellation came first: keep the order as cancelled (no Contact is created for it) so that its
    // orders/create, when it comes, is recognised and not counted.
    const email = normalizeEmail(e.email);
    const contact = email ? await tx.contact.findUnique({ where: { shopId_email: { shopId, email } }, select: { id: true } }) : null;
    purchase = await tx.purchase.create({ data: { ...purchaseRow(shopId, e, email, contact?.id ?? null), cancelledAt } });
  }

  const credited = await tx.conversion.findMany({
    where: {
      shopId,
      reversedAt: null,
      OR: [
        { source: e.source, externalId: e.externalId },
        ...(e.source === "shopify" && e.checkoutToken
          ? [{ source: "shopify", matchedBy: "completedAt", recovery: { source: "shopify", checkoutToken: e.checkoutToken } }]
          : []),
      ],
    },
    include: { recovery: { select: { id: true, status: true } } },
    orderBy: { createdAt: "asc" },
  });
  const reversed: string[] = [];
  for (const conversion of credited) {
    const done = await tx.conversion.updateMany({
      where: { id: conversion.id, reversedAt: null },
      data: { reversedAt: cancelledAt, reversedReason: "order_cancelled" },
    });
    if (done.count === 0) continue;
    reversed.push(conversion.id);
    const status = conversion.method === "link" && isBought(conversion.recovery.status) ? await statusAfterReversal(tx, conversion.recoveryId) : null;
    if (status) await tx.recovery.update({ where: { id: conversion.recoveryId }, data: { status } });
    const amount = formatMoney({ amountMinor: Number(conversion.amountMinor), currency: conversion.currency });
    await tx.decisionLog.create({
      data: {
        shopId,
        recoveryId: conversion.recoveryId,
        outcome: "cancel",
        reason: "order_cancelled",
        detail:
          `The order was cancelled on Shopify: its ${amount} no longer counts as recovered` +
          (conversion.method === "window" ? " (by window)" : "") +
          (status ? `; the recovery is ${status === "lost" ? "lost" : `${status} again`}` : ""),
        decidedAt: now,
      },
    });
  }
  return { kind: "purchase_cancelled", purchaseId: purchase.id, changed: true, reversedConversionIds: reversed };
}

/**
 * Where a recovery goes when the purchase that recovered it is cancelled. The status model (Recovery.status:
 * `open` → `contacting` → `recovered` | `lost` …) says `open` is "nothing sent yet", `contacting` is "emails going out",
 * and `lost` is "Reclaim wrote, nothing is left to send, and the buyer did not come back" (closeUnrecovered). A cancelled
 * order did not bring the buyer back; the credit cancelled the pending messages and they are not rescheduled, so with
 * nothing left to send the recovery is `lost`, at once rather than a window later (there is nothing left to wait for).
 * If something is still scheduled or being sent (a message that was not cancelled), it goes back to where its emails
 * say it is: `contacting` once one was sent, else `open`.
 */
export async function statusAfterReversal(tx: Tx, recoveryId: string): Promise<"open" | "contacting" | "lost"> {
  const pending = await tx.message.count({ where: { recoveryId, status: { in: ["scheduled", "claimed", "sending"] } } });
  if (pending === 0) return "lost";
  const sent = await tx.message.count({ where: { recoveryId, status: "sent" } });
  return sent > 0 ? "contacting" : "open";
}

// ---------------------------------------------------------------------------------------------------------------
// The checkout web pixel (docs/decisions/050): public input. It may make a checkout visible before the next poll and
// hold sends after a reported completion; it never changes what Shopify confirmed, never creates a Contact, a
// Conversion or a Purchase, and a pixel-only recovery is never scheduled.

export type PixelIngestOutcome = "created" | "updated" | "completion_noted" | "unchanged" | "ignored";

function pixelObservation(e: CheckoutPixelObserved): CheckoutObserved {
  const accepts = e.buyerAcceptsEmailMarketing;
  return {
    kind: "checkout.observed",
    source: "shopify",
    externalId: tokenPlaceholderId(e.checkoutToken),
    checkoutToken: e.checkoutToken,
    email: e.email,
    firstName: null,
    consent: {
      // As on the webhook: an unticked box is the absence of consent, not an opt-out. Shown, never relied on.
      state: accepts === true ? "opt_in" : "unknown",
      source: "shopify.pixel.buyerAcceptsEmailMarketing",
      detail: { buyerAcceptsEmailMarketing: accepts },
      at: e.occurredAt.toISOString(),
    },
    lineItems: e.lineItems,
    total: e.total,
    recoveryUrl: null,
    recoveryUrlExpiresAt: null,
    abandonedAt: e.startedAt && e.startedAt < e.occurredAt ? e.startedAt : e.occurredAt,
    updatedAt: e.occurredAt,
    completedAt: null,
  };
}

async function ingestPixelCheckout(tx: Tx, shopId: string, e: CheckoutPixelObserved, now: Date): Promise<IngestResult> {
  const done = (recoveryId: string | null, outcome: PixelIngestOutcome, reason?: string): IngestResult => ({
    kind: "pixel",
    recoveryId,
    outcome,
    ...(reason ? { reason } : {}),
  });
  const existing = await tx.recovery.findFirst({ where: { shopId, source: "shopify", checkoutToken: e.checkoutToken }, orderBy: { createdAt: "asc" } });

  if (e.event === "checkout_completed") {
    // Not a purchase (no Conversion, no Purchase): it only holds sends until an order, the poll or Stripe confirms.
    if (!existing) return done(null, "ignored", "completion of a checkout Reclaim has not seen");
    if (existing.pixelCompletedAt || existing.completedAt || isBought(existing.status)) return done(existing.id, "unchanged");
    // The browser's clock can only shorten the hold, never lengthen it.
    const at = new Date(Math.min(e.occurredAt.getTime(), now.getTime()));
    await tx.recovery.update({ where: { id: existing.id }, data: { pixelCompletedAt: at } });
    return done(existing.id, "completion_noted");
  }

  if (existing && !existing.pixelOnly) return done(existing.id, "unchanged", "confirmed by Shopify; the pixel does not change it");
  const seen = pixelObservation(e);
  if (!existing) {
    // Shopify lists abandoned checkouts only once the buyer gave contact details; before that there is nothing to show.
    if (!normalizeEmail(e.email)) return done(null, "ignored", "no email yet");
    const fresh = mergeCheckout(null, seen);
    const created = await tx.recovery.create({
      data: {
        shopId,
        source: "shopify",
        externalId: seen.externalId,
        checkoutToken: e.checkoutToken,
        email: fresh.email,
        consent: fresh.consent,
        consentEvidence: JSON.stringify(fresh.consentEvidence ?? {}),
        lineItems: JSON.stringify(fresh.lineItems),
        totalMinor: e.total.amountMinor,
        currency: e.total.currency,
        abandonedAt: fresh.abandonedAt,
        sourceUpdatedAt: fresh.sourceUpdatedAt,
        notContactableReason: notContactableReason(fresh),
        pixelOnly: true,
      },
    });
    return done(created.id, "created");
  }

  // Still pixel-only: later pixel events refine it (newer event time wins, older ones only fill gaps).
  const merged = mergeCheckout(toStored(existing), seen);
  const newer = e.occurredAt.getTime() >= existing.sourceUpdatedAt.getTime();
  const totalChanges = newer && (Number(existing.totalMinor) !== e.total.amountMinor || existing.currency !== e.total.currency);
  if (!merged.changed && !totalChanges) return done(existing.id, "unchanged");
  await tx.recovery.update({
    where: { id: existing.id },
    data: {
      email: merged.email,
      consent: merged.consent,
      consentEvidence: JSON.stringify(merged.consentEvidence ?? {}),
      lineItems: JSON.stringify(merged.lineItems),
      ...(newer ? { totalMinor: e.total.amountMinor, currency: e.total.currency } : {}),
      abandonedAt: merged.abandonedAt,
      sourceUpdatedAt: merged.sourceUpdatedAt,
      notContactableReason: notContactableReason(merged),
    },
  });
  return done(existing.id, "updated");
}
