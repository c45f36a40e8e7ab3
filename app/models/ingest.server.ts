import { createHash } from "node:crypto";
import type { Prisma, PrismaClient, Recovery } from "@prisma/client";
import { mergeCheckout, notContactableReason, type StoredCheckout } from "../recovery/merge-checkout";
import type { CheckoutObserved, CheckoutPixelObserved, ConsentEvidence, PurchaseObserved, SourceEvent } from "../recovery/model";
import { normalizeEmail } from "../recovery/model";
import { suppressionAfterRedaction } from "../privacy/suppression.server";
import { scheduleRecovery, type ScheduleOutcome } from "./message.server";
import { recordFlowTrigger } from "../flow/record.server";

type Tx = Prisma.TransactionClient;

export type IngestResult =
  | { kind: "checkout"; recoveryId: string; created: boolean; changed: boolean; completed: boolean; schedule?: ScheduleOutcome["kind"] }
  | { kind: "purchase"; purchaseId: string; created: boolean; convertedRecoveryIds: string[]; stoppedMessages: number }
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
async function lockShopIngest(tx: Tx, shopId: string): Promise<void> {
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(${INGEST_LOCK_SPACE}::int, ${lockKey(shopId)}::int)`;
}
const INGEST_LOCK_SPACE = 71_001;
/** A stable 32-bit key for an id (the same in every process). */
export function lockKey(id: string): number {
  return createHash("sha256").update(id).digest().readInt32BE(0);
}

async function upsertContact(tx: Tx, shopId: string, email: string | null, extra: { firstName?: string | null; shopifyCustomerId?: string | null }) {
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

async function findExistingRecovery(tx: Tx, shopId: string, e: CheckoutObserved): Promise<Recovery | null> {
  const byId = await tx.recovery.findUnique({ where: { shopId_source_externalId: { shopId, source: e.source, externalId: e.externalId } } });
  if (byId || !e.checkoutToken) return byId;
  return tx.recovery.findFirst({ where: { shopId, source: e.source, checkoutToken: e.checkoutToken }, orderBy: { createdAt: "asc" } });
}

async function ingestCheckout(tx: Tx, shopId: string, e: CheckoutObserved, now: Date): Promise<IngestResult> {
  const existing = await findExistingRecovery(tx, shopId, e);
  // Shopify confirming a checkout first seen by the pixel: same row (one record), but nothing the pixel said stays.
  const confirming = existing?.pixelOnly === true;
  const merged = mergeCheckout(existing && !confirming ? toStored(existing) : null, e);
  const contact = await upsertContact(tx, shopId, merged.email, { firstName: merged.firstName, shopifyCustomerId: e.shopifyCustomerId });

  // A real vendor id replaces a token placeholder; never the other way round.
  const externalId =
    existing && !(existing.externalId.startsWith("token:") && !e.externalId.startsWith("token:")) ? existing.externalId : e.externalId;
  const data = {
    externalId,
    checkoutToken: merged.checkoutToken,
    cartToken: existing?.cartToken ?? e.cartToken ?? null,
    name: e.name ?? existing?.name ?? null,
    contactId: contact?.id ?? null,
    email: merged.email,
    firstName: merged.firstName,
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

  const recovery = existing
    ? merged.changed || externalId !== existing.externalId || data.contactId !== existing.contactId
      ? await tx.recovery.update({ where: { id: existing.id }, data })
      : existing
    : await tx.recovery.create({ data: { ...data, shopId, source: e.source } });

  let completed = false;
  if (merged.becameCompleted && merged.completedAt) {
    completed = await creditLinkConversion(tx, recovery, {
      matchedBy: e.source === "shopify" ? "completedAt" : "recovered_from",
      source: e.source,
      externalId: recovery.externalId,
      amountMinor: Number(recovery.totalMinor),
      currency: recovery.currency,
      at: merged.completedAt,
    }, now);
    await notePurchase(tx, recovery.shopId, recovery.contactId, merged.completedAt, recovery.id, now,
      e.source === "shopify" ? "completed this checkout on Shopify" : "completed this session on Stripe");
  }

  // A purchase that arrived first (Stripe recovered_from, a Shopify order with this checkout token) completes it now.
  const earlier = await tx.purchase.findFirst({
    where: {
      shopId,
      OR: [
        { recoveredFrom: recovery.externalId },
        ...(recovery.checkoutToken ? [{ checkoutToken: recovery.checkoutToken, source: recovery.source }] : []),
        ...(recovery.cartToken ? [{ cartToken: recovery.cartToken, source: recovery.source }] : []),
      ],
    },
    orderBy: { occurredAt: "asc" },
  });
  if (earlier && recovery.status !== "recovered") {
    completed = (await creditLinkConversion(tx, recovery, {
      matchedBy: earlier.recoveredFrom ? "recovered_from" : earlier.checkoutToken && earlier.checkoutToken === recovery.checkoutToken ? "checkout_token" : "cart_token",
      source: earlier.source,
      externalId: earlier.externalId,
      amountMinor: Number(earlier.amountMinor),
      currency: earlier.currency,
      at: earlier.occurredAt,
    }, now)) || completed;
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
  await tx.recovery.update({
    where: { id: recovery.id },
    data: { status: "recovered", completedAt: recovery.completedAt ?? facts.at },
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

/**
 * A contact bought something: remember it (decisions re-check it before every send) and stop the pending messages
 * of their other recoveries abandoned before the purchase, whatever their source.
 */
async function notePurchase(tx: Tx, shopId: string, contactId: string | null, at: Date, exceptRecoveryId: string | null, now: Date, detail: string): Promise<number> {
  if (!contactId) return 0;
  const contact = await tx.contact.findUnique({ where: { id: contactId }, select: { lastPurchaseAt: true } });
  if (!contact?.lastPurchaseAt || contact.lastPurchaseAt < at) {
    await tx.contact.update({ where: { id: contactId }, data: { lastPurchaseAt: at } });
  }
  const others = await tx.recovery.findMany({
    where: { shopId, contactId, abandonedAt: { lte: at }, status: { in: ["open", "contacting"] }, ...(exceptRecoveryId ? { id: { not: exceptRecoveryId } } : {}) },
    select: { id: true },
  });
  let stopped = 0;
  for (const other of others) stopped += await cancelPendingMessages(tx, other.id, shopId, "purchased", detail, now);
  return stopped;
}

async function ingestPurchase(tx: Tx, shopId: string, e: PurchaseObserved, now: Date): Promise<IngestResult> {
  const email = normalizeEmail(e.email);
  const contact = await upsertContact(tx, shopId, email, { shopifyCustomerId: e.shopifyCustomerId });
  const existing = await tx.purchase.findUnique({ where: { shopId_source_externalId: { shopId, source: e.source, externalId: e.externalId } } });
  const purchase =
    existing ??
    (await tx.purchase.create({
      data: {
        shopId,
        source: e.source,
        externalId: e.externalId,
        email,
        contactId: contact?.id ?? null,
        checkoutToken: e.checkoutToken ?? null,
        cartToken: e.cartToken ?? null,
        recoveredFrom: e.recoveredFrom ?? null,
        amountMinor: e.amount.amountMinor,
        currency: e.amount.currency,
        occurredAt: e.occurredAt,
      },
    }));
  const converted: string[] = [];

  // 1. Link attribution: the purchase names the recovery (Stripe recovered_from) or completes the same checkout.
  const byCheckoutToken = !e.recoveredFrom && e.checkoutToken
    ? await tx.recovery.findFirst({ where: { shopId, source: e.source, checkoutToken: e.checkoutToken } })
    : null;
  const byCartToken = !e.recoveredFrom && !byCheckoutToken && e.cartToken
    ? await tx.recovery.findFirst({ where: { shopId, source: e.source, cartToken: e.cartToken }, orderBy: { abandonedAt: "desc" } })
    : null;
  const target = e.recoveredFrom
    ? await tx.recovery.findUnique({ where: { shopId_source_externalId: { shopId, source: "stripe", externalId: e.recoveredFrom } } })
    : (byCheckoutToken ?? byCartToken);
  if (target) {
    const credited = await creditLinkConversion(tx, target, {
      matchedBy: e.recoveredFrom ? "recovered_from" : byCheckoutToken ? "checkout_token" : "cart_token",
      source: e.source,
      externalId: e.externalId,
      amountMinor: e.amount.amountMinor,
      currency: e.amount.currency,
      at: e.occurredAt,
    }, now);
    if (credited) converted.push(target.id);
  } else if (contact) {
    // 2. Window attribution: the same contact clicked a recovery email within the shop's window before buying.
    const shop = await tx.shop.findUniqueOrThrow({ where: { id: shopId }, select: { attributionWindowDays: true } });
    const since = new Date(e.occurredAt.getTime() - shop.attributionWindowDays * 86_400_000);
    const click = await tx.click.findFirst({
      where: { shopId, clickedAt: { gte: since, lte: e.occurredAt }, recovery: { contactId: contact.id, status: { not: "recovered" } } },
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

  const stopped = await notePurchase(tx, shopId, contact?.id ?? null, e.occurredAt, null, now,
    e.source === "stripe" ? "bought on Stripe" : "ordered on Shopify");
  return { kind: "purchase", purchaseId: purchase.id, created: !existing, convertedRecoveryIds: converted, stoppedMessages: stopped };
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
    abandonedAt: e.occurredAt,
    updatedAt: e.occurredAt,
    completedAt: null,
  };
}

async function ingestPixelCheckout(tx: Tx, shopId: string, e: CheckoutPixelObserved, now: Date): Promise<IngestResult> {
  const done = (recoveryId: string | null, outcome: PixelIngestOutcome, reason?: string): IngestResult => ({ kind: "pixel", recoveryId, outcome, ...(reason ? { reason } : {}) });
  const existing = await tx.recovery.findFirst({ where: { shopId, source: "shopify", checkoutToken: e.checkoutToken }, orderBy: { createdAt: "asc" } });

  if (e.event === "checkout_completed") {
    // Not a purchase (no Conversion, no Purchase): it only holds sends until an order, the poll or Stripe confirms.
    if (!existing) return done(null, "ignored", "completion of a checkout Reclaim has not seen");
    if (existing.pixelCompletedAt || existing.completedAt || existing.status === "recovered") return done(existing.id, "unchanged");
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
