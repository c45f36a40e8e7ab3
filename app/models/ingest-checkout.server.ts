/**
 * Checkouts: finding the stored record of an observed checkout (by id or token), merging into it and scheduling it;
 * one checkout stored twice (a webhook's record and its poll's) merged into one, now and by the repair job.
 */
import { isBought } from "../recovery/recovered";
import type { Prisma, PrismaClient, Recovery } from "@prisma/client";
import { mergeCheckout, notContactableReason, type StoredCheckout } from "../recovery/merge-checkout";
import type { CheckoutObserved, ConsentEvidence } from "../recovery/model";
import { completionMatch, linkMatchOf } from "../recovery/attribution";
import { scheduleRecovery, type ScheduleOutcome } from "./message-schedule.server";
import type { IngestResult } from "./ingest.server";
import { lockShopIngest } from "./ingest-lock.server";
import { upsertContact } from "./ingest-contact.server";
import { creditLinkConversion, earliest, notePurchase } from "./ingest-purchase.server";
import { cancelScheduledMessages } from "./message-cancel.server";

type Tx = Prisma.TransactionClient;
export function toStored(r: Recovery): StoredCheckout {
  return {
    email: r.email,
    firstName: r.firstName,
    fullName: r.fullName,
    lastName: r.lastName,
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
    await cancelScheduledMessages(tx, { recoveryId: other.id }, "duplicate", detail, now);
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
    lastName: r.lastName,
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

/**
 * The row an observation makes, merged into the stored one (`existing`, null for a new checkout): the facts only.
 * `merged` is mergeCheckout's result for them. Shared by the one-by-one path and the batch path.
 */
export function recoveryRowData(existing: Recovery | null, e: CheckoutObserved, merged: ReturnType<typeof mergeCheckout>, contactId: string | null) {
  // Shopify confirming a checkout first seen by the pixel: same row (one record), but nothing the pixel said stays.
  const confirming = existing?.pixelOnly === true;
  // A real vendor id replaces a token placeholder; never the other way round.
  const externalId = existing && !(existing.externalId.startsWith("token:") && !e.externalId.startsWith("token:")) ? existing.externalId : e.externalId;
  const data = {
    externalId,
    checkoutToken: merged.checkoutToken,
    cartToken: existing?.cartToken ?? e.cartToken ?? null,
    name: e.name ?? existing?.name ?? null,
    contactId,
    email: merged.email,
    firstName: merged.firstName,
    fullName: merged.fullName ?? null,
    lastName: merged.lastName ?? null,
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
  return data;
}

/** Merges one observation into the stored row (or creates it): the facts only, no conversions and no scheduling. */
async function storeObservation(tx: Tx, shopId: string, existing: Recovery | null, e: CheckoutObserved) {
  const confirming = existing?.pixelOnly === true;
  const merged = mergeCheckout(existing && !confirming ? toStored(existing) : null, e);
  const contact = await upsertContact(tx, shopId, merged.email, { firstName: merged.firstName, shopifyCustomerId: e.shopifyCustomerId });
  const data = recoveryRowData(existing, e, merged, contact?.id ?? null);
  const externalId = data.externalId;

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

export async function ingestCheckout(tx: Tx, shopId: string, e: CheckoutObserved, now: Date): Promise<IngestResult> {
  const existing = await findExistingRecovery(tx, shopId, e, now);
  const { recovery, merged } = await storeObservation(tx, shopId, existing, e);

  let completed = false;
  if (merged.becameCompleted && merged.completedAt) {
    completed = await creditLinkConversion(
      tx,
      recovery,
      {
        matchedBy: completionMatch(e.source),
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
          matchedBy: linkMatchOf(earlier, recovery),
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
