/**
 * Reclaim's core vocabulary (docs/architecture.md). Pure types: no framework, vendor or database imports.
 * Sources (app/sources/*) turn vendor data into SourceEvents; everything downstream is source-agnostic.
 */

export type Source = "shopify" | "stripe";
export const SOURCES: readonly Source[] = ["shopify", "stripe"] as const;

/** Money is integer minor units plus an ISO 4217 currency code; never floats. */
export interface Money {
  amountMinor: number;
  currency: string;
}

export type Consent = "opt_in" | "opt_out" | "unknown";

/** Where a consent state came from, kept so a merchant can show why an email was (not) sent. */
export interface ConsentEvidence {
  state: Consent;
  /** e.g. `shopify.customer.defaultEmailAddress`, `shopify.checkout.buyer_accepts_marketing`, `stripe.consent.promotions`. */
  source: string;
  /** Vendor values as received (marketingState, marketingOptInLevel, promotions…). */
  detail?: Record<string, string | boolean | null>;
  /** When the vendor says consent was last updated (ISO 8601), if it says. */
  at?: string | null;
}

export interface LineItem {
  title: string;
  variantTitle: string | null;
  quantity: number;
  imageUrl: string | null;
  unitPriceMinor: number;
  totalPriceMinor: number;
}

/** `merged`: a second record of a checkout already recovered under another row (see mergeSplitRecoveries in ingest). */
/** `purchased`: its checkout was bought without a Reclaim email before it ("Bought without an email", docs/decisions/082). */
export type RecoveryStatus = "open" | "contacting" | "recovered" | "purchased" | "lost" | "superseded" | "suppressed" | "merged";

/** Why an abandoned checkout could not be emailed (the Overview funnel counts each; the pages label them). */
export type NotContactableReason = "no_email" | "no_recovery_link" | "no_consent" | "unsubscribed" | "link_expired";

/** A source reports a checkout (new or updated). Abandoned Shopify checkout, expired Stripe Checkout Session. */
export interface CheckoutObserved {
  kind: "checkout.observed";
  source: Source;
  /** Shopify AbandonedCheckout gid or Stripe `cs_…`. */
  externalId: string;
  /** Shopify checkout `token` (webhooks, orders, the pixel; older recovery URLs); joins them. */
  checkoutToken?: string | null;
  /** Shopify cart token (webhooks, orders, and the poll: it is the segment of live recovery URLs). */
  cartToken?: string | null;
  name?: string | null;
  /** Raw email as the source gave it (normalised later); null when the source does not know it (e.g. a guest in GraphQL). */
  email: string | null;
  firstName: string | null;
  /** The buyer's full name as the source gives it (search only): Shopify first + last name, Stripe's name unsplit. */
  fullName?: string | null;
  /** The buyer's family name (Japanese emails greet with it); Shopify's customer or address last name; Stripe: none. */
  lastName?: string | null;
  shopifyCustomerId?: string | null;
  consent: ConsentEvidence;
  /** null = this observation does not carry line items (keep what is known). */
  lineItems: LineItem[] | null;
  total: Money;
  /** Total in the shop's currency, when the source reports it separately. */
  shopTotal?: Money | null;
  locale?: string | null;
  discountCodes?: string[];
  recoveryUrl: string | null;
  recoveryUrlExpiresAt: Date | null;
  abandonedAt: Date;
  /**
   * When the buyer started this checkout, if earlier than abandonedAt (Stripe: the session's `created`; its abandonedAt is
   * the expiry). "Bought since abandoning" is measured from here (docs/decisions/076). Absent = abandonedAt.
   */
  startedAt?: Date | null;
  /** Stripe Checkout `mode` (`payment` | `subscription`); absent for Shopify. */
  checkoutMode?: string | null;
  /** The source's own last-modified time: newer observations win, older ones only fill gaps. */
  updatedAt: Date;
  completedAt: Date | null;
  /** Kept as received (Stripe client_reference_id, metadata). */
  metadata?: Record<string, unknown>;
  /** Why this observation can never be contacted, if the source already knows (e.g. line items unavailable is not one). */
  notes?: string[];
}

/** A purchase seen from either source. */
export interface PurchaseObserved {
  kind: "purchase.observed";
  source: Source;
  /** Shopify order gid, or the completed Stripe session `cs_…`. */
  externalId: string;
  email: string | null;
  shopifyCustomerId?: string | null;
  checkoutToken?: string | null;
  cartToken?: string | null;
  /** Stripe `recovered_from`: the expired session this purchase came from. */
  recoveredFrom?: string | null;
  /** Stripe `payment_intent` of the completed session (refunds and disputes name it). */
  paymentIntentId?: string | null;
  /** What the buyer paid, in the currency they saw (Shopify presentment money). */
  amount: Money;
  /** The same total in the shop's currency (Shopify `total_price_set.shop_money`), when the source gives it. */
  shopAmount?: Money | null;
  /** A test order (Shopify `test: true`): never a purchase. */
  test?: boolean;
  /** When the order was cancelled (Shopify `cancelled_at`); a cancelled order is not a purchase. */
  cancelledAt?: Date | null;
  occurredAt: Date;
}

/**
 * The checkout web pixel (extensions/reclaim-checkout-pixel) saw a Shopify checkout in the buyer's browser. It is
 * public, unauthenticated input, so it can only make a checkout visible early and hold sends after a reported
 * completion; what gets emailed, and every number a merchant trusts, comes from Shopify (docs/decisions/050).
 */
export interface CheckoutPixelObserved {
  kind: "checkout.pixel";
  /** The pixel's event id: one effect per id. */
  eventId: string;
  event: "checkout_started" | "checkout_contact_info_submitted" | "checkout_completed";
  checkoutToken: string;
  /** Raw email as typed at checkout (normalised later); null before the buyer entered one. */
  email: string | null;
  /** `buyerAcceptsEmailMarketing` as the pixel reported it; null when the checkout does not expose it. */
  buyerAcceptsEmailMarketing: boolean | null;
  lineItems: LineItem[];
  total: Money;
  /** When the event happened in the browser (clamped by the collector to a sane window). */
  occurredAt: Date;
  /**
   * When the checkout was started, if earlier: the earliest of several events merged into this one
   * (app/recovery/pixel-merge.ts). Dates the abandonment, as the earliest event would have.
   */
  startedAt?: Date;
}

export type SourceEvent = CheckoutObserved | PurchaseObserved | CheckoutPixelObserved;

/** A Stripe Payment Link as read with the merchant's key, or why it could not be (the recovery link of a link's session). */
export type PaymentLinkFacts = { ok: true; url: string; active: boolean; allowPromotionCodes: boolean } | { ok: false; unavailable: string };

/** Lower-cases and trims an email; returns null for anything that is not plausibly an address. */
export function normalizeEmail(raw: string | null | undefined): string | null {
  if (!raw) return null;
  const email = raw.trim().toLowerCase();
  // Deliberately loose: the source already validated it; we only refuse obvious garbage.
  if (email.length > 254 || !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) return null;
  return email;
}
