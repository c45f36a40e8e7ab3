import type { CheckoutObserved, ConsentEvidence, LineItem, PurchaseObserved } from "../../recovery/model";
import { toMinorUnits } from "../../recovery/money";

/**
 * Pure mappers from Shopify's REST-shaped webhook payloads to SourceEvents.
 * Since API 2026-04 checkout payloads carry no `id` and orders no `checkout_id`: checkouts are joined by `token`
 * (orders by `checkout_token`). See docs/decisions/005-joining-shopify-checkouts.md.
 */

type Json = Record<string, any>;

const str = (v: unknown): string | null => (typeof v === "string" && v.length > 0 ? v : null);
const date = (v: unknown): Date | null => {
  if (typeof v !== "string") return null;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? null : d;
};

export class PayloadError extends Error {
  name = "PayloadError";
}

function lineItems(items: unknown, currency: string): LineItem[] {
  if (!Array.isArray(items)) return [];
  return items.slice(0, 250).map((item: Json) => {
    const quantity = Number.isInteger(item?.quantity) && item.quantity > 0 ? item.quantity : 1;
    const unit = toMinorUnits(String(item?.price ?? "0"), currency);
    return {
      title: String(item?.title ?? item?.presentment_title ?? "Item").slice(0, 500),
      variantTitle: str(item?.variant_title),
      quantity,
      imageUrl: null,
      unitPriceMinor: unit,
      totalPriceMinor: item?.line_price != null ? toMinorUnits(String(item.line_price), currency) : unit * quantity,
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
    shopifyCustomerId: customer?.id != null ? `gid://shopify/Customer/${String(customer.id)}` : null,
    consent,
    lineItems: lineItems(p.line_items, currency),
    total: { amountMinor: toMinorUnits(String(p.total_price ?? "0"), currency), currency },
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

/** `orders/create`. */
export function orderWebhookToEvent(p: Json): PurchaseObserved {
  const id = p?.admin_graphql_api_id ?? (p?.id != null ? `gid://shopify/Order/${String(p.id)}` : null);
  if (!id) throw new PayloadError("order payload has no id");
  const currency = str(p.presentment_currency) ?? str(p.currency) ?? "USD";
  const occurredAt = date(p.processed_at) ?? date(p.created_at);
  if (!occurredAt) throw new PayloadError("order payload has no valid created_at");
  return {
    kind: "purchase.observed",
    source: "shopify",
    externalId: String(id),
    email: str(p.email) ?? str(p.contact_email) ?? str(p.customer?.email),
    shopifyCustomerId: p.customer?.id != null ? `gid://shopify/Customer/${String(p.customer.id)}` : null,
    checkoutToken: str(p.checkout_token),
    cartToken: str(p.cart_token),
    amount: { amountMinor: toMinorUnits(String(p.total_price ?? "0"), currency), currency },
    occurredAt,
  };
}
