// Shopify's leaky bucket for calculated query cost, one per app+shop.
// Before a query runs the bucket must hold its requested cost, which is taken; after it runs the
// difference between requested and actual cost is given back. Points flow back in continuously
// at `restoreRate` per second, up to `maximumAvailable`.

export interface ThrottleStatus {
  maximumAvailable: number;
  currentlyAvailable: number;
  restoreRate: number;
}

export interface BucketOptions {
  /** bucket size in points (default 2000) */
  maximumAvailable?: number;
  /** points restored per second (default 100, the Standard plan rate) */
  restoreRate?: number;
  /** clock in ms; default Date.now */
  now?: () => number;
}

export class LeakyBucket {
  readonly maximumAvailable: number;
  readonly restoreRate: number;
  private available: number;
  private updatedAt: number;
  private readonly now: () => number;

  constructor(options: BucketOptions = {}) {
    this.maximumAvailable = options.maximumAvailable ?? 2000;
    this.restoreRate = options.restoreRate ?? 100;
    this.now = options.now ?? Date.now;
    this.available = this.maximumAvailable;
    this.updatedAt = this.now();
  }

  private refill(): void {
    const now = this.now();
    // Multiply before dividing so whole-millisecond clocks give exact whole points.
    const restored = (Math.max(0, now - this.updatedAt) * this.restoreRate) / 1000;
    this.available = Math.min(this.maximumAvailable, this.available + restored);
    this.updatedAt = now;
  }

  /** Takes `cost` points if the bucket holds them; returns false (and takes nothing) otherwise. */
  tryTake(cost: number): boolean {
    this.refill();
    if (cost > this.available) return false;
    this.available -= cost;
    return true;
  }

  /** Gives points back (the requested − actual refund). */
  refund(points: number): void {
    this.refill();
    this.available = Math.min(this.maximumAvailable, this.available + Math.max(0, points));
  }

  /** Points available now, unrounded. */
  currentlyAvailable(): number {
    this.refill();
    return this.available;
  }

  /** Empties or sets the bucket (tests). */
  set(points: number): void {
    this.refill();
    this.available = Math.max(0, Math.min(this.maximumAvailable, points));
  }

  /**
   * The `throttleStatus` object. `currentlyAvailable` is rounded down to a whole point so that a
   * client never sees more than it could spend.
   */
  status(): ThrottleStatus {
    return {
      maximumAvailable: this.maximumAvailable,
      currentlyAvailable: Math.floor(this.currentlyAvailable()),
      restoreRate: this.restoreRate,
    };
  }
}
