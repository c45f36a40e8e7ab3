/**
 * Every mapper from vendor data to a SourceEvent, fed anything: it returns an event ingest can store, or refuses with
 * its own payload error (which the processing job records on the InboundEvent). Any other exception would make the job
 * retry a payload that can never become readable.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { checkoutWebhookToEvent, orderCancelledWebhookToEvent, orderWebhookToEvent, PayloadError } from "~/sources/shopify/webhook-mapping";
import { checkoutNodeToEvent, CheckoutNodeError } from "~/sources/shopify/to-source-event";
import { completedSessionToPurchase, expiredSessionToCheckout, stripeLineItems, StripePayloadError } from "~/sources/stripe/to-source-event";
import { anyJsonValue, fuzzedObject, moneyString, RUNS, sourceEventProblems, timeString } from "./arbitraries";

function outcome<T>(map: () => T, allowed: (new (...args: any[]) => Error)[]): { ok: true; value: T } | { ok: false } {
  try {
    return { ok: true, value: map() };
  } catch (error) {
    if (!allowed.some((E) => error instanceof E)) throw error;
    return { ok: false };
  }
}

const shopifyLineItem = fuzzedObject({
  title: fc.string(),
  variant_title: fc.option(fc.string()),
  quantity: fc.integer(),
  price: moneyString,
  line_price: moneyString,
});
const shopifyCheckout = fuzzedObject({
  id: fc.oneof(fc.integer(), fc.string()),
  token: fc.string({ minLength: 1, maxLength: 40 }),
  cart_token: fc.string(),
  name: fc.string(),
  email: fc.string(),
  created_at: timeString,
  updated_at: timeString,
  completed_at: timeString,
  currency: fc.constantFrom("USD", "JPY", "KWD", "usd", "XXX", ""),
  presentment_currency: fc.constantFrom("EUR", "BHD", ""),
  total_price: moneyString,
  buyer_accepts_marketing: fc.boolean(),
  customer: fuzzedObject({ id: fc.integer(), email: fc.string(), first_name: fc.string() }),
  billing_address: fuzzedObject({ first_name: fc.string() }),
  line_items: fc.array(shopifyLineItem, { maxLength: 4 }),
  discount_codes: fc.array(fuzzedObject({ code: fc.string() }), { maxLength: 3 }),
  abandoned_checkout_url: fc.webUrl(),
  customer_locale: fc.string(),
});
const shopifyOrder = fuzzedObject({
  id: fc.integer(),
  admin_graphql_api_id: fc.string(),
  email: fc.string(),
  contact_email: fc.string(),
  checkout_token: fc.string(),
  cart_token: fc.string(),
  total_price: moneyString,
  currency: fc.constantFrom("USD", "JPY", ""),
  presentment_currency: fc.constantFrom("EUR", "KWD", ""),
  total_price_set: fuzzedObject({
    shop_money: fuzzedObject({ amount: moneyString, currency_code: fc.constantFrom("USD", "JPY", "") }),
    presentment_money: fuzzedObject({ amount: moneyString, currency_code: fc.constantFrom("EUR", "KWD", "") }),
  }),
  test: fc.boolean(),
  cancelled_at: timeString,
  processed_at: timeString,
  created_at: timeString,
  customer: fuzzedObject({ id: fc.integer(), email: fc.string() }),
});

const money = fuzzedObject({ amount: moneyString, currencyCode: fc.constantFrom("USD", "JPY", "KWD", "XXX", "") });
const checkoutNode = fuzzedObject({
  id: fc.string({ minLength: 1 }),
  name: fc.string(),
  abandonedCheckoutUrl: fc.oneof(fc.webUrl(), fc.string()),
  completedAt: timeString,
  createdAt: timeString,
  updatedAt: timeString,
  discountCodes: fc.array(anyJsonValue, { maxLength: 3 }),
  customer: fuzzedObject({
    id: fc.string(),
    firstName: fc.string(),
    locale: fc.string(),
    defaultEmailAddress: fuzzedObject({
      emailAddress: fc.string(),
      marketingState: fc.constantFrom("SUBSCRIBED", "UNSUBSCRIBED", "PENDING"),
      marketingOptInLevel: fc.string(),
      marketingUpdatedAt: timeString,
    }),
  }),
  totalPriceSet: fuzzedObject({ shopMoney: money, presentmentMoney: money }),
});
const lineItemNode = fuzzedObject({
  title: fc.string(),
  variantTitle: fc.string(),
  quantity: fc.integer(),
  image: fuzzedObject({ url: fc.string() }),
  originalUnitPriceSet: fuzzedObject({ presentmentMoney: money }),
});

const stripeAmount = fc.oneof(fc.integer({ min: 0, max: 10_000_000 }), anyJsonValue);
const stripeSession = fuzzedObject({
  id: fc.oneof(fc.stringMatching(/^cs_(test|live)_[A-Za-z0-9]{1,60}$/), fc.string()),
  object: fc.constantFrom("checkout.session", "checkout.session", "payment_intent"),
  currency: fc.constantFrom("usd", "jpy", "kwd", "isk", "mga", "", "zzz"),
  amount_total: stripeAmount,
  customer_email: fc.string(),
  customer_details: fuzzedObject({ email: fc.string(), name: fc.string() }),
  client_reference_id: fc.oneof(fc.stringMatching(/^shopify_customer_\d{1,25}$/), fc.string()),
  consent: fuzzedObject({ promotions: fc.constantFrom("opt_in", "opt_out", "none") }),
  consent_collection: fuzzedObject({ promotions: fc.constantFrom("auto", "none") }),
  after_expiration: fuzzedObject({ recovery: fuzzedObject({ enabled: fc.boolean(), url: fc.webUrl(), expires_at: fc.oneof(fc.integer(), anyJsonValue) }) }),
  recovered_from: fc.oneof(fc.stringMatching(/^cs_test_[a-z0-9]{1,20}$/), fc.string()),
  locale: fc.constantFrom("auto", "fr", "", "xx-YY"),
  metadata: fc.dictionary(fc.string({ maxLength: 8 }), fc.string(), { maxKeys: 3 }),
  payment_link: fc.oneof(fc.string(), fuzzedObject({ id: fc.string() })),
  mode: fc.constantFrom("payment", "subscription", "setup"),
  livemode: fc.boolean(),
});
const stripeItem = fuzzedObject({
  description: fc.string(),
  quantity: fc.integer(),
  currency: fc.constantFrom("usd", "jpy", ""),
  amount_subtotal: stripeAmount,
  price: fuzzedObject({
    unit_amount: stripeAmount,
    nickname: fc.string(),
    product: fuzzedObject({ name: fc.string(), images: fc.array(fc.string(), { maxLength: 2 }) }),
  }),
});
/** What the job derives from the event's `created`: verify-event only lets through a safe, positive integer. */
const eventCreated = fc.integer({ min: 1, max: 253_402_300_799 }).map((s) => new Date(s * 1000));

describe("Shopify webhook payloads → SourceEvent", () => {
  it("checkouts/*: an event ingest can store, or a PayloadError", () => {
    fc.assert(
      fc.property(fc.oneof(shopifyCheckout, anyJsonValue), (payload) => {
        const result = outcome(() => checkoutWebhookToEvent(payload as never), [PayloadError]);
        if (result.ok) expect(sourceEventProblems(result.value)).toEqual([]);
      }),
      { numRuns: RUNS.unit },
    );
  });

  it("orders/create: an event ingest can store, or a PayloadError", () => {
    fc.assert(
      fc.property(fc.oneof(shopifyOrder, anyJsonValue), (payload) => {
        const result = outcome(() => orderWebhookToEvent(payload as never), [PayloadError]);
        if (result.ok) expect(sourceEventProblems(result.value)).toEqual([]);
      }),
      { numRuns: RUNS.unit },
    );
  });

  it("orders/cancelled: an event ingest can store, with a cancellation time, or a PayloadError", () => {
    fc.assert(
      fc.property(fc.oneof(shopifyOrder, anyJsonValue), (payload) => {
        const result = outcome(() => orderCancelledWebhookToEvent(payload as never), [PayloadError]);
        if (!result.ok) return;
        expect(sourceEventProblems(result.value)).toEqual([]);
        expect(result.value.cancelledAt).toBeInstanceOf(Date);
        if (result.value.shopAmount) expect(Number.isSafeInteger(result.value.shopAmount.amountMinor)).toBe(true);
      }),
      { numRuns: RUNS.unit },
    );
  });
});

describe("Admin GraphQL abandoned checkouts → SourceEvent (the sync skips what it cannot read)", () => {
  it("an event ingest can store, or a CheckoutNodeError / RangeError (the errors the sync catches)", () => {
    fc.assert(
      fc.property(fc.oneof(checkoutNode, anyJsonValue), fc.option(fc.array(fc.oneof(lineItemNode, anyJsonValue), { maxLength: 3 })), (node, items) => {
        const result = outcome(() => checkoutNodeToEvent(node as never, items as never), [CheckoutNodeError, RangeError]);
        if (result.ok) expect(sourceEventProblems(result.value)).toEqual([]);
      }),
      { numRuns: RUNS.unit },
    );
  });
});

describe("Stripe Checkout Session events → SourceEvent", () => {
  it("checkout.session.expired: an event ingest can store, or a StripePayloadError", () => {
    fc.assert(
      fc.property(fc.oneof(stripeSession, anyJsonValue), eventCreated, fc.option(fc.array(stripeItem, { maxLength: 3 })), (session, created, items) => {
        const lineItems = items ? stripeLineItems(items, "USD") : null;
        const result = outcome(
          () => expiredSessionToCheckout(session, { eventCreated: created, lineItems, lineItemsUnavailable: items ? null : "no key", fallbackCurrency: "USD" }),
          [StripePayloadError],
        );
        if (result.ok) expect(sourceEventProblems(result.value)).toEqual([]);
      }),
      { numRuns: RUNS.unit },
    );
  });

  it("checkout.session.completed: an event ingest can store, or a StripePayloadError", () => {
    fc.assert(
      fc.property(fc.oneof(stripeSession, anyJsonValue), eventCreated, (session, created) => {
        const result = outcome(() => completedSessionToPurchase(session, { eventCreated: created, fallbackCurrency: "USD" }), [StripePayloadError]);
        if (result.ok) expect(sourceEventProblems(result.value)).toEqual([]);
      }),
      { numRuns: RUNS.unit },
    );
  });

  it("line items from the API never throw and are always integers", () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(stripeItem, anyJsonValue), { maxLength: 5 }), fc.constantFrom("USD", "JPY", "ISK"), (items, currency) => {
        for (const item of stripeLineItems(items, currency)) {
          expect(Number.isSafeInteger(item.unitPriceMinor) && Number.isSafeInteger(item.totalPriceMinor)).toBe(true);
        }
      }),
      { numRuns: RUNS.unit },
    );
  });
});

describe("the sync's reading of Admin API answers", () => {
  it("classifies any error the Shopify library could throw, whatever its body holds", async () => {
    const { classifyAdminError } = await import("~/sources/shopify/admin-client.server");
    const kinds = ["ok", "throttled", "max_cost", "transient", "access_denied", "unauthorized", "failed"];
    const errorBody = fuzzedObject({
      data: anyJsonValue,
      extensions: fuzzedObject({ cost: anyJsonValue }),
      errors: fuzzedObject({
        graphQLErrors: fc.array(
          fuzzedObject({
            message: fc.string(),
            extensions: fuzzedObject({ code: fc.constantFrom("THROTTLED", "MAX_COST_EXCEEDED", "ACCESS_DENIED", "INTERNAL_SERVER_ERROR", "X") }),
          }),
          { maxLength: 3 },
        ),
      }),
    });
    fc.assert(
      fc.property(
        fc.constantFrom("GraphqlQueryError", "HttpThrottlingError", "HttpResponseError", "HttpInternalError", "SessionNotFoundError", "TypeError", "Error"),
        fc.oneof(errorBody, anyJsonValue),
        fc.oneof(fuzzedObject({ code: fc.integer({ min: 100, max: 599 }), retryAfter: anyJsonValue }), anyJsonValue),
        (name, body, response) => {
          const error = Object.assign(new Error("boom"), { name, body, response });
          expect(kinds).toContain(classifyAdminError(error).kind);
          expect(kinds).toContain(classifyAdminError(body).kind); // not even an Error
        },
      ),
      { numRuns: RUNS.unit },
    );
  });

  it("assembles bulk JSONL lines of any shape without throwing, one checkout at a time", async () => {
    const { BulkCheckoutAssembler } = await import("~/sources/shopify/bulk-jsonl");
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(fuzzedObject({ id: fc.constantFrom("a", "b", "c"), __parentId: fc.constantFrom("a", "b", "z") }), fc.dictionary(fc.string(), anyJsonValue)),
          { maxLength: 20 },
        ),
        (lines) => {
          const assembler = new BulkCheckoutAssembler();
          let completed = 0;
          for (const line of lines) if (assembler.push(line)) completed++;
          if (assembler.finish()) completed++;
          expect(completed).toBe(assembler.roots);
        },
      ),
      { numRuns: RUNS.unit },
    );
  });

  it("splits any byte stream into the lines of its text, whatever the chunking", async () => {
    const { readLines } = await import("~/sources/shopify/bulk-jsonl");
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 200 }), fc.array(fc.nat({ max: 50 }), { maxLength: 8 }), async (text, cuts) => {
        const bytes = new TextEncoder().encode(text);
        const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
        const chunks = [0, ...points, bytes.length].slice(1).map((end, i, ends) => bytes.subarray(i === 0 ? 0 : ends[i - 1]!, end));
        const stream = new ReadableStream<Uint8Array>({
          start(c) {
            for (const chunk of chunks) if (chunk.length) c.enqueue(chunk);
            c.close();
          },
        });
        const lines: string[] = [];
        for await (const line of readLines(stream)) lines.push(line);
        expect(lines).toEqual(text.split("\n").filter((l) => l.trim()));
      }),
      { numRuns: RUNS.unit },
    );
  });
});
