import { describe, expect, it } from "vitest";
import {
  addConversion,
  countsAsRecovered,
  currencySummary,
  isBought,
  periodBounds,
  rateText,
  recoveredAmountMinor,
  statusAfterLinkPurchase,
  type RecoveredByCurrency,
} from "./recovered";
import { stepOrderProblem } from "./schedule";

describe("the one definition of recovered (docs/decisions/082)", () => {
  it("counts a purchase only after a Reclaim email, and only while it stands", () => {
    expect(countsAsRecovered({ messageId: "m1", reversedAt: null })).toBe(true);
    // Bought without an email before it: kept on the recovery, never counted.
    expect(countsAsRecovered({ messageId: null, reversedAt: null })).toBe(false);
    // Cancelled, refunded in full or disputed.
    expect(countsAsRecovered({ messageId: "m1", reversedAt: new Date() })).toBe(false);
    expect(recoveredAmountMinor({ amountMinor: 5000n, refundedMinor: 1500n })).toBe(3500);
  });

  it("a checkout bought without any email is 'purchased', not 'recovered'", () => {
    expect(statusAfterLinkPurchase(true)).toBe("recovered");
    expect(statusAfterLinkPurchase(false)).toBe("purchased");
    expect(isBought("purchased") && isBought("recovered") && !isBought("lost")).toBe(true);
  });

  it("summarises other currencies beside the selected one instead of dropping or adding them", () => {
    const by: RecoveredByCurrency = {};
    addConversion(by, "link", "USD", 51, 1_549_638);
    addConversion(by, "link", "AUD", 1, 4699);
    addConversion(by, "link", "SEK", 1, 31_793);
    addConversion(by, "window", "USD", 3, 9900);
    const s = currencySummary(by, "link", "USD", "en");
    expect(s.text).toBe("51 · $15,496.38");
    expect(s.othersText?.replace(/\u00a0/g, " ")).toBe("+ 2 other currencies: A$46.99, SEK 317.93");
    expect(currencySummary(by, "window", "USD", "en").othersText).toBeNull();
    // A currency with nothing selected shows zero in it, and everything else beside it.
    expect(currencySummary(by, "link", "EUR", "en").text).toBe("0 · €0.00");
    expect(currencySummary(by, "link", "EUR", "en").others.map((o) => o.currency)).toEqual(["AUD", "SEK", "USD"]);
  });

  it("every rate says what it divides", () => {
    expect(rateText(6, 50, "abandoned carts", "en")).toBe("12% of abandoned carts (6 of 50)");
    expect(rateText(0, 0, "abandoned carts", "en")).toBe("— of abandoned carts");
  });

  it("the period is whole UTC days ending today", () => {
    const b = periodBounds(30, new Date("2026-12-15T18:30:00Z"));
    expect(b).toMatchObject({ fromDay: "2026-11-16", toDay: "2026-12-15" });
    expect(b.from.toISOString()).toBe("2026-11-16T00:00:00.000Z");
    expect(b.to.toISOString()).toBe("2026-12-16T00:00:00.000Z");
  });
});

describe("steps stay in order", () => {
  const steps = [
    { id: "s1", position: 1, delayMinutes: 60 },
    { id: "s2", position: 2, delayMinutes: 24 * 60 },
    { id: "s3", position: 3, delayMinutes: 72 * 60 },
  ];
  it("refuses Email 2 before (or with) Email 1, and Email 1 after Email 2, in words", () => {
    expect(stepOrderProblem(steps, "s2", 30)).toBe("Email 2 must be sent after Email 1 (1 hour after abandonment): use a delay longer than 1 hour");
    expect(stepOrderProblem(steps, "s2", 60)).toMatch(/^Email 2 must be sent after Email 1/);
    expect(stepOrderProblem(steps, "s1", 30 * 60)).toBe(
      "Email 1 must be sent before Email 2 (24 hours after abandonment): use a delay shorter than 24 hours, or change Email 2 first",
    );
  });
  it("accepts a delay between its neighbours", () => {
    expect(stepOrderProblem(steps, "s2", 2 * 60)).toBeNull();
    expect(stepOrderProblem(steps, "s3", 100 * 60)).toBeNull();
    expect(stepOrderProblem(steps, "s1", 5)).toBeNull();
  });
});
