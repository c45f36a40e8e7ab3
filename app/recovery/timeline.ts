/**
 * What a merchant reads about one recovery: the stored reason codes in words, whether the recovery will ever be
 * emailed (and why not), and each email's line on the timeline as a sentence. Pure and client-safe: the models
 * gather the facts, the pages print the strings.
 */
import type { ConsentPolicy } from "./decide";
import { consentAllows } from "./decide";
import type { Consent } from "./model";

/**
 * Reason codes (Message.skipReason, DecisionLog.reason, Recovery.notContactableReason) as a merchant would say them,
 * finishing the sentence "… because …" / "Won't be emailed: …".
 */
export const REASON_WORDS: Record<string, string> = {
  no_consent: "the buyer has not agreed to marketing emails",
  unsubscribed: "the buyer unsubscribed",
  suppressed: "the address is suppressed (bounced, complained or blocked by you)",
  hard_bounce: "the address bounced",
  rejected: "the mail server refused the email",
  not_contactable: "there is no email address or recovery link for this cart",
  no_email: "there is no email address for this cart",
  no_recovery_link: "there is no recovery link for this cart",
  link_expired: "the recovery link had expired",
  purchased: "the buyer has already bought",
  order_cancelled: "the order was cancelled",
  superseded: "the buyer started a newer checkout",
  duplicate: "the same checkout was recorded twice (kept once)",
  frequency_cap: "the buyer was emailed about another cart recently (frequency limit)",
  setup_incomplete: "email sending is not set up yet",
  closed: "this recovery is closed",
  unconfirmed: "Shopify has not confirmed this checkout yet",
  shopify_email: "Shopify's own abandoned-checkout email went to the buyer",
  campaign_off: "the campaign was turned off",
  shopify_email_unverified: "Reclaim could not check whether Shopify's own abandoned-checkout email went out",
  shopify_checkout_pending: "waiting for the next checkout sync",
  quiet_hours: "of quiet hours",
  completed_unconfirmed: "the checkout pixel reported a purchase that Shopify has not confirmed yet",
  stopped_by_merchant: "you stopped emails for this cart",
  too_old: "the cart was too old when Reclaim was installed again",
  reinstalled: "Reclaim was installed again",
  no_campaign: "no campaign is active",
  no_matching_campaign: "no active campaign applies to this cart",
  template_error: "the email template could not be rendered",
  delivery_unknown: "the connection to the mail server broke during delivery (not resent, so nobody gets it twice)",
  send_failed: "sending failed repeatedly",
  customer_redacted: "the customer's data was erased on their request",
  // Payment recoveries (docs/decisions/087).
  invoice_closed: "the invoice was paid or closed",
  invoice_paid: "the invoice was paid",
  invoice_voided: "the invoice was voided",
  invoice_uncollectible: "the invoice was marked uncollectible",
  subscription_canceled: "the subscription was canceled",
  stripe_email: "Stripe Billing already emails the customer about this payment",
  needs_confirmation: "the payment now needs the customer's confirmation (the “Confirm your payment” emails replace these)",
};

/** The words for a code; an unknown code is shown as it is rather than hidden. */
export const reasonInWords = (code: string | null | undefined): string => (code ? (REASON_WORDS[code] ?? code.replace(/_/g, " ")) : "no reason recorded");

export interface ReachFacts {
  status: string;
  notContactableReason: string | null;
  pixelOnly: boolean;
  consent: Consent | string;
  consentPolicy: ConsentPolicy | string;
  /** `payment` recoveries are transactional: marketing consent does not apply (docs/decisions/087). */
  kind?: string;
  contact: { unsubscribedAt: Date | string | null; suppressedAt: Date | string | null } | null;
  /** Every message of the recovery: status and skip/cancel reason. */
  messages: { status: string; skipReason: string | null }[];
}

const PENDING = new Set(["scheduled", "claimed", "sending"]);
const FINISHED = new Set(["recovered", "purchased", "lost", "superseded", "merged"]);

/**
 * Why Reclaim will never email this recovery as things stand (a reason code for REASON_WORDS), or null when an email
 * may still go out, one already went out, or the recovery is finished (its status says so). The same checks as the
 * send path's first ones (decide()), read from what is stored: a later consent or a newer checkout can change it.
 */
export function wontBeEmailedReason(f: ReachFacts): string | null {
  if (FINISHED.has(f.status)) return null;
  if (f.messages.some((m) => m.status === "sent")) return null;
  if (f.pixelOnly) return null; // "Unconfirmed" says it: emailed once Shopify confirms the checkout
  if (f.notContactableReason) return f.notContactableReason;
  if (f.contact?.unsubscribedAt) return "unsubscribed";
  if (f.contact?.suppressedAt || f.status === "suppressed") return "suppressed";
  const policy: ConsentPolicy = f.consentPolicy === "implied" ? "implied" : "explicit";
  const consent = (["opt_in", "opt_out", "unknown"].includes(f.consent) ? f.consent : "unknown") as Consent;
  if (f.kind !== "payment" && !consentAllows(policy, consent)) return "no_consent";
  if (f.messages.length > 0 && !f.messages.some((m) => PENDING.has(m.status))) {
    const last = [...f.messages].reverse().find((m) => m.skipReason);
    return last?.skipReason ?? "closed";
  }
  return null;
}

export interface TimelineMessage {
  position: number;
  status: string;
  scheduledFor: string;
  sentAt: string | null;
  subject: string | null;
  skipReason: string | null;
  lastError: string | null;
}

/**
 * One email's line on the timeline. `formatAt` formats an ISO time in the shop's locale and time zone. A recovery
 * that won't be emailed shows its pending emails as "won't be sent", never as scheduled; cancelled and skipped emails
 * carry no future planned time.
 */
export function messageSentence(m: TimelineMessage, formatAt: (iso: string) => string, wontBeEmailed: string | null): string {
  const n = `Email ${m.position}`;
  switch (m.status) {
    case "sent":
      return `${n} sent on ${formatAt(m.sentAt ?? m.scheduledFor)}${m.subject ? ` — subject: “${m.subject}”` : ""}`;
    case "scheduled":
    case "claimed":
      return wontBeEmailed ? `${n} won't be sent: ${reasonInWords(wontBeEmailed)}` : `${n} scheduled for ${formatAt(m.scheduledFor)}`;
    case "sending":
      return `${n} is being sent`;
    case "skipped":
      return `${n} skipped: ${reasonInWords(m.skipReason)}`;
    case "cancelled":
      return `${n} cancelled: ${reasonInWords(m.skipReason)}`;
    case "failed":
      return `${n} not sent: ${m.skipReason ? reasonInWords(m.skipReason) : "the mail server could not be reached"}`;
    default:
      return `${n}: ${m.status}`;
  }
}

/**
 * When an email's line sits on the timeline: sent → when it went out; still to come → its planned time; skipped,
 * cancelled or failed → when that was decided (never a planned time still in the future).
 */
export function messageTime(m: { status: string; scheduledFor: string; sentAt: string | null; updatedAt: string }, now: string): string {
  if (m.sentAt) return m.sentAt;
  if (PENDING.has(m.status)) return m.scheduledFor;
  return m.scheduledFor < now ? m.scheduledFor : m.updatedAt;
}
