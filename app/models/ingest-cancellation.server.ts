/** Orders that are not purchases: test orders, and cancelled ones (orders/cancelled, or an order that arrives cancelled). */
import { isBought } from "../recovery/recovered";
import type { Prisma, PrismaClient } from "@prisma/client";
import type { PurchaseObserved } from "../recovery/model";
import { normalizeEmail } from "../recovery/model";
import { formatMoney } from "../recovery/money";
import type { IngestResult } from "./ingest.server";
import { lockShopIngest } from "./ingest-lock.server";
import { purchaseRow } from "./ingest-purchase-row";

type Tx = Prisma.TransactionClient;
export const TEST_ORDER_REASON = "a test order (test: true) is not a purchase";
export const ALREADY_CANCELLED_REASON = "the order was already cancelled when it arrived, so it is not a purchase";
export const CANCELLED_FIRST_REASON = "the order's cancellation was processed first, so it is not a purchase";

const ignoredPurchase = (e: PurchaseObserved, reason: string): IngestResult => ({ kind: "purchase_ignored", externalId: e.externalId, reason });

/**
 * Why this purchase event must not count, or null when it is a purchase. A test order never is. An order that arrives
 * cancelled is not one either; if it had been stored as a purchase before (a delivery that raced its own update), the
 * cancellation is applied to it. An order whose cancellation came first (a cancelled Purchase row) stays not counted.
 */
export async function purchaseRefusal(tx: Tx, shopId: string, e: PurchaseObserved, now: Date): Promise<IngestResult | null> {
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
