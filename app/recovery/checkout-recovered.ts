/**
 * The Shopify Flow trigger "Checkout recovered" (extensions/reclaim-checkout-recovered, docs/decisions/052-flow-trigger.md):
 * its handle, the fields it declares, and the payload Reclaim sends with `flowTriggerReceive`. Pure: no Prisma, Remix or
 * Shopify imports, so the settings page can show the fields and tests can compare them with the extension's TOML.
 *
 * Flow's rules (https://shopify.dev/docs/apps/build/flow/triggers/reference, Shopify CLI's flow_trigger specification):
 * - a reference field (`customer_reference`) is sent under its fixed payload key `customer_id`, with the customer's
 *   numeric id (the legacy resource id, not the gid); it needs read_customers, which Reclaim already has;
 * - a custom field is sent under its `key`, which may contain only letters and spaces;
 * - trigger custom fields may be boolean, email, single_line_text_field, url or number_decimal;
 * - the payload must stay under 50 KB.
 */
import { currencyExponent } from "./money";

/** The extension's handle: immutable once deployed, at most 30 characters. */
export const CHECKOUT_RECOVERED_HANDLE = "checkout-recovered";
export const FIRE_FLOW_TRIGGER_JOB = "fire-flow-trigger";
export const FLOW_PAYLOAD_MAX_BYTES = 50_000;

export const FLOW_TRIGGER_RECEIVE = `#graphql
mutation ReclaimFlowTriggerReceive($handle: String!, $payload: JSON!) {
  flowTriggerReceive(handle: $handle, payload: $payload) {
    userErrors { field message }
  }
}`;

export type FlowFieldType = "customer_reference" | "number_decimal" | "single_line_text_field" | "url";

export interface FlowTriggerField {
  type: FlowFieldType;
  /** The key in the payload: `customer_id` for the customer reference, the TOML `key` for custom fields. */
  payloadKey: string;
  /** The TOML `key` (custom fields only). */
  key?: string;
  description: string;
}

/** Payload keys, named once: the TOML test checks the extension declares exactly these. */
export const FIELD = {
  customer: "customer_id",
  amount: "Recovered amount",
  currency: "Currency",
  source: "Source",
  purchaseSource: "Purchase source",
  method: "Attribution method",
  recoveryId: "Recovery ID",
  recoveryPage: "Reclaim recovery page",
} as const;

const custom = (type: FlowFieldType, key: string, description: string): FlowTriggerField => ({ type, key, payloadKey: key, description });

/** What the trigger carries, in the order of the extension's TOML (Flow shows them in that order). */
export const CHECKOUT_RECOVERED_FIELDS: readonly FlowTriggerField[] = [
  {
    type: "customer_reference",
    payloadKey: FIELD.customer,
    description: "The Shopify customer who bought. Absent when the buyer is not a Shopify customer Reclaim knows (a Stripe-only buyer).",
  },
  custom("number_decimal", FIELD.amount, "What the customer paid, in the currency below (for example 100.5)."),
  custom("single_line_text_field", FIELD.currency, "ISO 4217 code of the recovered amount, for example USD."),
  custom("single_line_text_field", FIELD.source, "Where the abandoned checkout came from: Shopify or Stripe."),
  custom("single_line_text_field", FIELD.purchaseSource, "Where the purchase was made: Shopify or Stripe (differs from Source only for window attribution)."),
  custom(
    "single_line_text_field",
    FIELD.method,
    "link: the same checkout or session was completed through the recovery link. window: the customer bought within the attribution window after clicking a Reclaim email.",
  ),
  custom("single_line_text_field", FIELD.recoveryId, "Reclaim's id for the recovered checkout; the same for every trigger about that checkout."),
  custom("url", FIELD.recoveryPage, "The recovered checkout's page in Reclaim, inside the Shopify admin."),
];

export type SourceName = "shopify" | "stripe";
export type AttributionMethod = "link" | "window";

export interface CheckoutRecoveredFacts {
  /** The buyer's Shopify customer gid, when Reclaim knows one. */
  shopifyCustomerId: string | null;
  amountMinor: number;
  currency: string;
  recoverySource: SourceName;
  purchaseSource: SourceName;
  method: AttributionMethod;
  recoveryId: string;
  recoveryPageUrl: string;
}

export type CheckoutRecoveredPayload = Record<string, string | number>;

const SOURCE_LABEL: Record<SourceName, string> = { shopify: "Shopify", stripe: "Stripe" };

/** `gid://shopify/Customer/123` → 123 (Flow wants the numeric id); null for anything else. */
export function customerLegacyId(gid: string | null): number | null {
  const match = gid ? /^gid:\/\/shopify\/Customer\/(\d+)$/.exec(gid) : null;
  const id = match ? Number(match[1]) : NaN;
  return Number.isSafeInteger(id) && id > 0 ? id : null;
}

/** Integer minor units → the decimal amount Flow's number_decimal field holds (10050 USD → 100.5, 4500 JPY → 4500). */
export function decimalAmount(amountMinor: number, currency: string): number {
  const exp = currencyExponent(currency);
  return Number((amountMinor / 10 ** exp).toFixed(exp));
}

/** The flowTriggerReceive payload for one credited conversion. */
export function checkoutRecoveredPayload(f: CheckoutRecoveredFacts): CheckoutRecoveredPayload {
  const customerId = customerLegacyId(f.shopifyCustomerId);
  const payload: CheckoutRecoveredPayload = {
    ...(customerId !== null ? { [FIELD.customer]: customerId } : {}),
    [FIELD.amount]: decimalAmount(f.amountMinor, f.currency),
    [FIELD.currency]: f.currency.toUpperCase(),
    [FIELD.source]: SOURCE_LABEL[f.recoverySource],
    [FIELD.purchaseSource]: SOURCE_LABEL[f.purchaseSource],
    [FIELD.method]: f.method,
    [FIELD.recoveryId]: f.recoveryId,
    [FIELD.recoveryPage]: f.recoveryPageUrl,
  };
  const bytes = new TextEncoder().encode(JSON.stringify(payload)).length;
  if (bytes >= FLOW_PAYLOAD_MAX_BYTES) throw new RangeError(`Flow payload is ${bytes} bytes; Flow accepts less than ${FLOW_PAYLOAD_MAX_BYTES}`);
  return payload;
}

/**
 * The recovery's page inside the Shopify admin: `https://<shop>/admin/apps/<client id>/<app path>`, the embedded-app
 * address @shopify/shopify-api builds too (buildEmbeddedAppUrl); the admin opens the app at that path.
 */
export function recoveryPageUrl(shopDomain: string, apiKey: string, recoveryId: string): string {
  return `https://${shopDomain}/admin/apps/${encodeURIComponent(apiKey)}/app/recoveries/${encodeURIComponent(recoveryId)}`;
}
