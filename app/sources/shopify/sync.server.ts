/**
 * Background sync of a shop's abandoned checkouts from Admin GraphQL into Reclaim (issue 3).
 *
 * One run = the poll (checkouts changed since the watermark) and then, while the backfill is unfinished, one slice
 * of the backfill (a bulk operation, or paced pages). The poll always runs first and the backfill only gets what
 * time is left, so a large history never delays new checkouts. Decisions: docs/decisions/030–034.
 *
 * Every checkout goes through `ingestSourceEvent` (idempotent, order-independent), so reading a checkout twice —
 * the watermark overlap, a restart after a crash, a webhook that came first — never stores it twice.
 */
import type { PrismaClient, Shop, SourceSync } from "@prisma/client";
import { db as appDb } from "../../db.server";
import { env } from "../../env.server";
import { logger } from "../../logger.server";
import { ingestSourceEvent } from "../../models/ingest.server";
import {
  finishSyncRun,
  getOrCreateSourceSync,
  parseBackfill,
  parseSyncRun,
  recordSyncAttempt,
  recordSyncFailure,
  recordSyncSuccess,
  saveBackfill,
  saveSyncRun,
  type BackfillProgress,
  type SyncRun,
} from "../../models/source-sync.server";
import {
  ABANDONED_CHECKOUT_LINE_ITEMS,
  ABANDONED_CHECKOUTS_PAGE,
  abandonedCheckoutsBulkQuery,
  BULK_OPERATION_STATUS,
  createdBeforeFilter,
  createdSinceFilter,
  LINE_ITEMS_COST_MODEL,
  PAGE_COST_MODEL,
  RUN_BULK_QUERY,
  updatedSinceFilter,
} from "./abandoned-checkouts-query";
import { adminGraphqlFor, type AdminGraphql, type GraphqlErrorEntry } from "./admin-client.server";
import { BulkCheckoutAssembler, readLines, type AssembledCheckout } from "./bulk-jsonl";
import { CostPacer, retryBackoffMs, type CostModel, type QueryCost } from "./cost-pacer";
import { requestShopifySync } from "./sync-request.server";
import { checkoutNodeToEvent, CheckoutNodeError, type CheckoutNode, type LineItemNode } from "./to-source-event";
import { withCheckedShopifyLink } from "./recovery-url";

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
  /** Waits (pacing, backoff). Tests pass one that moves a virtual clock; the benchmark uses real time. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  random?: () => number;
  /** Default: the shop's offline session through `unauthenticated.admin`. */
  graphql?: AdminGraphql;
  /** Downloads a bulk result file. Default: fetch. */
  download?: (url: string, signal: AbortSignal) => Promise<Response>;
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
  /** Bulk results are stored in batches of this many checkouts (the progress written between); default 100. */
  bulkBatchSize?: number;
  /** Test seams: called after a page is stored and before its progress is written. */
  hooks?: { pageStored?: (info: SyncHookInfo) => void | Promise<void> };
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

const pacers = new Map<string, CostPacer>();
/** The pacer that remembers a shop's bucket between runs in this process. */
export function pacerForShop(domain: string): CostPacer {
  let pacer = pacers.get(domain);
  if (!pacer) pacers.set(domain, (pacer = new CostPacer()));
  return pacer;
}

function defaultSleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

const iso = (d: Date) => d.toISOString();
const later = (a: string | null, b: string | null) => (!a ? b : !b ? a : a > b ? a : b);

interface PageResult {
  checkouts: { node: CheckoutNode; lineItems: LineItemNode[] | null }[];
  hasNextPage: boolean;
  endCursor: string | null;
}

/** A run's counters before anything happened. */
function zeroSyncStats(): SyncStats {
  return {
    requests: 0,
    throttled: 0,
    retries: 0,
    pages: 0,
    lineItemRequests: 0,
    checkouts: 0,
    backfillCheckouts: 0,
    unchanged: 0,
    skipped: 0,
    apiMs: 0,
    storeMs: 0,
    waitMs: 0,
  };
}

/** Everything one run needs; lives for one run. */
class SyncRunContext {
  readonly stats: SyncStats = zeroSyncStats();
  readonly now: () => Date;
  readonly sleep: (ms: number) => Promise<void>;
  readonly random: () => number;
  readonly graphql: AdminGraphql;
  readonly pacer: CostPacer;
  readonly signal: AbortSignal | undefined;
  readonly deadline: number;
  readonly lineItems: number;
  private emailsDenied = false;
  private namesDenied = false;
  private customersSeen = 0;
  private customersWithEmail = 0;

  constructor(
    readonly db: PrismaClient,
    readonly shop: Shop,
    public state: SourceSync,
    readonly options: ShopifySyncOptions,
  ) {
    this.now = options.now ?? (() => new Date());
    const sleep = options.sleep ?? defaultSleep;
    this.signal = options.signal;
    this.sleep = (ms) => {
      this.stats.waitMs += ms;
      return sleep(ms, options.signal);
    };
    this.random = options.random ?? Math.random;
    this.graphql = options.graphql ?? adminGraphqlFor(shop.domain);
    this.pacer = options.pacer ?? pacerForShop(shop.domain);
    this.deadline = this.now().getTime() + (options.maxRunMs ?? 120_000);
    this.lineItems = Math.max(1, Math.min(250, options.lineItemsPerCheckout ?? 10));
  }

  /** Time to stop starting new work (the job asks to be run again at once). */
  outOfTime(): boolean {
    return this.signal?.aborted === true || this.now().getTime() >= this.deadline;
  }

  /**
   * Sends one request, paced: `build(first)` makes the variables for a page of `first` items, the pacer picks
   * `first` and the wait from the cost model and the bucket. Retries THROTTLED (after the wait the bucket needs),
   * 5xx/network/timeouts (backoff with jitter, up to maxAttempts), and MAX_COST_EXCEEDED (smaller page).
   */
  async call<T>(kind: string, query: string, model: CostModel, maxItems: number, build: (first: number) => Record<string, unknown>): Promise<T> {
    const maxAttempts = this.options.maxAttempts ?? 5;
    let failures = 0;
    let throttles = 0;
    let oversized = 0;
    for (;;) {
      if (this.signal?.aborted) throw new SyncFailure("transient", SYNC_MESSAGES.transient("the sync was stopped"), "aborted");
      const scaled = this.pacer.scaled(kind, model);
      let plan =
        model.perItem === 0
          ? { first: 1, cost: model.fixed, waitMs: this.pacer.waitMs(model.fixed, this.now().getTime()) }
          : this.pacer.planPage(scaled, maxItems, this.now().getTime());
      for (let i = 0; plan.waitMs > 0 && i < 5; i++) {
        await this.sleep(plan.waitMs);
        plan =
          model.perItem === 0
            ? { ...plan, waitMs: this.pacer.waitMs(model.fixed, this.now().getTime()) }
            : this.pacer.planPage(scaled, maxItems, this.now().getTime());
      }
      const estimated = model.fixed + plan.first * model.perItem;
      const sent = performance.now();
      const outcome = await this.graphql<T>(query, build(plan.first), { timeoutMs: this.options.requestTimeoutMs });
      this.stats.apiMs += performance.now() - sent;
      this.stats.requests += 1;
      const at = this.now().getTime();
      switch (outcome.kind) {
        case "ok":
          this.pacer.observe(outcome.cost, at);
          this.pacer.learn(kind, estimated, outcome.cost?.requestedQueryCost);
          this.noteDenied(outcome.denied);
          return outcome.data;
        case "throttled": {
          this.stats.throttled += 1;
          if (++throttles > 30) throw new SyncFailure("transient", SYNC_MESSAGES.transient("rate limited for too long"), "THROTTLED 30 times in a row");
          const requested = outcome.cost?.requestedQueryCost ?? plan.cost;
          await this.sleep(this.pacer.waitAfterThrottle(requested, outcome.cost, at));
          continue;
        }
        case "max_cost":
          // Shopify charges more than the model said: learn it and ask for a smaller page.
          if (++oversized > 3 || plan.first === 1) {
            throw new SyncFailure("failed", SYNC_MESSAGES.failed("a single checkout costs more than Shopify allows per request"), outcome.message);
          }
          if (outcome.maxCost && outcome.maxCost < this.pacer.maxQueryCost) this.pacer.observeMaxCost(outcome.maxCost);
          else this.pacer.learn(kind, estimated, Math.max(outcome.requested ?? 0, estimated * 2));
          continue;
        case "transient": {
          failures += 1;
          this.stats.retries += 1;
          const detail = outcome.status
            ? `HTTP ${outcome.status}`
            : outcome.message.includes("abort") || outcome.message.includes("timeout")
              ? "request timed out"
              : "network error";
          if (failures >= maxAttempts) throw new SyncFailure("transient", SYNC_MESSAGES.transient(detail), outcome.message);
          await this.sleep(outcome.retryAfterMs ?? retryBackoffMs(failures, this.random));
          continue;
        }
        case "access_denied":
          throw new SyncFailure("merchant", SYNC_MESSAGES.accessDenied, outcome.message);
        case "unauthorized":
          throw new SyncFailure("merchant", SYNC_MESSAGES.unauthorized, outcome.message);
        case "failed":
          throw new SyncFailure("failed", SYNC_MESSAGES.failed(shortDetail(outcome.message)), outcome.message);
      }
    }
  }

  private noteDenied(denied: GraphqlErrorEntry[]): void {
    for (const error of denied) {
      const path = (error.path ?? []).map(String);
      const last = path[path.length - 1] ?? "";
      if (["emailAddress", "defaultEmailAddress", "email"].includes(last) || /\bemail/i.test(error.message)) this.emailsDenied = true;
      else if (["firstName", "lastName", "displayName"].includes(last)) this.namesDenied = true;
    }
  }

  noteCustomers(nodes: CheckoutNode[]): void {
    for (const node of nodes) {
      if (!node.customer) continue;
      this.customersSeen += 1;
      if (node.customer.defaultEmailAddress?.emailAddress) this.customersWithEmail += 1;
    }
  }

  /**
   * The caveat to show after this run: emails hidden when Shopify refused them, or when many customers came back
   * and not one had an email (a shop whose access was never granted); null when emails were seen; undefined when
   * the run saw no customer at all (keep whatever was shown before).
   */
  note(): string | null | undefined {
    if (this.emailsDenied || (this.customersSeen >= 5 && this.customersWithEmail === 0)) return SYNC_MESSAGES.emailsHidden;
    if (this.namesDenied) return SYNC_MESSAGES.namesHidden;
    if (this.customersWithEmail > 0) return null;
    return undefined;
  }

  /** One page of checkouts matching `filter`, each with all its line items. */
  async fetchPage(filter: string, after: string | null): Promise<PageResult> {
    const L = this.lineItems;
    const model: CostModel = {
      fixed: PAGE_COST_MODEL.connection,
      perItem: PAGE_COST_MODEL.checkout + PAGE_COST_MODEL.lineItemsConnection + L * PAGE_COST_MODEL.lineItem,
    };
    type Page = { abandonedCheckouts: { pageInfo: { hasNextPage: boolean; endCursor: string | null }; nodes: CheckoutNode[] } };
    const data = await this.call<Page>(`page:${L}`, ABANDONED_CHECKOUTS_PAGE, model, 250, (first) => ({ first, after, query: filter, lineItems: L }));
    const connection = data?.abandonedCheckouts;
    if (!connection) throw new SyncFailure("failed", SYNC_MESSAGES.failed("an empty answer"), "abandonedCheckouts missing from data");
    this.stats.pages += 1;
    this.noteCustomers(connection.nodes);
    const checkouts: PageResult["checkouts"] = [];
    for (const node of connection.nodes) {
      const first = node.lineItems?.nodes ?? [];
      const more = node.lineItems?.pageInfo.hasNextPage ? await this.restOfLineItems(node.id, node.lineItems!.pageInfo.endCursor) : [];
      checkouts.push({ node, lineItems: more === null ? null : [...first, ...more] });
    }
    return { checkouts, hasNextPage: connection.pageInfo.hasNextPage, endCursor: connection.pageInfo.endCursor };
  }

  /** Line items beyond the first page; null if the checkout vanished meanwhile (keep what is stored). */
  async restOfLineItems(checkoutId: string, after: string | null): Promise<LineItemNode[] | null> {
    const items: LineItemNode[] = [];
    let cursor = after;
    const model: CostModel = { fixed: LINE_ITEMS_COST_MODEL.fixed, perItem: LINE_ITEMS_COST_MODEL.lineItem };
    type Data = { node: { lineItems: { pageInfo: { hasNextPage: boolean; endCursor: string | null }; nodes: LineItemNode[] } } | null };
    for (;;) {
      const data = await this.call<Data>("lineItems", ABANDONED_CHECKOUT_LINE_ITEMS, model, 50, (first) => ({ id: checkoutId, first, after: cursor }));
      this.stats.lineItemRequests += 1;
      const connection = data?.node?.lineItems;
      if (!connection) return null;
      items.push(...connection.nodes);
      if (!connection.pageInfo.hasNextPage) return items;
      cursor = connection.pageInfo.endCursor;
    }
  }

  /**
   * Stores checkouts one by one through the ingest port. A checkout already stored from an observation at least as
   * new (same gid, same or later updatedAt) is skipped without a write: re-reading it (the watermark overlap, a
   * restart) would change nothing, and the one query per page saves the ingest transaction for each.
   * Returns the newest updatedAt among the checkouts read.
   */
  async store(checkouts: { node: CheckoutNode; lineItems: LineItemNode[] | null }[], counter: "checkouts" | "backfillCheckouts"): Promise<string | null> {
    let newest: string | null = null;
    const started = performance.now();
    const known = new Map(
      (
        await this.db.recovery.findMany({
          where: { shopId: this.shop.id, source: SHOPIFY_SOURCE, externalId: { in: checkouts.map((c) => c.node?.id).filter(Boolean) } },
          select: { externalId: true, sourceUpdatedAt: true, completedAt: true },
        })
      ).map((r) => [r.externalId, r]),
    );
    for (const { node, lineItems } of checkouts) {
      let event;
      try {
        event = checkoutNodeToEvent(node, lineItems);
      } catch (error) {
        if (!(error instanceof CheckoutNodeError) && !(error instanceof RangeError)) throw error;
        this.stats.skipped += 1;
        logger.warn("shopify sync: unreadable checkout skipped", { shop: this.shop.domain, id: node?.id, error: (error as Error).message });
        continue;
      }
      newest = later(newest, event.updatedAt.toISOString());
      const stored = known.get(event.externalId);
      if (stored && stored.sourceUpdatedAt >= event.updatedAt && (stored.completedAt !== null || event.completedAt === null)) {
        this.stats.unchanged += 1;
        continue;
      }
      await ingestSourceEvent(this.db, this.shop.id, withCheckedShopifyLink(event, this.shop.domain, env.SHOPIFY_STOREFRONT_EXTRA_HOSTS), this.now());
      this.stats[counter] += 1;
    }
    this.stats.storeMs += performance.now() - started;
    return newest;
  }
}

function shortDetail(message: string): string {
  const line = message.split("\n")[0] ?? message;
  return line.length > 160 ? `${line.slice(0, 157)}…` : line;
}

/**
 * Where the watermark goes when a poll has stored its last page: the newest updatedAt it saw (Shopify's own clock),
 * but never later than the poll's start — a checkout updated behind the cursor during the poll has an updatedAt
 * after the start, so the next poll (which begins `overlap` earlier) still reads it — and, when nothing recent was
 * seen, at least the start minus the overlap, so a burst of changes is not read again on every poll forever.
 * Never backwards. null = leave it.
 */
export function nextWatermark(run: Pick<SyncRun, "startedAt" | "maxSeen">, previous: Date | null, overlapMs: number): Date | null {
  const started = Date.parse(run.startedAt);
  const seen = run.maxSeen ? Math.min(started, Date.parse(run.maxSeen)) : Number.NEGATIVE_INFINITY;
  const next = Math.max(seen, started - overlapMs);
  if (previous && next <= previous.getTime()) return null;
  return new Date(next);
}

/**
 * The poll: every checkout whose `updated_at` is at or after (watermark − overlap), in ID order, page by page.
 * Progress (cursor, newest updatedAt seen) is written after each stored page; the watermark moves once the last
 * page is stored (nextWatermark; docs/decisions/030).
 */
async function poll(ctx: SyncRunContext): Promise<"done" | "paused"> {
  const overlap = ctx.options.overlapMs ?? 2 * 60_000;
  let run: SyncRun = parseSyncRun(ctx.state) ?? {
    from: iso(new Date((ctx.state.watermark ?? ctx.shop.installedAt).getTime() - overlap)),
    startedAt: iso(ctx.now()),
    after: null,
    maxSeen: null,
    pages: 0,
  };
  let restartedCursor = false;
  for (;;) {
    if (ctx.outOfTime()) {
      ctx.state = await saveSyncRun(ctx.db, ctx.state.id, run);
      return "paused";
    }
    let page: PageResult;
    try {
      page = await ctx.fetchPage(updatedSinceFilter(new Date(run.from)), run.after);
    } catch (error) {
      // A saved cursor Shopify no longer accepts: start this poll's pages again (ingest is idempotent).
      if (error instanceof SyncFailure && error.kind === "failed" && run.after && /cursor/i.test(error.detail) && !restartedCursor) {
        restartedCursor = true;
        run = { ...run, after: null };
        continue;
      }
      throw error;
    }
    const newest = await ctx.store(page.checkouts, "checkouts");
    run = { ...run, after: page.endCursor ?? run.after, maxSeen: later(run.maxSeen, newest), pages: run.pages + 1 };
    await ctx.options.hooks?.pageStored?.({ phase: "poll", page: run.pages });
    if (!page.hasNextPage) {
      ctx.state = await finishSyncRun(ctx.db, ctx.state.id, nextWatermark(run, ctx.state.watermark, overlap));
      return "done";
    }
    ctx.state = await saveSyncRun(ctx.db, ctx.state.id, run);
  }
}

/** The backfill's window: checkouts created in the `backfillDays` before the sync started, up to then. */
function backfillWindow(ctx: SyncRunContext): { since: string; until: string } {
  const until = ctx.state.watermark ?? ctx.shop.installedAt;
  return { since: iso(new Date(until.getTime() - ctx.shop.backfillDays * 86_400_000)), until: iso(until) };
}

function backfillFilter(p: { since: string; until: string }): string {
  return `${createdSinceFilter(new Date(p.since))} AND ${createdBeforeFilter(new Date(p.until))}`;
}

type StepResult = { state: "done" } | { state: "paused" } | { state: "waiting"; ms: number };

/** Paced pages over the backfill window (the fallback when a bulk operation is not possible). */
async function pagedBackfill(ctx: SyncRunContext, progress: Extract<BackfillProgress, { mode: "paged" }>): Promise<StepResult> {
  let p = progress;
  let pages = 0;
  for (;;) {
    if (ctx.outOfTime()) return { state: "paused" };
    const page = await ctx.fetchPage(backfillFilter(p), p.after);
    await ctx.store(page.checkouts, "backfillCheckouts");
    p = { ...p, after: page.endCursor ?? p.after, done: p.done + page.checkouts.length };
    await ctx.options.hooks?.pageStored?.({ phase: "backfill", page: ++pages });
    if (!page.hasNextPage) {
      ctx.state = await saveBackfill(ctx.db, ctx.state.id, "done", p);
      return { state: "done" };
    }
    ctx.state = await saveBackfill(ctx.db, ctx.state.id, "running", p);
  }
}

function toPaged(ctx: SyncRunContext, window: { since: string; until: string }, reason: string) {
  logger.info("shopify sync: backfill by pages", { shop: ctx.shop.domain, reason });
  return saveBackfill(ctx.db, ctx.state.id, "running", { mode: "paged", ...window, after: null, done: 0 });
}

/**
 * The backfill as a bulk operation: start it, look at it on later runs until it completes, then stream its JSONL
 * one checkout at a time, writing progress every `bulkBatchSize` checkouts (a restart skips what is stored).
 * Whatever prevents a bulk operation (another one running, refused, failed, expired) falls back to paced pages.
 */
async function bulkBackfill(ctx: SyncRunContext, progress: Extract<BackfillProgress, { mode: "bulk" }>): Promise<StepResult> {
  const pollMs = ctx.options.bulkPollIntervalMs ?? 5000;
  const window = { since: progress.since, until: progress.until };
  // A bulk operation that cannot be run or read is not a reason to stop syncing: page instead. Only transient
  // errors (Shopify unavailable) end the run, to be retried.
  const orPaged = async <T>(what: string, request: () => Promise<T>): Promise<T | "paged"> => {
    try {
      return await request();
    } catch (error) {
      if (!(error instanceof SyncFailure) || error.kind === "transient") throw error;
      ctx.state = await toPaged(ctx, window, `${what}: ${error.detail}`);
      return "paged";
    }
  };
  if (!progress.operationId) {
    type Run = {
      bulkOperationRunQuery: { bulkOperation: { id: string; status: string } | null; userErrors: { message: string; code: string | null }[] } | null;
    };
    const query = abandonedCheckoutsBulkQuery(new Date(progress.since), new Date(progress.until));
    const data = await orPaged("bulk start", () => ctx.call<Run>("bulkRun", RUN_BULK_QUERY, { fixed: 10, perItem: 0 }, 1, () => ({ query })));
    if (data === "paged") return { state: "paused" };
    const result = data?.bulkOperationRunQuery;
    if (!result?.bulkOperation) {
      // OPERATION_IN_PROGRESS (another bulk query of this app), INVALID (the schema refuses it), …
      ctx.state = await toPaged(ctx, window, `bulk refused: ${result?.userErrors.map((e) => `${e.code}: ${e.message}`).join("; ") ?? "no answer"}`);
      return { state: "paused" };
    }
    ctx.state = await saveBackfill(ctx.db, ctx.state.id, "running", { ...progress, operationId: result.bulkOperation.id });
    return { state: "waiting", ms: pollMs };
  }

  type Status = { bulkOperation: { id: string; status: string; errorCode: string | null; url: string | null } | null };
  const data = await orPaged("bulk status", () =>
    ctx.call<Status>("bulkStatus", BULK_OPERATION_STATUS, { fixed: 1, perItem: 0 }, 1, () => ({ id: progress.operationId })),
  );
  if (data === "paged") return { state: "paused" };
  const op = data?.bulkOperation;
  if (!op || ["CANCELED", "CANCELING", "EXPIRED"].includes(op.status)) {
    // Gone (results expire after a week) or cancelled by someone: start a new one.
    ctx.state = await saveBackfill(ctx.db, ctx.state.id, "running", { ...progress, operationId: null });
    return { state: "waiting", ms: 0 };
  }
  if (op.status === "CREATED" || op.status === "RUNNING") return { state: "waiting", ms: pollMs };
  if (op.status !== "COMPLETED") {
    ctx.state = await toPaged(ctx, window, `bulk operation ${op.status}: ${op.errorCode ?? "no error code"}`);
    return { state: "paused" };
  }
  if (!op.url) {
    // Completed with no url: nothing matched the window.
    ctx.state = await saveBackfill(ctx.db, ctx.state.id, "done", progress);
    return { state: "done" };
  }
  return streamBulkResult(ctx, progress, op.url);
}

async function download(ctx: SyncRunContext, url: string): Promise<Response | "expired"> {
  const maxAttempts = ctx.options.maxAttempts ?? 5;
  for (let attempt = 1; ; attempt++) {
    const controller = new AbortController();
    const onAbort = () => controller.abort();
    ctx.signal?.addEventListener("abort", onAbort, { once: true });
    try {
      const response = await (ctx.options.download ?? ((u, signal) => fetch(u, { signal })))(url, controller.signal);
      if (response.ok && response.body) return response;
      if (response.status === 403 || response.status === 404 || response.status === 410) return "expired";
      if (attempt >= maxAttempts)
        throw new SyncFailure(
          "transient",
          SYNC_MESSAGES.transient(`HTTP ${response.status} downloading the backfill`),
          `bulk download HTTP ${response.status}`,
        );
    } catch (error) {
      if (error instanceof SyncFailure) throw error;
      if (attempt >= maxAttempts) throw new SyncFailure("transient", SYNC_MESSAGES.transient("network error downloading the backfill"), String(error));
    } finally {
      ctx.signal?.removeEventListener("abort", onAbort);
    }
    ctx.stats.retries += 1;
    await ctx.sleep(retryBackoffMs(attempt, ctx.random));
  }
}

async function streamBulkResult(ctx: SyncRunContext, progress: Extract<BackfillProgress, { mode: "bulk" }>, url: string): Promise<StepResult> {
  const response = await download(ctx, url);
  if (response === "expired") {
    ctx.state = await saveBackfill(ctx.db, ctx.state.id, "running", { ...progress, operationId: null });
    return { state: "waiting", ms: 0 };
  }
  const batchSize = ctx.options.bulkBatchSize ?? 100;
  const assembler = new BulkCheckoutAssembler();
  let done = progress.done;
  let index = 0;
  let batches = 0;
  let batch: AssembledCheckout[] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    ctx.noteCustomers(batch.map((b) => b.node));
    await ctx.store(batch, "backfillCheckouts");
    done += batch.length;
    batch = [];
    batches += 1;
    await ctx.options.hooks?.pageStored?.({ phase: "backfill", page: batches });
    ctx.state = await saveBackfill(ctx.db, ctx.state.id, "running", { ...progress, done });
  };
  const take = async (checkout: AssembledCheckout) => {
    // The file is a fixed snapshot in a fixed order: checkouts stored by an earlier run are skipped.
    index += 1;
    if (index <= progress.done) return;
    batch.push(checkout);
    if (batch.length >= batchSize) await flush();
  };
  for await (const line of readLines(response.body!)) {
    // Stop between batches only: what is stored is exactly what the saved progress says.
    if (batch.length === 0 && index > progress.done && ctx.outOfTime()) return { state: "paused" };
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(line) as Record<string, unknown>;
    } catch {
      ctx.stats.skipped += 1;
      continue;
    }
    const completed = assembler.push(parsed);
    if (completed) await take(completed);
  }
  const last = assembler.finish();
  if (last) await take(last);
  await flush();
  // Line items that arrived away from their checkout: read those checkouts again, by id, with paged requests.
  for (const id of assembler.orphanParents) {
    const numeric = /(\d+)$/.exec(id)?.[1];
    if (!numeric) continue;
    const page = await ctx.fetchPage(`id:${numeric}`, null);
    await ctx.store(page.checkouts, "backfillCheckouts");
  }
  ctx.state = await saveBackfill(ctx.db, ctx.state.id, "done", { ...progress, done });
  return { state: "done" };
}

async function backfill(ctx: SyncRunContext): Promise<StepResult> {
  if (ctx.state.backfillStatus === "done") return { state: "done" };
  let progress = parseBackfill(ctx.state);
  if (!progress) {
    const window = backfillWindow(ctx);
    progress =
      ctx.options.backfillMode === "paged" ? { mode: "paged", ...window, after: null, done: 0 } : { mode: "bulk", ...window, operationId: null, done: 0 };
    ctx.state = await saveBackfill(ctx.db, ctx.state.id, "running", progress);
  }
  if (ctx.outOfTime()) return { state: "paused" };
  return progress.mode === "bulk" ? bulkBackfill(ctx, progress) : pagedBackfill(ctx, progress);
}

/** Delay before the next run after `failures` failed runs in a row: 1, 2, 4 … minutes, at most 30, ±25 %. */
export function failureDelayMs(failures: number, random: () => number = Math.random): number {
  const base = Math.min(30 * 60_000, 60_000 * 2 ** Math.max(0, failures - 1));
  return Math.round(base * (0.75 + random() * 0.5));
}

/**
 * One run of a shop's Shopify sync. Never throws for Shopify's answers: failures are recorded on the shop's
 * SourceSync (shown on the dashboard) and the result says when to run next.
 */
export async function syncShopifyCheckouts(db: PrismaClient, shopId: string, options: ShopifySyncOptions = {}): Promise<ShopifySyncResult> {
  const now = options.now ?? (() => new Date());
  const shop = await db.shop.findUnique({ where: { id: shopId } });
  const emptyStats = zeroSyncStats();
  if (!shop || shop.uninstalledAt) return { outcome: "skipped", nextRunInMs: 0, more: false, stats: emptyStats };
  let state = await getOrCreateSourceSync(db, shop.id, SHOPIFY_SOURCE, now());
  state = await recordSyncAttempt(db, state.id, now());
  const ctx = new SyncRunContext(db, shop, state, options);
  const interval = Math.max(1, shop.syncIntervalMinutes) * 60_000;
  try {
    const polled = await poll(ctx);
    let next = interval;
    let more = polled === "paused";
    if (polled === "paused") next = 0;
    else {
      const step = await backfill(ctx);
      if (step.state === "paused") {
        more = true;
        next = 0;
      } else if (step.state === "waiting") {
        more = true;
        next = step.ms;
      }
    }
    const note = ctx.note();
    ctx.state = await recordSyncSuccess(db, ctx.state.id, now(), note);
    logger.info("shopify sync run", { shop: shop.domain, ...ctx.stats, more, backfill: ctx.state.backfillStatus });
    return { outcome: "ok", nextRunInMs: next, more, stats: ctx.stats, note: ctx.state.lastError };
  } catch (error) {
    if (options.signal?.aborted) {
      // The worker is stopping: not a failure. Progress is saved per page; the next run resumes at once.
      return { outcome: "ok", nextRunInMs: 0, more: true, stats: ctx.stats };
    }
    const failure =
      error instanceof SyncFailure
        ? error
        : new SyncFailure("failed", SYNC_MESSAGES.failed("an unexpected error"), error instanceof Error ? `${error.name}: ${error.message}` : String(error));
    if (!(error instanceof SyncFailure)) logger.error("shopify sync crashed", { shop: shop.domain, error: failure.detail });
    else logger.warn("shopify sync failed", { shop: shop.domain, kind: failure.kind, detail: failure.detail });
    const updated = await recordSyncFailure(db, ctx.state.id, now(), failure.message, failure.kind === "merchant");
    return {
      outcome: "failed",
      nextRunInMs: failureDelayMs(updated.consecutiveFailures, options.random),
      more: true,
      stats: ctx.stats,
      error: failure.message,
    };
  }
}

/**
 * Install step: the shop's sync row (watermark = now; history is the backfill's) and its first sync, queued now.
 * Idempotent: a reinstall keeps the row and so resumes from its watermark.
 */
export async function startShopifySync(shopId: string, db: PrismaClient = appDb, now: Date = new Date()): Promise<void> {
  await getOrCreateSourceSync(db, shopId, SHOPIFY_SOURCE, now);
  await requestShopifySync(db, shopId, now);
}

export type { QueryCost };
