/**
 * Stripe invoice and subscription events → what payment recovery acts on (docs/decisions/087). Pure and defensive: the
 * payload is read field by field, and an event that does not carry what its type promises is a StripePayloadError.
 * Current API shape (2025-03-31 and later): the subscription is at `invoice.parent.subscription_details.subscription`
 * (older versions: top-level `subscription`), payments under `invoice.payments`.
 */
import type { LineItem } from "../../recovery/model";
import { normalizeEmail } from "../../recovery/model";
import { ENDED_SUBSCRIPTION_STATUSES, type InvoiceFailureObserved, type PaymentReason } from "../../recovery/payment-recovery";
import { MAX_STORED_MINOR, storableDate } from "../../recovery/storable";
import { fromStripeAmount } from "./stripe-money";
import { StripePayloadError } from "./to-source-event";

type Json = Record<string, unknown>;
const str = (v: unknown, max = 255): string | null => (typeof v === "string" && v.length > 0 && v.length <= max ? v : null);
const obj = (v: unknown): Json | null => (v && typeof v === "object" && !Array.isArray(v) ? (v as Json) : null);
const int = (v: unknown): number | null => (typeof v === "number" && Number.isSafeInteger(v) ? v : null);
const unixDate = (v: unknown): Date | null => (int(v) !== null && (v as number) > 0 ? storableDate(new Date((v as number) * 1000)) : null);
const idOf = (v: unknown): string | null => str(v) ?? str(obj(v)?.id);

/** Stripe's hosted invoice pages live on invoice.stripe.com; anything else is not used as a link in an email. */
export const HOSTED_INVOICE_HOSTS: readonly string[] = ["invoice.stripe.com"];

export function isHostedInvoiceUrl(url: string | null | undefined): url is string {
  if (!url || url.length > 2048) return false;
  try {
    const parsed = new URL(url);
    return parsed.protocol === "https:" && !parsed.port && !parsed.username && !parsed.password && HOSTED_INVOICE_HOSTS.includes(parsed.hostname.toLowerCase());
  } catch {
    return false;
  }
}

/** The invoice inside an event, with its id checked (`in_…`). */
export function invoiceOf(eventObject: unknown): Json {
  const invoice = obj(eventObject);
  const id = str(invoice?.id);
  if (!invoice || invoice.object !== "invoice" || !id || !id.startsWith("in_")) {
    throw new StripePayloadError('event does not carry an invoice (data.object.object "invoice", id "in_…")');
  }
  return invoice;
}

/** The subscription inside an event, with its id checked (`sub_…`). */
export function subscriptionOf(eventObject: unknown): Json {
  const subscription = obj(eventObject);
  const id = str(subscription?.id);
  if (!subscription || subscription.object !== "subscription" || !id || !id.startsWith("sub_")) {
    throw new StripePayloadError('event does not carry a subscription (data.object.object "subscription", id "sub_…")');
  }
  return subscription;
}

/** The invoice's subscription: `parent.subscription_details.subscription`, else the older top-level `subscription`. */
export function subscriptionIdOf(invoice: Json): string | null {
  const details = obj(obj(invoice.parent)?.subscription_details);
  const id = idOf(details?.subscription) ?? idOf(invoice.subscription);
  return id && id.startsWith("sub_") ? id : null;
}

function invoiceLines(invoice: Json, currency: string): LineItem[] {
  const data = obj(invoice.lines)?.data;
  if (!Array.isArray(data)) return [];
  return data.slice(0, 50).flatMap((raw): LineItem[] => {
    const line = obj(raw);
    if (!line) return [];
    const quantity = int(line.quantity) ?? 1;
    const amount = int(line.amount) ?? 0;
    const total = fromStripeAmount(amount, currency);
    return [
      {
        title: (str(line.description, 500) ?? "Subscription").slice(0, 255),
        variantTitle: null,
        quantity: quantity > 0 ? quantity : 1,
        imageUrl: null,
        unitPriceMinor: quantity > 0 ? Math.round(total / quantity) : total,
        totalPriceMinor: total,
      },
    ];
  });
}

/** `invoice.payment_failed` / `invoice.payment_action_required` → the failure a payment recovery is made of. */
export function invoiceToFailure(eventObject: unknown, reason: PaymentReason, eventCreated: Date): InvoiceFailureObserved {
  const invoice = invoiceOf(eventObject);
  const currency = str(invoice.currency)?.toUpperCase();
  if (!currency || !/^[A-Z]{3}$/.test(currency)) throw new StripePayloadError("invoice has no currency");
  const due = int(invoice.amount_remaining) ?? int(invoice.amount_due) ?? 0;
  if (fromStripeAmount(Math.abs(due), currency) > MAX_STORED_MINOR) throw new StripePayloadError("invoice amount is out of range");
  const hosted = str(invoice.hosted_invoice_url, 2048);
  return {
    reason,
    invoiceId: invoice.id as string,
    subscriptionId: subscriptionIdOf(invoice),
    customerId: idOf(invoice.customer),
    email: normalizeEmail(str(invoice.customer_email, 320)),
    fullName: str(invoice.customer_name)?.slice(0, 255) ?? null,
    amountDue: { amountMinor: fromStripeAmount(Math.max(0, due), currency), currency },
    lineItems: invoiceLines(invoice, currency),
    hostedInvoiceUrl: isHostedInvoiceUrl(hosted) ? hosted : null,
    attemptCount: int(invoice.attempt_count),
    nextPaymentAttemptAt: unixDate(invoice.next_payment_attempt),
    billingReason: str(invoice.billing_reason, 64),
    invoiceNumber: str(invoice.number, 64),
    at: eventCreated,
  };
}

/** `customer.subscription.updated` / `.deleted`: the subscription's id and whether it has ended. */
export function subscriptionEnd(eventObject: unknown, type: string): { subscriptionId: string; ended: boolean; status: string | null } {
  const subscription = subscriptionOf(eventObject);
  const status = str(subscription.status, 64);
  return {
    subscriptionId: subscription.id as string,
    ended: type === "customer.subscription.deleted" || (status !== null && ENDED_SUBSCRIPTION_STATUSES.has(status)),
    status,
  };
}
