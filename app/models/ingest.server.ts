import type { Prisma, PrismaClient } from "@prisma/client";
import type { SourceEvent } from "../recovery/model";
import type { ScheduleOutcome } from "./message-schedule.server";
import { lockShopIngest } from "./ingest-lock.server";
import { ingestCheckout } from "./ingest-checkout.server";
import { ingestNewCheckouts, newCheckoutCandidates } from "./ingest-checkout-batch.server";
import { ingestPurchase } from "./ingest-purchase.server";
import { ingestNewPurchases, lonePurchases, purchasesOfEarlierSessions } from "./ingest-purchase-batch.server";
import { type PixelIngestOutcome, ingestPixelCheckout } from "./ingest-pixel.server";

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
 * Applies several SourceEvents of one shop in one transaction (under the shop's ingest lock), in order, with the same
 * outcome as applying them one by one with ingestSourceEvent. One result per event, in the same order.
 * Used where events come in groups: a page of the Shopify sync, a batch of Stripe or Shopify webhook events.
 */
export async function ingestSourceEvents(db: PrismaClient, shopId: string, events: SourceEvent[], now: Date): Promise<IngestResult[]> {
  if (events.length === 0) return [];
  return db.$transaction((tx) => ingestSourceEventsIn(tx, shopId, events, now));
}

/** ingestSourceEvents inside the caller's transaction (which then commits whatever else it wrote with them). */
export async function ingestSourceEventsIn(tx: Prisma.TransactionClient, shopId: string, events: SourceEvent[], now: Date): Promise<IngestResult[]> {
  await lockShopIngest(tx, shopId);
  // Checkouts and purchases new to the store go through their batch paths together (each takes only events no other
  // event of the group can change, so storing them first is storing them in order); the rest one by one, in order.
  const batched = new Map<number, IngestResult>();
  if (events.length > 1) {
    // A purchase through the link of a session that expired earlier in the group does not keep that session out of the
    // checkout batch: the session is stored first (as in order), then the purchase, which finds it.
    const paired = purchasesOfEarlierSessions(events);
    const asIfAlone = events.map((e, i) => (paired.has(i) && e.kind === "purchase.observed" ? { ...e, recoveredFrom: null } : e));
    for (const [index, result] of await ingestNewCheckouts(tx, shopId, events, newCheckoutCandidates(asIfAlone), now)) batched.set(index, result);
    const stored = new Set(batched.keys());
    for (const [index, result] of await ingestNewPurchases(tx, shopId, events, lonePurchases(events, stored), now, stored)) batched.set(index, result);
  }
  const results: IngestResult[] = [];
  for (const [index, event] of events.entries())
    results.push(
      batched.get(index) ??
        (event.kind === "checkout.observed"
          ? await ingestCheckout(tx, shopId, event, now)
          : event.kind === "checkout.pixel"
            ? await ingestPixelCheckout(tx, shopId, event, now)
            : await ingestPurchase(tx, shopId, event, now)),
    );
  return results;
}
