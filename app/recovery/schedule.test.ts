import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  campaignFilterMismatch,
  chooseCampaign,
  MAX_CATCH_UP_MS,
  parseCurrencies,
  planMessages,
  stepSpacingWarnings,
  type CampaignForScheduling,
} from "./schedule";

const T0 = new Date("2026-11-20T10:00:00Z");
const H = 3_600_000;

function campaign(overrides: Partial<CampaignForScheduling> = {}): CampaignForScheduling {
  return {
    id: "c-default",
    name: "Default",
    enabled: true,
    isDefault: true,
    createdAt: new Date("2026-01-01T00:00:00Z"),
    minCartMinor: null,
    currencies: [],
    sources: "both",
    steps: [
      { id: "s1", position: 1, delayMinutes: 60 },
      { id: "s2", position: 2, delayMinutes: 24 * 60 },
      { id: "s3", position: 3, delayMinutes: 72 * 60 },
    ],
    ...overrides,
  };
}
const recovery = { source: "shopify" as const, totalMinor: 5000, currency: "EUR", abandonedAt: T0 };

describe("campaign filters", () => {
  it.each([
    [{ sources: "stripe" as const }, /stripe checkouts only/],
    [{ currencies: ["USD", "CAD"] }, /USD, CAD only/],
    [{ minCartMinor: 10_000 }, /at least €100\.00/],
    [{ enabled: false }, /turned off/],
    [{ steps: [] }, /no steps/],
  ])("%o excludes the recovery", (overrides, message) => {
    expect(campaignFilterMismatch(campaign(overrides), recovery)).toMatch(message);
  });

  it.each([[{}], [{ sources: "shopify" as const }], [{ currencies: ["EUR"] }], [{ minCartMinor: 5000 }]])("%o includes it", (overrides) => {
    expect(campaignFilterMismatch(campaign(overrides), recovery)).toBeNull();
  });

  it("a specific campaign wins over the default; the default catches the rest", () => {
    const big = campaign({ id: "big", name: "Big carts", isDefault: false, minCartMinor: 20_000 });
    const stripe = campaign({ id: "stripe", name: "Stripe", isDefault: false, sources: "stripe" });
    const all = [campaign(), big, stripe];
    expect(chooseCampaign(all, { ...recovery, totalMinor: 30_000 }).campaign?.id).toBe("big");
    expect(chooseCampaign(all, { ...recovery, source: "stripe" }).campaign?.id).toBe("stripe");
    expect(chooseCampaign(all, recovery).campaign?.id).toBe("c-default");
    const none = chooseCampaign([big], recovery);
    expect(none.campaign).toBeNull();
    expect("detail" in none && none.detail).toMatch(/No campaign matches/);
  });

  it("parses the stored currency list", () => {
    expect(parseCurrencies(" usd, EUR,,x ")).toEqual(["USD", "EUR"]);
  });
});

describe("planMessages", () => {
  it("schedules each step its delay after the abandonment", () => {
    const plan = planMessages(campaign(), T0, new Date(T0.getTime() + 5 * 60_000));
    expect(plan.kind).toBe("scheduled");
    expect(plan.kind === "scheduled" && plan.messages.map((m) => m.scheduledFor.toISOString())).toEqual([
      "2026-11-20T11:00:00.000Z",
      "2026-11-21T10:00:00.000Z",
      "2026-11-23T10:00:00.000Z",
    ]);
  });

  it("a late-detected recovery starts now and keeps the spacing", () => {
    const now = new Date(T0.getTime() + 25 * H);
    const plan = planMessages(campaign(), T0, now);
    expect(plan.kind === "scheduled" && plan.messages.map((m) => (m.scheduledFor.getTime() - now.getTime()) / H)).toEqual([0, 23, 71]);
  });

  it("too old to start: nothing scheduled, with a reason", () => {
    const plan = planMessages(campaign(), T0, new Date(T0.getTime() + H + MAX_CATCH_UP_MS + 1));
    expect(plan).toMatchObject({ kind: "none", reason: "too_old" });
  });

  it("property: messages are in step order, never before now, spaced like the steps", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 5, max: 60 * 24 * 30 }), { minLength: 1, maxLength: 6 }),
        fc.integer({ min: 0, max: 60 * 60 }),
        (delays, minutesLate) => {
          const sorted = [...delays].sort((a, b) => a - b);
          const c = campaign({ steps: sorted.map((d, i) => ({ id: `s${i}`, position: i + 1, delayMinutes: d })) });
          const now = new Date(T0.getTime() + minutesLate * 60_000);
          const plan = planMessages(c, T0, now);
          if (plan.kind !== "scheduled") return;
          plan.messages.forEach((m, i) => {
            expect(m.scheduledFor.getTime()).toBeGreaterThanOrEqual(Math.min(now.getTime(), T0.getTime() + sorted[i]! * 60_000));
            if (i > 0) expect(m.scheduledFor.getTime() - plan.messages[i - 1]!.scheduledFor.getTime()).toBe((sorted[i]! - sorted[i - 1]!) * 60_000);
          });
        },
      ),
    );
  });

  it("warns about steps that are not later than the previous one", () => {
    expect(
      stepSpacingWarnings([
        { position: 1, delayMinutes: 60 },
        { position: 2, delayMinutes: 60 },
      ]),
    ).toHaveLength(1);
    expect(stepSpacingWarnings(campaign().steps)).toEqual([]);
  });
});
