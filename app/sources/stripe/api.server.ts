import type { LineItem } from "../../recovery/model";
import { Stripe, stripeClient } from "./stripe-client.server";
import { stripeLineItems, type PaymentLinkFacts } from "./to-source-event";

/**
 * The two Stripe API calls Reclaim makes with a merchant's restricted key. Answers Stripe gives about the key itself
 * (rejected, missing permission, session unknown to it) are values; network trouble and Stripe outages throw, so the
 * job that called retries later.
 */

export type KeyCheck = { ok: true } | { ok: false; problem: string; retryable: boolean };

/** One cheap call (GET /v1/checkout/sessions?limit=1) proves the key works and may read Checkout Sessions. */
export async function checkApiKey(apiKey: string): Promise<KeyCheck> {
  try {
    await stripeClient(apiKey).checkout.sessions.list({ limit: 1 });
    return { ok: true };
  } catch (error) {
    if (error instanceof Stripe.errors.StripeAuthenticationError) {
      return { ok: false, retryable: false, problem: "Stripe did not accept this key (it may have been deleted or rolled)." };
    }
    if (error instanceof Stripe.errors.StripePermissionError) {
      return { ok: false, retryable: false, problem: "This key cannot read Checkout Sessions. In Stripe, edit the key and set Checkout Sessions to Read." };
    }
    return { ok: false, retryable: true, problem: "Could not reach Stripe to check this key. Nothing was saved; try again in a moment." };
  }
}

/**
 * `retrying`: Stripe did not answer this time (rate limit, outage, network); the recovery is stored without the data
 * and a follow-up job fetches it again (docs/decisions/077-stripe-source-and-app-store.md).
 */
export type LineItemsResult = { ok: true; items: LineItem[]; note?: string } | { ok: false; unavailable: string; retrying?: boolean };

/** Restricted-key permissions Reclaim asks merchants for, in Stripe's Dashboard words. */
export const STRIPE_KEY_PERMISSIONS = [
  { resource: "Checkout Sessions", access: "Read", why: "the items of an abandoned session (Stripe's webhooks do not carry them)" },
  { resource: "Products", access: "Read", why: "each item's product name and image in the email" },
  { resource: "Payment Links", access: "Read", why: "the address of the Payment Link a buyer abandoned, used as the recovery link" },
] as const;

/** Stripe answered nothing usable this time, and asking again later may work: 429, 5xx, network, timeout. */
export function isTransientStripeError(error: unknown): boolean {
  return (
    error instanceof Stripe.errors.StripeRateLimitError ||
    error instanceof Stripe.errors.StripeAPIError ||
    error instanceof Stripe.errors.StripeConnectionError ||
    (error instanceof Stripe.errors.StripeError && typeof error.statusCode === "number" && (error.statusCode === 429 || error.statusCode >= 500))
  );
}

/** Says why a transient failure happened, for the recovery's record (no key material, no body). */
export function transientReason(error: unknown): string {
  const status = error instanceof Stripe.errors.StripeError && typeof error.statusCode === "number" ? ` (HTTP ${error.statusCode})` : "";
  return `Stripe did not answer${status}`;
}

const listLineItems = (apiKey: string, sessionId: string, expandProducts: boolean) =>
  stripeClient(apiKey)
    .checkout.sessions.listLineItems(sessionId, { limit: 100, ...(expandProducts ? { expand: ["data.price.product"] } : {}) })
    .autoPagingToArray({ limit: 250 });

/**
 * All line items of a session (GET /v1/checkout/sessions/:id/line_items?expand[]=data.price.product, paginated), at
 * most 250, each with its product's name and first image. A key without Products: Read still gets the items, without
 * images, and the recovery says why.
 */
export async function fetchSessionLineItems(apiKey: string, sessionId: string, currency: string): Promise<LineItemsResult> {
  try {
    let items: unknown[];
    let note: string | undefined;
    try {
      items = await listLineItems(apiKey, sessionId, true);
    } catch (error) {
      if (!(error instanceof Stripe.errors.StripePermissionError) || !/product/i.test(error.message)) throw error;
      items = await listLineItems(apiKey, sessionId, false);
      note = "the connected API key cannot read Products, so items have no images (set Products: Read on the key)";
    }
    return { ok: true, items: stripeLineItems(items, currency), ...(note ? { note } : {}) };
  } catch (error) {
    if (error instanceof Stripe.errors.StripeAuthenticationError) return { ok: false, unavailable: "Stripe rejected the connected API key" };
    if (error instanceof Stripe.errors.StripePermissionError) return { ok: false, unavailable: "the connected API key cannot read Checkout Sessions" };
    if (error instanceof Stripe.errors.StripeInvalidRequestError && error.statusCode === 404) {
      return { ok: false, unavailable: "the connected API key cannot see this session (another account or mode)" };
    }
    throw error;
  }
}

/**
 * A Payment Link (GET /v1/payment_links/:id): its address, whether it is still active and whether it allows promotion
 * codes. Answers about the key are values; outages throw (see isTransientStripeError).
 */
export async function fetchPaymentLink(apiKey: string, paymentLinkId: string): Promise<PaymentLinkFacts> {
  try {
    const link = await stripeClient(apiKey).paymentLinks.retrieve(paymentLinkId);
    if (typeof link.url !== "string" || link.url.length === 0) return { ok: false, unavailable: "Stripe returned the Payment Link without an address" };
    return { ok: true, url: link.url, active: link.active === true, allowPromotionCodes: link.allow_promotion_codes === true };
  } catch (error) {
    if (error instanceof Stripe.errors.StripeAuthenticationError) return { ok: false, unavailable: "Stripe rejected the connected API key" };
    if (error instanceof Stripe.errors.StripePermissionError) {
      return { ok: false, unavailable: "the connected API key cannot read Payment Links (in Stripe, edit the key and set Payment Links to Read)" };
    }
    if (error instanceof Stripe.errors.StripeInvalidRequestError && error.statusCode === 404) {
      return { ok: false, unavailable: "the connected API key cannot see this Payment Link (another account or mode)" };
    }
    throw error;
  }
}
