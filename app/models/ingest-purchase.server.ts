/** Purchases: the Purchase row, which recovery it converts (by link, else by window), and what it stops. */
import { statusAfterLinkPurchase } from "../recovery/recovered";
import type { Prisma, Recovery } from "@prisma/client";
import type { PurchaseObserved, Source } from "../recovery/model";
import { attributionWindowStart, linkKeysOf, windowMatchedBy, type LinkKey, type LinkMatch } from "../recovery/attribution";
import { normalizeEmail } from "../recovery/model";
import { recordFlowTrigger } from "./flow-trigger.server";
import type { IngestResult } from "./ingest.server";
import { upsertContact } from "./ingest-contact.server";
import { cancelScheduledMessages } from "./message-cancel.server";
import { purchaseRefusal } from "./ingest-cancellation.server";
import { purchaseRow } from "./ingest-purchase-row";

type Tx = Prisma.TransactionClient;
interface ConversionFacts {
  matchedBy: string;
  source: string;
  externalId: string;
  amountMinor: number;
  currency: string;
  at: Date;
}

/** Records a link-attributed conversion once, marks the recovery recovered and cancels what is still scheduled. */
export async function creditLinkConversion(tx: Tx, recovery: Recovery, facts: ConversionFacts, now: Date): Promise<boolean> {
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
  await cancelScheduledMessages(tx, { recoveryId: recovery.id }, "purchased", "the checkout was completed", now);
  return true;
}
export const earliest = (a: Date | null, b: Date | null): Date | null => (a && b ? (a.getTime() <= b.getTime() ? a : b) : (a ?? b));

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
export async function notePurchase(
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
  for (const other of others) stopped += await cancelScheduledMessages(tx, { recoveryId: other.id }, "purchased", detail, now);
  return stopped;
}

/** The recovery one link key names, if any. */
async function recoveryByLinkKey(tx: Tx, shopId: string, source: Source, key: LinkKey): Promise<Recovery | null> {
  switch (key.matchedBy) {
    case "recovered_from":
      return tx.recovery.findUnique({ where: { shopId_source_externalId: { shopId, source: "stripe", externalId: key.externalId } } });
    case "checkout_token":
      return tx.recovery.findFirst({ where: { shopId, source, checkoutToken: key.checkoutToken } });
    case "cart_token":
      return tx.recovery.findFirst({
        where: { shopId, source, cartToken: key.cartToken, ...(key.withoutCheckoutToken ? { checkoutToken: null } : {}) },
        orderBy: { abandonedAt: "desc" },
      });
  }
}

export async function ingestPurchase(tx: Tx, shopId: string, e: PurchaseObserved, now: Date): Promise<IngestResult> {
  // A test order, or an order already cancelled, is not a purchase: no Purchase, no Conversion, no messages stopped.
  const notAPurchase = await purchaseRefusal(tx, shopId, e, now);
  if (notAPurchase) return notAPurchase;
  const email = normalizeEmail(e.email);
  const contact = await upsertContact(tx, shopId, email, { shopifyCustomerId: e.shopifyCustomerId });
  const existing = await tx.purchase.findUnique({ where: { shopId_source_externalId: { shopId, source: e.source, externalId: e.externalId } } });
  const purchase = existing ?? (await tx.purchase.create({ data: purchaseRow(shopId, e, email, contact?.id ?? null) }));
  const converted: string[] = [];

  // 1. Link attribution (app/recovery/attribution.ts): the first key, in precedence order, that finds a recovery.
  let target: Recovery | null = null;
  let matchedBy: LinkMatch | null = null;
  for (const key of linkKeysOf(e)) {
    target = await recoveryByLinkKey(tx, shopId, e.source, key);
    if (target) {
      matchedBy = key.matchedBy;
      break;
    }
  }
  // An order carries both tokens: it teaches the record the one it lacks (a pixel record has no cart token, a poll
  // record no checkout token), so the poll and webhooks that come later join it instead of starting another.
  if (target && !e.recoveredFrom && ((!target.cartToken && e.cartToken) || (!target.checkoutToken && e.checkoutToken))) {
    await tx.recovery.update({
      where: { id: target.id },
      data: { cartToken: target.cartToken ?? e.cartToken ?? null, checkoutToken: target.checkoutToken ?? e.checkoutToken ?? null },
    });
  }
  if (target && matchedBy) {
    const credited = await creditLinkConversion(
      tx,
      target,
      {
        matchedBy,
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
    const since = attributionWindowStart(e.occurredAt, shop.attributionWindowDays);
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
            matchedBy: windowMatchedBy(e.source),
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
