import { fullNameOf } from "../../recovery/full-name";
import { onExtraHost } from "../../security/extra-hosts";
import type { CheckoutObserved, ConsentEvidence, LineItem, PaymentLinkFacts, PurchaseObserved } from "../../recovery/model";
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
 * `client_reference_id` may name a Shopify customer: `shopify_customer_<id>` (the form Payment Links accept, letters,
 * digits, `-` and `_` only) or a full `gid://shopify/Customer/<id>`. It is a hint only: anyone can append it to a public
 * Payment Link URL, so it is kept in the recovery's metadata and never becomes a contact's Shopify customer id
 * (docs/decisions/076).
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

/**
 * Consent a merchant collected before Checkout (Stripe offers `consent_collection.promotions` only to US merchants and
 * customers), passed as session metadata: `reclaim_marketing_consent` = `opt_in` | `opt_out` and
 * `reclaim_consent_collected_at` = when the buyer gave it (ISO 8601 or Unix seconds). Without a readable time no later
 * than the session's creation the claim carries no evidence and is not honoured.
 */
export const METADATA_CONSENT_KEY = "reclaim_marketing_consent";
export const METADATA_CONSENT_AT_KEY = "reclaim_consent_collected_at";

function metadataConsentTime(raw: string | null, notAfter: Date): Date | null {
  if (!raw) return null;
  const trimmed = raw.trim();
  const at = /^\d{9,11}$/.test(trimmed) ? new Date(Number(trimmed) * 1000) : /^\d{4}-\d{2}-\d{2}T/.test(trimmed) ? new Date(trimmed) : null;
  const stored = at ? storableDate(at) : null;
  // Consent given "after" the session was created cannot have been collected before Checkout: a clock or data error.
  return stored && stored.getTime() <= notAfter.getTime() ? stored : null;
}

/**
 * Stripe's own `consent.promotions` (the buyer ticked it in Checkout, at the session's `created` at the latest) wins
 * when it says anything; otherwise the merchant's metadata, with the time the buyer gave it.
 */
function consentEvidence(session: Json, eventCreated: Date): ConsentEvidence {
  const promotions = str(obj(session.consent)?.promotions);
  const created = unixDate(session.created) ?? eventCreated;
  if (promotions === "opt_in" || promotions === "opt_out") {
    return {
      state: promotions,
      source: "stripe.consent.promotions",
      detail: { promotions, consent_collection_promotions: str(obj(session.consent_collection)?.promotions) },
      at: created.toISOString(),
    };
  }
  const metadata = obj(session.metadata) ?? {};
  const claimed = str(metadata[METADATA_CONSENT_KEY])?.trim().toLowerCase() ?? null;
  if (claimed === "opt_in" || claimed === "opt_out") {
    const rawAt = str(metadata[METADATA_CONSENT_AT_KEY]);
    const at = metadataConsentTime(rawAt, created);
    if (at) {
      return { state: claimed, source: "stripe.metadata", detail: { [METADATA_CONSENT_KEY]: claimed, [METADATA_CONSENT_AT_KEY]: rawAt }, at: at.toISOString() };
    }
    return {
      state: "unknown",
      source: "stripe.metadata",
      detail: {
        [METADATA_CONSENT_KEY]: claimed,
        [METADATA_CONSENT_AT_KEY]: rawAt,
        ignored: `${METADATA_CONSENT_AT_KEY} is missing, unreadable or later than the session's creation`,
      },
      at: null,
    };
  }
  return {
    state: "unknown",
    source: "stripe.consent.promotions",
    detail: { promotions, consent_collection_promotions: str(obj(session.consent_collection)?.promotions) },
    at: null,
  };
}

/**
 * Hosts a Stripe recovery link may point at: Stripe's hosted Checkout and Payment Links. Reclaim has no setting for a
 * merchant's custom Checkout domain, so a link anywhere else is refused (stored as no link, with the reason).
 */
export const STRIPE_CHECKOUT_HOSTS: readonly string[] = ["checkout.stripe.com", "buy.stripe.com"];

/**
 * `extraHosts`: the operator's custom Checkout domains (`STRIPE_CHECKOUT_EXTRA_HOSTS`; app/security/extra-hosts.ts).
 */
export function isStripeCheckoutUrl(url: string | null | undefined, extraHosts: readonly string[] = []): url is string {
  if (!url) return false;
  try {
    const parsed = new URL(url);
    if (parsed.username || parsed.password) return false;
    if (parsed.protocol === "https:" && !parsed.port && STRIPE_CHECKOUT_HOSTS.includes(parsed.hostname.toLowerCase())) return true;
    return onExtraHost(parsed, extraHosts);
  } catch {
    return false;
  }
}

/** When Stripe gives no expiry for a recovery link: 30 days after the session expired (Stripe's documented lifetime). */
export const RECOVERY_LINK_FALLBACK_DAYS = 30;

export type { PaymentLinkFacts };

/** The Payment Link's address with the buyer's email prefilled (`prefilled_email`, a documented Payment Link parameter). */
export function paymentLinkRecoveryUrl(linkUrl: string, email: string | null): string {
  const url = new URL(linkUrl);
  if (email) url.searchParams.set("prefilled_email", email);
  return url.toString();
}

/** The session's Payment Link id (`plink_…`), whether the field is an id or expanded. */
export function paymentLinkIdOf(session: Json): string | null {
  return str(session.payment_link) ?? str(obj(session.payment_link)?.id);
}

export interface ExpiredSessionContext {
  /** The event's `created`. */
  eventCreated: Date;
  /** Fetched with the merchant's API key; null when they could not be fetched (with the reason). */
  lineItems: LineItem[] | null;
  lineItemsUnavailable: string | null;
  /** Used only if a session has no currency (setup mode): the shop's currency. */
  fallbackCurrency: string;
  /** Something the merchant should know about the items that were fetched (e.g. no images without Products: Read). */
  lineItemsNote?: string | null;
  /** For a Payment Link session: the link read with the merchant's key, or why not; absent/null otherwise. */
  paymentLink?: PaymentLinkFacts | null;
  /** Custom Checkout domains accepted besides Stripe's own (STRIPE_CHECKOUT_EXTRA_HOSTS). */
  checkoutHosts?: readonly string[];
}

/**
 * The recovery link of an expired session, or why there is none: Stripe's `after_expiration.recovery.url` for a
 * Checkout Session created with recovery enabled; for a Payment Link (which has no recovery setting) the link's own
 * address with the email prefilled. Only Stripe checkout hosts are accepted.
 */
function recoveryLinkOf(session: Json, email: string | null, ctx: ExpiredSessionContext) {
  const recovery = obj(obj(session.after_expiration)?.recovery);
  const expiresAt = unixDate(session.expires_at) ?? ctx.eventCreated;
  const fallbackExpiry = storableDate(new Date(expiresAt.getTime() + RECOVERY_LINK_FALLBACK_DAYS * 86_400_000));
  const stripeUrl = str(recovery?.url);
  if (stripeUrl) {
    if (!isStripeCheckoutUrl(stripeUrl, ctx.checkoutHosts))
      return { url: null, expiresAt: null, allowPromotionCodes: false, unavailable: "the recovery link Stripe sent is not on a Stripe checkout host" };
    return {
      url: stripeUrl,
      expiresAt: unixDate(recovery?.expires_at) ?? fallbackExpiry,
      allowPromotionCodes: recovery?.allow_promotion_codes === true,
      unavailable: null,
    };
  }
  const link = paymentLinkIdOf(session) ? ctx.paymentLink : null;
  if (link) {
    if (!link.ok) return { url: null, expiresAt: null, allowPromotionCodes: false, unavailable: link.unavailable };
    if (!link.active) return { url: null, expiresAt: null, allowPromotionCodes: false, unavailable: "the Payment Link was deactivated in Stripe" };
    if (!isStripeCheckoutUrl(link.url, ctx.checkoutHosts))
      return { url: null, expiresAt: null, allowPromotionCodes: false, unavailable: "the Payment Link's address is not on a Stripe checkout host" };
    return { url: paymentLinkRecoveryUrl(link.url, email), expiresAt: fallbackExpiry, allowPromotionCodes: link.allowPromotionCodes, unavailable: null };
  }
  return {
    url: null,
    expiresAt: null,
    allowPromotionCodes: false,
    unavailable: recovery?.enabled === true ? null : "recovery was not enabled on this Checkout Session",
  };
}

/** `checkout.session.expired` → the checkout a recovery is made of. */
export function expiredSessionToCheckout(eventObject: unknown, ctx: ExpiredSessionContext): CheckoutObserved {
  const session = sessionOf(eventObject);
  const recovery = obj(obj(session.after_expiration)?.recovery);
  const email = sessionEmail(session);
  const link = recoveryLinkOf(session, email, ctx);
  const name = str(obj(session.customer_details)?.name);
  const clientReferenceId = str(session.client_reference_id);
  const locale = str(session.locale);
  return {
    kind: "checkout.observed",
    source: "stripe",
    externalId: session.id as string,
    checkoutToken: null,
    name: null,
    email,
    firstName: name ? (name.trim().split(/\s+/)[0] ?? null) : null,
    // Unsplit: "first word = first name" is a guess, and only search uses the full name (docs/decisions/084).
    fullName: fullNameOf(name, null),
    // Never from client_reference_id: public input (a Payment Link URL parameter) must not claim a Shopify identity.
    shopifyCustomerId: null,
    consent: consentEvidence(session, ctx.eventCreated),
    lineItems: ctx.lineItems,
    total: money(session, ctx.fallbackCurrency),
    shopTotal: null,
    locale: locale && locale !== "auto" ? locale : null,
    discountCodes: [],
    recoveryUrl: link.url,
    recoveryUrlExpiresAt: link.expiresAt,
    abandonedAt: ctx.eventCreated,
    // The buyer started the session at `created`; a purchase after that means they bought (docs/decisions/076).
    startedAt: sessionStarted(session, ctx.eventCreated),
    checkoutMode: str(session.mode),
    updatedAt: ctx.eventCreated,
    completedAt: null,
    metadata: {
      client_reference_id: clientReferenceId,
      ...(shopifyCustomerIdFrom(clientReferenceId) ? { client_reference_shopify_customer_hint: shopifyCustomerIdFrom(clientReferenceId) } : {}),
      metadata: obj(session.metadata) ?? {},
      payment_link: paymentLinkIdOf(session),
      mode: str(session.mode),
      livemode: session.livemode === true,
      recovery_enabled: recovery?.enabled === true,
      allow_promotion_codes: link.allowPromotionCodes,
      ...(link.unavailable && !link.url ? { recovery_link_unavailable: link.unavailable } : {}),
      ...(ctx.lineItemsUnavailable ? { line_items_unavailable: ctx.lineItemsUnavailable } : {}),
      ...(ctx.lineItemsNote ? { line_items_note: ctx.lineItemsNote } : {}),
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
    // client_reference_id is a hint only (see shopifyCustomerIdFrom): never a Shopify identity.
    shopifyCustomerId: null,
    checkoutToken: null,
    recoveredFrom: recoveredFrom && recoveredFrom.startsWith("cs_") ? recoveredFrom : null,
    paymentIntentId: paymentIntentOf(session),
    amount: money(session, ctx.fallbackCurrency),
    occurredAt: ctx.eventCreated,
  };
}

/** When the buyer started the session (`created`), never after the event that reports it. */
function sessionStarted(session: Json, eventCreated: Date): Date {
  const created = unixDate(session.created);
  return created && created.getTime() < eventCreated.getTime() ? created : eventCreated;
}

/** A session's `payment_intent` id (a string, or the expanded object's id); null in subscription and setup mode. */
export function paymentIntentOf(session: Json): string | null {
  const id = str(session.payment_intent) ?? str(obj(session.payment_intent)?.id);
  return id && id.startsWith("pi_") && id.length <= 255 ? id : null;
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
