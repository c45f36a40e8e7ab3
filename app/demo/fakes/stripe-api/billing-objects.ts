// Stripe Billing objects for payment recovery (docs/decisions/087): invoices and subscriptions built from Stripe's own
// fixtures (test/fixtures/stripe/invoice.json, subscription.json; MIT) by changing only the fields a given state has.
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../../test/fixtures/stripe");
const load = (name: string) => JSON.parse(readFileSync(path.join(FIXTURES, name), "utf8")) as Record<string, any>;
const INVOICE = load("invoice.json");
const SUBSCRIPTION = load("subscription.json");

type Json = Record<string, any>;
const suffix = (n = 24) => randomBytes(n).toString("base64url").replace(/[-_]/g, "x").slice(0, n);
const clone = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

export const newInvoiceId = () => `in_${suffix(24)}`;
export const newSubscriptionId = () => `sub_${suffix(24)}`;

export interface InvoiceState {
  id?: string;
  subscription?: string;
  email?: string | null;
  name?: string | null;
  /** Amount due in Stripe's minor units (default 2900 = $29.00). */
  amountDue?: number;
  currency?: string;
  /** `subscription_cycle` (a renewal, default) or `subscription_create` (the first payment). */
  billingReason?: string;
  attemptCount?: number;
  /** Unix seconds of Stripe's next automatic retry; null when it will not retry. */
  nextPaymentAttempt?: number | null;
  items?: { description: string; quantity?: number; amount: number }[];
  livemode?: boolean;
  created?: number;
  number?: string | null;
}

/** An open subscription invoice whose payment failed (what invoice.payment_failed / payment_action_required carry). */
export function openInvoice(s: InvoiceState = {}): Json {
  const invoice = clone(INVOICE);
  invoice.id = s.id ?? newInvoiceId();
  invoice.livemode = s.livemode ?? false;
  invoice.created = s.created ?? Math.floor(Date.now() / 1000) - 3600;
  invoice.status = "open";
  invoice.currency = s.currency ?? "usd";
  const items = s.items ?? [{ description: "1 × Coffee club (at $29.00 / month)", quantity: 1, amount: s.amountDue ?? 2900 }];
  const due = s.amountDue ?? items.reduce((n, i) => n + i.amount, 0);
  invoice.amount_due = due;
  invoice.amount_remaining = due;
  invoice.amount_paid = 0;
  invoice.subtotal = due;
  invoice.total = due;
  invoice.subtotal_excluding_tax = due;
  invoice.total_excluding_tax = due;
  // The fixture's random amounts would read as real money; not what a test asserts on.
  invoice.amount_overpaid = 0;
  invoice.shipping_cost = null;
  invoice.billing_reason = s.billingReason ?? "subscription_cycle";
  invoice.attempt_count = s.attemptCount ?? 1;
  invoice.attempted = true;
  invoice.next_payment_attempt = s.nextPaymentAttempt === undefined ? invoice.created + 3 * 86_400 : s.nextPaymentAttempt;
  invoice.customer_email = s.email === undefined ? "member@example.com" : s.email;
  invoice.customer_name = s.name ?? null;
  invoice.number = s.number === undefined ? `${suffix(8).toUpperCase()}-0001` : s.number;
  invoice.hosted_invoice_url = `https://invoice.stripe.com/i/acct_${suffix(16)}/test_${suffix(40)}`;
  invoice.invoice_pdf = `https://pay.stripe.com/invoice/acct_${suffix(16)}/test_${suffix(40)}/pdf`;
  const subscription = s.subscription ?? newSubscriptionId();
  invoice.parent = { quote_details: null, subscription_details: { metadata: {}, subscription }, type: "subscription_details" };
  delete invoice.subscription; // current API shape: no top-level subscription
  const line = invoice.lines.data[0];
  invoice.lines = {
    ...invoice.lines,
    url: `/v1/invoices/${invoice.id}/lines`,
    data: items.map((i) => ({
      ...clone(line),
      id: `il_${suffix(24)}`,
      invoice: invoice.id,
      description: i.description,
      quantity: i.quantity ?? 1,
      amount: i.amount,
      subtotal: i.amount,
      currency: invoice.currency,
      parent: {
        invoice_item_details: null,
        subscription_item_details: {
          invoice_item: null,
          proration: false,
          proration_details: { credited_items: null },
          subscription,
          subscription_item: `si_${suffix(14)}`,
        },
        type: "subscription_item_details",
      },
    })),
  };
  invoice.status_transitions = { finalized_at: invoice.created, marked_uncollectible_at: null, paid_at: null, voided_at: null };
  return invoice;
}

/** The same invoice once paid (invoice.paid), voided or marked uncollectible. */
export function endedInvoice(open: Json, status: "paid" | "void" | "uncollectible", at = Math.floor(Date.now() / 1000)): Json {
  const invoice = clone(open);
  invoice.status = status;
  invoice.next_payment_attempt = null;
  if (status === "paid") {
    invoice.amount_paid = invoice.amount_due;
    invoice.amount_remaining = 0;
    invoice.status_transitions.paid_at = at;
  } else if (status === "void") {
    invoice.status_transitions.voided_at = at;
  } else {
    invoice.status_transitions.marked_uncollectible_at = at;
  }
  return invoice;
}

/** A subscription (Stripe's fixture) in a given status, for customer.subscription.updated / .deleted. */
export function subscription(s: { id: string; status: string; livemode?: boolean }): Json {
  const sub = clone(SUBSCRIPTION);
  sub.id = s.id;
  sub.status = s.status;
  sub.livemode = s.livemode ?? false;
  return sub;
}
