import { describe, expect, it } from "vitest";
import { CostPacer, retryBackoffMs } from "~/sources/shopify/cost-pacer";
import { LeakyBucket } from "../../app/demo/fakes/shopify-admin";

const status = (currentlyAvailable: number, maximumAvailable = 2000, restoreRate = 100) => ({
  requestedQueryCost: 10,
  actualQueryCost: 5,
  throttleStatus: { maximumAvailable, currentlyAvailable, restoreRate },
});
const page = { fixed: 2, perItem: 48 };

describe("cost pacer", () => {
  it("starts with a small first page, before any response has shown the bucket", () => {
    const pacer = new CostPacer();
    const plan = pacer.planPage(page, 250, 0);
    expect(plan.waitMs).toBe(0);
    expect(plan.cost).toBeLessThanOrEqual(250);
  });

  it("sizes a full page under the 1,000-point single-query cap, whatever the plan's bucket", () => {
    for (const [max, rate] of [
      [2000, 100],
      [10_000, 1000],
      [20_000, 20_000],
    ] as const) {
      const pacer = new CostPacer();
      pacer.observe(status(max, max, rate), 0);
      const plan = pacer.planPage(page, 250, 0);
      expect(plan.cost).toBeLessThanOrEqual(1000);
      expect(plan.first).toBe(20); // 2 + 20 × 48 = 962
      expect(plan.waitMs).toBe(0);
    }
  });

  it("never asks for more than a small bucket can hold (leaving the reserve)", () => {
    const pacer = new CostPacer();
    pacer.observe(status(400, 400, 20), 0);
    const plan = pacer.planPage(page, 250, 0);
    expect(plan.cost).toBeLessThanOrEqual(400 - pacer.reserve);
  });

  it("sends a smaller page when the bucket is low, and waits only when it cannot hold a quarter page", () => {
    const pacer = new CostPacer();
    pacer.observe(status(600), 0);
    const partial = pacer.planPage(page, 250, 0);
    expect(partial.waitMs).toBe(0);
    expect(partial.first).toBe(10); // (600 − 100 reserve − 2) / 48
    pacer.observe(status(150), 0);
    const wait = pacer.planPage(page, 250, 0);
    expect(wait.first).toBe(5);
    // needs 242 + 100 reserve, has 150: (192 + 1) points at 100/s
    expect(wait.waitMs).toBe(Math.ceil((193 / 100) * 1000) + 5);
    // After that wait the page fits.
    expect(pacer.planPage(page, 250, wait.waitMs).waitMs).toBe(0);
  });

  it("projects the bucket refilling at the reported restore rate, up to its size", () => {
    const pacer = new CostPacer({ reservePoints: 0 });
    pacer.observe(status(0, 2000, 100), 1000);
    expect(pacer.available(1000)).toBe(0);
    expect(pacer.available(3000)).toBe(200);
    expect(pacer.available(1_000_000)).toBe(2000);
  });

  it("after THROTTLED waits (requested − available) / restoreRate", () => {
    const pacer = new CostPacer({ reservePoints: 0 });
    const wait = pacer.waitAfterThrottle(500, status(100, 1000, 50), 0);
    expect(wait).toBe(Math.ceil((401 / 50) * 1000) + 5);
  });

  it("learns when Shopify charges less than the documented rule and sends bigger pages", () => {
    const pacer = new CostPacer();
    pacer.observe(status(2000), 0);
    pacer.learn("page", 962, 96); // Shopify asked for a tenth
    const plan = pacer.planPage(pacer.scaled("page", page), 250, 0);
    expect(plan.first).toBeGreaterThan(200);
    expect(plan.cost).toBeLessThanOrEqual(1000);
  });

  it("paced against a simulated leaky bucket, drains it without a single THROTTLED at the restore rate", () => {
    // A bucket like Shopify's (charged requested, refunded to actual) and a client that follows the plan.
    let now = 0;
    const bucket = new LeakyBucket({ maximumAvailable: 2000, restoreRate: 100, now: () => now });
    const pacer = new CostPacer();
    let throttled = 0;
    let charged = 0;
    let items = 0;
    while (items < 500) {
      const plan = pacer.planPage(page, 250, now);
      now += plan.waitMs;
      if (!bucket.tryTake(plan.cost)) {
        throttled++;
        pacer.waitAfterThrottle(plan.cost, { requestedQueryCost: plan.cost, actualQueryCost: null, throttleStatus: bucket.status() }, now);
        continue;
      }
      const actual = 2 + plan.first * 25; // smaller than requested, like real carts
      bucket.refund(plan.cost - actual);
      charged += actual;
      items += plan.first;
      now += 40; // request + storing the page
      pacer.observe({ requestedQueryCost: plan.cost, actualQueryCost: actual, throttleStatus: bucket.status() }, now);
    }
    expect(throttled).toBe(0);
    const lowerBoundMs = ((charged - 2000) / 100) * 1000;
    expect(now / lowerBoundMs).toBeLessThan(1.06);
  });
});

describe("retry backoff", () => {
  it("grows exponentially with ±50 % jitter and a cap", () => {
    expect(retryBackoffMs(1, () => 0.5)).toBe(1000);
    expect(retryBackoffMs(3, () => 0.5)).toBe(4000);
    expect(retryBackoffMs(3, () => 0)).toBe(2000);
    expect(retryBackoffMs(3, () => 0.999)).toBeLessThan(6000);
    expect(retryBackoffMs(20, () => 0.5)).toBe(60_000);
  });
});
