import { describe, expect, it } from "vitest";
import { attributionWindowStart, completionMatch, linkKeysOf, linkMatchOf, windowMatchedBy } from "./attribution";

describe("attribution precedence: which recovery a purchase converts", () => {
  it("a Stripe recovered_from names one session: no token is tried after it", () => {
    expect(linkKeysOf({ recoveredFrom: "cs_expired", checkoutToken: "t1", cartToken: "c1" })).toEqual([
      { matchedBy: "recovered_from", externalId: "cs_expired" },
    ]);
  });

  it("an order is looked up by its checkout token first, then by its cart token", () => {
    expect(linkKeysOf({ checkoutToken: "t1", cartToken: "c1" }).map((k) => k.matchedBy)).toEqual(["checkout_token", "cart_token"]);
    expect(linkKeysOf({ checkoutToken: null, cartToken: null })).toEqual([]);
  });

  it("by cart token, an order that names a checkout token only joins a record that has none yet", () => {
    expect(linkKeysOf({ checkoutToken: "t1", cartToken: "c1" })[1]).toEqual({ matchedBy: "cart_token", cartToken: "c1", withoutCheckoutToken: true });
    // An order with only a cart token may complete any record of that cart.
    expect(linkKeysOf({ cartToken: "c1" })).toEqual([{ matchedBy: "cart_token", cartToken: "c1", withoutCheckoutToken: false }]);
  });

  it("a purchase that arrived before its checkout names it with the same precedence", () => {
    expect(linkMatchOf({ recoveredFrom: "cs_1", checkoutToken: "t1" }, { checkoutToken: "t1" })).toBe("recovered_from");
    expect(linkMatchOf({ recoveredFrom: null, checkoutToken: "t1" }, { checkoutToken: "t1" })).toBe("checkout_token");
    expect(linkMatchOf({ recoveredFrom: null, checkoutToken: "t2" }, { checkoutToken: "t1" })).toBe("cart_token");
    expect(linkMatchOf({ recoveredFrom: null, checkoutToken: null }, { checkoutToken: null })).toBe("cart_token");
  });

  it("names how a completion and a window conversion were matched, per source", () => {
    expect([completionMatch("shopify"), completionMatch("stripe")]).toEqual(["completedAt", "recovered_from"]);
    expect([windowMatchedBy("shopify"), windowMatchedBy("stripe")]).toEqual(["order", "payment"]);
  });

  it("the window reaches back the shop's number of days from the purchase", () => {
    expect(attributionWindowStart(new Date("2026-11-20T10:00:00.000Z"), 7).toISOString()).toBe("2026-11-13T10:00:00.000Z");
  });
});
