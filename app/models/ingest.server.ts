import type { PrismaClient } from "@prisma/client";
import type { SourceEvent } from "../recovery/model";
import type { ScheduleOutcome } from "./message-schedule.server";
import { lockShopIngest } from "./ingest-lock.server";
import { ingestCheckout } from "./ingest-checkout.server";
import { ingestPurchase } from "./ingest-purchase.server";
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
