/**
 * Whether a refund or a dispute must wait for the events a batch has collected (docs/decisions/099). A batch stores
 * its collected events before any handler that acts on stored rows (ADR 096), so that the outcome is that of the
 * events' order. A refund or dispute acts on little: the purchases with its payment_intent, the conversions they
 * credited, those conversions' recoveries (their status) and their timelines. When no collected event can reach any of
 * that (the purchase itself, a recovery it credited or the checkout it names, their buyers) and the reversal cannot
 * change what a collected event does, the two orders give the same outcome: the reversal runs first and the collected
 * events are stored together with those that follow, instead of one flush per reversal.
 */
import type { Prisma } from "@prisma/client";
import { keysOf, recoveriesByKeys, rowsFoundBy } from "../../models/ingest-purchase-batch.server";
import { normalizeEmail, type SourceEvent } from "../../recovery/model";
import type { StripeEventEnvelope } from "./verify-event.server";

type Tx = Prisma.TransactionClient;

const REVERSAL_TYPES: ReadonlySet<string> = new Set(["charge.refunded", "charge.dispute.created", "charge.dispute.closed"]);

/**
 * The payment_intent a refund or dispute names (null: it names none, and changes nothing); undefined when the event is
 * not one, or its object is not what its handler reads (the handler decides; the batch stores first).
 */
function reversedPaymentIntent(event: StripeEventEnvelope): string | null | undefined {
  if (!REVERSAL_TYPES.has(event.type)) return undefined;
  const o = event.data.object;
  if (o.object !== (event.type === "charge.refunded" ? "charge" : "dispute")) return undefined;
  const pi = o.payment_intent;
  const id = typeof pi === "string" ? pi : pi && typeof pi === "object" ? (pi as Record<string, unknown>).id : null;
  return typeof id === "string" && id.length > 0 && id.length <= 255 ? id : null;
}

/** Whether `event` must wait until the collected events are stored (true for every event but an unrelated reversal). */
export async function mustStoreCollectedFirst(tx: Tx, shopId: string, event: StripeEventEnvelope, collected: SourceEvent[]): Promise<boolean> {
  if (collected.length === 0) return false;
  const paymentIntentId = reversedPaymentIntent(event);
  if (paymentIntentId === undefined) return true;
  // Names no payment: the handler changes nothing.
  if (paymentIntentId === null) return false;
  if (collected.some((e) => e.kind === "purchase.observed" && e.paymentIntentId === paymentIntentId)) return true;

  // What the reversal reads and writes: its purchases, their conversions and those conversions' recoveries.
  const purchases = await tx.purchase.findMany({
    where: { shopId, source: "stripe", paymentIntentId },
    select: { source: true, externalId: true, email: true, recoveredFrom: true, checkoutToken: true, cartToken: true },
  });
  if (purchases.length === 0) return false;
  const credited = await tx.conversion.findMany({
    where: { shopId, source: "stripe", externalId: { in: purchases.map((p) => p.externalId) } },
    select: { recovery: { select: { id: true, source: true, externalId: true, email: true, checkoutToken: true, cartToken: true } } },
  });
  const email = (e: string | null) => (normalizeEmail(e) ? [`email:${normalizeEmail(e)}`] : []);
  const touched = new Set([
    ...purchases.flatMap((p) => [
      `purchase:${p.source}:${p.externalId}`,
      ...email(p.email),
      // The checkout it names (a checkout stored later is credited with it).
      ...(p.recoveredFrom ? [`stripe:${p.recoveredFrom}`] : []),
      ...[p.checkoutToken, p.cartToken].filter((k): k is string => Boolean(k)).map((k) => `${p.source}:${k}`),
    ]),
    ...credited.flatMap(({ recovery: r }) => [
      `row:${r.id}`,
      ...email(r.email),
      ...[r.externalId, r.checkoutToken, r.cartToken].filter((k): k is string => Boolean(k)).map((k) => `${r.source}:${k}`),
    ]),
  ]);

  // What the collected events reach: their keys and buyers, and the stored rows their keys find (and those rows' buyers).
  const rows = await recoveriesByKeys(tx, shopId, collected);
  return collected.some((e) => [...keysOf(e), ...rowsFoundBy(e, rows).flatMap((r) => [`row:${r.id}`, ...email(r.email)])].some((k) => touched.has(k)));
}
