// orders/create and orders/cancelled bodies → PurchaseObserved: a payload captured from a live shop (redacted; see
// test/fixtures/shopify/README.md), a multi-currency order as the fake Shopify Admin builds it, and the edge cases.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { orderCancelledWebhookToEvent, orderWebhookToEvent, PayloadError } from "~/sources/shopify/webhook-mapping";
import { startFakeShopifyAdmin, orderCreatePayload } from "../../app/demo/fakes/shopify-admin";

const real = () => JSON.parse(readFileSync("test/fixtures/shopify/real/orders-create.json", "utf8")) as Record<string, any>;

describe("a real captured order (live development shop, 2024)", () => {
  it("maps to the purchase Shopify meant: order gid, buyer, tokens, presentment and shop money, processed time", () => {
    const event = orderWebhookToEvent(real());
    expect(event).toEqual({
      kind: "purchase.observed",
      source: "shopify",
      externalId: "gid://shopify/Order/5778367414385",
      email: "redacted.buyer@example.com",
      shopifyCustomerId: "gid://shopify/Customer/7358220173425",
      checkoutToken: "84ad78572dae52a8cbea7d55371afe89",
      cartToken: "Z2NwLXVzLWVhc3QxOjAxSkJaTUVRSjgzNUJUN1BTNjEzRFdRUFFQ",
      amount: { amountMinor: 60000, currency: "USD" },
      shopAmount: { amountMinor: 60000, currency: "USD" },
      // The capture has no `test` and no `cancelled_at` key at all: a real, live order.
      test: false,
      cancelledAt: null,
      // No processed_at in this capture: created_at, with its offset (-05:00) honoured.
      occurredAt: new Date("2024-11-06T02:54:49.000Z"),
    });
  });

  it("is not a cancellation", () => {
    expect(() => orderCancelledWebhookToEvent(real())).toThrow(new PayloadError("orders/cancelled payload has no valid cancelled_at"));
  });

  it("the same order as a test order, and cancelled, says so", () => {
    const cancelled = orderCancelledWebhookToEvent({ ...real(), test: true, cancelled_at: "2024-11-06T09:00:00-05:00", cancel_reason: "customer" });
    expect(cancelled).toMatchObject({ test: true, cancelledAt: new Date("2024-11-06T14:00:00.000Z"), externalId: "gid://shopify/Order/5778367414385" });
  });
});

describe("money: the buyer's amount, the shop's kept apart", () => {
  it("a shop in USD, a buyer in EUR: the purchase is in EUR (presentment), the USD total apart (shop money)", async () => {
    const fake = await startFakeShopifyAdmin();
    try {
      const store = fake.addShop({ domain: "multi-currency.myshopify.com", accessToken: "shpat_x", currencyCode: "USD" });
      const line = (shop: number, presentment: number) => ({ shop, presentment });
      const checkout = store.upsertCheckout({
        email: "eu.buyer@example.com",
        currency: "USD",
        presentmentCurrency: "EUR",
        completedAt: "2026-11-20T10:00:00Z",
        lineItems: [
          {
            id: 1,
            title: "Wool scarf",
            variantTitle: null,
            quantity: 2,
            sku: null,
            vendor: null,
            image: null,
            variantId: 11,
            productId: 12,
            unitPrice: line(5400, 4968),
            discountedUnitPrice: line(5400, 4968),
            requiresShipping: true,
            taxable: true,
            grams: 100,
          },
        ],
      });
      const body = orderCreatePayload(store, checkout);
      // The builder sends what Shopify sends: total_price in the shop's currency, both in total_price_set.
      expect(body).toMatchObject({
        currency: "USD",
        presentment_currency: "EUR",
        total_price: "108.00",
        total_price_set: { shop_money: { amount: "108.00", currency_code: "USD" }, presentment_money: { amount: "99.36", currency_code: "EUR" } },
        test: false,
        cancelled_at: null,
        checkout_token: checkout.token,
        cart_token: checkout.cartToken,
      });
      const event = orderWebhookToEvent(JSON.parse(JSON.stringify(body)));
      expect(event.amount).toEqual({ amountMinor: 9936, currency: "EUR" });
      expect(event.shopAmount).toEqual({ amountMinor: 10800, currency: "USD" });
    } finally {
      await fake.close();
    }
  });

  it("currencies with other exponents are read in their own minor units (JPY shop, KWD buyer)", () => {
    const event = orderWebhookToEvent({
      ...real(),
      currency: "JPY",
      presentment_currency: "KWD",
      total_price: "9300",
      total_price_set: { shop_money: { amount: "9300", currency_code: "JPY" }, presentment_money: { amount: "18.625", currency_code: "KWD" } },
    });
    expect(event.amount).toEqual({ amountMinor: 18625, currency: "KWD" });
    expect(event.shopAmount).toEqual({ amountMinor: 9300, currency: "JPY" });
  });

  it("only without total_price_set: total_price, labelled with `currency` (the shop's), never with presentment_currency", () => {
    const { total_price_set: _omitted, ...withoutSet }: Record<string, any> = {
      ...real(),
      currency: "USD",
      presentment_currency: "EUR",
      total_price: "108.00",
    };
    const event = orderWebhookToEvent(withoutSet);
    expect(event.amount).toEqual({ amountMinor: 10800, currency: "USD" });
    expect(event.shopAmount).toEqual({ amountMinor: 10800, currency: "USD" });
  });

  it("a total_price_set that is there but unreadable is a PayloadError, not a guess", () => {
    expect(() => orderWebhookToEvent({ ...real(), total_price_set: { shop_money: { amount: "1.00", currency_code: "USD" } } })).toThrow(PayloadError);
    expect(() => orderWebhookToEvent({ ...real(), total_price_set: { presentment_money: { amount: "lots", currency_code: "EUR" } } })).toThrow(PayloadError);
    expect(() => orderWebhookToEvent({ ...real(), total_price_set: { presentment_money: { amount: "1.00" } } })).toThrow(PayloadError);
    expect(() => orderWebhookToEvent({ ...real(), total_price_set: "108.00" })).toThrow(PayloadError);
  });

  it("test is true only for a literal true", () => {
    expect(orderWebhookToEvent({ ...real(), test: "true" }).test).toBe(false);
    expect(orderWebhookToEvent({ ...real(), test: true }).test).toBe(true);
  });
});
