/** What a Shopify sync run is given and what it reports: options, counters, results, failures and their texts. */
import type { AdminGraphql } from "./admin-client.server";
import type { CostPacer } from "./cost-pacer";

export const SHOPIFY_SOURCE = "shopify";

/** Merchant-facing texts (shown on the dashboard as they are). */
export const SYNC_MESSAGES = {
  emailsHidden:
    "emails hidden: protected customer data access not granted. Reclaim still records abandoned checkouts, but can only email buyers whose address arrives with Shopify's checkout notifications.",
  namesHidden: "customer names hidden: protected customer data access not granted. Emails will greet buyers without their name.",
  accessDenied:
    "Reclaim can't read abandoned checkouts: Shopify refused access. The app needs the read_orders permission (reinstall Reclaim to grant it), and the staff account that installed it needs the “Manage abandoned checkouts” permission.",
  unauthorized: "Reclaim has lost access to your store. Open Reclaim from your Shopify admin to reconnect it.",
  transient: (detail: string) => `Shopify did not answer (${detail}). Reclaim retries automatically.`,
  failed: (detail: string) => `Reclaim could not read abandoned checkouts from Shopify (${detail}). Reclaim retries automatically.`,
} as const;

export interface SyncHookInfo {
  phase: "poll" | "backfill";
  /** pages (or bulk batches) stored in this phase so far, this one included */
  page: number;
}

export interface ShopifySyncOptions {
  now?: () => Date;
  /**
   * When the previous run's poll finished, if this run only comes back for the backfill (a bulk operation being built,
   * the next slice): within the shop's interval the poll is not run again (its recent checkouts were just read).
   */
  lastPollFinishedAt?: Date | null;
  /** Waits (pacing, backoff). Tests pass one that moves a virtual clock; the benchmark uses real time. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  random?: () => number;
  /** Default: the shop's offline session through `unauthenticated.admin`. */
  graphql?: AdminGraphql;
  /**
   * Downloads a bulk result file; `headers` carries `Range: bytes=<offset>-` when a backfill resumes part-way.
   * Default: fetch.
   */
  download?: (url: string, signal: AbortSignal, headers?: Record<string, string>) => Promise<Response>;
  /** Default: one per shop and process, so a run starts with what the last one learned about the bucket. */
  pacer?: CostPacer;
  signal?: AbortSignal;
  /** Per Admin API request; default 30 s. */
  requestTimeoutMs?: number;
  /** A run stops starting new pages after this long and asks to be run again at once; default 2 minutes. */
  maxRunMs?: number;
  /** Line items read with each checkout; more are read in follow-up requests. Default 10. */
  lineItemsPerCheckout?: number;
  /** How far before the watermark each poll starts (clock skew, search index lag); default 2 minutes. */
  overlapMs?: number;
  /** Tries per request on 5xx, 429, network errors and timeouts; default 5. */
  maxAttempts?: number;
  /** Backfill through a bulk operation (default) or paced pages. */
  backfillMode?: "bulk" | "paged";
  /** How soon to look at a running bulk operation again; default 5 s. */
  bulkPollIntervalMs?: number;
  /** Bulk results are stored in batches of this many checkouts, each with its progress; default 250 (a page). */
  bulkBatchSize?: number;
  /**
   * Test seams. `beforeCommit`: inside the transaction that stores a page (or bulk batch) and saves its progress, after
   * both (throwing there rolls both back). `pageStored`: after that transaction committed.
   */
  hooks?: {
    beforeCommit?: (info: SyncHookInfo) => void | Promise<void>;
    pageStored?: (info: SyncHookInfo) => void | Promise<void>;
  };
}

export interface SyncStats {
  requests: number;
  throttled: number;
  retries: number;
  pages: number;
  lineItemRequests: number;
  checkouts: number;
  backfillCheckouts: number;
  /** read again but already stored as they are (not written) */
  unchanged: number;
  skipped: number;
  /** time spent waiting on Shopify (requests, not pacing), and storing checkouts, ms */
  apiMs: number;
  storeMs: number;
  waitMs: number;
}

export interface ShopifySyncResult {
  outcome: "ok" | "failed" | "skipped";
  /** when the job should run next (ms from now) */
  nextRunInMs: number;
  /** true while the poll or the backfill has work left */
  more: boolean;
  stats: SyncStats;
  error?: string;
  note?: string | null;
  /** When this run's poll finished (or the earlier poll it relied on); null when the poll did not finish. */
  pollFinishedAt?: Date | null;
}

/** A failure that ends the run; `message` is for the merchant, `detail` for the log. */
export class SyncFailure extends Error {
  name = "SyncFailure";
  constructor(
    readonly kind: "transient" | "merchant" | "failed",
    message: string,
    readonly detail: string,
  ) {
    super(message);
  }
}
