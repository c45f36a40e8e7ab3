/**
 * What Reclaim does with the Stripe Billing events of payment recovery (docs/decisions/087). The webhook route stores
 * and acknowledges them exactly like Checkout events (verify → store once by event id → 200); the processing job hands
 * them here. A connection that has not turned payment recovery on records them as ignored, with the reason.
 */
import { endInvoice, endSubscription, ingestInvoiceFailure, paymentRecoverySettings } from "../../models/payment-recovery.server";
import { isPaymentEventType, type PaymentEventType } from "../../recovery/payment-recovery";
import type { HandlerOutcome, StripeEventContext } from "./handlers.server";
import { invoiceOf, invoiceToFailure, subscriptionEnd } from "./to-payment-event";

type Handler = (ctx: StripeEventContext) => Promise<HandlerOutcome>;

const eventCreated = (ctx: StripeEventContext) => new Date(ctx.event.created * 1000);

const failure =
  (reason: "payment_failed" | "action_required"): Handler =>
  async (ctx) => {
    await ingestInvoiceFailure(ctx.db, ctx.shop.id, invoiceToFailure(ctx.event.data.object, reason, eventCreated(ctx)), ctx.now);
  };

const invoiceEnd =
  (end: "paid" | "voided" | "uncollectible"): Handler =>
  async (ctx) => {
    const invoice = invoiceOf(ctx.event.data.object);
    const outcome = await endInvoice(ctx.db, ctx.shop.id, { invoiceId: invoice.id as string, end, at: eventCreated(ctx) }, ctx.now);
    return outcome.kind === "unchanged" ? { note: outcome.reason } : undefined;
  };

const subscriptionChange: Handler = async (ctx) => {
  const s = subscriptionEnd(ctx.event.data.object, ctx.event.type);
  if (!s.ended) return { note: `subscription ${s.status ?? "updated"}: nothing to stop` };
  await endSubscription(ctx.db, ctx.shop.id, { subscriptionId: s.subscriptionId, at: eventCreated(ctx) }, ctx.now);
};

const HANDLERS: Record<PaymentEventType, Handler> = {
  "invoice.payment_failed": failure("payment_failed"),
  "invoice.payment_action_required": failure("action_required"),
  "invoice.paid": invoiceEnd("paid"),
  "invoice.voided": invoiceEnd("voided"),
  "invoice.marked_uncollectible": invoiceEnd("uncollectible"),
  "customer.subscription.updated": subscriptionChange,
  "customer.subscription.deleted": subscriptionChange,
};

/** The handler of a payment-recovery event type (null for any other type), gated on the connection's opt-in. */
export function paymentEventHandler(type: string): Handler | null {
  if (!isPaymentEventType(type)) return null;
  const handler = HANDLERS[type];
  return async (ctx) => {
    const settings = ctx.connectionId ? await paymentRecoverySettings(ctx.db, ctx.connectionId) : null;
    if (!settings?.paymentRecovery) return { ignored: "payment_recovery_off", detail: type };
    return handler(ctx);
  };
}
