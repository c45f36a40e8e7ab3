import { isBought, statusAfterLinkPurchase } from "../recovery/recovered";
import type { Conversion, Prisma, PrismaClient } from "@prisma/client";
import type { PurchaseObserved } from "../recovery/model";
import { normalizeEmail } from "../recovery/model";
import { formatMoney } from "../recovery/money";
import { lockShopIngest } from "./ingest-lock.server";
import { statusAfterReversal } from "./ingest-cancellation.server";

/**
 * Money that came back out of a Stripe recovery (docs/decisions/076): refunds (`charge.refunded`, full or partial),
 * disputes (`charge.dispute.created` reverses while disputed, `charge.dispute.closed` won restores) and delayed payments
 * that failed (`checkout.session.async_payment_failed`). Recovered revenue is never counted for money the merchant did
 * not keep. Rows stay; the dashboard's DailyStat follows through triggers (20261206000200_order_cancellations for
 * `reversedAt`, 20261206000700_stripe_reversals for `refundedMinor`). Each change is idempotent and logged on the
 * recovery's timeline (DecisionLog). Refunds and disputes name the charge's payment_intent, not the session: the
 * completed session's payment_intent is kept on its Purchase (Purchase.paymentIntentId).
 */

type Tx = Prisma.TransactionClient;

export type ReversalOutcome = { kind: "applied"; conversionIds: string[] } | { kind: "unchanged" } | { kind: "no_purchase"; reason: string };

const NO_PURCHASE = (pi: string | null): ReversalOutcome => ({
  kind: "no_purchase",
  reason: pi ? `no Stripe Checkout purchase with payment_intent ${pi}` : "the event names no payment_intent",
});

/** The conversions credited for the Stripe purchase with this payment_intent (oldest first). */
async function creditedFor(tx: Tx, shopId: string, paymentIntentId: string) {
  const purchases = await tx.purchase.findMany({ where: { shopId, source: "stripe", paymentIntentId }, select: { externalId: true } });
  if (purchases.length === 0) return null;
  return tx.conversion.findMany({
    where: { shopId, source: "stripe", externalId: { in: purchases.map((p) => p.externalId) } },
    include: { recovery: { select: { id: true, status: true } } },
    orderBy: { createdAt: "asc" },
  });
}

type Credited = Conversion & { recovery: { id: string; status: string } };

const amount = (minor: bigint | number, currency: string) => formatMoney({ amountMinor: Number(minor), currency });

async function log(tx: Tx, c: Credited, outcome: string, reason: string, detail: string, now: Date) {
  await tx.decisionLog.create({ data: { shopId: c.shopId, recoveryId: c.recoveryId, outcome, reason, detail, decidedAt: now } });
}

/**
 * Reverses one conversion (reversedAt set once; the trigger subtracts what still counted). A link conversion's recovery
 * leaves `recovered` the way a cancelled Shopify order's does (statusAfterReversal). Returns the recovery's new status,
 * or undefined when the conversion was already reversed.
 */
async function reverse(tx: Tx, c: Credited, at: Date, reason: string): Promise<string | null | undefined> {
  const done = await tx.conversion.updateMany({ where: { id: c.id, reversedAt: null }, data: { reversedAt: at, reversedReason: reason } });
  if (done.count === 0) return undefined;
  const status = c.method === "link" && isBought(c.recovery.status) ? await statusAfterReversal(tx, c.recoveryId) : null;
  if (status) await tx.recovery.update({ where: { id: c.recoveryId }, data: { status } });
  return status;
}

const statusNote = (status: string | null | undefined) => (status ? `; the recovery is ${status === "lost" ? "lost" : `${status} again`}` : "");

export interface RefundFacts {
  paymentIntentId: string | null;
  chargeId: string;
  /** Stripe's cumulative `amount_refunded`, in minor units of the conversion's currency. */
  refundedMinor: number;
  /** `refunded: true` on the charge: everything was refunded. */
  fullyRefunded: boolean;
  currency: string;
  at: Date;
}

/**
 * `charge.refunded`: a partial refund lowers what the conversion counts for (refundedMinor, Stripe's cumulative amount,
 * so a redelivered or older event never lowers it twice); a full refund reverses it.
 */
export async function applyStripeRefund(db: PrismaClient, shopId: string, f: RefundFacts, now: Date): Promise<ReversalOutcome> {
  return db.$transaction(async (tx) => {
    await lockShopIngest(tx, shopId);
    const credited = f.paymentIntentId ? await creditedFor(tx, shopId, f.paymentIntentId) : null;
    if (!credited) return NO_PURCHASE(f.paymentIntentId);
    const changed: string[] = [];
    for (const c of credited) {
      if (c.reversedAt && c.reversedReason !== "disputed") continue; // already out of the totals for good
      const sameCurrency = c.currency.toUpperCase() === f.currency.toUpperCase();
      const full = f.fullyRefunded || (sameCurrency && f.refundedMinor >= Number(c.amountMinor));
      const refunded = full ? c.amountMinor : sameCurrency ? BigInt(Math.min(f.refundedMinor, Number(c.amountMinor))) : c.refundedMinor;
      if (refunded > c.refundedMinor) {
        await tx.conversion.update({ where: { id: c.id }, data: { refundedMinor: refunded } });
        changed.push(c.id);
      }
      if (full) {
        // Refunded in full: the conversion is reversed (a disputed one stays reversed, now for the refund).
        if (c.reversedAt) {
          await tx.conversion.update({ where: { id: c.id }, data: { reversedReason: "refunded" } });
          if (refunded > c.refundedMinor) await log(tx, c, "cancel", "refunded", `Refunded in full on Stripe (${amount(c.amountMinor, c.currency)})`, now);
          continue;
        }
        const status = await reverse(tx, c, f.at, "refunded");
        if (status !== undefined) {
          if (!changed.includes(c.id)) changed.push(c.id);
          await log(
            tx,
            c,
            "cancel",
            "refunded",
            `Refunded in full on Stripe: its ${amount(c.amountMinor, c.currency)} no longer counts as recovered${statusNote(status)}`,
            now,
          );
        }
      } else if (refunded > c.refundedMinor) {
        const left = c.amountMinor - refunded;
        await log(
          tx,
          c,
          "adjust",
          "partially_refunded",
          `Partly refunded on Stripe: ${amount(refunded, c.currency)} refunded so far, ${amount(left, c.currency)} of ${amount(c.amountMinor, c.currency)} still counts as recovered`,
          now,
        );
      }
    }
    return changed.length > 0 ? { kind: "applied", conversionIds: changed } : { kind: "unchanged" };
  });
}

export interface DisputeFacts {
  paymentIntentId: string | null;
  disputeId: string;
  /** `charge.dispute.created` or `charge.dispute.closed`. */
  phase: "created" | "closed";
  /** The dispute's `status` (`won`, `lost`, `warning_closed`, `needs_response`…). */
  status: string | null;
  at: Date;
}

/**
 * A dispute reverses the conversion while it is open (the money is withdrawn from the merchant); closed `won` (or an
 * inquiry closed without a chargeback, `warning_closed`) restores it, closed `lost` keeps it reversed for good.
 */
export async function applyStripeDispute(db: PrismaClient, shopId: string, f: DisputeFacts, now: Date): Promise<ReversalOutcome> {
  return db.$transaction(async (tx) => {
    await lockShopIngest(tx, shopId);
    const credited = f.paymentIntentId ? await creditedFor(tx, shopId, f.paymentIntentId) : null;
    if (!credited) return NO_PURCHASE(f.paymentIntentId);
    const changed: string[] = [];
    const restores = f.phase === "closed" && (f.status === "won" || f.status === "warning_closed");
    for (const c of credited) {
      if (restores) {
        if (c.reversedReason !== "disputed") continue;
        const done = await tx.conversion.updateMany({ where: { id: c.id, reversedReason: "disputed" }, data: { reversedAt: null, reversedReason: null } });
        if (done.count === 0) continue;
        changed.push(c.id);
        // Only a reversal for the dispute is undone: one refunded in full meanwhile has reason `refunded` and stays out.
        if (c.method === "link") await tx.recovery.update({ where: { id: c.recoveryId }, data: { status: statusAfterLinkPurchase(c.messageId !== null) } });
        await log(
          tx,
          c,
          "restore",
          "dispute_won",
          `The dispute was closed in the merchant's favour (${f.status}): ${amount(c.amountMinor - c.refundedMinor, c.currency)} counts as recovered again`,
          now,
        );
      } else if (f.phase === "closed") {
        // Lost (or any other final state): reversed for good (also when its `created` event never arrived).
        if (!c.reversedAt) {
          const status = await reverse(tx, c, f.at, "dispute_lost");
          if (status === undefined) continue;
          changed.push(c.id);
          await log(
            tx,
            c,
            "cancel",
            "dispute_lost",
            `The buyer won a dispute on Stripe (${f.status ?? "closed"}): its ${amount(c.amountMinor - c.refundedMinor, c.currency)} no longer counts as recovered${statusNote(status)}`,
            now,
          );
          continue;
        }
        const done = await tx.conversion.updateMany({ where: { id: c.id, reversedReason: "disputed" }, data: { reversedReason: "dispute_lost" } });
        if (done.count === 0) continue;
        changed.push(c.id);
        await log(tx, c, "cancel", "dispute_lost", `The dispute was closed (${f.status ?? "closed"}): the payment stays reversed`, now);
      } else {
        if (c.reversedAt) continue;
        const status = await reverse(tx, c, f.at, "disputed");
        if (status === undefined) continue;
        changed.push(c.id);
        await log(
          tx,
          c,
          "cancel",
          "disputed",
          `The buyer disputed the payment on Stripe: its ${amount(c.amountMinor - c.refundedMinor, c.currency)} does not count as recovered while the dispute is open${statusNote(status)}`,
          now,
        );
      }
    }
    return changed.length > 0 ? { kind: "applied", conversionIds: changed } : { kind: "unchanged" };
  });
}

/**
 * `checkout.session.async_payment_failed`: the completed session was never paid. Its Purchase is marked cancelled (not
 * a purchase) and what it credited is reversed. Order-independent: a failure processed before its `completed` stores
 * the Purchase already cancelled, so the late completion is not counted (ingest's purchaseRefusal).
 */
export async function applyStripePaymentFailed(db: PrismaClient, shopId: string, e: PurchaseObserved, failedAt: Date, now: Date): Promise<ReversalOutcome> {
  return db.$transaction(async (tx) => {
    await lockShopIngest(tx, shopId);
    const where = { shopId_source_externalId: { shopId, source: "stripe", externalId: e.externalId } };
    const existing = await tx.purchase.findUnique({ where });
    if (existing?.cancelledAt) return { kind: "unchanged" };
    if (existing) {
      await tx.purchase.update({ where: { id: existing.id }, data: { cancelledAt: failedAt } });
    } else {
      const email = normalizeEmail(e.email);
      const contact = email ? await tx.contact.findUnique({ where: { shopId_email: { shopId, email } }, select: { id: true } }) : null;
      await tx.purchase.create({
        data: {
          shopId,
          source: "stripe",
          externalId: e.externalId,
          email,
          contactId: contact?.id ?? null,
          recoveredFrom: e.recoveredFrom ?? null,
          paymentIntentId: e.paymentIntentId ?? null,
          amountMinor: e.amount.amountMinor,
          currency: e.amount.currency,
          occurredAt: e.occurredAt,
          cancelledAt: failedAt,
        },
      });
    }
    const credited = await tx.conversion.findMany({
      where: { shopId, source: "stripe", externalId: e.externalId, reversedAt: null },
      include: { recovery: { select: { id: true, status: true } } },
      orderBy: { createdAt: "asc" },
    });
    const reversed: string[] = [];
    for (const c of credited) {
      const status = await reverse(tx, c, failedAt, "payment_failed");
      if (status === undefined) continue;
      reversed.push(c.id);
      await log(
        tx,
        c,
        "cancel",
        "payment_failed",
        `The delayed payment for this Stripe session failed: its ${amount(c.amountMinor - c.refundedMinor, c.currency)} no longer counts as recovered${statusNote(status)}`,
        now,
      );
    }
    return { kind: "applied", conversionIds: reversed };
  });
}
