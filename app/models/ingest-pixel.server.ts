/**
 * The checkout web pixel (docs/decisions/050): public input. It may make a checkout visible before the next poll and
 * hold sends after a reported completion; it never changes what Shopify confirmed, never creates a Contact, a
 * Conversion or a Purchase, and a pixel-only recovery is never scheduled.
 */
import { isBought } from "../recovery/recovered";
import type { Prisma } from "@prisma/client";
import { mergeCheckout, notContactableReason } from "../recovery/merge-checkout";
import type { CheckoutObserved, CheckoutPixelObserved } from "../recovery/model";
import { normalizeEmail } from "../recovery/model";
import type { IngestResult } from "./ingest.server";
import { toStored, tokenPlaceholderId } from "./ingest-checkout.server";

type Tx = Prisma.TransactionClient;
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

export async function ingestPixelCheckout(tx: Tx, shopId: string, e: CheckoutPixelObserved, now: Date): Promise<IngestResult> {
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
