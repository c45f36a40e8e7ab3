/**
 * One sync run's context: the shop's cost pacer, paced and retried Admin GraphQL calls, what Shopify withheld, and
 * storing a page of checkouts through ingest.
 */
import type { Prisma, PrismaClient, Shop, SourceSync } from "@prisma/client";
import type { SourceEvent } from "../../recovery/model";
import { env } from "../../env.server";
import { logger } from "../../logger.server";
import { ingestSourceEventsIn } from "../../models/ingest.server";
import { ABANDONED_CHECKOUTS_PAGE, abandonedCheckoutsLineItemsQuery, LINE_ITEMS_COST_MODEL, PAGE_COST_MODEL } from "./abandoned-checkouts-query";
import { adminGraphqlFor, type AdminGraphql, type GraphqlErrorEntry } from "./admin-client.server";
import { CostPacer, retryBackoffMs, type CostModel } from "./cost-pacer";
import { checkoutNodeToEvent, CheckoutNodeError, type CheckoutNode, type LineItemNode } from "./to-source-event";
import { withCheckedShopifyLink } from "./recovery-url";
import { SHOPIFY_SOURCE, SYNC_MESSAGES, type ShopifySyncOptions, type SyncStats, SyncFailure } from "./sync-types";

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

export const iso = (d: Date) => d.toISOString();
export const later = (a: string | null, b: string | null) => (!a ? b : !b ? a : a > b ? a : b);

export interface PageResult {
  checkouts: { node: CheckoutNode; lineItems: LineItemNode[] | null }[];
  hasNextPage: boolean;
  endCursor: string | null;
}

/** A run's counters before anything happened. */
export function zeroSyncStats(): SyncStats {
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
export class SyncRunContext {
  readonly stats: SyncStats = zeroSyncStats();
  readonly now: () => Date;
  readonly sleep: (ms: number) => Promise<void>;
  readonly random: () => number;
  readonly graphql: AdminGraphql;
  readonly pacer: CostPacer;
  readonly signal: AbortSignal | undefined;
  readonly deadline: number;
  readonly lineItems: number;
  private readonly rawSleep: (ms: number, signal?: AbortSignal) => Promise<void>;
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
    this.rawSleep = sleep;
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

  /** A wait that ends early when `cancel` fires (or the run's own stop signal). */
  private sleepUnless(ms: number, cancel: AbortSignal): Promise<void> {
    if (cancel.aborted) return Promise.resolve();
    this.stats.waitMs += ms;
    return this.rawSleep(ms, this.signal ? AbortSignal.any([this.signal, cancel]) : cancel);
  }

  /** Time to stop starting new work (the job asks to be run again at once). */
  outOfTime(): boolean {
    return this.signal?.aborted === true || this.now().getTime() >= this.deadline;
  }

  /**
   * Sends one request, paced: `build(first)` makes the variables for a page of `first` items, the pacer picks
   * `first` and the wait from the cost model and the bucket. Retries THROTTLED (after the wait the bucket needs),
   * 5xx/network/timeouts (backoff with jitter, up to maxAttempts), and MAX_COST_EXCEEDED (smaller page).
   *
   * `cancel` (a prefetch the run no longer wants): checked before each attempt and ends the pacing waits early; a request
   * already sent is answered and accounted for (the pacer observes every response), never cut off.
   */
  async call<T>(
    kind: string,
    query: string | ((first: number) => string),
    model: CostModel,
    maxItems: number,
    build: (first: number) => Record<string, unknown>,
    cancel?: AbortSignal,
  ): Promise<T> {
    const maxAttempts = this.options.maxAttempts ?? 5;
    let failures = 0;
    let throttles = 0;
    let oversized = 0;
    const sleep = (ms: number) => (cancel ? this.sleepUnless(ms, cancel) : this.sleep(ms));
    for (;;) {
      if (this.signal?.aborted) throw new SyncFailure("transient", SYNC_MESSAGES.transient("the sync was stopped"), "aborted");
      if (cancel?.aborted) throw new SyncFailure("transient", SYNC_MESSAGES.transient("the sync was stopped"), "prefetch dropped");
      const scaled = this.pacer.scaled(kind, model);
      let plan =
        model.perItem === 0
          ? { first: 1, cost: model.fixed, waitMs: this.pacer.waitMs(model.fixed, this.now().getTime()) }
          : this.pacer.planPage(scaled, maxItems, this.now().getTime());
      for (let i = 0; plan.waitMs > 0 && i < 5; i++) {
        await sleep(plan.waitMs);
        plan =
          model.perItem === 0
            ? { ...plan, waitMs: this.pacer.waitMs(model.fixed, this.now().getTime()) }
            : this.pacer.planPage(scaled, maxItems, this.now().getTime());
      }
      const estimated = model.fixed + plan.first * model.perItem;
      const sent = performance.now();
      const document = typeof query === "string" ? query : query(plan.first);
      const outcome = await this.graphql<T>(document, build(plan.first), { timeoutMs: this.options.requestTimeoutMs });
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
          await sleep(this.pacer.waitAfterThrottle(requested, outcome.cost, at));
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
          await sleep(outcome.retryAfterMs ?? retryBackoffMs(failures, this.random));
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

  /**
   * One page of checkouts matching `filter`, each with all its line items. `cancel`: see `call` (the poll and the
   * paged backfill fetch the next page while storing this one, and drop it when the run pauses).
   */
  async fetchPage(filter: string, after: string | null, cancel?: AbortSignal): Promise<PageResult> {
    const L = this.lineItems;
    const model: CostModel = {
      fixed: PAGE_COST_MODEL.connection,
      perItem: PAGE_COST_MODEL.checkout + PAGE_COST_MODEL.lineItemsConnection + L * PAGE_COST_MODEL.lineItem,
    };
    type Page = { abandonedCheckouts: { pageInfo: { hasNextPage: boolean; endCursor: string | null }; nodes: CheckoutNode[] } };
    const data = await this.call<Page>(`page:${L}`, ABANDONED_CHECKOUTS_PAGE, model, 250, (first) => ({ first, after, query: filter, lineItems: L }), cancel);
    const connection = data?.abandonedCheckouts;
    if (!connection) throw new SyncFailure("failed", SYNC_MESSAGES.failed("an empty answer"), "abandonedCheckouts missing from data");
    this.stats.pages += 1;
    this.noteCustomers(connection.nodes);
    const pending = connection.nodes
      .filter((node) => node?.lineItems?.pageInfo.hasNextPage)
      .map((node) => ({ id: node.id, after: node.lineItems!.pageInfo.endCursor }));
    const rest = pending.length > 0 ? await this.restOfLineItems(pending, cancel) : new Map<string, LineItemNode[] | null>();
    const checkouts: PageResult["checkouts"] = [];
    for (const node of connection.nodes) {
      const first = node?.lineItems?.nodes ?? [];
      const more = rest.has(node?.id) ? rest.get(node.id)! : [];
      checkouts.push({ node, lineItems: more === null ? null : [...first, ...more] });
    }
    return { checkouts, hasNextPage: connection.pageInfo.hasNextPage, endCursor: connection.pageInfo.endCursor };
  }

  /**
   * Line items beyond the first page, for several checkouts at once: each request asks for the next
   * LINE_ITEMS_PER_FOLLOW_UP of as many checkouts as the pacer's budget allows (aliased `node`s), until every checkout
   * is complete. null for a checkout that vanished meanwhile (keep what is stored).
   */
  async restOfLineItems(checkouts: { id: string; after: string | null }[], cancel?: AbortSignal): Promise<Map<string, LineItemNode[] | null>> {
    const out = new Map<string, LineItemNode[] | null>(checkouts.map((c) => [c.id, [] as LineItemNode[]]));
    let queue = checkouts.slice();
    const F = LINE_ITEMS_PER_FOLLOW_UP;
    const model: CostModel = { fixed: 0, perItem: LINE_ITEMS_COST_MODEL.fixed + F * LINE_ITEMS_COST_MODEL.lineItem };
    type Connection = { pageInfo: { hasNextPage: boolean; endCursor: string | null }; nodes: LineItemNode[] };
    type Data = Record<string, { lineItems?: Connection } | null>;
    while (queue.length > 0) {
      let sent = 0;
      const data = await this.call<Data>(
        `lineItems:${F}`,
        (n) => abandonedCheckoutsLineItemsQuery(n),
        model,
        Math.min(queue.length, MAX_FOLLOW_UPS_PER_REQUEST),
        (n) => {
          sent = n;
          const variables: Record<string, unknown> = { first: F };
          queue.slice(0, n).forEach((c, i) => Object.assign(variables, { [`id${i}`]: c.id, [`after${i}`]: c.after }));
          return variables;
        },
        cancel,
      );
      this.stats.lineItemRequests += 1;
      const next: typeof queue = [];
      queue.slice(0, sent).forEach((c, i) => {
        const connection = data?.[`c${i}`]?.lineItems;
        if (!connection) {
          out.set(c.id, null);
          return;
        }
        out.get(c.id)?.push(...connection.nodes);
        if (connection.pageInfo.hasNextPage) next.push({ id: c.id, after: connection.pageInfo.endCursor });
      });
      queue = [...queue.slice(sent), ...next];
    }
    return out;
  }

  /**
   * Stores a page of checkouts through the ingest port, in one transaction with `saveProgress` (the page's cursor), so
   * what is stored and what the saved progress says never disagree. A checkout already stored from an observation at
   * least as new (same gid, same or later updatedAt) is skipped without a write: re-reading it (the watermark overlap,
   * a restart) would change nothing. Returns the newest updatedAt among the checkouts read.
   */
  async store(
    checkouts: { node: CheckoutNode; lineItems: LineItemNode[] | null }[],
    counter: "checkouts" | "backfillCheckouts",
    saveProgress?: (tx: Prisma.TransactionClient) => Promise<SourceSync>,
  ): Promise<string | null> {
    let newest: string | null = null;
    const started = performance.now();
    const known = new Map(
      // Plain SQL: read for every page, and Prisma's query compiler costs more CPU than the query (ADR 097).
      (
        await this.db.$queryRawUnsafe<{ externalId: string; sourceUpdatedAt: Date; completedAt: Date | null }[]>(
          `SELECT "externalId", "sourceUpdatedAt", "completedAt" FROM "Recovery" WHERE "shopId" = $1 AND "source" = $2 AND "externalId" = ANY($3::text[])`,
          this.shop.id,
          SHOPIFY_SOURCE,
          checkouts.flatMap((c) => (typeof c.node?.id === "string" ? [c.node.id] : [])),
        )
      ).map((r) => [r.externalId, r]),
    );
    const events: SourceEvent[] = [];
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
      events.push(withCheckedShopifyLink(event, this.shop.domain, env.SHOPIFY_STOREFRONT_EXTRA_HOSTS));
    }
    if (events.length > 0 || saveProgress) {
      await this.db.$transaction(
        async (tx) => {
          if (events.length > 0) await ingestSourceEventsIn(tx, this.shop.id, events, this.now());
          if (saveProgress) this.state = await saveProgress(tx);
        },
        { timeout: STORE_TRANSACTION_TIMEOUT_MS },
      );
    }
    this.stats[counter] += events.length;
    this.stats.storeMs += performance.now() - started;
    return newest;
  }
}

/** Line items asked for per checkout in a follow-up request (after the first `lineItemsPerCheckout` on the page). */
const LINE_ITEMS_PER_FOLLOW_UP = 25;
/** Checkouts in one follow-up request at most (the cost cap usually allows fewer: 1,000 ÷ 103 = 9). */
const MAX_FOLLOW_UPS_PER_REQUEST = 50;

/** A page's store holds the shop's ingest lock; a page is at most 250 checkouts. */
const STORE_TRANSACTION_TIMEOUT_MS = 60_000;

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
