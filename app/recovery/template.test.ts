import { describe, expect, it } from "vitest";
import { DEFAULT_STEPS } from "./campaign-defaults";
import { decimalString, discountCodeBasicInput, discountCodeFrom, stepIncentive, storefrontDiscountUrl } from "./incentive";
import { resolveLocale, sampleTemplateInput, templateVariables } from "./template";

describe("template variables", () => {
  it("formats prices in the checkout's currency and locale", () => {
    const input = sampleTemplateInput();
    const vars = templateVariables({
      ...input,
      recovery: {
        ...input.recovery,
        currency: "EUR",
        locale: "de-DE",
        totalMinor: 123450,
        lineItems: [{ title: "Mantel", variantTitle: null, quantity: 2, imageUrl: null, unitPriceMinor: 61725, totalPriceMinor: 123450 }],
      },
    });
    expect(vars.checkout.total).toBe("1.234,50\u00a0€");
    expect(vars.checkout.line_items[0]).toMatchObject({ title: "Mantel", quantity: 2, price: "617,25\u00a0€", line_price: "1.234,50\u00a0€" });
    expect(vars.checkout.item_count).toBe(2);
  });

  it("uses zero-decimal currencies as they are (JPY)", () => {
    const input = sampleTemplateInput();
    const vars = templateVariables({ ...input, recovery: { ...input.recovery, currency: "JPY", locale: "ja-JP", totalMinor: 4500, lineItems: [] } });
    expect(vars.checkout.total).toMatch(/4,500/);
  });

  it("falls back to the shop's locale, then English, for unknown locale tags", () => {
    expect(resolveLocale("xx-not-a-locale!!", "fr")).toBe("fr");
    expect(resolveLocale(null, undefined)).toBe("en");
    expect(resolveLocale("pt_BR")).toBe("pt-BR");
  });

  it("describes the incentive and its expiry in the buyer's locale", () => {
    const input = sampleTemplateInput({ timeZone: "UTC" });
    const vars = templateVariables({
      ...input,
      incentive: { code: "BACK-ABCDEFGH", type: "fixed_amount", value: 500, currency: "EUR", expiresAt: new Date("2026-12-01T12:00:00Z") },
    });
    expect(vars.incentive).toEqual({ code: "BACK-ABCDEFGH", description: "€5.00", expires_on: "December 1, 2026" });
    expect(templateVariables({ ...input, incentive: null }).incentive).toBeNull();
  });
});

describe("incentives", () => {
  it("the default campaign's last step (only) carries a 10% incentive for 7 days", () => {
    expect(DEFAULT_STEPS.map((s) => stepIncentive(s))).toEqual([null, null, { type: "percentage", value: 10, expiresDays: 7 }]);
    expect(DEFAULT_STEPS.map((s) => s.delayMinutes)).toEqual([60, 1440, 4320]);
  });

  it("codes are typeable: prefix, 8 unambiguous characters", () => {
    const code = discountCodeFrom(new Uint8Array([0, 1, 2, 3, 250, 251, 252, 253]));
    expect(code).toMatch(/^BACK-[A-HJ-NP-Z2-9]{8}$/);
  });

  it("builds a single-use, expiring DiscountCodeBasicInput (percentage and fixed amount)", () => {
    const now = new Date("2026-11-20T10:00:00Z");
    const pct = discountCodeBasicInput({
      code: "BACK-AAAA2222",
      incentive: { type: "percentage", value: 15, expiresDays: 7 },
      shopCurrency: "USD",
      checkoutName: "#1001",
      now,
    });
    expect(pct).toMatchObject({
      code: "BACK-AAAA2222",
      usageLimit: 1,
      startsAt: "2026-11-20T10:00:00.000Z",
      endsAt: "2026-11-27T10:00:00.000Z",
      context: { all: "ALL" },
      customerGets: { value: { percentage: 0.15 }, items: { all: true } },
    });
    const fixed = discountCodeBasicInput({
      code: "BACK-BBBB3333",
      incentive: { type: "fixed_amount", value: 500, expiresDays: 3 },
      shopCurrency: "JPY",
      checkoutName: null,
      now,
    });
    expect(fixed.customerGets.value).toEqual({ discountAmount: { amount: "500", appliesOnEachItem: false } });
  });

  it("formats decimal amounts without floating point", () => {
    expect(decimalString(5, "USD")).toBe("0.05");
    expect(decimalString(123456, "KWD")).toBe("123.456");
    expect(decimalString(-150, "EUR")).toBe("-1.50");
  });

  it("applies the code through the storefront and redirects to the recovery path", () => {
    const url = storefrontDiscountUrl("acme.myshopify.com", "BACK-AB23", "https://acme.myshopify.com/123/checkouts/ac/tok/recover?key=k1&locale=en");
    expect(url).toBe("https://acme.myshopify.com/discount/BACK-AB23?redirect=%2F123%2Fcheckouts%2Fac%2Ftok%2Frecover%3Fkey%3Dk1%26locale%3Den");
  });
});
