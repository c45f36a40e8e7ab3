import { readFileSync } from "node:fs";
import Stripe from "stripe";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lineItem, newSessionId } from "../../app/demo/fakes/stripe-api/objects";
import { FakeStripeApi } from "../../app/demo/fakes/stripe-api/server";

// The fake must answer like Stripe, or tests against it prove nothing: its objects are checked against Stripe's
// OpenAPI schema (test/fixtures/stripe/checkout.session.schema.json), its errors against the SDK's error classes.
const schemas = JSON.parse(readFileSync("test/fixtures/stripe/checkout.session.schema.json", "utf8")).components.schemas as Record<
  string,
  { required?: string[]; properties: Record<string, unknown> }
>;

const KEY = "rk_test_51FakeApiRestrictedKey0123456789abcd";
const fake = new FakeStripeApi().addKey(KEY).addKey("rk_test_51FakeApiNoPermission0123456789efgh", { checkoutSessionRead: false });
let api: typeof import("~/sources/stripe/api.server");

beforeAll(async () => {
  process.env.STRIPE_API_BASE = await fake.start();
  api = await import("~/sources/stripe/api.server");
});
afterAll(() => fake.close());

function conformsTo(schema: string, object: Record<string, unknown>) {
  const { required = [], properties } = schemas[schema]!;
  expect(
    required.filter((k) => !(k in object)),
    `${schema}: missing required`,
  ).toEqual([]);
  return Object.keys(object).filter((k) => !(k in properties));
}

describe("fake Stripe API, through the real SDK", () => {
  it("serves line items in Stripe's `item` shape, paginated, and Reclaim reads at most 250", async () => {
    const sessionId = newSessionId();
    fake.setLineItems(
      sessionId,
      Array.from({ length: 260 }, (_, i) => lineItem({ description: `Item ${i}`, quantity: 1, unitAmount: 100 + i })),
    );
    const client = new Stripe(KEY, { host: "127.0.0.1", port: Number(new URL(fake.url).port), protocol: "http" });
    const page = await client.checkout.sessions.listLineItems(sessionId, { limit: 3 });
    expect(page.object).toBe("list");
    expect(page.has_more).toBe(true);
    for (const item of page.data) expect(conformsTo("item", item as unknown as Record<string, unknown>)).toEqual([]);

    fake.requests.length = 0;
    const result = await api.fetchSessionLineItems(KEY, sessionId, "usd");
    expect(result.ok && result.items.length).toBe(250);
    expect(result.ok && result.items[249]).toMatchObject({ title: "Item 249", unitPriceMinor: 349 });
    expect(fake.requests.map((r) => r.path)).toEqual(Array(3).fill(`/v1/checkout/sessions/${sessionId}/line_items`));
  });

  it("serves sessions in the Checkout Session shape (fields added since the 2023 schema aside)", async () => {
    const client = new Stripe(KEY, { host: "127.0.0.1", port: Number(new URL(fake.url).port), protocol: "http" });
    const list = await client.checkout.sessions.list({ limit: 1 });
    const extra = conformsTo("checkout.session", list.data[0] as unknown as Record<string, unknown>);
    // Stripe's own current fixture has these; the 2023 schema does not (see test/fixtures/stripe/README.md).
    expect(
      extra.every((k) =>
        [
          "adaptive_pricing",
          "client_secret",
          "collected_information",
          "customer_account",
          "discounts",
          "integration_identifier",
          "managed_payments",
          "origin_context",
          "payment_method_configuration_details",
          "permissions",
          "saved_payment_method_options",
          "ui_mode",
          "wallet_options",
          "currency_conversion",
        ].includes(k),
      ),
    ).toBe(true);
  });

  it("answers like Stripe for a bad key (401), a key without permission (403) and an unknown session (404)", async () => {
    const badKey = "rk_test_51NotAKeyStripeKnows0123456789wxyz";
    const client = (key: string) => new Stripe(key, { host: "127.0.0.1", port: Number(new URL(fake.url).port), protocol: "http", maxNetworkRetries: 0 });
    await expect(client(badKey).checkout.sessions.list({ limit: 1 })).rejects.toMatchObject({
      type: "StripeAuthenticationError",
      statusCode: 401,
      message: expect.stringMatching(/^Invalid API Key provided: rk_test_\*+wxyz$/),
    });
    await expect(client("rk_test_51FakeApiNoPermission0123456789efgh").checkout.sessions.list({ limit: 1 })).rejects.toMatchObject({
      type: "StripePermissionError",
      statusCode: 403,
      message: expect.stringContaining("'rak_checkout_session_read' permission"),
    });
    await expect(client(KEY).checkout.sessions.listLineItems("cs_test_unknown")).rejects.toMatchObject({
      type: "StripeInvalidRequestError",
      statusCode: 404,
      code: "resource_missing",
    });
  });

  it("turns Stripe's answers about the key into merchant-readable problems", async () => {
    expect(await api.checkApiKey(KEY)).toEqual({ ok: true });
    expect(await api.checkApiKey("rk_test_51NotAKeyStripeKnows0123456789wxyz")).toMatchObject({
      ok: false,
      retryable: false,
      problem: expect.stringContaining("did not accept"),
    });
    expect(await api.checkApiKey("rk_test_51FakeApiNoPermission0123456789efgh")).toMatchObject({
      ok: false,
      problem: expect.stringContaining("Checkout Sessions to Read"),
    });
    fake.failNext(503, 503);
    expect(await api.checkApiKey(KEY)).toMatchObject({ ok: false, retryable: true, problem: expect.stringContaining("Could not reach Stripe") });
  });
});
