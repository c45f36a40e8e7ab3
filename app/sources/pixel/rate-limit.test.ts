import { describe, expect, it } from "vitest";
import { TokenBuckets } from "./rate-limit.server";

describe("token buckets", () => {
  it("allows a burst of `capacity`, refuses the next with how long to wait, and refills at the given rate", () => {
    const buckets = new TokenBuckets({ capacity: 3, refillPerSecond: 0.5 });
    const t = 1_000_000;
    expect([1, 2, 3].map(() => buckets.take("a", t).ok)).toEqual([true, true, true]);
    expect(buckets.take("a", t)).toEqual({ ok: false, retryAfterSeconds: 2 });
    expect(buckets.take("a", t + 1_000).ok).toBe(false); // half a token
    expect(buckets.take("a", t + 2_000).ok).toBe(true);
    expect(buckets.take("a", t + 2_000).ok).toBe(false);
  });

  it("keys are independent, and a refused request does not dig the hole deeper", () => {
    const buckets = new TokenBuckets({ capacity: 1, refillPerSecond: 1 });
    expect(buckets.take("a", 0).ok).toBe(true);
    for (let i = 0; i < 50; i++) expect(buckets.take("a", 10).ok).toBe(false);
    expect(buckets.take("b", 10).ok).toBe(true);
    expect(buckets.take("a", 1_000).ok).toBe(true);
  });

  it("never refills past capacity", () => {
    const buckets = new TokenBuckets({ capacity: 2, refillPerSecond: 100 });
    buckets.take("a", 0);
    const later = 3_600_000;
    expect([1, 2, 3].map(() => buckets.take("a", later).ok)).toEqual([true, true, false]);
  });

  it("keeps memory bounded by dropping the least recently used keys", () => {
    const buckets = new TokenBuckets({ capacity: 1, refillPerSecond: 0.001 }, 100);
    for (let i = 0; i < 1_000; i++) buckets.take(`client-${i}`, 0);
    expect(buckets.size).toBe(100);
    // The most recent keys are still limited; a dropped one starts full again (as it would have refilled).
    expect(buckets.take("client-999", 0).ok).toBe(false);
    expect(buckets.take("client-0", 0).ok).toBe(true);
  });
});
