import type { Prisma, PrismaClient } from "@prisma/client";
import { logger } from "../../logger.server";
import { ingestSourceEvent, ingestSourceEventsIn, type IngestResult } from "../../models/ingest.server";
import type { SourceEvent } from "../../recovery/model";
import type { JobContext } from "../engine.server";
import { completeJobs, queuedSiblingJobs, type JobName } from "../queue.server";

/**
 * What the intake jobs (Stripe events, Shopify webhooks, pixel checkouts) share to process a shop's queued deliveries
 * together (docs/decisions/091, 096): the running job takes its lane's other queued jobs of its own task, runs them in
 * one transaction with their ingest collected into one `ingestSourceEvents` call per run of events, and, when that
 * transaction fails, processes each alone as a lone job would (the failing one keeps its job, which retries on its own).
 */

/** Jobs taken by one run, the running one included. */
export const LANE_BATCH_SIZE = 100;
/** A batch's transaction holds the shop's ingest lock; it is bounded by the batch size, and this bounds it in time. */
export const BATCH_TRANSACTION_TIMEOUT_MS = 120_000;
export const BATCH_TRANSACTION_OPTIONS = { timeout: BATCH_TRANSACTION_TIMEOUT_MS, maxWait: 30_000 };

/** A job of the batch: its id and the payload field that names what it processes. */
export interface BatchJob {
  jobId: string;
  value: string;
}

/**
 * The running job and its lane's other queued jobs of the same task (due, unlocked, never tried), oldest first. While
 * the running job holds the lane nobody else runs them. A job without a shop (no lane) is alone.
 */
export async function takeLaneBatch(ctx: JobContext<unknown>, name: JobName, payloadField: string, leadValue: string): Promise<BatchJob[]> {
  const siblings = ctx.job.shopId ? await queuedSiblingJobs(ctx.db, ctx.job.id, name, payloadField, ctx.clock.now(), LANE_BATCH_SIZE - 1) : [];
  const seen = new Set([leadValue]);
  const batch: BatchJob[] = [{ jobId: ctx.job.id, value: leadValue }];
  for (const s of siblings) {
    if (seen.has(s.value)) continue;
    seen.add(s.value);
    batch.push(s);
  }
  return batch.sort((a, b) => compareJobIds(a.jobId, b.jobId));
}

export const compareJobIds = (a: string, b: string) => (BigInt(a) < BigInt(b) ? -1 : BigInt(a) > BigInt(b) ? 1 : 0);

/**
 * The transaction client as the handlers' `db`: the models they call open their own `$transaction`, which here runs
 * inside the batch's transaction instead (callback form: on the same client; array form: in order).
 */
export function inTransaction(tx: Prisma.TransactionClient): PrismaClient {
  const sequential = async (promises: Promise<unknown>[]) => {
    const results: unknown[] = [];
    for (const p of promises) results.push(await p);
    return results;
  };
  const $transaction = async (arg: unknown) =>
    typeof arg === "function" ? (arg as (t: Prisma.TransactionClient) => Promise<unknown>)(tx) : sequential(arg as Promise<unknown>[]);
  return new Proxy(tx, {
    get(target, prop) {
      if (prop === "$transaction") return $transaction;
      const value = Reflect.get(target, prop) as unknown;
      return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  }) as unknown as PrismaClient;
}

/** Hands a SourceEvent to ingest: collected by a batch, or ingested at once when alone. */
export type Ingest = (event: SourceEvent) => Promise<void>;

/** A lone job's ingest: at once, in its own transaction. */
export const ingestNow =
  (db: PrismaClient, shopId: string, now: () => Date): Ingest =>
  async (event) => {
    await ingestSourceEvent(db, shopId, event, now());
  };

/**
 * A batch's ingest: the events handed to `add` are kept, in order, and stored by `flush` with one `ingestSourceEventsIn`
 * on the batch's transaction (the shop's ingest lock taken once). Flush before anything that reads or writes the rows
 * ingest writes (a refund, a cancellation), so the batch's outcome stays that of its order. A result is delivered to
 * its `onResult` when flushed.
 */
export class IngestCollector {
  private pending: { event: SourceEvent; onResult?: (result: IngestResult) => void }[] = [];
  constructor(
    private readonly tx: Prisma.TransactionClient,
    private readonly shopId: string,
    private readonly now: () => Date,
  ) {}

  add(event: SourceEvent, onResult?: (result: IngestResult) => void): void {
    this.pending.push({ event, onResult });
  }

  get size(): number {
    return this.pending.length;
  }

  async flush(): Promise<void> {
    if (this.pending.length === 0) return;
    const pending = this.pending;
    this.pending = [];
    const results = await ingestSourceEventsIn(
      this.tx,
      this.shopId,
      pending.map((p) => p.event),
      this.now(),
    );
    pending.forEach((p, i) => p.onResult?.(results[i]!));
  }

  /** As an `Ingest` for handlers. */
  readonly ingest: Ingest = async (event) => {
    this.add(event);
  };
}

const describe = (error: unknown) => (error instanceof Error ? `${error.name}: ${error.message}`.slice(0, 500) : String(error).slice(0, 500));

/**
 * After a batch: processes `alone` (in the order received) one at a time with the lone job's code, completes the jobs of
 * those that succeeded in one statement, leaves a failing sibling to its own job (which retries it with backoff, its
 * error kept), and rethrows the running job's own failure so the engine retries it.
 */
export async function processAloneThenSettle(
  db: PrismaClient,
  leadJobId: string,
  alone: BatchJob[],
  single: (job: BatchJob) => Promise<void>,
  what: string,
): Promise<void> {
  const done: string[] = [];
  let leadFailure: { error: unknown } | null = null;
  for (const job of [...alone].sort((a, b) => compareJobIds(a.jobId, b.jobId))) {
    try {
      await single(job);
      if (job.jobId !== leadJobId) done.push(job.jobId);
    } catch (error) {
      if (job.jobId === leadJobId) {
        leadFailure = { error };
        continue;
      }
      // Its own job (still queued) runs it again, alone, and retries it with backoff; the reason is on that job then.
      logger.warn(`${what} failed in a batch; its own job retries it`, { jobId: job.jobId, error: describe(error) });
    }
  }
  await completeJobs(db, done);
  if (leadFailure) throw leadFailure.error;
}

/** Logs a rolled-back batch (no payload data). */
export function logRolledBack(what: string, events: number, error: unknown): void {
  logger.warn(`${what} batch rolled back; its events are processed one at a time`, { events, error: describe(error) });
}
