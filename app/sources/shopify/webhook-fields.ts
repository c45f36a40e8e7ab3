/**
 * What Reclaim keeps of a Shopify webhook body: only the fields its mappers read (webhook-mapping.ts,
 * consent-webhook.ts). Shopify sends whole resources — addresses, phone numbers, browser IPs, tax lines — and the
 * Partner Dashboard's protected-data review asks apps to keep no more than they use. Two layers:
 * - `include_fields` in shopify.app.toml asks Shopify to send only these top-level fields (Shopify filters top-level
 *   fields only; test/unit/webhook-fields.test.ts checks the TOML lists exactly the keys below);
 * - `minimiseWebhookBody` projects nested objects too, before the delivery is stored, so a subscription made without
 *   include_fields (an older deployment, a manual one) stores no more either.
 * A test maps every real captured payload and thousands of fuzzed ones with and without minimising: same result.
 */
import { isLosslessNumber, parse as parseLossless, stringify as stringifyLossless } from "lossless-json";

/** `true`: keep the value whole; an object: keep those keys of an object; `[shape]`: each element of an array. */
type Shape = true | { readonly [key: string]: Shape } | readonly [Shape];

const CHECKOUT: Shape = {
  id: true,
  token: true,
  cart_token: true,
  name: true,
  email: true,
  created_at: true,
  updated_at: true,
  completed_at: true,
  currency: true,
  presentment_currency: true,
  buyer_accepts_marketing: true,
  customer_locale: true,
  total_price: true,
  abandoned_checkout_url: true,
  discount_codes: [{ code: true }],
  line_items: [{ title: true, presentment_title: true, variant_title: true, quantity: true, price: true, line_price: true }],
  customer: { id: true, admin_graphql_api_id: true, email: true, first_name: true, last_name: true },
  // Only for the buyer's name when the checkout has no customer (the last name is kept for search: docs/decisions/084).
  billing_address: { first_name: true, last_name: true },
  shipping_address: { first_name: true, last_name: true },
};

const MONEY = { amount: true, currency_code: true } as const;
const ORDER: Shape = {
  id: true,
  admin_graphql_api_id: true,
  email: true,
  contact_email: true,
  checkout_token: true,
  cart_token: true,
  created_at: true,
  processed_at: true,
  cancelled_at: true,
  cancel_reason: true,
  test: true,
  currency: true,
  presentment_currency: true,
  total_price: true,
  total_price_set: { shop_money: MONEY, presentment_money: MONEY },
  customer: { id: true, admin_graphql_api_id: true, email: true },
};

const CONSENT: Shape = {
  customer_id: true,
  email_address: true,
  email_marketing_consent: { state: true, opt_in_level: true, consent_updated_at: true },
};

/** Per topic, what is kept. Topics not listed (compliance requests, app/*) are small and stored whole. */
export const WEBHOOK_FIELDS: Readonly<Record<string, Shape>> = {
  "checkouts/create": CHECKOUT,
  "checkouts/update": CHECKOUT,
  "orders/create": ORDER,
  "orders/cancelled": ORDER,
  "customers_email_marketing_consent/update": CONSENT,
};

/** The top-level fields to ask Shopify for (`include_fields` in shopify.app.toml), or null when the topic is kept whole. */
export function includeFieldsFor(topic: string): string[] | null {
  const shape = WEBHOOK_FIELDS[topic];
  return shape && shape !== true && !Array.isArray(shape) ? Object.keys(shape) : null;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !isLosslessNumber(value);
}

/**
 * Keeps what `shape` names. A value of another type than the shape expects (a string where an object was expected) is
 * kept as it is: the mapper decides what it means, exactly as it would have on the whole body.
 */
function project(value: unknown, shape: Shape): unknown {
  if (shape === true) return value;
  if (Array.isArray(shape)) return Array.isArray(value) ? value.map((item) => project(item, shape[0])) : value;
  if (!isPlainObject(value)) return value;
  const kept: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(shape as Record<string, Shape>)) {
    if (Object.prototype.hasOwnProperty.call(value, key)) kept[key] = project(value[key], inner);
  }
  return kept;
}

/**
 * The body to store for a verified delivery: the fields of WEBHOOK_FIELDS, numbers exactly as sent (ids past 2^53
 * stay exact). Bodies of other topics, and bodies that are not JSON objects, are returned unchanged.
 */
export function minimiseWebhookBody(topic: string, raw: string): string {
  const shape = WEBHOOK_FIELDS[topic];
  if (!shape) return raw;
  let parsed: unknown;
  try {
    parsed = parseLossless(raw);
  } catch {
    // lossless-json refuses some valid JSON (duplicate keys): read it as the mapper will, last key wins.
    try {
      parsed = JSON.parse(raw);
    } catch {
      return raw;
    }
  }
  if (!isPlainObject(parsed)) return raw;
  return stringifyLossless(project(parsed, shape)) ?? raw;
}
