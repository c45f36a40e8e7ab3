/**
 * Minimised webhook bodies (app/sources/shopify/webhook-fields.ts): what Reclaim stores of a delivery is only what its
 * mappers read, and nothing a mapper reads is lost — for real captured payloads and for any fuzzed one, mapping the
 * minimised body gives exactly what mapping the whole body gives. And shopify.app.toml asks Shopify for the same fields.
 */
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { parse } from "smol-toml";
import { describe, expect, it } from "vitest";
import { consentUpdateFromRaw } from "~/sources/shopify/consent-webhook";
import { includeFieldsFor, minimiseWebhookBody, WEBHOOK_FIELDS } from "~/sources/shopify/webhook-fields";
import { checkoutWebhookToEvent, orderCancelledWebhookToEvent, orderWebhookToEvent } from "~/sources/shopify/webhook-mapping";
import { anyJsonValue, fuzzedObject, moneyString, RUNS, timeString } from "./arbitraries";

const realCheckout = readFileSync("test/fixtures/shopify/real/checkouts-create.json", "utf8");
const realOrder = readFileSync("test/fixtures/shopify/real/orders-create.json", "utf8");

/** The mapper's result, or the error it threw (by class and message): what the processing job would record. */
function outcome(map: (raw: string) => unknown, raw: string): unknown {
  try {
    return { ok: map(raw) };
  } catch (error) {
    return { error: `${(error as Error).name}: ${(error as Error).message}` };
  }
}
const MAPPERS: Record<string, (raw: string) => unknown> = {
  "checkouts/create": (raw) => checkoutWebhookToEvent(JSON.parse(raw)),
  "checkouts/update": (raw) => checkoutWebhookToEvent(JSON.parse(raw)),
  "orders/create": (raw) => orderWebhookToEvent(JSON.parse(raw)),
  "orders/cancelled": (raw) => orderCancelledWebhookToEvent(JSON.parse(raw)),
  "customers_email_marketing_consent/update": (raw) => consentUpdateFromRaw(raw),
};

describe("shopify.app.toml asks Shopify only for what Reclaim reads", () => {
  const toml = parse(readFileSync("shopify.app.toml", "utf8")) as unknown as {
    webhooks: { subscriptions: { topics?: string[]; include_fields?: string[] }[] };
  };
  it.each(Object.keys(WEBHOOK_FIELDS))("%s: include_fields lists exactly the kept top-level fields", (topic) => {
    const subscription = toml.webhooks.subscriptions.find((s) => s.topics?.includes(topic));
    expect(subscription, `${topic} is subscribed`).toBeDefined();
    expect([...(subscription!.include_fields ?? [])].sort()).toEqual([...includeFieldsFor(topic)!].sort());
  });
});

describe("real captured payloads", () => {
  it("an order keeps its ids, tokens, money and buyer email, and loses addresses, browser IP, line items and names", () => {
    const kept = JSON.parse(minimiseWebhookBody("orders/create", realOrder));
    const whole = JSON.parse(realOrder);
    expect(kept).toMatchObject({
      id: whole.id,
      checkout_token: whole.checkout_token,
      cart_token: whole.cart_token,
      email: whole.email,
      total_price_set: whole.total_price_set,
    });
    for (const gone of ["billing_address", "shipping_address", "browser_ip", "line_items", "phone", "note_attributes", "order_status_url"])
      expect(kept).not.toHaveProperty(gone);
    expect(Object.keys(kept.customer ?? {}).sort()).toEqual(["admin_graphql_api_id", "email", "id"].filter((k) => k in (whole.customer ?? {})).sort());
    expect(minimiseWebhookBody("orders/create", realOrder).length).toBeLessThan(realOrder.length / 3);
  });

  it.each([
    ["checkouts/create", realCheckout],
    ["orders/create", realOrder],
    ["orders/cancelled", realOrder],
  ])("%s maps the same minimised or whole", (topic, raw) => {
    expect(outcome(MAPPERS[topic]!, minimiseWebhookBody(topic, raw))).toEqual(outcome(MAPPERS[topic]!, raw));
  });

  it("an id past 2^53 is stored exactly as Shopify sent it", () => {
    const raw =
      '{"customer_id": 9007199254740993123, "email_address": "a@example.com", "email_marketing_consent": {"state": "unsubscribed"}, "phone": "+15550100"}';
    expect(minimiseWebhookBody("customers_email_marketing_consent/update", raw)).toBe(
      '{"customer_id":9007199254740993123,"email_address":"a@example.com","email_marketing_consent":{"state":"unsubscribed"}}',
    );
  });

  it("topics it does not know, and bodies that are not objects, are stored unchanged", () => {
    expect(minimiseWebhookBody("customers/redact", '{"customer": {"id": 1, "phone": "x"}}')).toBe('{"customer": {"id": 1, "phone": "x"}}');
    expect(minimiseWebhookBody("orders/create", "[1,2]")).toBe("[1,2]");
    expect(minimiseWebhookBody("orders/create", "not json")).toBe("not json");
  });
});

const lineItem = fuzzedObject({
  title: fc.string(),
  presentment_title: fc.string(),
  quantity: fc.integer(),
  price: moneyString,
  line_price: moneyString,
  variant_title: fc.string(),
  vendor: fc.string(),
  sku: fc.string(),
});
const customer = fuzzedObject({
  id: fc.oneof(fc.integer(), fc.string()),
  admin_graphql_api_id: fc.string(),
  email: fc.oneof(fc.emailAddress(), fc.string()),
  first_name: fc.string(),
  phone: fc.string(),
  default_address: anyJsonValue,
});
const address = fuzzedObject({ first_name: fc.string(), address1: fc.string(), phone: fc.string() });
const money = fuzzedObject({ amount: moneyString, currency_code: fc.constantFrom("USD", "EUR", "JPY", "", "usd") });
const bodies: Record<string, fc.Arbitrary<unknown>> = {
  "checkouts/update": fuzzedObject({
    id: fc.oneof(fc.integer(), fc.string()),
    token: fc.string({ minLength: 1, maxLength: 32 }),
    cart_token: fc.string(),
    name: fc.string(),
    email: fc.oneof(fc.emailAddress(), fc.string()),
    created_at: timeString,
    updated_at: timeString,
    completed_at: timeString,
    currency: fc.constantFrom("USD", "JPY", ""),
    presentment_currency: fc.constantFrom("EUR", "KWD", ""),
    buyer_accepts_marketing: fc.boolean(),
    customer_locale: fc.string(),
    total_price: moneyString,
    abandoned_checkout_url: fc.webUrl(),
    discount_codes: fc.array(fc.oneof(fuzzedObject({ code: fc.string(), amount: moneyString }), anyJsonValue), { maxLength: 2 }),
    line_items: fc.oneof(fc.array(fc.oneof(lineItem, anyJsonValue), { maxLength: 3 }), anyJsonValue),
    customer: fc.oneof(customer, anyJsonValue),
    billing_address: fc.oneof(address, anyJsonValue),
    shipping_address: fc.oneof(address, anyJsonValue),
    note_attributes: anyJsonValue,
  }),
  "orders/cancelled": fuzzedObject({
    id: fc.oneof(fc.integer(), fc.string()),
    admin_graphql_api_id: fc.string(),
    email: fc.oneof(fc.emailAddress(), fc.string()),
    contact_email: fc.string(),
    checkout_token: fc.string(),
    cart_token: fc.string(),
    created_at: timeString,
    processed_at: timeString,
    cancelled_at: timeString,
    test: fc.oneof(fc.boolean(), anyJsonValue),
    currency: fc.constantFrom("USD", "JPY", ""),
    presentment_currency: fc.constantFrom("EUR", ""),
    total_price: moneyString,
    total_price_set: fc.oneof(fuzzedObject({ shop_money: money, presentment_money: money }), anyJsonValue),
    customer: fc.oneof(customer, anyJsonValue),
    billing_address: address,
    line_items: fc.array(lineItem, { maxLength: 2 }),
    browser_ip: fc.ipV4(),
  }),
  "customers_email_marketing_consent/update": fuzzedObject({
    customer_id: fc.oneof(fc.integer(), fc.bigInt({ min: 0n, max: 10n ** 20n }).map(String), anyJsonValue),
    email_address: fc.oneof(fc.emailAddress(), fc.string()),
    email_marketing_consent: fc.oneof(
      fuzzedObject({
        state: fc.constantFrom("subscribed", "unsubscribed", "pending", "not_subscribed"),
        opt_in_level: fc.string(),
        consent_updated_at: timeString,
      }),
      anyJsonValue,
    ),
  }),
};
bodies["orders/create"] = bodies["orders/cancelled"]!;
bodies["checkouts/create"] = bodies["checkouts/update"]!;

describe("any body", () => {
  it.each(Object.keys(WEBHOOK_FIELDS))("%s: the minimised body maps exactly as the whole one (or fails the same way)", (topic) => {
    fc.assert(
      fc.property(bodies[topic]!, (body) => {
        const raw = JSON.stringify(body);
        expect(outcome(MAPPERS[topic]!, minimiseWebhookBody(topic, raw))).toEqual(outcome(MAPPERS[topic]!, raw));
      }),
      { numRuns: RUNS.unit },
    );
  });
});
