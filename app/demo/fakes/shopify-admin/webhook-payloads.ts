// REST-style webhook bodies for stored checkouts, matching what Shopify sends for
// `checkouts/create|update` and `orders/create` (API 2026-04 and later: no checkout `id`,
// join on `token` / `checkout_token`). Field list: reference/shopify.md §5 and Shopify's samples.
import { createHmac, randomUUID } from "node:crypto";
import { ADMIN_API_VERSION } from "./schema";
import { restAmount } from "./money";
import {
  checkoutTotals,
  numericId,
  type AddressRecord,
  type CustomerRecord,
  type LineItemRecord,
  type ShopInfo,
  type ShopStore,
  type StoredCheckout,
} from "./store";

/** ISO time in the shop's time zone with its offset, as REST payloads print times. */
export function restTime(iso: string | null, timeZone: string): string | null {
  if (!iso) return null;
  const date = new Date(iso);
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone,
    hourCycle: "h23",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    timeZoneName: "longOffset",
  }).formatToParts(date);
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? "";
  const offset = get("timeZoneName").replace(/^GMT/, "") || "+00:00";
  return `${get("year")}-${get("month")}-${get("day")}T${get("hour")}:${get("minute")}:${get("second")}${offset}`;
}

function restAddress(a: AddressRecord | null) {
  if (!a) return null;
  return {
    first_name: a.firstName,
    last_name: a.lastName,
    name: [a.firstName, a.lastName].filter(Boolean).join(" "),
    company: a.company,
    address1: a.address1,
    address2: a.address2,
    city: a.city,
    province: a.province,
    province_code: a.provinceCode,
    country: a.country,
    country_code: a.countryCode,
    zip: a.zip,
    phone: a.phone,
    latitude: null,
    longitude: null,
  };
}

function restCustomer(c: CustomerRecord | null, shop: ShopInfo) {
  if (!c) return null;
  return {
    id: c.id,
    email: c.email,
    created_at: restTime(c.createdAt, shop.ianaTimezone),
    updated_at: restTime(c.updatedAt, shop.ianaTimezone),
    first_name: c.firstName,
    last_name: c.lastName,
    state: "disabled",
    note: null,
    verified_email: c.email !== null,
    multipass_identifier: null,
    tax_exempt: false,
    phone: c.phone,
    currency: shop.currencyCode,
    tags: c.tags.join(", "),
    email_marketing_consent: c.email
      ? {
          state: c.marketingState.toLowerCase(),
          opt_in_level: c.marketingOptInLevel?.toLowerCase() ?? null,
          consent_updated_at: restTime(c.marketingUpdatedAt, shop.ianaTimezone),
        }
      : null,
    sms_marketing_consent: null,
    admin_graphql_api_id: `gid://shopify/Customer/${c.id}`,
  };
}

function restLineItem(li: LineItemRecord, currency: string, which: "shop" | "presentment") {
  return {
    key: String(li.id),
    id: li.id,
    title: li.title,
    presentment_title: li.title,
    variant_title: li.variantTitle ?? "",
    presentment_variant_title: li.variantTitle ?? "",
    quantity: li.quantity,
    price: restAmount(li.unitPrice[which], currency),
    line_price: restAmount(li.discountedUnitPrice[which] * li.quantity, currency),
    compare_at_price: null,
    sku: li.sku ?? "",
    vendor: li.vendor,
    variant_id: li.variantId,
    product_id: li.productId,
    grams: li.grams,
    requires_shipping: li.requiresShipping,
    taxable: li.taxable,
    gift_card: false,
    fulfillment_service: "manual",
    applied_discounts: [],
    discount_codes: [],
    properties: null,
    tax_lines: [],
    destination_location_id: null,
    origin_location_id: null,
  };
}

function resolveCheckout(store: ShopStore, checkout: StoredCheckout | number | string): StoredCheckout {
  if (typeof checkout === "object") return checkout;
  const found = store.getCheckout(numericId(checkout));
  if (!found) throw new Error(`no abandoned checkout ${checkout} in ${store.shop.domain}`);
  return found;
}

/**
 * Body of a `checkouts/create` or `checkouts/update` webhook for a stored checkout. Amounts are
 * in the presentment currency (the currency the buyer saw), as the REST Checkout resource gives
 * them; `currency` is the shop's.
 */
export function checkoutWebhookPayload(store: ShopStore, checkout: StoredCheckout | number | string) {
  const c = resolveCheckout(store, checkout);
  const shop = store.shop;
  const totals = checkoutTotals(c);
  const cur = c.presentmentCurrency;
  const tz = shop.ianaTimezone;
  return {
    token: c.token,
    cart_token: c.cartToken,
    email: c.email,
    phone: c.phone,
    gateway: null,
    buyer_accepts_marketing: c.buyerAcceptsMarketing,
    buyer_accepts_sms_marketing: c.buyerAcceptsSmsMarketing,
    sms_marketing_phone: null,
    created_at: restTime(c.createdAt, tz),
    updated_at: restTime(c.updatedAt, tz),
    completed_at: restTime(c.completedAt, tz),
    closed_at: restTime(c.closedAt, tz),
    abandoned_checkout_url: store.recoveryUrl(c),
    name: `#${c.id}`,
    landing_site: c.landingSite,
    referring_site: c.referringSite,
    source_name: c.sourceName,
    source_identifier: null,
    source_url: null,
    device_id: null,
    location_id: null,
    user_id: null,
    note: c.note,
    note_attributes: c.customAttributes.map((a) => ({ name: a.key, value: a.value })),
    customer_locale: c.customerLocale,
    taxes_included: c.taxesIncluded,
    total_weight: c.lineItems.reduce((n, li) => n + li.grams * li.quantity, 0),
    currency: c.currency,
    presentment_currency: cur,
    total_line_items_price: restAmount(totals.totalLineItemsPrice.presentment, cur),
    total_discounts: restAmount(totals.totalDiscounts.presentment, cur),
    subtotal_price: restAmount(totals.subtotalPrice.presentment, cur),
    total_tax: restAmount(totals.totalTax.presentment, cur),
    total_price: restAmount(totals.totalPrice.presentment, cur),
    total_duties: null,
    discount_codes: c.discountCodes.map((d) => ({ code: d.code, amount: restAmount(d.amount.presentment, cur), type: d.type })),
    shipping_lines: [],
    tax_lines: [],
    line_items: c.lineItems.map((li) => restLineItem(li, cur, "presentment")),
    billing_address: restAddress(c.billingAddress),
    shipping_address: restAddress(c.shippingAddress),
    customer: restCustomer(c.customer, shop),
  };
}

export interface OrderPayloadOptions {
  /** REST order id; default derived from the checkout id */
  orderId?: number;
  /** merchant-facing number, "#1001" → 1001; default 1001 */
  orderNumber?: number;
  /** default: the checkout's completedAt, or now */
  createdAt?: string;
  /** a test order (Shopify's bogus gateway / test mode); default false */
  test?: boolean;
  /** set for an order that is cancelled (the `orders/cancelled` body, or an order created already cancelled); default null */
  cancelledAt?: string | null;
  /** `customer` | `fraud` | `inventory` | `declined` | `other`; default "customer" when cancelledAt is set */
  cancelReason?: string | null;
}

function moneySet(shopMinor: number, shopCurrency: string, presentmentMinor: number, presentmentCurrency: string) {
  return {
    shop_money: { amount: restAmount(shopMinor, shopCurrency), currency_code: shopCurrency },
    presentment_money: { amount: restAmount(presentmentMinor, presentmentCurrency), currency_code: presentmentCurrency },
  };
}

/**
 * Body of an `orders/create` webhook for the order a stored checkout turned into (with `cancelledAt`, the body of
 * `orders/cancelled`: the same Order resource, cancelled). As Shopify sends it: `total_price` and the other bare amounts
 * are in the SHOP's currency (`currency`); the `*_set` fields carry both `shop_money` and `presentment_money` (what the
 * buyer saw, `presentment_currency`). Shape checked against a live shop's payload (test/fixtures/shopify/real/orders-create.json).
 */
export function orderCreatePayload(store: ShopStore, checkout: StoredCheckout | number | string, options: OrderPayloadOptions = {}) {
  const c = resolveCheckout(store, checkout);
  const shop = store.shop;
  const totals = checkoutTotals(c);
  const orderId = options.orderId ?? 6_000_000_000_000 + (c.id % 1_000_000_000);
  const orderNumber = options.orderNumber ?? 1001;
  const createdAt = options.createdAt ?? c.completedAt ?? store.nowIso();
  const tz = shop.ianaTimezone;
  const set = (p: { shop: number; presentment: number }) => moneySet(p.shop, c.currency, p.presentment, c.presentmentCurrency);
  return {
    id: orderId,
    admin_graphql_api_id: `gid://shopify/Order/${orderId}`,
    name: `#${orderNumber}`,
    order_number: orderNumber,
    number: orderNumber - 1000,
    token: createHmac("sha256", "order-token").update(String(orderId)).digest("hex").slice(0, 32),
    checkout_token: c.token,
    cart_token: c.cartToken,
    confirmed: true,
    test: options.test ?? false,
    cancelled_at: restTime(options.cancelledAt ?? null, tz),
    cancel_reason: options.cancelledAt ? (options.cancelReason === undefined ? "customer" : options.cancelReason) : null,
    email: c.email ?? "",
    contact_email: c.email,
    phone: c.phone,
    buyer_accepts_marketing: c.buyerAcceptsMarketing,
    created_at: restTime(createdAt, tz),
    processed_at: restTime(createdAt, tz),
    updated_at: restTime(options.cancelledAt ?? createdAt, tz),
    currency: c.currency,
    presentment_currency: c.presentmentCurrency,
    total_price: restAmount(totals.totalPrice.shop, c.currency),
    current_total_price: restAmount(totals.totalPrice.shop, c.currency),
    subtotal_price: restAmount(totals.subtotalPrice.shop, c.currency),
    total_tax: restAmount(totals.totalTax.shop, c.currency),
    total_discounts: restAmount(totals.totalDiscounts.shop, c.currency),
    total_line_items_price: restAmount(totals.totalLineItemsPrice.shop, c.currency),
    total_price_set: set(totals.totalPrice),
    subtotal_price_set: set(totals.subtotalPrice),
    total_tax_set: set(totals.totalTax),
    total_discounts_set: set(totals.totalDiscounts),
    taxes_included: c.taxesIncluded,
    financial_status: "paid",
    fulfillment_status: null,
    discount_codes: c.discountCodes.map((d) => ({ code: d.code, amount: restAmount(d.amount.shop, c.currency), type: d.type })),
    landing_site: c.landingSite,
    referring_site: c.referringSite,
    source_name: c.sourceName,
    customer_locale: c.customerLocale,
    note: c.note || null,
    note_attributes: c.customAttributes.map((a) => ({ name: a.key, value: a.value })),
    tags: "",
    line_items: c.lineItems.map((li) => restLineItem(li, c.currency, "shop")),
    billing_address: restAddress(c.billingAddress),
    shipping_address: restAddress(c.shippingAddress),
    customer: restCustomer(c.customer, shop),
  };
}

export interface WebhookHeaderOptions {
  topic: string;
  shop: string;
  /** the exact body bytes that will be sent */
  body: string;
  /** the app's client secret */
  secret: string;
  apiVersion?: string;
  webhookId?: string;
  eventId?: string;
  triggeredAt?: string;
}

/** Headers Shopify sends with a webhook, HMAC included. */
export function webhookHeaders(o: WebhookHeaderOptions): Record<string, string> {
  return {
    "Content-Type": "application/json",
    "X-Shopify-Topic": o.topic,
    "X-Shopify-Shop-Domain": o.shop,
    "X-Shopify-API-Version": o.apiVersion ?? ADMIN_API_VERSION,
    "X-Shopify-Webhook-Id": o.webhookId ?? randomUUID(),
    "X-Shopify-Event-Id": o.eventId ?? randomUUID(),
    "X-Shopify-Triggered-At": o.triggeredAt ?? new Date().toISOString(),
    "X-Shopify-Hmac-Sha256": createHmac("sha256", o.secret).update(o.body, "utf8").digest("base64"),
  };
}

export interface ConsentUpdatePayloadOptions {
  /** default: the stored customer's marketingState */
  state?: CustomerRecord["marketingState"];
  /** default: the stored customer's marketingUpdatedAt (ISO); null sends `consent_updated_at: null` */
  consentUpdatedAt?: string | null;
}

/**
 * Body of a `customers_email_marketing_consent/update` webhook for a stored customer, in Shopify's shape:
 * `{customer_id, email_address, email_marketing_consent: {state, opt_in_level, consent_updated_at}}` with lowercase
 * enum values and the time in the shop's time zone. `customer_id` is a JSON number (send ids past 2^53 as raw text).
 */
export function customerConsentUpdatePayload(store: ShopStore, customer: CustomerRecord | number | string, options: ConsentUpdatePayloadOptions = {}) {
  const c = typeof customer === "object" ? customer : store.getCustomer(customer);
  if (!c) throw new Error(`no customer ${String(customer)} in ${store.shop.domain}`);
  const state = options.state ?? c.marketingState;
  const at = options.consentUpdatedAt !== undefined ? options.consentUpdatedAt : c.marketingUpdatedAt;
  return {
    customer_id: c.id,
    email_address: c.email,
    email_marketing_consent: {
      state: state.toLowerCase(),
      opt_in_level: c.marketingOptInLevel ? c.marketingOptInLevel.toLowerCase() : null,
      consent_updated_at: restTime(at, store.shop.ianaTimezone),
    },
  };
}
