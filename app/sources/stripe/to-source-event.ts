import type { CheckoutObserved, Consent, ConsentEvidence, LineItem, PurchaseObserved } from "../../recovery/model";
import { MAX_STORED_MINOR, storableDate } from "../../recovery/storable";
import { fromStripeAmount } from "./stripe-money";

/**
 * Pure mappers from Stripe Checkout Session events to SourceEvents (no I/O, no clock: times come from the event).
 * Payload shapes follow the API version of the event, so every field is read defensively.
 *
 * Times: a session's abandonment is the moment Stripe expired it, i.e. the `checkout.session.expired` event's
 * `created`; a purchase happens at the `completed` event's `created` (docs/decisions/010-stripe-events-to-source-events.md).
 */

type Json = Record<string, unknown>;

export class StripePayloadError extends Error {
  name = "StripePayloadError";
}

const str = (v: unknown): string | null => (typeof v === "string" && v.length > 0 ? v : null);
const obj = (v: unknown): Json | null => (v && typeof v === "object" && !Array.isArray(v) ? (v as Json) : null);
const int = (v: unknown): number | null => (typeof v === "number" && Number.isSafeInteger(v) ? v : null);
const unixDate = (v: unknown): Date | null => (int(v) !== null ? storableDate(new Date((v as number) * 1000)) : null);

/** The session inside an event, with its id checked (`cs_…`). */
export function sessionOf(eventObject: unknown): Json {
  const session = obj(eventObject);
  const id = str(session?.id);
  if (!session || session.object !== "checkout.session" || !id || !id.startsWith("cs_")) {
    throw new StripePayloadError("event does not carry a Checkout Session (data.object.id cs_…)");
  }
  return session;
}

/** The buyer's email: what they typed (`customer_details.email`), else the prefill the merchant passed (`customer_email`). */
export function sessionEmail(session: Json): string | null {
  return str(obj(session.customer_details)?.email) ?? str(session.customer_email);
}

/**
 * `client_reference_id` can carry the Shopify customer: `shopify_customer_<id>` (the form Payment Links accept, letters,
 * digits, `-` and `_` only) or a full `gid://shopify/Customer/<id>`. Anything else is kept as metadata only.
 */
export function shopifyCustomerIdFrom(clientReferenceId: string | null): string | null {
  if (!clientReferenceId) return null;
  const match = /^(?:shopify_customer_|gid:\/\/shopify\/Customer\/)(\d{1,20})$/.exec(clientReferenceId.trim());
  return match ? `gid://shopify/Customer/${match[1]}` : null;
}

function money(session: Json, fallbackCurrency: string) {
  const currency = (str(session.currency) ?? fallbackCurrency).toUpperCase();
  const amount = int(session.amount_total) ?? 0;
  const amountMinor = fromStripeAmount(amount, currency);
  if (!Number.isSafeInteger(amountMinor) || Math.abs(amountMinor) > MAX_STORED_MINOR) throw new StripePayloadError("amount_total is too large to store");
  return { amountMinor, currency };
}

function consentEvidence(session: Json, at: Date): ConsentEvidence {
  const promotions = str(obj(session.consent)?.promotions);
  const state: Consent = promotions === "opt_in" ? "opt_in" : promotions === "opt_out" ? "opt_out" : "unknown";
  return {
    state,
    source: "stripe.consent.promotions",
    detail: { promotions, consent_collection_promotions: str(obj(session.consent_collection)?.promotions) },
    at: at.toISOString(),
  };
}

export interface ExpiredSessionContext {
  /** The event's `created`. */
  eventCreated: Date;
  /** Fetched with the merchant's API key; null when they could not be fetched (with the reason). */
  lineItems: LineItem[] | null;
  lineItemsUnavailable: string | null;
  /** Used only if a session has no currency (setup mode): the shop's currency. */
  fallbackCurrency: string;
}

/** `checkout.session.expired` → the checkout a recovery is made of. */
export function expiredSessionToCheckout(eventObject: unknown, ctx: ExpiredSessionContext): CheckoutObserved {
  const session = sessionOf(eventObject);
  const recovery = obj(obj(session.after_expiration)?.recovery);
  const name = str(obj(session.customer_details)?.name);
  const clientReferenceId = str(session.client_reference_id);
  const locale = str(session.locale);
  return {
    kind: "checkout.observed",
    source: "stripe",
    externalId: session.id as string,
    checkoutToken: null,
    name: null,
    email: sessionEmail(session),
    firstName: name ? (name.trim().split(/\s+/)[0] ?? null) : null,
    shopifyCustomerId: shopifyCustomerIdFrom(clientReferenceId),
    consent: consentEvidence(session, ctx.eventCreated),
    lineItems: ctx.lineItems,
    total: money(session, ctx.fallbackCurrency),
    shopTotal: null,
    locale: locale && locale !== "auto" ? locale : null,
    discountCodes: [],
    recoveryUrl: str(recovery?.url),
    recoveryUrlExpiresAt: unixDate(recovery?.expires_at),
    abandonedAt: ctx.eventCreated,
    updatedAt: ctx.eventCreated,
    completedAt: null,
    metadata: {
      client_reference_id: clientReferenceId,
      metadata: obj(session.metadata) ?? {},
      payment_link: str(session.payment_link) ?? str(obj(session.payment_link)?.id),
      mode: str(session.mode),
      livemode: session.livemode === true,
      recovery_enabled: recovery?.enabled === true,
      ...(ctx.lineItemsUnavailable ? { line_items_unavailable: ctx.lineItemsUnavailable } : {}),
    },
  };
}

/**
 * `checkout.session.completed` / `async_payment_succeeded` → a purchase. `recovered_from` names the expired session
 * whose recovery link the buyer used (link attribution); either way the contact has bought.
 */
export function completedSessionToPurchase(eventObject: unknown, ctx: { eventCreated: Date; fallbackCurrency: string }): PurchaseObserved {
  const session = sessionOf(eventObject);
  const recoveredFrom = str(session.recovered_from);
  return {
    kind: "purchase.observed",
    source: "stripe",
    externalId: session.id as string,
    email: sessionEmail(session),
    shopifyCustomerId: shopifyCustomerIdFrom(str(session.client_reference_id)),
    checkoutToken: null,
    recoveredFrom: recoveredFrom && recoveredFrom.startsWith("cs_") ? recoveredFrom : null,
    amount: money(session, ctx.fallbackCurrency),
    occurredAt: ctx.eventCreated,
  };
}

/** Stripe `item` objects (GET /v1/checkout/sessions/:id/line_items) → line items, at most 250. */
export function stripeLineItems(items: unknown[], sessionCurrency: string): LineItem[] {
  return items.slice(0, 250).flatMap((raw): LineItem[] => {
    const item = obj(raw);
    if (!item) return [];
    const currency = (str(item.currency) ?? sessionCurrency).toUpperCase();
    const quantity = int(item.quantity) && (item.quantity as number) > 0 ? (item.quantity as number) : 1;
    const price = obj(item.price);
    const subtotal = int(item.amount_subtotal);
    const unit = int(price?.unit_amount) ?? (subtotal !== null ? Math.round(subtotal / quantity) : 0);
    const product = obj(price?.product);
    const images = Array.isArray(product?.images) ? product.images : [];
    const unitPriceMinor = fromStripeAmount(unit, currency);
    const totalPriceMinor = fromStripeAmount(subtotal ?? unit * quantity, currency);
    // An amount past exact integer arithmetic is not a real item; it is left out rather than stored wrong.
    if (!Number.isSafeInteger(unitPriceMinor) || !Number.isSafeInteger(totalPriceMinor)) return [];
    return [
      {
        title: (str(item.description) ?? str(product?.name) ?? "Item").slice(0, 500),
        variantTitle: str(price?.nickname),
        quantity,
        imageUrl: str(images[0]),
        unitPriceMinor,
        totalPriceMinor,
      },
    ];
  });
}
