/**
 * Payment recovery (docs/decisions/087): a Stripe subscription invoice whose payment failed or needs the customer's
 * action, recovered through the same campaigns, messages and attribution as abandoned carts. Pure rules only: what an
 * invoice event means, which campaign a payment recovery enters, whether a payment notice may be sent, and how a paid
 * invoice is credited. The I/O is in app/models/payment-recovery.server.ts.
 */
import type { Decision, DecisionInput } from "./decide";
import { formatMinuteOfDay, quietHoursEnd } from "./quiet-hours";
import type { LineItem } from "./model";

/** What a recovery is about. A cart recovery never enters a payment campaign, nor the other way round. */
export type RecoveryKind = "cart" | "payment";
/** Why a payment recovery exists: a failed attempt (`invoice.payment_failed`) or 3-D Secure and the like (`invoice.payment_action_required`). */
export type PaymentReason = "payment_failed" | "action_required";
export type CampaignKind = "cart" | "payment_failed" | "payment_action_required";
export const CAMPAIGN_KINDS: readonly CampaignKind[] = ["cart", "payment_failed", "payment_action_required"];

export const campaignKindFor = (kind: string | null | undefined, reason: string | null | undefined): CampaignKind =>
  kind === "payment" ? (reason === "action_required" ? "payment_action_required" : "payment_failed") : "cart";

/** How an invoice or its subscription ended. */
export type BillingEnd = "paid" | "voided" | "uncollectible" | "canceled";

/** The Stripe events payment recovery listens to, and what each does (shown in Settings › Stripe). */
export const PAYMENT_EVENT_TYPES = {
  "invoice.payment_failed":
    "A subscription payment failed: opens a payment recovery (or updates its attempt count and next retry) and starts the “Update your card” emails.",
  "invoice.payment_action_required": "The customer must confirm a payment (3-D Secure): opens a payment recovery and sends “Confirm your payment” at once.",
  "invoice.paid": "The invoice was paid: stops the emails; credited to Reclaim only after a Reclaim email (by link or by window).",
  "invoice.voided": "The invoice was voided: stops the emails.",
  "invoice.marked_uncollectible": "The invoice was marked uncollectible: stops the emails.",
  "customer.subscription.updated": "The subscription was canceled or expired (status canceled / incomplete_expired): stops the emails.",
  "customer.subscription.deleted": "The subscription was canceled: stops the emails.",
} as const;
export type PaymentEventType = keyof typeof PAYMENT_EVENT_TYPES;
export const isPaymentEventType = (type: string): type is PaymentEventType => Object.hasOwn(PAYMENT_EVENT_TYPES, type);

/** A failed or action-required invoice as the Stripe source reports it (app/sources/stripe/to-payment-event.ts). */
export interface InvoiceFailureObserved {
  reason: PaymentReason;
  invoiceId: string;
  subscriptionId: string | null;
  customerId: string | null;
  email: string | null;
  fullName: string | null;
  /** What is still owed (amount_remaining, else amount_due), in Reclaim's minor units. */
  amountDue: { amountMinor: number; currency: string };
  lineItems: LineItem[];
  /** Stripe's hosted invoice page: where the customer pays or confirms. Null until the invoice is finalised. */
  hostedInvoiceUrl: string | null;
  attemptCount: number | null;
  nextPaymentAttemptAt: Date | null;
  /** `subscription_create` (first payment), `subscription_cycle` (renewal)… */
  billingReason: string | null;
  invoiceNumber: string | null;
  /** The event's `created`: when Stripe saw this failure. */
  at: Date;
}

/** A payment notice is transactional: marketing consent is not asked, but unsubscribe and suppression are honoured. */
export const PAYMENT_CONSENT_NOTE = "payment notice about an existing subscription (transactional, docs/decisions/087)";
export const STRIPE_EMAILS_SETTING = "Settings › Stripe › Payment recovery";

const day = (d: Date) => d.toISOString().slice(0, 16).replace("T", " ") + " UTC";

export interface PaymentDecisionExtras {
  reason: PaymentReason | null;
  /** The merchant said Stripe Billing already emails customers about this kind of payment (Settings asks). */
  stripeSendsOwnEmail: boolean;
}

/**
 * decide() for a payment recovery: the same shop-level rules (setup, campaign off, quiet hours), the same person-level
 * rules (unsubscribed, suppressed), none of the cart rules (marketing consent, supersession, frequency cap, "bought
 * since": a cart purchase does not pay an invoice). Closed invoices and Stripe's own emails skip with a reason.
 */
export function decidePayment(input: DecisionInput, extras: PaymentDecisionExtras): Decision {
  const { now, recovery: r, contact: c, policy } = input;
  const skip = (reason: Extract<Decision, { outcome: "skip" }>["reason"], detail: string): Decision => ({ outcome: "skip", reason, detail });
  if (policy.setupProblem) return skip("setup_incomplete", policy.setupProblem);
  if (policy.campaignTurnedOff) return skip("campaign_off", `The campaign "${policy.campaignTurnedOff}" was turned off`);
  if (r.notContactableReason || !c) {
    return skip(
      "not_contactable",
      r.notContactableReason === "no_recovery_link" ? "No payment page (hosted_invoice_url) for this invoice" : "No email address for this invoice",
    );
  }
  if (c.unsubscribedAt) return skip("unsubscribed", `Unsubscribed on ${day(c.unsubscribedAt)}`);
  if (c.suppressedAt) {
    const why =
      c.suppressionReason === "hard_bounce" ? "the address bounced" : c.suppressionReason === "complaint" ? "a spam complaint" : "suppressed by the merchant";
    return skip("suppressed", `Address suppressed (${why})`);
  }
  if (r.completedAt || r.status === "recovered" || r.status === "purchased") return skip("invoice_closed", "The invoice was paid");
  if (r.status === "lost") return skip("invoice_closed", "The invoice or its subscription was closed");
  if (!r.recoveryUrl) return skip("not_contactable", "No payment page (hosted_invoice_url) for this invoice");
  if (extras.stripeSendsOwnEmail) {
    const what = extras.reason === "action_required" ? "asks customers to confirm payments (3-D Secure)" : "emails customers about failed payments";
    return skip("stripe_email", `Stripe Billing already ${what}: Reclaim skips this step so the customer is not told twice (${STRIPE_EMAILS_SETTING})`);
  }
  if (policy.quietHours) {
    const until = quietHoursEnd(now, policy.timeZone, policy.quietHours);
    if (until) {
      const window = `${formatMinuteOfDay(policy.quietHours.startMinute)}–${formatMinuteOfDay(policy.quietHours.endMinute)} ${policy.timeZone}`;
      return { outcome: "hold", reason: "quiet_hours", until, detail: `Quiet hours (${window}); deferred to ${day(until)}` };
    }
  }
  return { outcome: "send", reason: "ok", detail: `A ${PAYMENT_CONSENT_NOTE}: sent without marketing consent; unsubscribe is honoured` };
}

/**
 * How a paid invoice is credited (docs/decisions/087). `link`: the customer clicked a Reclaim email's invoice link before
 * paying. `window`: a Reclaim email went out and the invoice was paid within the shop's attribution window without a
 * click. Otherwise nothing is claimed: Stripe's Smart Retries (or the customer on their own) paid it.
 */
export type PaidCredit =
  | { method: "link"; messageId: string; status: "recovered"; detail: string }
  | { method: "window"; messageId: string; status: "purchased"; detail: string }
  | { method: null; status: "purchased"; detail: string };

export function creditForPaidInvoice(facts: {
  paidAt: Date;
  /** The latest click on this recovery's emails at or before paidAt. */
  click: { messageId: string; at: Date } | null;
  /** The latest Reclaim email of this recovery sent at or before paidAt. */
  lastSent: { messageId: string; at: Date } | null;
  windowDays: number;
}): PaidCredit {
  if (facts.click) {
    return {
      method: "link",
      messageId: facts.click.messageId,
      status: "recovered",
      detail: `Paid after the customer opened the invoice link in a Reclaim email (${day(facts.click.at)})`,
    };
  }
  if (facts.lastSent && facts.paidAt.getTime() - facts.lastSent.at.getTime() <= facts.windowDays * 86_400_000) {
    return {
      method: "window",
      messageId: facts.lastSent.messageId,
      status: "purchased",
      detail: `Paid within ${facts.windowDays} days of a Reclaim email, without a click on its link: counted by window, apart from link`,
    };
  }
  if (facts.lastSent) {
    return { method: null, status: "purchased", detail: `Paid more than ${facts.windowDays} days after the last Reclaim email: not credited to Reclaim` };
  }
  return {
    method: null,
    status: "purchased",
    detail: "Paid on Stripe before any Reclaim email (Smart Retries or the customer on their own): not credited to Reclaim",
  };
}

/** The decision-log reason and sentence for an end of the invoice or its subscription. */
export function billingEndReason(end: BillingEnd): { reason: string; detail: string } {
  switch (end) {
    case "paid":
      return { reason: "invoice_paid", detail: "The invoice was paid" };
    case "voided":
      return { reason: "invoice_voided", detail: "The invoice was voided in Stripe: nothing is owed any more" };
    case "uncollectible":
      return { reason: "invoice_uncollectible", detail: "The invoice was marked uncollectible in Stripe" };
    case "canceled":
      return { reason: "subscription_canceled", detail: "The subscription was canceled: its payment is no longer asked for" };
  }
}

/** A subscription status that ends every payment recovery of that subscription. */
export const ENDED_SUBSCRIPTION_STATUSES = new Set(["canceled", "incomplete_expired"]);

/** The first name for templates, from Stripe's `customer_name` (one field): its first word. */
export function firstNameOf(fullName: string | null): string | null {
  const first = fullName?.trim().split(/\s+/)[0];
  return first ? first.slice(0, 40) : null;
}

/** The Overview's failed-subscription-payments figures (app/models/payment-recovery.server.ts loadPaymentOverview). */
export interface PaymentOverview {
  /** Payment recoveries opened in the period (failures and confirmations asked for), and what they asked for. */
  failed: number;
  amountDueMinor: number;
  byReason: { payment_failed: number; action_required: number };
  /** Where they stand now. `paidWithoutEmail`: paid (Stripe's Smart Retries, or the customer on their own) before any Reclaim email: never claimed. */
  outcomes: { open: number; recoveredByLink: number; paidByWindow: number; paidWithoutEmail: number; closed: number };
  emailsSent: number;
  clicks: number;
  /** Credited to Reclaim (after a Reclaim email, not reversed), by link and by window: never summed. */
  recoveredByLink: { count: number; amountMinor: number };
  recoveredByWindow: { count: number; amountMinor: number };
}
