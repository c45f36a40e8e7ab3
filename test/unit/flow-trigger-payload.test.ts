// The "Checkout recovered" Flow trigger: the payload Reclaim sends, and the extension TOML Shopify deploys. Flow
// matches payload keys to the TOML's fields by name, so the two are compared here and cannot drift apart.
// Rules from https://shopify.dev/docs/apps/build/flow/triggers/reference and Shopify CLI's flow_trigger specification
// (packages/app/src/cli/models/extensions/specifications/flow_trigger.ts, services/flow/constants.ts).
import { readFileSync } from "node:fs";
import { parse as parseGraphql, validate } from "graphql";
import { parse as parseToml } from "smol-toml";
import { describe, expect, it } from "vitest";
import {
  CHECKOUT_RECOVERED_FIELDS,
  CHECKOUT_RECOVERED_HANDLE,
  checkoutRecoveredPayload,
  customerLegacyId,
  decimalAmount,
  FLOW_TRIGGER_RECEIVE,
  recoveryPageUrl,
  type CheckoutRecoveredFacts,
} from "~/recovery/checkout-recovered";
import { loadAdminSchema } from "../../app/demo/fakes/shopify-admin";

const TOML_PATH = "extensions/reclaim-checkout-recovered/shopify.extension.toml";
/** Field types Flow accepts on a trigger (CLI: supportedTriggerTypes, TRIGGER_SUPPORTED_COMMERCE_OBJECTS). */
const TRIGGER_CUSTOM_TYPES = ["boolean", "email", "single_line_text_field", "url", "number_decimal"];
const TRIGGER_REFERENCE_TYPES = ["customer_reference", "order_reference", "product_reference", "company_reference", "company_contact_reference"];

const facts = (o: Partial<CheckoutRecoveredFacts> = {}): CheckoutRecoveredFacts => ({
  shopifyCustomerId: "gid://shopify/Customer/7012",
  amountMinor: 10050,
  currency: "USD",
  recoverySource: "shopify",
  purchaseSource: "shopify",
  method: "link",
  recoveryId: "rec_123",
  recoveryPageUrl: recoveryPageUrl("acme.myshopify.com", "client-id", "rec_123"),
  ...o,
});

interface TomlField {
  type: string;
  key?: string;
  description?: string;
  [other: string]: unknown;
}
const toml = parseToml(readFileSync(TOML_PATH, "utf8")) as {
  extensions: { name: string; type: string; handle: string; description?: string; [other: string]: unknown }[];
  settings: { fields: TomlField[] };
};
/** A TOML field's key in the payload: reference fields go under `<object>_id` (CLI serializeCommerceObjectField). */
const payloadKeyOf = (f: TomlField) => (f.type.endsWith("_reference") ? `${f.type.replace(/_reference$/, "")}_id` : f.key!);

describe("checkoutRecoveredPayload", () => {
  it("carries the customer's numeric id, the amount as a decimal, and readable source and method", () => {
    expect(checkoutRecoveredPayload(facts())).toEqual({
      customer_id: 7012,
      "Recovered amount": 100.5,
      Currency: "USD",
      Source: "Shopify",
      "Purchase source": "Shopify",
      "Attribution method": "link",
      "Recovery ID": "rec_123",
      "Reclaim recovery page": "https://acme.myshopify.com/admin/apps/client-id/app/recoveries/rec_123",
    });
  });

  it("leaves the customer reference out when the buyer is not a Shopify customer (Stripe-only), and keeps the rest", () => {
    const payload = checkoutRecoveredPayload(
      facts({ shopifyCustomerId: null, recoverySource: "stripe", purchaseSource: "stripe", amountMinor: 123450, currency: "eur" }),
    );
    expect(payload).not.toHaveProperty("customer_id");
    expect(payload).toMatchObject({ "Recovered amount": 1234.5, Currency: "EUR", Source: "Stripe", "Purchase source": "Stripe" });
  });

  it("tells window attribution apart, with the purchase source when it differs from the checkout's", () => {
    expect(checkoutRecoveredPayload(facts({ method: "window", purchaseSource: "stripe" }))).toMatchObject({
      "Attribution method": "window",
      Source: "Shopify",
      "Purchase source": "Stripe",
    });
  });

  it("converts minor units with each currency's exponent", () => {
    expect(decimalAmount(4500, "JPY")).toBe(4500);
    expect(decimalAmount(12345, "KWD")).toBe(12.345);
    expect(decimalAmount(1999, "USD")).toBe(19.99);
    expect(decimalAmount(5, "EUR")).toBe(0.05);
  });

  it("accepts only Shopify customer gids as the customer reference", () => {
    expect(customerLegacyId("gid://shopify/Customer/123")).toBe(123);
    for (const bad of [null, "", "123", "gid://shopify/Order/123", "gid://shopify/Customer/", "gid://shopify/Customer/12a", "gid://shopify/Customer/0"]) {
      expect(customerLegacyId(bad)).toBeNull();
    }
  });

  it("refuses to build a payload Flow would reject for its size (50 KB)", () => {
    expect(() => checkoutRecoveredPayload(facts({ recoveryId: "x".repeat(60_000) }))).toThrow(/Flow accepts less than 50000/);
  });

  it("links to the recovery inside the Shopify admin, escaping the parts", () => {
    expect(recoveryPageUrl("a.myshopify.com", "key/1", "r 1")).toBe("https://a.myshopify.com/admin/apps/key%2F1/app/recoveries/r%201");
  });
});

describe("the flowTriggerReceive document", () => {
  it("is valid against the Admin 2026-10 schema and passes the handle and payload as variables", () => {
    const document = parseGraphql(FLOW_TRIGGER_RECEIVE);
    expect(validate(loadAdminSchema(), document).map((e) => e.message)).toEqual([]);
    expect(FLOW_TRIGGER_RECEIVE).toMatch(/flowTriggerReceive\(handle: \$handle, payload: \$payload\)/);
    expect(FLOW_TRIGGER_RECEIVE).toMatch(/userErrors \{ field message \}/);
  });
});

describe(`${TOML_PATH}`, () => {
  const [extension] = toml.extensions;
  const fields = toml.settings.fields;

  it("declares one flow_trigger with the handle the app fires", () => {
    expect(toml.extensions).toHaveLength(1);
    expect(extension).toMatchObject({ type: "flow_trigger", name: "Checkout recovered", handle: CHECKOUT_RECOVERED_HANDLE });
    expect(extension!.handle.length).toBeLessThanOrEqual(30);
    expect(extension!.handle).toMatch(/^[a-zA-Z0-9-]+$/);
    expect(extension!.description).toBeTruthy();
  });

  it("uses only field types Flow accepts on triggers, keys of letters and spaces, and no key twice", () => {
    for (const field of fields) {
      if (field.type.endsWith("_reference")) {
        expect(TRIGGER_REFERENCE_TYPES).toContain(field.type);
        expect(field).not.toHaveProperty("key");
      } else {
        expect(TRIGGER_CUSTOM_TYPES).toContain(field.type);
        expect(field.key).toMatch(/^[a-zA-Z\s]+$/);
      }
      expect(Object.keys(field).every((k) => ["type", "key", "description"].includes(k))).toBe(true);
    }
    const keys = fields.map(payloadKeyOf);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it("declares exactly the keys the payload builder produces, in the same order", () => {
    expect(fields.map(payloadKeyOf)).toEqual(Object.keys(checkoutRecoveredPayload(facts())));
  });

  it("matches the field list the settings page shows (type, key, description)", () => {
    expect(fields.map((f) => ({ type: f.type, key: f.key, description: f.description }))).toEqual(
      CHECKOUT_RECOVERED_FIELDS.map((f) => ({ type: f.type, key: f.key, description: f.description })),
    );
    expect(CHECKOUT_RECOVERED_FIELDS.map((f) => f.payloadKey)).toEqual(fields.map(payloadKeyOf));
  });

  it("sends values of the declared types: a number for number_decimal, an http(s) URL for url, text otherwise", () => {
    const payload = checkoutRecoveredPayload(facts());
    for (const field of fields) {
      const value = payload[payloadKeyOf(field)];
      if (field.type === "customer_reference" || field.type === "number_decimal") expect(typeof value).toBe("number");
      else if (field.type === "url") expect(String(value)).toMatch(/^https:\/\/\S+$/);
      else expect(typeof value).toBe("string");
    }
  });
});
