/**
 * Records a "Checkout recovered" Flow trigger for a conversion, in the transaction that creates the conversion, so a
 * trigger is never lost between "credited" and "sent" (docs/decisions/052-flow-trigger.md). The send itself is the
 * `fire-flow-trigger` job (app/jobs/definitions/fire-flow-trigger.server.ts).
 * A model (ingest calls it); sending is app/flow/deliveries.server.ts, kept apart so ingest does not load the Shopify
 * API client.
 */
import type { Conversion, Prisma, PrismaClient } from "@prisma/client";
import { env } from "../env.server";
import { enqueueJob } from "../jobs/queue.server";
import { checkoutRecoveredPayload, FIRE_FLOW_TRIGGER_JOB, recoveryPageUrl, type AttributionMethod, type SourceName } from "../recovery/checkout-recovered";

type Tx = Prisma.TransactionClient;

/** Flow can be down for hours; eight attempts spread over about a day (see flowRetryDelayMs). */
export const FLOW_MAX_ATTEMPTS = 8;
export const flowJobKey = (deliveryId: string) => `flow-trigger:${deliveryId}`;

const asSource = (s: string): SourceName => (s === "stripe" ? "stripe" : "shopify");

/**
 * Stores the delivery (with the exact payload that will be sent) and queues its job. Conversions Reclaim does not
 * claim, those with no email sent before the purchase (`messageId` null, the same rule as the dashboard's totals),
 * fire nothing. Returns the delivery id, or null when nothing fires.
 */
export async function recordFlowTrigger(tx: Tx, conversion: Conversion, now: Date): Promise<string | null> {
  if (conversion.messageId === null) return null;
  // The trigger labels a Stripe purchase as Stripe ("Purchase source"), never as a Shopify order, and creates nothing in
  // Shopify; with the Stripe source off (an App Store deployment, ADR 077) Stripe purchases are not reported at all.
  if (conversion.source === "stripe" && !env.STRIPE_SOURCE_ENABLED) return null;
  const recovery = await tx.recovery.findUniqueOrThrow({
    where: { id: conversion.recoveryId },
    select: { id: true, source: true, shop: { select: { domain: true } }, contact: { select: { shopifyCustomerId: true } } },
  });
  const payload = checkoutRecoveredPayload({
    shopifyCustomerId: recovery.contact?.shopifyCustomerId ?? null,
    amountMinor: Number(conversion.amountMinor),
    currency: conversion.currency,
    recoverySource: asSource(recovery.source),
    purchaseSource: asSource(conversion.source),
    method: conversion.method as AttributionMethod,
    recoveryId: recovery.id,
    recoveryPageUrl: recoveryPageUrl(recovery.shop.domain, env.SHOPIFY_API_KEY, recovery.id),
  });
  const delivery = await tx.flowTriggerDelivery.create({
    data: { shopId: conversion.shopId, conversionId: conversion.id, payload: JSON.stringify(payload) },
    select: { id: true },
  });
  await enqueueJob(
    tx,
    FIRE_FLOW_TRIGGER_JOB,
    { deliveryId: delivery.id },
    {
      key: flowJobKey(delivery.id),
      shopId: conversion.shopId,
      runAt: now,
      maxAttempts: FLOW_MAX_ATTEMPTS,
    },
  );
  return delivery.id;
}

/** The Flow triggers a recovery's conversions fired, oldest first (the recovery page lists them). */
export async function flowTriggersOfRecovery(db: PrismaClient, shopId: string, recoveryId: string) {
  return db.flowTriggerDelivery.findMany({
    where: { shopId, conversion: { recoveryId } },
    orderBy: { createdAt: "asc" },
    select: { id: true, status: true, sentAt: true, lastError: true },
  });
}
