/**
 * Pure pacing for Shopify's calculated-cost rate limit (docs/decisions/031-cost-pacing.md).
 *
 * Shopify keeps a leaky bucket per app and shop: a query needs its *requested* cost available up front, is charged
 * its *actual* cost, and points flow back at `restoreRate` per second up to `maximumAvailable`. Every response
 * reports `extensions.cost.throttleStatus`, so the pacer never guesses the plan: it projects what is available now
 * from the last status, and
 * - sizes pages so a request never asks for more than the single-query cap (1,000) or the bucket can ever hold;
 * - sends a full page when the bucket holds one, a smaller page (down to a quarter) when it holds less, and
 *   otherwise says how long to wait — so the bucket is drained to a small reserve and then kept flowing at the
 *   restore rate, without ever asking for more than is there (no THROTTLED in normal operation);
 * - learns what Shopify really charges from `requestedQueryCost` (live costs can be lower than the documented rule).
 * Time is passed in (ms), so tests and the benchmark drive it with their own clocks.
 */

export interface ThrottleStatus {
  maximumAvailable: number;
  currentlyAvailable: number;
  restoreRate: number;
}

/** `extensions.cost` of a response. */
export interface QueryCost {
  requestedQueryCost: number | null;
  actualQueryCost: number | null;
  throttleStatus?: ThrottleStatus | null;
}

export interface PacerOptions {
  /** Shopify's single-query limit on requested cost (1,000 on every plan today). */
  maxQueryCost?: number;
  /** Points left in the bucket for the app's other Admin calls (discount codes, consent mirroring). */
  reservePoints?: number;
  /** The smallest page worth sending, as a share of a full page, when the bucket is low. */
  minPageShare?: number;
  /**
   * What the first request may ask for, before any response has shown the bucket (default 250: a quarter of the
   * cap, so a shop whose bucket is small or already drained by another process is not hit with a full page).
   */
  firstRequestBudget?: number;
}

/** How a request's requested cost grows with its page size: fixed + items × perItem. */
export interface CostModel {
  fixed: number;
  perItem: number;
}

export interface PagePlan {
  /** items to ask for */
  first: number;
  /** estimated requested cost of that page */
  cost: number;
  /** wait this long first (ms); 0 = send now */
  waitMs: number;
}

export class CostPacer {
  maxQueryCost: number;
  private readonly firstRequestBudget: number;
  private readonly reserveOption: number | undefined;
  private readonly minPageShare: number;
  private status: ThrottleStatus | null = null;
  private observedAt = 0;
  /** requested cost Shopify charged ÷ what the documented rule predicts, per kind of request */
  private readonly scale = new Map<string, number>();

  constructor(options: PacerOptions = {}) {
    this.maxQueryCost = options.maxQueryCost ?? 1000;
    this.reserveOption = options.reservePoints;
    this.minPageShare = options.minPageShare ?? 0.25;
    this.firstRequestBudget = options.firstRequestBudget ?? 250;
  }

  /** MAX_COST_EXCEEDED reported a lower single-query cap than assumed. */
  observeMaxCost(maxCost: number | null | undefined): void {
    if (maxCost && maxCost > 0) this.maxQueryCost = maxCost;
  }

  /** Records the bucket as a response reported it. `atMs` = when the response arrived. */
  observe(cost: QueryCost | null | undefined, atMs: number): void {
    const s = cost?.throttleStatus;
    if (!s || !(s.maximumAvailable > 0) || !(s.restoreRate > 0) || !Number.isFinite(s.currentlyAvailable)) return;
    this.status = { maximumAvailable: s.maximumAvailable, currentlyAvailable: s.currentlyAvailable, restoreRate: s.restoreRate };
    this.observedAt = atMs;
  }

  /** Learns the ratio between what Shopify requested and what the model estimated for a kind of request. */
  learn(kind: string, estimated: number, requested: number | null | undefined): void {
    if (!requested || !(estimated > 0)) return;
    this.scale.set(kind, Math.min(10, Math.max(0.01, requested / estimated)));
  }

  /** The model for a kind of request, scaled by what Shopify has been charging for it. */
  scaled(kind: string, model: CostModel): CostModel {
    const k = this.scale.get(kind) ?? 1;
    return { fixed: model.fixed * k, perItem: model.perItem * k };
  }

  get throttleStatus(): ThrottleStatus | null {
    return this.status && { ...this.status };
  }

  /** Points kept free for other callers: 5 % of the bucket, between 20 and 100 (100 of a 2,000-point bucket). */
  get reserve(): number {
    if (this.reserveOption !== undefined) return this.reserveOption;
    if (!this.status) return 0;
    return Math.max(20, Math.min(100, Math.floor(this.status.maximumAvailable * 0.05)));
  }

  /** The most one request may ask for: the single-query cap, or less on a smaller bucket. */
  get budget(): number {
    if (!this.status) return this.maxQueryCost;
    return Math.max(1, Math.min(this.maxQueryCost, this.status.maximumAvailable - this.reserve));
  }

  /** Projected points available at `atMs` above the reserve (before the first response: the first-request budget). */
  available(atMs: number): number {
    if (!this.status) return this.firstRequestBudget;
    const restored = (Math.max(0, atMs - this.observedAt) / 1000) * this.status.restoreRate;
    return Math.min(this.status.maximumAvailable, this.status.currentlyAvailable + restored) - this.reserve;
  }

  /** How long to wait before a request that asks for `cost` points. */
  waitMs(cost: number, atMs: number): number {
    const missing = Math.min(cost, this.budget) - this.available(atMs);
    if (missing <= 0 || !this.status) return 0;
    // +1 point and a few ms: the server floors currentlyAvailable and our clock is not its clock.
    return Math.ceil(((missing + 1) / this.status.restoreRate) * 1000) + 5;
  }

  /**
   * How long a small call from outside the sync (a send-time look-up) must wait for `cost` points: unlike the sync's
   * pages it may use the reserve the sync leaves free for such calls, but never more than the bucket holds.
   */
  waitMsForSmallCall(cost: number, atMs: number): number {
    if (!this.status) return 0;
    const missing = cost - (this.available(atMs) + this.reserve);
    if (missing <= 0) return 0;
    return Math.ceil(((missing + 1) / this.status.restoreRate) * 1000) + 5;
  }

  /** Largest page that fits under the budget. */
  fullPage(model: CostModel, maxItems: number): number {
    return clamp(Math.floor((this.budget - model.fixed) / model.perItem), 1, maxItems);
  }

  /**
   * Plans the next page: a full page if the bucket holds it; else as large a page as it holds, if that is at
   * least `minPageShare` of a full page; else the wait until it holds that smallest page.
   */
  planPage(model: CostModel, maxItems: number, atMs: number): PagePlan {
    const full = this.fullPage(model, maxItems);
    const cost = (n: number) => Math.ceil(model.fixed + n * model.perItem);
    const available = this.available(atMs);
    if (available >= cost(full)) return { first: full, cost: cost(full), waitMs: 0 };
    const smallest = Math.max(1, Math.ceil(full * this.minPageShare));
    const fits = clamp(Math.floor((available - model.fixed) / model.perItem), 0, full);
    if (fits >= smallest) return { first: fits, cost: cost(fits), waitMs: 0 };
    return { first: smallest, cost: cost(smallest), waitMs: this.waitMs(cost(smallest), atMs) };
  }

  /**
   * After THROTTLED: the response's throttleStatus says what is available; wait until `requested` is
   * (Shopify: "wait (requested − available) / restoreRate"). Falls back to one second without a status.
   */
  waitAfterThrottle(requested: number, cost: QueryCost | null | undefined, atMs: number): number {
    this.observe(cost, atMs);
    if (!this.status) return 1000;
    return Math.max(this.waitMs(requested, atMs), 50);
  }
}

function clamp(n: number, lo: number, hi: number): number {
  return Math.max(lo, Math.min(hi, n));
}

/**
 * Backoff before retry `attempt` (1 = first retry) after a 5xx, network error or timeout: exponential from
 * `baseMs`, capped, with ±50 % jitter so many shops' jobs do not retry in step.
 */
export function retryBackoffMs(attempt: number, random: () => number = Math.random, baseMs = 1000, capMs = 60_000): number {
  const exp = Math.min(capMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exp * (0.5 + random()));
}
