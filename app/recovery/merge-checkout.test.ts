import { describe, expect, it } from "vitest";
import { mergeCheckout, type StoredCheckout } from "./merge-checkout";
import type { CheckoutObserved, LineItem } from "./model";

const T = (m: number) => new Date(Date.UTC(2026, 11, 1, 12, m));
const item = (title: string, imageUrl: string | null, variantTitle: string | null = null): LineItem => ({
  title,
  variantTitle,
  quantity: 1,
  imageUrl,
  unitPriceMinor: 100,
  totalPriceMinor: 100,
});

function stored(lineItems: LineItem[], updatedMinute: number): StoredCheckout {
  return {
    email: "a@example.com",
    firstName: null,
    consent: "unknown",
    consentEvidence: null,
    lineItems,
    recoveryUrl: "https://shop.example/r",
    recoveryUrlExpiresAt: null,
    checkoutToken: null,
    sourceUpdatedAt: T(updatedMinute),
    completedAt: null,
    abandonedAt: T(0),
  };
}
function seen(lineItems: LineItem[] | null, updatedMinute: number): CheckoutObserved {
  return {
    kind: "checkout.observed",
    source: "shopify",
    externalId: "token:t",
    checkoutToken: "t",
    email: "a@example.com",
    firstName: null,
    consent: { state: "unknown", source: "test", detail: {}, at: null },
    lineItems,
    total: { amountMinor: 100, currency: "USD" },
    recoveryUrl: "https://shop.example/r",
    recoveryUrlExpiresAt: null,
    abandonedAt: T(0),
    updatedAt: T(updatedMinute),
    completedAt: null,
  };
}

describe("mergeCheckout: line item images (only the poll has them; webhooks never do)", () => {
  it("a newer webhook's items replace the poll's, keeping the poll's image for the same product and variant", () => {
    const merged = mergeCheckout(
      stored([item("Board", "https://cdn/board.jpg"), item("Wax", "https://cdn/wax-blue.jpg", "Blue")], 1),
      seen([item("Board", null), item("Wax", null, "Red"), item("Strap", null)], 2),
    );
    expect(merged.lineItems.map((i) => [i.title, i.imageUrl])).toEqual([
      ["Board", "https://cdn/board.jpg"],
      ["Wax", null],
      ["Strap", null],
    ]);
  });

  it("an older poll's items only fill gaps, but still give the stored items their images", () => {
    const merged = mergeCheckout(stored([item("Board", null)], 5), seen([item("Board", "https://cdn/board.jpg")], 1));
    expect(merged.lineItems).toEqual([item("Board", "https://cdn/board.jpg")]);
    expect(merged.changed).toBe(true);
  });

  it("an observation without items keeps the stored ones as they are", () => {
    expect(mergeCheckout(stored([item("Board", "https://cdn/board.jpg")], 1), seen(null, 2)).lineItems).toEqual([item("Board", "https://cdn/board.jpg")]);
  });
});
