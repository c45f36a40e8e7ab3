import { describe, expect, it } from "vitest";
import { parsePixelRequest, toPixelObservation, type PixelEventBody } from "./payload";

const RECEIVED = new Date("2026-11-20T12:00:00.000Z");

function body(overrides: { checkout?: Partial<PixelEventBody["checkout"]>; event?: Partial<PixelEventBody["event"]> } = {}): PixelEventBody {
  return {
    event: { id: "evt-1", name: "checkout_contact_info_submitted", at: "2026-11-20T11:58:00.000Z", ...overrides.event },
    checkout: {
      token: "c1-abc",
      email: "ann@example.com",
      buyerAcceptsEmailMarketing: true,
      currencyCode: "EUR",
      totalPrice: { amount: 107.45, currencyCode: "EUR" },
      subtotalPrice: { amount: 100.5, currencyCode: "EUR" },
      lineItemCount: 1,
      lineItems: [
        {
          title: "Shirt",
          variantTitle: null,
          quantity: 3,
          unitPrice: { amount: 0.1 + 0.2, currencyCode: "EUR" },
          linePrice: { amount: 0.9, currencyCode: "EUR" },
          imageUrl: null,
        },
      ],
      ...overrides.checkout,
    },
  };
}

describe("pixel event → CheckoutPixelObserved", () => {
  it("turns the browser's float amounts into exact minor units", () => {
    const result = toPixelObservation(body(), RECEIVED);
    expect(result.ok && result.value).toMatchObject({
      kind: "checkout.pixel",
      checkoutToken: "c1-abc",
      total: { amountMinor: 10745, currency: "EUR" },
      lineItems: [{ unitPriceMinor: 30, totalPriceMinor: 90, quantity: 3 }],
      occurredAt: new Date("2026-11-20T11:58:00.000Z"),
    });
  });

  it("uses each currency's own minor unit (yen has none)", () => {
    const result = toPixelObservation(body({ checkout: { currencyCode: "JPY", totalPrice: { amount: 12800, currencyCode: "JPY" }, lineItems: [] } }), RECEIVED);
    expect(result.ok && result.value.total).toEqual({ amountMinor: 12800, currency: "JPY" });
  });

  it("takes an event dated in the future as happening when it arrived, and refuses one a day off", () => {
    const future = toPixelObservation(body({ event: { at: "2026-11-20T15:00:00.000Z" } }), RECEIVED);
    expect(future.ok && future.value.occurredAt).toEqual(RECEIVED);
    expect(toPixelObservation(body({ event: { at: "2026-11-18T12:00:00.000Z" } }), RECEIVED)).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/event\.at/),
    });
  });

  it("needs a currency from somewhere", () => {
    expect(toPixelObservation(body({ checkout: { currencyCode: null, totalPrice: null } }), RECEIVED)).toMatchObject({ ok: false });
  });
});

describe("request validation", () => {
  const request = (change: (b: any) => void = () => {}) => {
    const b: any = { v: 1, shop: "acme.myshopify.com", key: "k".repeat(43), ...body() };
    change(b);
    return parsePixelRequest(b);
  };

  it("keeps only Shopify CDN images (the admin shows them; a forged event must not point it elsewhere)", () => {
    const withImage = (imageUrl: string) => request((b) => (b.checkout.lineItems[0].imageUrl = imageUrl));
    const image = (r: ReturnType<typeof request>) => (r.ok ? r.value.checkout.lineItems[0]!.imageUrl : "refused");
    expect(image(withImage("//cdn.shopify.com/s/files/1/shirt.jpg"))).toBe("https://cdn.shopify.com/s/files/1/shirt.jpg");
    expect(image(withImage("https://tracker.example/pixel.gif"))).toBeNull();
    expect(image(withImage("javascript:alert(1)"))).toBeNull();
  });

  it("names every field it refuses", () => {
    const result = request((b) => {
      delete b.checkout.token;
      b.event.name = "add_to_cart";
    });
    expect(result.ok).toBe(false);
    expect(!result.ok && result.reason).toMatch(/event\.name.*checkout\.token|checkout\.token.*event\.name/);
  });
});
