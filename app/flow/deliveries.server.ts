/**
 * Sending "Checkout recovered" Flow triggers and showing them to the merchant (docs/decisions/052-flow-trigger.md).
 * A FlowTriggerDelivery is `pending` until Flow accepts it (`sent`), or `failed` after the job's last attempt; the
 * settings page lists them and re-queues failed ones.
 */
import type { PrismaClient } from "@prisma/client";
import { enqueueJob, nextRunByKey } from "../jobs/queue.server";
import { redact } from "../logger.server";
import { adminGraphqlFor, type AdminGraphql, type AdminOutcome } from "../sources/shopify/admin-client.server";
import { CHECKOUT_RECOVERED_HANDLE, FIRE_FLOW_TRIGGER_JOB, FLOW_TRIGGER_RECEIVE } from "../recovery/checkout-recovered";
import { FLOW_MAX_ATTEMPTS, flowJobKey } from "../models/flow-trigger.server";

const MIN = 60_000;
const HOUR = 60 * MIN;
/** Waits before retry n (1 = first retry): 1 min, 5 min, 15 min, 1 h, 3 h, 6 h, 12 h — about 22 h in all. */
const RETRY_DELAYS_MS = [MIN, 5 * MIN, 15 * MIN, HOUR, 3 * HOUR, 6 * HOUR, 12 * HOUR];
export const flowRetryDelayMs = (attempt: number) => RETRY_DELAYS_MS[Math.min(Math.max(attempt, 1), RETRY_DELAYS_MS.length) - 1]!;

interface FlowTriggerReceiveData {
  flowTriggerReceive: { userErrors: { field: string[] | null; message: string }[] } | null;
}

/** What went wrong, in words a merchant can act on; never a token (known secret shapes are masked). */
export function describeFlowFailure(
  outcome: Exclude<AdminOutcome<FlowTriggerReceiveData>, { kind: "ok" }> | { kind: "user_errors"; messages: string[] },
): string {
  const text = (() => {
    switch (outcome.kind) {
      case "user_errors":
        return `Shopify Flow refused the trigger: ${outcome.messages.join("; ")}`;
      case "throttled":
        return "Shopify was rate limiting Reclaim's requests.";
      case "transient":
        return `Shopify could not be reached (${outcome.message}).`;
      case "unauthorized":
        return `Reclaim has no valid access to this store (${outcome.message}). Opening Reclaim from the Shopify admin, or reinstalling it, restores access.`;
      case "access_denied":
        return `Shopify denied access: ${outcome.message}`;
      case "max_cost":
      case "failed":
        return `Shopify answered with an error: ${outcome.message}`;
    }
  })();
  return redact(text).slice(0, 500);
}

export type FireResult =
  | { kind: "sent" }
  | { kind: "already_sent" }
  | { kind: "missing" }
  | { kind: "stopped"; message: string }
  | { kind: "failed"; message: string; final: boolean };

/**
 * One attempt to send a delivery. A delivery already `sent` is never sent again. Flow has no idempotency key, so a
 * crash after Flow accepted the call and before `sent` is stored means the next attempt sends it a second time:
 * delivery is at least once (ADR 052).
 */
export async function fireDelivery(
  db: PrismaClient,
  deliveryId: string,
  options: { now: Date; finalAttempt: boolean; graphql?: AdminGraphql },
): Promise<FireResult> {
  const delivery = await db.flowTriggerDelivery.findUnique({
    where: { id: deliveryId },
    include: { shop: { select: { domain: true, uninstalledAt: true } }, conversion: { select: { reversedAt: true, reversedReason: true } } },
  });
  if (!delivery) return { kind: "missing" };
  if (delivery.status === "sent") return { kind: "already_sent" };
  // The purchase was taken back before the trigger went out (order cancelled, refunded, disputed, payment failed):
  // Flow is not told about a recovery that no longer counts. One already sent cannot be recalled (shown as such).
  if (delivery.conversion.reversedAt) {
    const message = `Not sent: the purchase no longer counts as recovered (${delivery.conversion.reversedReason ?? "reversed"}).`;
    await db.flowTriggerDelivery.updateMany({ where: { id: delivery.id, status: { not: "sent" } }, data: { status: "withdrawn", lastError: message } });
    return { kind: "stopped", message };
  }
  if (delivery.shop.uninstalledAt) {
    const message = "Not sent: Reclaim was uninstalled from this store.";
    await db.flowTriggerDelivery.updateMany({ where: { id: delivery.id, status: { not: "sent" } }, data: { status: "failed", lastError: message } });
    return { kind: "stopped", message };
  }

  const graphql = options.graphql ?? adminGraphqlFor(delivery.shop.domain);
  const outcome = await graphql<FlowTriggerReceiveData>(FLOW_TRIGGER_RECEIVE, {
    handle: CHECKOUT_RECOVERED_HANDLE,
    payload: JSON.parse(delivery.payload),
  });
  const userErrors = outcome.kind === "ok" ? (outcome.data?.flowTriggerReceive?.userErrors ?? []) : [];
  if (outcome.kind === "ok" && outcome.data?.flowTriggerReceive && userErrors.length === 0) {
    await db.flowTriggerDelivery.updateMany({
      where: { id: delivery.id, status: { not: "sent" } },
      data: { status: "sent", sentAt: options.now, attempts: { increment: 1 }, lastError: null },
    });
    return { kind: "sent" };
  }

  const message =
    outcome.kind !== "ok"
      ? describeFlowFailure(outcome)
      : describeFlowFailure({ kind: "user_errors", messages: userErrors.length > 0 ? userErrors.map((e) => e.message) : ["no answer to flowTriggerReceive"] });
  await db.flowTriggerDelivery.updateMany({
    where: { id: delivery.id, status: { not: "sent" } },
    data: { status: options.finalAttempt ? "failed" : "pending", attempts: { increment: 1 }, lastError: message },
  });
  return { kind: "failed", message, final: options.finalAttempt };
}

/** Trigger deliveries that failed for good (Settings shows the count and links to the list). */
export function countFailedDeliveries(db: PrismaClient, shopId: string): Promise<number> {
  return db.flowTriggerDelivery.count({ where: { shopId, status: "failed" } });
}

export type RetryResult = { ok: true } | { ok: false; status: 404 | 409; message: string };

/**
 * The merchant's "Retry": a failed delivery goes back to pending with a fresh job; a pending one waiting for its next
 * attempt is tried now. Scoped to the shop: another shop's delivery is not found.
 */
export async function retryDelivery(db: PrismaClient, shopId: string, deliveryId: string, now: Date): Promise<RetryResult> {
  return db.$transaction(async (tx) => {
    const delivery = await tx.flowTriggerDelivery.findFirst({ where: { id: deliveryId, shopId }, select: { id: true, status: true } });
    if (!delivery) return { ok: false, status: 404, message: "This trigger delivery does not exist." };
    if (delivery.status === "sent") return { ok: false, status: 409, message: "This trigger was already sent to Shopify Flow." };
    if (delivery.status === "withdrawn") return { ok: false, status: 409, message: "This trigger was withdrawn: the purchase no longer counts as recovered." };
    await tx.flowTriggerDelivery.update({ where: { id: delivery.id }, data: { status: "pending" } });
    // Same key as the original job: a job still queued is moved to now rather than doubled.
    await enqueueJob(
      tx,
      FIRE_FLOW_TRIGGER_JOB,
      { deliveryId: delivery.id },
      { key: flowJobKey(delivery.id), shopId, runAt: now, maxAttempts: FLOW_MAX_ATTEMPTS },
    );
    return { ok: true };
  });
}

export interface DeliveryRow {
  id: string;
  /** `withdrawn`: the conversion was reversed before the trigger went out, so it never will. */
  status: "pending" | "sent" | "failed" | "withdrawn";
  /** The conversion was reversed (cancelled order, refund, dispute, failed payment): when and why; null while it counts. */
  reversed: { at: string; reason: string } | null;
  attempts: number;
  lastError: string | null;
  createdAt: string;
  sentAt: string | null;
  /** For a pending delivery: when its job runs next, or null when no job is scheduled (stopped by an uninstall). */
  nextAttemptAt: string | null;
  recoveryId: string;
  recoveryName: string | null;
  amountMinor: number;
  currency: string;
  method: string;
  payload: Record<string, unknown>;
}

/** The shop's most recent deliveries, newest first, with each pending one's next attempt. */
export async function listDeliveries(
  db: PrismaClient,
  shopId: string,
  take = 50,
): Promise<{ rows: DeliveryRow[]; counts: Record<DeliveryRow["status"], number> }> {
  const [deliveries, grouped] = await Promise.all([
    db.flowTriggerDelivery.findMany({
      where: { shopId },
      orderBy: [{ createdAt: "desc" }, { id: "desc" }],
      take,
      include: {
        conversion: {
          select: {
            recoveryId: true,
            amountMinor: true,
            currency: true,
            method: true,
            reversedAt: true,
            reversedReason: true,
            recovery: { select: { name: true } },
          },
        },
      },
    }),
    db.flowTriggerDelivery.groupBy({ by: ["status"], where: { shopId }, _count: { _all: true } }),
  ]);
  const pendingKeys = deliveries.filter((d) => d.status === "pending").map((d) => flowJobKey(d.id));
  const nextAt = new Map([...(await nextRunByKey(db, pendingKeys))].map(([key, runAt]) => [key, runAt.toISOString()]));
  const counts = { pending: 0, sent: 0, failed: 0, withdrawn: 0 };
  for (const g of grouped) if (g.status in counts) counts[g.status as keyof typeof counts] = g._count._all;
  return {
    counts,
    rows: deliveries.map((d) => ({
      id: d.id,
      status: d.status as DeliveryRow["status"],
      reversed: d.conversion.reversedAt ? { at: d.conversion.reversedAt.toISOString(), reason: d.conversion.reversedReason ?? "reversed" } : null,
      attempts: d.attempts,
      lastError: d.lastError,
      createdAt: d.createdAt.toISOString(),
      sentAt: d.sentAt?.toISOString() ?? null,
      nextAttemptAt: d.status === "pending" ? (nextAt.get(flowJobKey(d.id)) ?? null) : null,
      recoveryId: d.conversion.recoveryId,
      recoveryName: d.conversion.recovery.name,
      amountMinor: Number(d.conversion.amountMinor),
      currency: d.conversion.currency,
      method: d.conversion.method,
      payload: JSON.parse(d.payload) as Record<string, unknown>,
    })),
  };
}
