import type { PrismaClient } from "@prisma/client";
import { env } from "../../env.server";
import { logger } from "../../logger.server";
import type { SourceEvent } from "../../recovery/model";
import type { IgnoredReason, STRIPE_EVENT_TYPES } from "../../models/stripe-connection.server";
import { applyStripeDispute, applyStripePaymentFailed, applyStripeRefund } from "../../models/stripe-reversals.server";
import { fromStripeAmount } from "./stripe-money";
import type { LineItem } from "../../recovery/model";
import type { LineItemsResult } from "./api.server";
import { completedSessionToPurchase, expiredSessionToCheckout, paymentLinkIdOf, sessionOf, StripePayloadError, type PaymentLinkFacts } from "./to-source-event";
import type { StripeEventEnvelope } from "./verify-event.server";
import { paymentEventHandler } from "./invoice-events.server";

export type HandledStripeEventType = (typeof STRIPE_EVENT_TYPES)[number];

export interface StripeEventContext {
  db: PrismaClient;
  shop: { id: string; currency: string };
  event: StripeEventEnvelope;
  now: Date;
  /** Line items of a session with the connection's API key, or why there are none (no key, wrong mode, refused). */
  lineItems: (sessionId: string, currency: string, livemode: boolean) => Promise<LineItemsResult>;
  /** A Payment Link read with the connection's API key (cached), or why not; only asked for Payment Link sessions. */
  paymentLink?: (paymentLinkId: string, livemode: boolean) => Promise<PaymentLinkFacts>;
  /** The connection the event came to (payment recovery is turned on per connection; docs/decisions/087). */
  connectionId: string;
  /**
   * Hands the event's SourceEvent to ingest: alone, ingested at once; in a batch (docs/decisions/096), collected and
   * stored with the batch's other events in one `ingestSourceEvents` call.
   */
  ingest: (event: SourceEvent) => Promise<void>;
}

/** Nothing, or why the event was deliberately not acted on (recorded on the InboundEvent; docs/decisions/076). */
export type HandlerOutcome = void | { ignored: IgnoredReason; detail?: string } | { note: string };
type Handler = (ctx: StripeEventContext) => Promise<HandlerOutcome>;

/**
 * Only `payment` and `subscription` sessions are carts (docs/decisions/076). A `setup` session collects a payment method
 * and buys nothing: it never becomes a recovery and its completion is not a purchase. No mode (older API versions) = payment.
 */
const RECOVERABLE_MODES = new Set(["payment", "subscription"]);
const notACart = (session: Record<string, unknown>): HandlerOutcome =>
  typeof session.mode === "string" && !RECOVERABLE_MODES.has(session.mode) ? { ignored: "setup_mode", detail: `mode=${session.mode}` } : undefined;

const eventCreated = (event: StripeEventEnvelope) => new Date(event.created * 1000);

const purchase: Handler = async ({ shop, event, ingest }) => {
  const skip = notACart(sessionOf(event.data.object));
  if (skip) return skip;
  await ingest(completedSessionToPurchase(event.data.object, { eventCreated: eventCreated(event), fallbackCurrency: shop.currency }));
};

const str = (v: unknown): string | null => (typeof v === "string" && v.length > 0 && v.length <= 255 ? v : null);
const idOf = (v: unknown): string | null => str(v) ?? (v && typeof v === "object" ? str((v as Record<string, unknown>).id) : null);

/** The charge or dispute of a refund/dispute event, with its id checked. */
function objectOf(event: StripeEventEnvelope, kind: "charge" | "dispute"): Record<string, unknown> {
  const o = event.data.object;
  if (o.object !== kind || !str(o.id)) throw new StripePayloadError(`event does not carry a ${kind} (data.object.object "${kind}")`);
  return o;
}

const noteFor = (outcome: { kind: string; reason?: string }): HandlerOutcome =>
  outcome.kind === "no_purchase" && outcome.reason ? { note: outcome.reason } : undefined;

const dispute =
  (phase: "created" | "closed"): Handler =>
  async ({ db, shop, event, now }) => {
    const d = objectOf(event, "dispute");
    return noteFor(
      await applyStripeDispute(
        db,
        shop.id,
        { paymentIntentId: idOf(d.payment_intent), disputeId: d.id as string, phase, status: str(d.status), at: eventCreated(event) },
        now,
      ),
    );
  };

/** What Reclaim does with each Checkout Session event it subscribes to; every other type is stored and ignored. */
export const stripeEventHandlers: Record<HandledStripeEventType, Handler> = {
  "checkout.session.expired": async (ctx) => {
    const session = sessionOf(ctx.event.data.object);
    const skip = notACart(session);
    if (skip) return skip;
    const currency = typeof session.currency === "string" ? session.currency : ctx.shop.currency;
    const fetched = await ctx.lineItems(session.id as string, currency, ctx.event.livemode === true);
    const lineItems: LineItem[] | null = fetched.ok ? fetched.items : null;
    // A Payment Link session has no recovery setting: its link's own address is the way back (ADR 077).
    const paymentLinkId = paymentLinkIdOf(session);
    const hasStripeRecoveryUrl = typeof (session.after_expiration as { recovery?: { url?: unknown } } | null)?.recovery?.url === "string";
    const paymentLink = paymentLinkId && !hasStripeRecoveryUrl && ctx.paymentLink ? await ctx.paymentLink(paymentLinkId, ctx.event.livemode === true) : null;
    const checkout = expiredSessionToCheckout(session, {
      eventCreated: eventCreated(ctx.event),
      lineItems,
      lineItemsUnavailable: fetched.ok ? null : fetched.unavailable,
      lineItemsNote: fetched.ok ? (fetched.note ?? null) : null,
      fallbackCurrency: ctx.shop.currency,
      paymentLink,
      checkoutHosts: env.STRIPE_CHECKOUT_EXTRA_HOSTS,
    });
    await ctx.ingest(checkout);
  },
  // A completed session is a purchase whatever its payment_status: the buyer finished checkout, so their reminders stop
  // (docs/decisions/011-stripe-async-payments.md). The same session's async_payment_succeeded is then a no-op.
  "checkout.session.completed": purchase,
  "checkout.session.async_payment_succeeded": purchase,
  // The delayed payment failed: the completed session was never paid; its purchase and what it credited are reversed.
  "checkout.session.async_payment_failed": async ({ db, shop, event, now }) => {
    const session = sessionOf(event.data.object);
    const skip = notACart(session);
    if (skip) return skip;
    // Logged for the operator. No PII in the line: ids only.
    logger.warn("stripe async payment failed", {
      eventId: event.id,
      sessionId: session.id,
      recoveredFrom: typeof session.recovered_from === "string" ? session.recovered_from : null,
    });
    const observed = completedSessionToPurchase(session, { eventCreated: eventCreated(event), fallbackCurrency: shop.currency });
    await applyStripePaymentFailed(db, shop.id, observed, eventCreated(event), now);
  },
  // Refunds, full or partial (amount_refunded is cumulative), lower or reverse what a recovery credited.
  "charge.refunded": async ({ db, shop, event, now }) => {
    const charge = objectOf(event, "charge");
    const currency = (str(charge.currency) ?? shop.currency).toUpperCase();
    const refunded =
      typeof charge.amount_refunded === "number" && Number.isSafeInteger(charge.amount_refunded) && charge.amount_refunded > 0 ? charge.amount_refunded : 0;
    return noteFor(
      await applyStripeRefund(
        db,
        shop.id,
        {
          paymentIntentId: idOf(charge.payment_intent),
          chargeId: charge.id as string,
          refundedMinor: fromStripeAmount(refunded, currency),
          fullyRefunded: charge.refunded === true,
          currency,
          at: eventCreated(event),
        },
        now,
      ),
    );
  },
  // A dispute reverses the credit while open; closed won restores it, closed lost keeps it reversed.
  "charge.dispute.created": dispute("created"),
  "charge.dispute.closed": dispute("closed"),
};

/**
 * The types whose handlers only turn the event into a SourceEvent and hand it to `ctx.ingest` (reading nothing the
 * batch writes). Every other handler acts on stored rows itself (refunds, disputes, a failed payment, invoices), so a
 * batch stores what it has collected before running one: the batch's outcome stays that of its order.
 */
export const INGEST_ONLY_TYPES: ReadonlySet<string> = new Set<HandledStripeEventType>([
  "checkout.session.expired",
  "checkout.session.completed",
  "checkout.session.async_payment_succeeded",
]);

export function handlerFor(type: string): Handler | null {
  return Object.hasOwn(stripeEventHandlers, type) ? stripeEventHandlers[type as HandledStripeEventType] : paymentEventHandler(type);
}
