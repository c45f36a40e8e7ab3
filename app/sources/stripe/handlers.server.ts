import type { PrismaClient } from "@prisma/client";
import { logger } from "../../logger.server";
import { ingestSourceEvent } from "../../models/ingest.server";
import type { STRIPE_EVENT_TYPES } from "../../models/stripe-connection.server";
import type { LineItem } from "../../recovery/model";
import type { LineItemsResult } from "./api.server";
import { completedSessionToPurchase, expiredSessionToCheckout, sessionOf } from "./to-source-event";
import type { StripeEventEnvelope } from "./verify-event.server";

export type HandledStripeEventType = (typeof STRIPE_EVENT_TYPES)[number];

export interface StripeEventContext {
  db: PrismaClient;
  shop: { id: string; currency: string };
  event: StripeEventEnvelope;
  now: Date;
  /** Line items of a session with the connection's API key, or why there are none (no key, wrong mode, refused). */
  lineItems: (sessionId: string, currency: string, livemode: boolean) => Promise<LineItemsResult>;
}

type Handler = (ctx: StripeEventContext) => Promise<void>;

const eventCreated = (event: StripeEventEnvelope) => new Date(event.created * 1000);

const purchase: Handler = async ({ db, shop, event, now }) => {
  await ingestSourceEvent(db, shop.id, completedSessionToPurchase(event.data.object, { eventCreated: eventCreated(event), fallbackCurrency: shop.currency }), now);
};

/** What Reclaim does with each Checkout Session event it subscribes to; every other type is stored and ignored. */
export const stripeEventHandlers: Record<HandledStripeEventType, Handler> = {
  "checkout.session.expired": async (ctx) => {
    const session = sessionOf(ctx.event.data.object);
    const currency = typeof session.currency === "string" ? session.currency : ctx.shop.currency;
    const fetched = await ctx.lineItems(session.id as string, currency, ctx.event.livemode === true);
    const lineItems: LineItem[] | null = fetched.ok ? fetched.items : null;
    const checkout = expiredSessionToCheckout(session, {
      eventCreated: eventCreated(ctx.event),
      lineItems,
      lineItemsUnavailable: fetched.ok ? null : fetched.unavailable,
      fallbackCurrency: ctx.shop.currency,
    });
    await ingestSourceEvent(ctx.db, ctx.shop.id, checkout, ctx.now);
  },
  // A completed session is a purchase whatever its payment_status: the buyer finished checkout, so their reminders stop
  // (docs/decisions/011-stripe-async-payments.md). The same session's async_payment_succeeded is then a no-op.
  "checkout.session.completed": purchase,
  "checkout.session.async_payment_succeeded": purchase,
  "checkout.session.async_payment_failed": async ({ event }) => {
    const session = sessionOf(event.data.object);
    // Kept as the stored inbound event; logged for the operator. No PII in the line: ids only.
    logger.warn("stripe async payment failed", {
      eventId: event.id,
      sessionId: session.id,
      recoveredFrom: typeof session.recovered_from === "string" ? session.recovered_from : null,
    });
  },
};

export function handlerFor(type: string): Handler | null {
  return Object.hasOwn(stripeEventHandlers, type) ? stripeEventHandlers[type as HandledStripeEventType] : null;
}
