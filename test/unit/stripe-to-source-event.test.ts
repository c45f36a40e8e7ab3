import { describe, expect, it } from "vitest";
import {
  completedSessionToPurchase,
  expiredSessionToCheckout,
  shopifyCustomerIdFrom,
  StripePayloadError,
  stripeLineItems,
} from "~/sources/stripe/to-source-event";
import { fromStripeAmount } from "~/sources/stripe/stripe-money";
import { completedSession, expiredSession, lineItem } from "../../app/demo/fakes/stripe-api/objects";

const at = new Date("2026-11-20T12:00:00Z");
const ctx = { eventCreated: at, lineItems: null, lineItemsUnavailable: "no Stripe API key connected", fallbackCurrency: "EUR" };

describe("checkout.session.expired → CheckoutObserved", () => {
  it("keeps what a recovery email needs: email, consent evidence, recovery link and its expiry, total, reference and metadata", () => {
    const session = expiredSession({
      email: "Ann@Example.com",
      name: "Ann Lee",
      amountTotal: 4200,
      currency: "usd",
      promotions: "opt_in",
      clientReferenceId: "shopify_customer_7012345678901",
      metadata: { cart: "abc" },
      recoveryExpiresAt: 1_800_000_000,
    });
    const seen = expiredSessionToCheckout(session, ctx);
    expect(seen).toMatchObject({
      kind: "checkout.observed",
      source: "stripe",
      externalId: session.id,
      email: "Ann@Example.com",
      firstName: "Ann",
      // client_reference_id is public input (Payment Link URLs): a hint in metadata, never an identity (ADR 076).
      shopifyCustomerId: null,
      consent: { state: "opt_in", source: "stripe.consent.promotions", detail: { promotions: "opt_in", consent_collection_promotions: "auto" } },
      lineItems: null,
      total: { amountMinor: 4200, currency: "USD" },
      recoveryUrl: session.after_expiration.recovery.url,
      recoveryUrlExpiresAt: new Date(1_800_000_000 * 1000),
      abandonedAt: at,
      completedAt: null,
    });
    expect(seen.metadata).toMatchObject({
      client_reference_id: "shopify_customer_7012345678901",
      client_reference_shopify_customer_hint: "gid://shopify/Customer/7012345678901",
      metadata: { cart: "abc" },
      recovery_enabled: true,
      line_items_unavailable: "no Stripe API key connected",
    });
  });

  it.each([
    ["opt_in", "opt_in"],
    ["opt_out", "opt_out"],
    [null, "unknown"],
  ] as const)("maps consent.promotions %s to consent %s", (promotions, state) => {
    expect(expiredSessionToCheckout(expiredSession({ promotions }), ctx).consent.state).toBe(state);
  });

  it("falls back to the prefilled customer_email when the buyer's email is not shared", () => {
    const seen = expiredSessionToCheckout(expiredSession({ email: null, customerEmail: "pre@example.com" }), ctx);
    expect(seen.email).toBe("pre@example.com");
  });

  it("has no email and no link for a guest without consent on a session without recovery (ingest marks it not contactable)", () => {
    const seen = expiredSessionToCheckout(expiredSession({ email: null, recovery: false }), ctx);
    expect(seen.email).toBeNull();
    expect(seen.recoveryUrl).toBeNull();
    expect(seen.metadata).toMatchObject({ recovery_enabled: false });
  });

  it("refuses an event whose object is not a Checkout Session", () => {
    expect(() => expiredSessionToCheckout({ object: "plan", id: "price_1" }, ctx)).toThrow(StripePayloadError);
  });

  it("uses the shop currency only when the session has none", () => {
    expect(expiredSessionToCheckout(expiredSession({ currency: null, amountTotal: null }), ctx).total).toEqual({ amountMinor: 0, currency: "EUR" });
  });
});

describe("checkout.session.completed → PurchaseObserved", () => {
  it("names the expired session it recovered (recovered_from) and the buyer", () => {
    const session = completedSession({ email: "ann@example.com", recoveredFrom: "cs_test_original", amountTotal: 4200 });
    expect(completedSessionToPurchase(session, { eventCreated: at, fallbackCurrency: "USD" })).toEqual({
      kind: "purchase.observed",
      source: "stripe",
      externalId: session.id,
      email: "ann@example.com",
      shopifyCustomerId: null,
      checkoutToken: null,
      recoveredFrom: "cs_test_original",
      paymentIntentId: session.payment_intent, // refunds and disputes name it (ADR 076)
      amount: { amountMinor: 4200, currency: "USD" },
      occurredAt: at,
    });
  });
});

describe("Stripe amounts and references", () => {
  it.each([
    [4200, "usd", 4200],
    [500, "jpy", 500],
    [50000, "isk", 500], // Stripe: two-decimal (100 = 1 króna); ISO: zero-decimal
    [1000, "mga", 100000], // Stripe: zero-decimal; ISO: two-decimal
    [1230, "kwd", 1230],
  ])("Stripe %i %s is %i in ISO minor units", (amount, currency, minor) => {
    expect(fromStripeAmount(amount, currency)).toBe(minor);
  });

  it.each([
    ["shopify_customer_42", "gid://shopify/Customer/42"],
    ["gid://shopify/Customer/42", "gid://shopify/Customer/42"],
    ["cart_42", null],
    ["42", null],
    [null, null],
  ])("client_reference_id %s → Shopify customer %s", (ref, gid) => {
    expect(shopifyCustomerIdFrom(ref)).toBe(gid);
  });

  it("maps Stripe line items (fixture shape) to titles, quantities and prices", () => {
    const items = [
      lineItem({ description: "T-shirt", quantity: 2, unitAmount: 1099 }),
      lineItem({ description: "Cap", quantity: 1, unitAmount: 1500, nickname: "Blue" }),
    ];
    expect(stripeLineItems(items, "usd")).toEqual([
      { title: "T-shirt", variantTitle: null, quantity: 2, imageUrl: null, unitPriceMinor: 1099, totalPriceMinor: 2198 },
      { title: "Cap", variantTitle: "Blue", quantity: 1, imageUrl: null, unitPriceMinor: 1500, totalPriceMinor: 1500 },
    ]);
  });
});
