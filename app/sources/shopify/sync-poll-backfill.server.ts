/**
 * The two steps of a run: the poll (checkouts updated since the watermark) and a slice of the backfill (a bulk
 * operation, or paced pages when bulk is unavailable). docs/decisions/030–034.
 */
import { logger } from "../../logger.server";
import { finishSyncRun, parseBackfill, parseSyncRun, saveBackfill, saveSyncRun, type BackfillProgress, type SyncRun } from "../../models/source-sync.server";
import {
  abandonedCheckoutsBulkQuery,
  BULK_OPERATION_STATUS,
  createdBeforeFilter,
  createdSinceFilter,
  RUN_BULK_QUERY,
  updatedSinceFilter,
} from "./abandoned-checkouts-query";
import { BulkCheckoutAssembler, readLinesWithOffsets, type AssembledCheckout } from "./bulk-jsonl";
import { retryBackoffMs } from "./cost-pacer";
import { SYNC_MESSAGES, SyncFailure } from "./sync-types";
import { iso, later, type PageResult, SyncRunContext } from "./sync-run-context.server";

export function nextWatermark(run: Pick<SyncRun, "startedAt" | "maxSeen">, previous: Date | null, overlapMs: number): Date | null {
  const started = Date.parse(run.startedAt);
  const seen = run.maxSeen ? Math.min(started, Date.parse(run.maxSeen)) : Number.NEGATIVE_INFINITY;
  const next = Math.max(seen, started - overlapMs);
  if (previous && next <= previous.getTime()) return null;
  return new Date(next);
}

/** The newest `updatedAt` among a page's checkouts, as the ISO text the poll's progress keeps (null: none readable). */
export function newestUpdatedAt(checkouts: PageResult["checkouts"]): string | null {
  let newest: string | null = null;
  for (const { node } of checkouts) {
    const ms = Date.parse(node?.updatedAt ?? "");
    if (Number.isFinite(ms)) newest = later(newest, new Date(ms).toISOString());
  }
  return newest;
}

/**
 * A page requested before it is needed: the next page is fetched while the current one is stored (at most one page
 * ahead, and only one request in flight, so the pacer sees every request and response in order). Dropping it cancels
 * its pacing waits and waits for a request already sent (its cost is spent, its answer observed by the pacer).
 */
class Prefetch {
  private readonly controller = new AbortController();
  readonly page: Promise<PageResult>;

  constructor(fetch: (cancel: AbortSignal) => Promise<PageResult>) {
    this.page = fetch(this.controller.signal);
    // Awaited where it is used; if the run ends first (a pause, a failed store) its failure is nobody's concern.
    this.page.catch(() => {});
  }

  async drop(): Promise<void> {
    this.controller.abort();
    await this.page.catch(() => {});
  }
}

/**
 * The poll: every checkout whose `updated_at` is at or after (watermark − overlap), in ID order, page by page.
 * Each page is stored in one transaction with its progress (cursor, newest updatedAt seen), and the last page with
 * the watermark's move (nextWatermark; docs/decisions/030, 095). The next page is fetched while a page is stored.
 */
export async function poll(ctx: SyncRunContext): Promise<"done" | "paused"> {
  const overlap = ctx.options.overlapMs ?? 2 * 60_000;
  let run: SyncRun = parseSyncRun(ctx.state) ?? {
    from: iso(new Date((ctx.state.watermark ?? ctx.shop.installedAt).getTime() - overlap)),
    startedAt: iso(ctx.now()),
    after: null,
    maxSeen: null,
    pages: 0,
  };
  const filter = updatedSinceFilter(new Date(run.from));
  let restartedCursor = false;
  /** the page after `run.after`, requested while the previous page was stored */
  let ahead: Prefetch | null = null;
  try {
    for (;;) {
      if (ctx.outOfTime()) {
        ctx.state = await saveSyncRun(ctx.db, ctx.state.id, run);
        return "paused";
      }
      let page: PageResult;
      const prefetched = ahead;
      ahead = null;
      try {
        page = prefetched ? await prefetched.page : await ctx.fetchPage(filter, run.after);
      } catch (error) {
        // A saved cursor Shopify no longer accepts: start this poll's pages again (ingest is idempotent).
        if (error instanceof SyncFailure && error.kind === "failed" && run.after && /cursor/i.test(error.detail) && !restartedCursor) {
          restartedCursor = true;
          run = { ...run, after: null };
          continue;
        }
        throw error;
      }
      const next: SyncRun = {
        ...run,
        after: page.endCursor ?? run.after,
        maxSeen: later(run.maxSeen, newestUpdatedAt(page.checkouts)),
        pages: run.pages + 1,
      };
      const last = !page.hasNextPage;
      if (!last && !ctx.outOfTime()) {
        const after = next.after;
        ahead = new Prefetch((cancel) => ctx.fetchPage(filter, after, cancel));
      }
      const watermark = last ? nextWatermark(next, ctx.state.watermark, overlap) : null;
      const info = { phase: "poll", page: next.pages } as const;
      const id = ctx.state.id;
      await ctx.store(page.checkouts, "checkouts", async (tx) => {
        const saved = last ? await finishSyncRun(tx, id, watermark) : await saveSyncRun(tx, id, next);
        await ctx.options.hooks?.beforeCommit?.(info);
        return saved;
      });
      run = next;
      await ctx.options.hooks?.pageStored?.(info);
      if (last) return "done";
    }
  } finally {
    await ahead?.drop();
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

/**
 * Paced pages over the backfill window (the fallback when a bulk operation is not possible): each page stored with its
 * progress in one transaction, the next page fetched while it is stored.
 */
async function pagedBackfill(ctx: SyncRunContext, progress: Extract<BackfillProgress, { mode: "paged" }>): Promise<StepResult> {
  let p = progress;
  let pages = 0;
  const filter = backfillFilter(p);
  let ahead: Prefetch | null = null;
  try {
    for (;;) {
      if (ctx.outOfTime()) return { state: "paused" };
      const prefetched: Prefetch | null = ahead;
      ahead = null;
      const page: PageResult = prefetched ? await prefetched.page : await ctx.fetchPage(filter, p.after);
      const next: typeof p = { ...p, after: page.endCursor ?? p.after, done: p.done + page.checkouts.length };
      const last = !page.hasNextPage;
      if (!last && !ctx.outOfTime()) ahead = new Prefetch((cancel) => ctx.fetchPage(filter, next.after, cancel));
      const info = { phase: "backfill", page: ++pages } as const;
      const id = ctx.state.id;
      await ctx.store(page.checkouts, "backfillCheckouts", async (tx) => {
        const saved = await saveBackfill(tx, id, last ? "done" : "running", next);
        await ctx.options.hooks?.beforeCommit?.(info);
        return saved;
      });
      p = next;
      await ctx.options.hooks?.pageStored?.(info);
      if (last) return { state: "done" };
    }
  } finally {
    await ahead?.drop();
  }
}

function toPaged(ctx: SyncRunContext, window: { since: string; until: string }, reason: string) {
  logger.info("shopify sync: backfill by pages", { shop: ctx.shop.domain, reason });
  return saveBackfill(ctx.db, ctx.state.id, "running", { mode: "paged", ...window, after: null, done: 0 });
}

/**
 * The backfill as a bulk operation: start it, look at it on later runs until it completes, then stream its JSONL
 * one checkout at a time, storing `bulkBatchSize` checkouts at a time with the progress (a restart asks for the rest of
 * the file from the saved byte offset).
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
    ctx.state = await saveBackfill(ctx.db, ctx.state.id, "running", newFile(progress));
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

type BulkProgress = Extract<BackfillProgress, { mode: "bulk" }>;

/** A new bulk operation: a new file, so the offset (and what was noticed in the old file) no longer applies. */
function newFile(progress: BulkProgress): BulkProgress {
  const { offset: _offset, orphans: _orphans, ...rest } = progress;
  return { ...rest, operationId: null };
}

/**
 * Downloads the bulk result file from byte `offset` on (`Range: bytes=<offset>-`; Shopify's result URLs are signed
 * Cloud Storage URLs, which answer 206). "ended": nothing left after `offset` (416); "expired": the file is gone.
 */
async function download(ctx: SyncRunContext, url: string, offset: number): Promise<Response | "expired" | "ended"> {
  const maxAttempts = ctx.options.maxAttempts ?? 5;
  const headers: Record<string, string> | undefined = offset > 0 ? { Range: `bytes=${offset}-` } : undefined;
  for (let attempt = 1; ; attempt++) {
    const controller = new AbortController();
    const onAbort = () => controller.abort();
    ctx.signal?.addEventListener("abort", onAbort, { once: true });
    try {
      const response = await (ctx.options.download ?? ((u, signal, h) => fetch(u, { signal, headers: h })))(url, controller.signal, headers);
      if (response.ok && response.body) return response;
      if (response.status === 416 && offset > 0) {
        await response.body?.cancel().catch(() => {});
        return "ended";
      }
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

/** The first byte a 206 answer holds (`Content-Range: bytes <first>-<last>/<size>`), or null. */
function rangeStart(response: Response): number | null {
  const match = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(response.headers.get("content-range")?.trim() ?? "");
  return match ? Number(match[1]) : null;
}

/**
 * Opens the rest of the file: from the saved offset when the server honours Range (206), else the whole file with the
 * `done` checkouts skipped by position (the file is a fixed snapshot in a fixed order), as before offsets were saved.
 */
async function openBulkResult(
  ctx: SyncRunContext,
  progress: BulkProgress,
  url: string,
): Promise<{ body: ReadableStream<Uint8Array>; start: number; skip: number } | "expired" | "ended"> {
  const offset = progress.offset ?? 0;
  const response = await download(ctx, url, offset);
  if (response === "expired" || response === "ended") return response;
  if (offset === 0) return { body: response.body!, start: 0, skip: progress.done };
  if (response.status === 206 && rangeStart(response) === offset) return { body: response.body!, start: offset, skip: 0 };
  if (response.status === 200) {
    // The server ignored Range: this is the whole file.
    logger.info("shopify sync: bulk file served without Range, skipping what is stored", { shop: ctx.shop.domain });
    return { body: response.body!, start: 0, skip: progress.done };
  }
  // Some other range than asked for: read the whole file again instead.
  await response.body?.cancel().catch(() => {});
  const whole = await download(ctx, url, 0);
  if (whole === "expired" || whole === "ended") return "expired";
  return { body: whole.body!, start: 0, skip: progress.done };
}

async function streamBulkResult(ctx: SyncRunContext, progress: BulkProgress, url: string): Promise<StepResult> {
  const opened = await openBulkResult(ctx, progress, url);
  if (opened === "expired") {
    ctx.state = await saveBackfill(ctx.db, ctx.state.id, "running", newFile(progress));
    return { state: "waiting", ms: 0 };
  }
  const batchSize = Math.max(1, ctx.options.bulkBatchSize ?? 250);
  const assembler = new BulkCheckoutAssembler();
  const orphans = new Set(progress.orphans ?? []);
  let saved: BulkProgress = progress;
  let index = 0;
  let batches = 0;
  let batch: AssembledCheckout[] = [];
  /** Stores the batch and, in the same transaction, the progress: `offset` is where the first line not stored starts. */
  const flush = async (offset: number, last: boolean) => {
    const next: BulkProgress = { ...saved, done: saved.done + batch.length, offset, ...(orphans.size ? { orphans: [...orphans] } : {}) };
    const status = last && orphans.size === 0 ? "done" : "running";
    const id = ctx.state.id;
    if (batch.length === 0) {
      ctx.state = await saveBackfill(ctx.db, id, status, next);
      saved = next;
      return;
    }
    ctx.noteCustomers(batch.map((b) => b.node));
    const info = { phase: "backfill", page: ++batches } as const;
    await ctx.store(batch, "backfillCheckouts", async (tx) => {
      const row = await saveBackfill(tx, id, status, next);
      await ctx.options.hooks?.beforeCommit?.(info);
      return row;
    });
    saved = next;
    batch = [];
    await ctx.options.hooks?.pageStored?.(info);
  };
  if (opened !== "ended") {
    const { body, start, skip } = opened;
    /** where the line being read starts, and where the file read so far ends */
    let end = start;
    for await (const line of readLinesWithOffsets(body, start)) {
      // Stop between batches only (and after storing one): the saved offset is exactly where storing stopped.
      if (batches > 0 && batch.length === 0 && ctx.outOfTime()) return { state: "paused" };
      end = line.next;
      let parsed: Record<string, unknown>;
      try {
        parsed = JSON.parse(line.text) as Record<string, unknown>;
      } catch {
        ctx.stats.skipped += 1;
        continue;
      }
      const completed = assembler.push(parsed);
      for (const id of assembler.orphanParents) orphans.add(id);
      assembler.orphanParents.clear();
      if (!completed) continue;
      // `completed` ended where this line (the next checkout) starts.
      if (++index <= skip) continue;
      batch.push(completed);
      if (batch.length >= batchSize) await flush(line.offset, false);
    }
    const last = assembler.finish();
    if (last && ++index > skip) batch.push(last);
    await flush(end, true);
  } else {
    // 416: the saved offset is the end of the file; everything is stored.
    await flush(progress.offset ?? 0, true);
  }
  // Line items that arrived away from their checkout: read those checkouts again, by id, with paged requests.
  for (const id of [...orphans]) {
    orphans.delete(id);
    const numeric = /(\d+)$/.exec(id)?.[1];
    const page: Pick<PageResult, "checkouts"> = numeric ? await ctx.fetchPage(`id:${numeric}`, null) : { checkouts: [] };
    const next: BulkProgress = { ...saved, orphans: [...orphans] };
    if (orphans.size === 0) delete next.orphans;
    const status = orphans.size === 0 ? "done" : "running";
    const rowId = ctx.state.id;
    await ctx.store(page.checkouts, "backfillCheckouts", (tx) => saveBackfill(tx, rowId, status, next));
    saved = next;
  }
  return { state: "done" };
}

export async function backfill(ctx: SyncRunContext): Promise<StepResult> {
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
