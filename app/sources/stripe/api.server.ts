import type { LineItem } from "../../recovery/model";
import { Stripe, stripeClient } from "./stripe-client.server";
import { stripeLineItems } from "./to-source-event";

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

export type LineItemsResult = { ok: true; items: LineItem[] } | { ok: false; unavailable: string };

/** All line items of a session (GET /v1/checkout/sessions/:id/line_items, paginated), at most 250. */
export async function fetchSessionLineItems(apiKey: string, sessionId: string, currency: string): Promise<LineItemsResult> {
  try {
    const items = await stripeClient(apiKey).checkout.sessions.listLineItems(sessionId, { limit: 100 }).autoPagingToArray({ limit: 250 });
    return { ok: true, items: stripeLineItems(items, currency) };
  } catch (error) {
    if (error instanceof Stripe.errors.StripeAuthenticationError) return { ok: false, unavailable: "Stripe rejected the connected API key" };
    if (error instanceof Stripe.errors.StripePermissionError) return { ok: false, unavailable: "the connected API key cannot read Checkout Sessions" };
    if (error instanceof Stripe.errors.StripeInvalidRequestError && error.statusCode === 404) {
      return { ok: false, unavailable: "the connected API key cannot see this session (another account or mode)" };
    }
    throw error;
  }
}
