/**
 * Token buckets in memory, one per key (a shop, a client address): `capacity` requests at once, refilled at
 * `refillPerSecond`. Single-process by design, like the rest of the deployment (docs/decisions/002, 050): with several
 * web processes each would allow its own share, and a restart forgets every bucket — acceptable for a limit whose job
 * is to keep one shop's or one client's flood from crowding out everyone else, not to meter anything exactly.
 * Memory is bounded: the least recently used keys are dropped past `maxKeys` (a dropped bucket would have refilled).
 */
export interface RateLimit {
  capacity: number;
  refillPerSecond: number;
}

export type Take = { ok: true } | { ok: false; retryAfterSeconds: number };

export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    readonly limit: RateLimit,
    private readonly maxKeys = 50_000,
  ) {}

  take(key: string, nowMs: number): Take {
    const { capacity, refillPerSecond } = this.limit;
    const bucket = this.buckets.get(key) ?? { tokens: capacity, at: nowMs };
    const tokens = Math.min(capacity, bucket.tokens + (Math.max(0, nowMs - bucket.at) / 1000) * refillPerSecond);
    // Re-inserted so the Map's order is least recently used first.
    this.buckets.delete(key);
    if (tokens < 1) {
      this.buckets.set(key, { tokens, at: nowMs });
      return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - tokens) / refillPerSecond)) };
    }
    this.buckets.set(key, { tokens: tokens - 1, at: nowMs });
    while (this.buckets.size > this.maxKeys) this.buckets.delete(this.buckets.keys().next().value!);
    return { ok: true };
  }

  get size(): number {
    return this.buckets.size;
  }
}
