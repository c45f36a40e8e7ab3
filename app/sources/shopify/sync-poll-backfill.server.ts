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
import { BulkCheckoutAssembler, readLines, type AssembledCheckout } from "./bulk-jsonl";
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

/**
 * The poll: every checkout whose `updated_at` is at or after (watermark − overlap), in ID order, page by page.
 * Progress (cursor, newest updatedAt seen) is written after each stored page; the watermark moves once the last
 * page is stored (nextWatermark; docs/decisions/030).
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
