/**
 * Whether one recovery message may be sent now: a pure function of the recovery, its contact, the shop's policy,
 * what happened since (history) and `now`. It runs right before every send (not only when scheduling), and every
 * skip or hold carries a stable reason code plus a sentence a merchant can read. See docs/decisions/021.
 */
import type { Consent, ConsentEvidence, RecoveryStatus, Source } from "./model";
import { formatMinuteOfDay, quietHoursEnd, type QuietHours } from "./quiet-hours";
import { decidePayment, type PaymentReason } from "./payment-recovery";

/**
 * `explicit` (default): only buyers who opted in to marketing (Shopify SUBSCRIBED / buyer_accepts_marketing,
 * Stripe consent.promotions = opt_in).
 * `implied`: also buyers whose consent is unknown; only an explicit opt-out stops the send. This is the weaker
 * policy some merchants may lawfully use (e.g. US CAN-SPAM opt-out regime, or the EU/UK "soft opt-in" for
 * existing customers); choosing it is the merchant's legal call, and every send still records the evidence.
 */
export type ConsentPolicy = "explicit" | "implied";
export const CONSENT_POLICIES: readonly ConsentPolicy[] = ["explicit", "implied"];

export type SkipReason =
  | "not_contactable"
  | "unsubscribed"
  | "suppressed"
  | "purchased"
  | "superseded"
  | "no_consent"
  | "link_expired"
  | "frequency_cap"
  | "setup_incomplete"
  | "closed"
  | "unconfirmed"
  | "shopify_email"
  | "shopify_email_unverified"
  | "campaign_off"
  // Payment recoveries (docs/decisions/087): the invoice was paid or closed; Stripe Billing emails the customer itself.
  | "invoice_closed"
  | "stripe_email";
export type HoldReason = "quiet_hours" | "completed_unconfirmed" | "shopify_checkout_pending";

/**
 * What Reclaim does when Shopify's own abandoned-checkout automation emailed (or will email) the buyer of a checkout
 * (docs/decisions/075): `defer` (default) holds Reclaim's campaign for that checkout; `send_anyway` ignores it.
 */
export type ShopifyEmailPolicy = "defer" | "send_anyway";
export const SHOPIFY_EMAIL_POLICIES: readonly ShopifyEmailPolicy[] = ["defer", "send_anyway"];

/**
 * Shopify's own abandoned-checkout email for the recovery's checkout, as the send job found it (the core does no I/O):
 * - `SENT` / `SCHEDULED` / `NOT_SENT`: Shopify's `Abandonment.emailState`; `NONE`: Shopify has no abandonment for it;
 * - `awaiting_checkout_id`: only a checkouts webhook has been seen (no AbandonedCheckout gid to ask about yet);
 *   `holdsSoFar` earlier holds of this message for it, `retryAt` after the next checkout sync;
 * - `unverified`: Shopify could not be asked (unreachable after the retries, or refused): `why` says what happened.
 */
export type ShopifyEmailFacts =
  | { state: "SENT" | "SCHEDULED" | "NOT_SENT" | "NONE"; sentAt: Date | null }
  | { state: "awaiting_checkout_id"; holdsSoFar: number; retryAt: Date }
  | { state: "unverified"; why: string };

/** How many times a message waits for the checkout sync to bring a webhook-only checkout's gid before deciding. */
export const SHOPIFY_CHECKOUT_ID_MAX_HOLDS = 3;
/** Where the merchant changes it, as decision-log texts name it. */
export const SHOPIFY_EMAIL_SETTING = "Settings › Shopify's own abandoned-checkout email";

/**
 * How long a completion reported only by the checkout pixel holds sends. Orders reach Reclaim within seconds
 * (orders/create) or at the next poll; a report nothing confirms by then was mistaken or forged, and recovery resumes
 * (docs/decisions/050: a hostile ping can delay an email, never suppress it).
 */
export const PIXEL_COMPLETION_HOLD_MS = 2 * 3_600_000;

export type Decision =
  | { outcome: "send"; reason: "ok"; detail: string }
  | { outcome: "skip"; reason: SkipReason; detail: string }
  | { outcome: "hold"; reason: HoldReason; until: Date; detail: string };

export interface DecisionInput {
  now: Date;
  recovery: {
    source: Source;
    /** `payment`: a failed subscription payment (payment-recovery.ts decides it); absent = `cart`. */
    kind?: string;
    paymentReason?: string | null;
    status: RecoveryStatus | string;
    consent: Consent;
    consentEvidence: ConsentEvidence | null;
    abandonedAt: Date;
    /** When the buyer started the checkout (Stripe session `created`); absent or null = abandonedAt. */
    startedAt?: Date | null;
    completedAt: Date | null;
    recoveryUrl: string | null;
    recoveryUrlExpiresAt: Date | null;
    notContactableReason: string | null;
    /** Seen only through the checkout pixel (public input) so far: Shopify has not confirmed this checkout. */
    pixelOnly: boolean;
    /** The pixel reported `checkout_completed` at this time; nothing has confirmed the purchase yet. */
    pixelCompletedAt: Date | null;
  };
  contact: {
    unsubscribedAt: Date | null;
    suppressedAt: Date | null;
    suppressionReason: string | null;
    lastPurchaseAt: Date | null;
  } | null;
  policy: {
    consentPolicy: ConsentPolicy;
    /** 0 disables the cap. */
    frequencyCapHours: number;
    quietHours: QuietHours | null;
    timeZone: string;
    /** Why the shop cannot send email at all yet (no sender, no postal address…), or null. */
    setupProblem: string | null;
    /** Absent = `send_anyway` (nothing to check). */
    shopifyEmailPolicy?: ShopifyEmailPolicy;
    /** The name of this email's campaign when the merchant has turned it off since it was scheduled (absent: on). */
    campaignTurnedOff?: string | null;
    /** Payment recoveries: the merchant said Stripe Billing already emails customers about this kind of payment. */
    stripeSendsOwnEmail?: boolean;
  };
  /** Shopify's own email for this checkout (Shopify recoveries under `defer`); absent or null = not looked up (yet). */
  shopifyEmail?: ShopifyEmailFacts | null;
  history: {
    /** A newer contactable recovery for the same contact, from either source. */
    newerRecovery: { source: Source; abandonedAt: Date } | null;
    /** The first purchase by this contact since the abandonment, from either source. */
    purchaseSinceAbandonment: { source: Source; at: Date } | null;
    /** When this contact was last emailed for another recovery (either source). */
    lastEmailedForOtherRecoveryAt: Date | null;
  };
}

const SOURCE_NAME: Record<Source, string> = { shopify: "Shopify", stripe: "Stripe" };
const day = (d: Date) => d.toISOString().slice(0, 16).replace("T", " ") + " UTC";

/** The evidence a Shopify consent update leaves on a recovery (customers_email_marketing_consent/update, docs/decisions/073). */
export const SHOPIFY_CONSENT_UPDATE_SOURCE = "shopify.customers_email_marketing_consent";

/** A Shopify consent update as read from its webhook (app/sources/shopify/consent-webhook.ts parses it). */
export interface ShopifyConsentUpdate {
  /** `gid://shopify/Customer/<digits>`, or null when the body names no usable customer id. */
  shopifyCustomerId: string | null;
  /** Normalised (trimmed, lower-case); null when absent or not an address. */
  email: string | null;
  state: Consent;
  /** What a recovery's consentEvidence becomes when this update applies to it. */
  evidence: ConsentEvidence & { source: typeof SHOPIFY_CONSENT_UPDATE_SOURCE };
  /** When Shopify says consent changed (`consent_updated_at`), or null when it does not say. */
  at: Date | null;
}

/** "Unsubscribed in Shopify on …" when the recovery's consent is an opt-out that a Shopify consent update reported. */
function unsubscribedInShopify(consent: Consent, evidence: ConsentEvidence | null): string | null {
  if (consent !== "opt_out" || evidence?.source !== SHOPIFY_CONSENT_UPDATE_SOURCE) return null;
  const at = evidence.at ? new Date(evidence.at) : null;
  return at && !Number.isNaN(at.getTime()) ? `Unsubscribed in Shopify on ${day(at)}` : "Unsubscribed in Shopify";
}

export function consentAllows(policy: ConsentPolicy, consent: Consent): boolean {
  return policy === "explicit" ? consent === "opt_in" : consent !== "opt_out";
}

export function describeConsent(consent: Consent, evidence: ConsentEvidence | null): string {
  const source = evidence?.source ?? "no consent signal";
  const detail = evidence?.detail
    ? Object.entries(evidence.detail)
        .map(([k, v]) => `${k}=${v === null ? "null" : String(v)}`)
        .join(", ")
    : "";
  return `${consent} (${source}${detail ? `: ${detail}` : ""})`;
}

export function decide(input: DecisionInput): Decision {
  const { now, recovery: r, contact: c, policy, history: h } = input;
  const skip = (reason: SkipReason, detail: string): Decision => ({ outcome: "skip", reason, detail });
  if (r.kind === "payment") {
    const reason: PaymentReason = r.paymentReason === "action_required" ? "action_required" : "payment_failed";
    return decidePayment(input, { reason, stripeSendsOwnEmail: policy.stripeSendsOwnEmail === true });
  }

  if (policy.setupProblem) return skip("setup_incomplete", policy.setupProblem);
  // Turning a campaign off stops its emails already scheduled, not only new carts (what a merchant expects of "off").
  if (policy.campaignTurnedOff) return skip("campaign_off", `The campaign "${policy.campaignTurnedOff}" was turned off`);
  // Before anything else about the recovery: pixel data alone never causes an email (docs/decisions/050).
  if (r.pixelOnly) return skip("unconfirmed", "Seen only by the checkout pixel: Shopify has not confirmed this checkout yet");
  if (r.notContactableReason || !c) {
    return skip("not_contactable", r.notContactableReason === "no_recovery_link" ? "No recovery link for this checkout" : "No email address for this checkout");
  }
  if (c.unsubscribedAt) return skip("unsubscribed", unsubscribedInShopify(r.consent, r.consentEvidence) ?? `Unsubscribed on ${day(c.unsubscribedAt)}`);
  if (c.suppressedAt) {
    const why =
      c.suppressionReason === "hard_bounce" ? "the address bounced" : c.suppressionReason === "complaint" ? "a spam complaint" : "suppressed by the merchant";
    return skip("suppressed", `Address suppressed (${why})`);
  }
  if (r.completedAt || r.status === "recovered" || r.status === "purchased") return skip("purchased", "This checkout was completed");
  if (h.purchaseSinceAbandonment) {
    return skip("purchased", `Bought on ${SOURCE_NAME[h.purchaseSinceAbandonment.source]} on ${day(h.purchaseSinceAbandonment.at)}`);
  }
  // Measured from when the buyer started this checkout: a Stripe session expires up to 24 h later (docs/decisions/076).
  if (c.lastPurchaseAt && c.lastPurchaseAt.getTime() >= (r.startedAt ?? r.abandonedAt).getTime()) {
    return skip("purchased", `Bought on ${day(c.lastPurchaseAt)}, after abandoning this checkout`);
  }
  if (h.newerRecovery || r.status === "superseded") {
    const where = h.newerRecovery ? ` on ${SOURCE_NAME[h.newerRecovery.source]} (${day(h.newerRecovery.abandonedAt)})` : "";
    return skip("superseded", `A newer checkout${where} replaces this one`);
  }
  if (r.status === "suppressed" || r.status === "lost" || r.status === "merged") return skip("closed", `Recovery is ${r.status}`);
  if (!consentAllows(policy.consentPolicy, r.consent)) {
    const rule = policy.consentPolicy === "explicit" ? "explicit marketing consent is required" : "the buyer opted out";
    const inShopify = unsubscribedInShopify(r.consent, r.consentEvidence);
    if (inShopify) return skip("no_consent", `No marketing consent: ${inShopify}`);
    return skip("no_consent", `No marketing consent: ${describeConsent(r.consent, r.consentEvidence)}; ${rule}`);
  }
  if (!r.recoveryUrl) return skip("not_contactable", "No recovery link for this checkout");
  if (r.recoveryUrlExpiresAt && r.recoveryUrlExpiresAt.getTime() <= now.getTime()) {
    return skip("link_expired", `The ${SOURCE_NAME[r.source]} recovery link expired on ${day(r.recoveryUrlExpiresAt)}`);
  }
  // A completion only the pixel reported holds for a bounded time: long enough for the order to arrive, never forever.
  let note = "";
  // A report dated after `now` cannot be true (ingest clamps it to the time it arrived): it is ignored, so no stored
  // value can hold an email for longer than the window.
  if (r.pixelCompletedAt && r.pixelCompletedAt.getTime() <= now.getTime()) {
    const holdEnds = new Date(r.pixelCompletedAt.getTime() + PIXEL_COMPLETION_HOLD_MS);
    if (holdEnds.getTime() > now.getTime()) {
      return {
        outcome: "hold",
        reason: "completed_unconfirmed",
        until: holdEnds,
        detail: `The checkout pixel reported this checkout completed on ${day(r.pixelCompletedAt)}; waiting for Shopify to confirm the order until ${day(holdEnds)}`,
      };
    }
    note = `; the checkout pixel reported a completion on ${day(r.pixelCompletedAt)} that no order confirmed within ${PIXEL_COMPLETION_HOLD_MS / 3_600_000} h`;
  }
  // Shopify's own abandoned-checkout email: under `defer`, Shopify owns this checkout's recovery (docs/decisions/075).
  const s = r.source === "shopify" && policy.shopifyEmailPolicy === "defer" ? input.shopifyEmail : null;
  if (s) {
    if (s.state === "SENT") {
      const when = s.sentAt ? ` on ${day(s.sentAt)}` : "";
      return skip(
        "shopify_email",
        `Shopify's own abandoned-checkout email was sent${when}: Reclaim holds its campaign for this checkout (${SHOPIFY_EMAIL_SETTING})`,
      );
    }
    if (s.state === "SCHEDULED") {
      return skip(
        "shopify_email",
        `Shopify's own abandoned-checkout email is scheduled for this checkout: Reclaim holds its campaign so the buyer is not emailed twice (${SHOPIFY_EMAIL_SETTING})`,
      );
    }
    if (s.state === "awaiting_checkout_id") {
      if (s.holdsSoFar < SHOPIFY_CHECKOUT_ID_MAX_HOLDS) {
        return {
          outcome: "hold",
          reason: "shopify_checkout_pending",
          until: s.retryAt,
          detail: `Only Shopify's checkout notification has been seen so far; waiting for the next checkout sync (until ${day(s.retryAt)}) to check whether Shopify's own abandoned-checkout email went out`,
        };
      }
      return skip(
        "shopify_email_unverified",
        `Could not check Shopify's own abandoned-checkout email: the checkout sync has not returned this checkout after ${s.holdsSoFar} waits. This email is skipped rather than risk emailing the buyer twice; the next step checks again (${SHOPIFY_EMAIL_SETTING})`,
      );
    }
    if (s.state === "unverified") {
      return skip(
        "shopify_email_unverified",
        `Could not check whether Shopify's own abandoned-checkout email went out (${s.why}). This email is skipped rather than risk emailing the buyer twice; the next step checks again (${SHOPIFY_EMAIL_SETTING})`,
      );
    }
    note += s.state === "NONE" ? "; Shopify has no abandoned-checkout email for this checkout" : "; Shopify's own abandoned-checkout email: not sent";
  }
  // Quiet hours defer (never drop); the cap is checked again at the deferred time, when it may have cleared.
  if (policy.quietHours) {
    const until = quietHoursEnd(now, policy.timeZone, policy.quietHours);
    if (until) {
      const window = `${formatMinuteOfDay(policy.quietHours.startMinute)}–${formatMinuteOfDay(policy.quietHours.endMinute)} ${policy.timeZone}`;
      return { outcome: "hold", reason: "quiet_hours", until, detail: `Quiet hours (${window}); deferred to ${day(until)}` };
    }
  }
  if (policy.frequencyCapHours > 0 && h.lastEmailedForOtherRecoveryAt) {
    const capEnds = h.lastEmailedForOtherRecoveryAt.getTime() + policy.frequencyCapHours * 3_600_000;
    if (capEnds > now.getTime()) {
      return skip(
        "frequency_cap",
        `Already emailed for another checkout on ${day(h.lastEmailedForOtherRecoveryAt)} (limit: one per ${policy.frequencyCapHours} h)`,
      );
    }
  }
  return { outcome: "send", reason: "ok", detail: `Consent ${describeConsent(r.consent, r.consentEvidence)} under the ${policy.consentPolicy} policy${note}` };
}
