import type { CheckoutObserved, ConsentEvidence, LineItem, Money, PurchaseObserved } from "../../recovery/model";
import { fullNameOf } from "../../recovery/full-name";
import { toMinorUnits } from "../../recovery/money";
import { MAX_STORED_MINOR, storableDate } from "../../recovery/storable";

/**
 * Pure mappers from Shopify's REST-shaped webhook payloads to SourceEvents.
 * Since API 2026-04 checkout payloads carry no `id` and orders no `checkout_id`: checkouts are joined by `token`
 * (orders by `checkout_token`). See docs/decisions/005-joining-shopify-checkouts.md.
 */

type Json = Record<string, any>;

const str = (v: unknown): string | null => (typeof v === "string" && v.length > 0 ? v : null);
const date = (v: unknown): Date | null => {
  if (typeof v !== "string") return null;
  return storableDate(new Date(v));
};

/** The customer's gid: `admin_graphql_api_id` as sent (exact), else built from `id` (a number past 2^53 is rounded). */
function customerGid(customer: Json | null | undefined): string | null {
  if (!customer || typeof customer !== "object") return null;
  const gid = str(customer.admin_graphql_api_id);
  if (gid?.startsWith("gid://shopify/Customer/")) return gid;
  return customer.id != null ? `gid://shopify/Customer/${String(customer.id)}` : null;
}

export class PayloadError extends Error {
  name = "PayloadError";
}

/** A decimal amount ("19.90") in minor units; anything else, or an amount too large to store, is an unreadable payload. */
function minor(value: unknown, currency: string, field: string, max = MAX_STORED_MINOR): number {
  let amount: number;
  try {
    amount = toMinorUnits(typeof value === "string" || typeof value === "number" ? String(value) : "", currency);
  } catch {
    throw new PayloadError(`${field} is not a decimal amount`);
  }
  if (Math.abs(amount) > max) throw new PayloadError(`${field} is too large`);
  return amount;
}

function lineItems(items: unknown, currency: string): LineItem[] {
  if (!Array.isArray(items)) return [];
  return items.slice(0, 250).map((item: Json) => {
    const quantity = Number.isSafeInteger(item?.quantity) && item.quantity > 0 ? item.quantity : 1;
    // Line items are stored as JSON (no 32-bit column), but their arithmetic must stay exact.
    const unit = minor(item?.price ?? "0", currency, "line item price", Number.MAX_SAFE_INTEGER);
    const total = item?.line_price != null ? minor(item.line_price, currency, "line item line_price", Number.MAX_SAFE_INTEGER) : unit * quantity;
    if (!Number.isSafeInteger(total)) throw new PayloadError("line item total is too large");
    return {
      title: String(item?.title ?? item?.presentment_title ?? "Item").slice(0, 500),
      variantTitle: str(item?.variant_title),
      quantity,
      imageUrl: null,
      unitPriceMinor: unit,
      totalPriceMinor: total,
    };
  });
}

/** `checkouts/create`, `checkouts/update`. */
export function checkoutWebhookToEvent(p: Json): CheckoutObserved {
  const token = str(p?.token);
  if (!token) throw new PayloadError("checkout payload has no token");
  const createdAt = date(p.created_at);
  const updatedAt = date(p.updated_at) ?? createdAt;
  if (!createdAt || !updatedAt) throw new PayloadError("checkout payload has no valid created_at/updated_at");
  const currency = str(p.presentment_currency) ?? str(p.currency) ?? "USD";
  const customer: Json | null = p.customer && typeof p.customer === "object" ? p.customer : null;
  const accepts = typeof p.buyer_accepts_marketing === "boolean" ? p.buyer_accepts_marketing : null;
  const consent: ConsentEvidence = {
    // An unticked box at checkout is not an opt-out of earlier consent, only the absence of new consent.
    state: accepts === true ? "opt_in" : "unknown",
    source: "shopify.checkout.buyer_accepts_marketing",
    detail: { buyer_accepts_marketing: accepts },
    at: updatedAt.toISOString(),
  };
  return {
    kind: "checkout.observed",
    source: "shopify",
    // Payloads from 2026-04 on have no id; older ones do. See tokenPlaceholderId.
    externalId: p.id != null ? `gid://shopify/AbandonedCheckout/${String(p.id)}` : `token:${token}`,
    checkoutToken: token,
    cartToken: str(p.cart_token),
    name: str(p.name),
    email: str(p.email) ?? str(customer?.email),
    firstName: str(customer?.first_name) ?? str(p.billing_address?.first_name) ?? str(p.shipping_address?.first_name),
    lastName: str(customer?.last_name) ?? str(p.billing_address?.last_name) ?? str(p.shipping_address?.last_name),
    // Both parts from the same object: the first of customer, billing and shipping address that has a last name.
    fullName: ((named) => (named ? fullNameOf(named.first_name, named.last_name) : null))(
      [customer, p.billing_address, p.shipping_address].find((o) => o && typeof o === "object" && str(o.last_name)),
    ),
    shopifyCustomerId: customerGid(customer),
    consent,
    lineItems: lineItems(p.line_items, currency),
    total: { amountMinor: minor(p.total_price ?? "0", currency, "total_price"), currency },
    // The webhook gives shop-currency totals only as total_price_set; not needed downstream yet.
    shopTotal: null,
    locale: str(p.customer_locale),
    discountCodes: Array.isArray(p.discount_codes) ? p.discount_codes.map((d: Json) => String(d?.code ?? "")).filter(Boolean) : [],
    recoveryUrl: str(p.abandoned_checkout_url),
    recoveryUrlExpiresAt: null,
    abandonedAt: createdAt,
    updatedAt,
    completedAt: date(p.completed_at),
  };
}

/**
 * An order's total as Shopify sends it: `total_price` is in the SHOP's currency (`currency`); what the buyer paid, in
 * the currency they saw, is `total_price_set.presentment_money`. The purchase is the buyer's amount (the same currency
 * the checkout's recovery is kept in, so a conversion sums with the right figures); the shop's is kept apart. Only a
 * payload with no `total_price_set` at all (older or trimmed ones) falls back to `total_price` in `currency`, which is
 * then both. A set that is there but unreadable is an unreadable payload, not a reason to guess.
 */
function orderTotals(p: Json): { amount: Money; shopAmount: Money | null } {
  const set: unknown = p.total_price_set;
  if (set == null) {
    const currency = str(p.currency) ?? str(p.presentment_currency) ?? "USD";
    const amount = { amountMinor: minor(p.total_price ?? "0", currency, "total_price"), currency };
    return { amount, shopAmount: str(p.currency) ? amount : null };
  }
  if (typeof set !== "object" || Array.isArray(set)) throw new PayloadError("total_price_set is not an object");
  const money = (value: unknown, field: string): Money | null => {
    if (value == null) return null;
    if (typeof value !== "object" || Array.isArray(value)) throw new PayloadError(`${field} is not an object`);
    const currency = str((value as Json).currency_code);
    if (!currency) throw new PayloadError(`${field} has no currency_code`);
    return { amountMinor: minor((value as Json).amount, currency, `${field}.amount`), currency };
  };
  const amount = money((set as Json).presentment_money, "total_price_set.presentment_money");
  if (!amount) throw new PayloadError("total_price_set has no presentment_money");
  return { amount, shopAmount: money((set as Json).shop_money, "total_price_set.shop_money") };
}

/** `orders/create` (and the order body of `orders/cancelled`). */
export function orderWebhookToEvent(p: Json): PurchaseObserved {
  // The gid as sent, else built from a numeric or string id; anything else (an array, an object) is no id at all.
  const rawId: unknown = p?.id;
  const id = str(p?.admin_graphql_api_id) ?? (typeof rawId === "number" || str(rawId) ? `gid://shopify/Order/${String(rawId)}` : null);
  if (!id) throw new PayloadError("order payload has no id");
  const occurredAt = date(p.processed_at) ?? date(p.created_at);
  if (!occurredAt) throw new PayloadError("order payload has no valid created_at");
  const { amount, shopAmount } = orderTotals(p);
  return {
    kind: "purchase.observed",
    source: "shopify",
    externalId: String(id),
    email: str(p.email) ?? str(p.contact_email) ?? str(p.customer?.email),
    shopifyCustomerId: customerGid(p.customer),
    checkoutToken: str(p.checkout_token),
    cartToken: str(p.cart_token),
    amount,
    shopAmount,
    // Only a literal `true` is a test order (Shopify's bogus gateway, test mode); absent means a real one.
    test: p.test === true,
    cancelledAt: date(p.cancelled_at),
    occurredAt,
  };
}

/**
 * `orders/cancelled`: the whole order again, with `cancelled_at` set. A body without a readable `cancelled_at` is not a
 * cancellation we can act on.
 */
export function orderCancelledWebhookToEvent(p: Json): PurchaseObserved & { cancelledAt: Date } {
  const event = orderWebhookToEvent(p);
  if (!event.cancelledAt) throw new PayloadError("orders/cancelled payload has no valid cancelled_at");
  return { ...event, cancelledAt: event.cancelledAt };
}
