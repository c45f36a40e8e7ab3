import { randomUUID } from "node:crypto";
import { Prisma, type PrismaClient } from "@prisma/client";
import type { ZodType } from "zod";

/**
 * A durable job runner on the app's own database (docs/decisions/003-job-runner.md).
 * - claim: a conditional update (`WHERE id = ? AND status = 'queued'`) so two runners never take the same job;
 * - heartbeat: a running job refreshes `lockedAt`; a job whose lock is older than `lockTimeoutMs` was left by a
 *   killed process and is queued again;
 * - retries: exponential backoff with jitter up to `maxAttempts`, then `failed` with the error kept for the operator.
 */

export interface Clock {
  now(): Date;
}
export const systemClock: Clock = { now: () => new Date() };

export interface JobContext<P> {
  payload: P;
  job: { id: string; name: string; attempts: number; shopId: string | null };
  db: PrismaClient;
  clock: Clock;
  signal: AbortSignal;
}

export interface JobDefinition<P = unknown> {
  name: string;
  payload: ZodType<P>;
  run(ctx: JobContext<P>): Promise<void>;
  /** Overrides the default backoff (ms) for the given attempt number (1 = first retry). */
  backoffMs?: (attempt: number) => number;
}

export function defineJob<P>(definition: JobDefinition<P>): JobDefinition<P> {
  return definition;
}

/** Thrown by a job to stop retrying at once (bad payload, nothing to do ever again). */
export class PermanentJobError extends Error {
  name = "PermanentJobError";
}

export interface RunnerOptions {
  db: PrismaClient;
  definitions: JobDefinition<any>[];
  clock?: Clock;
  workerId?: string;
  concurrency?: number;
  /**
   * A shop running this many jobs (across every runner on the database; default 2) waits behind every other shop's due
   * jobs, so one shop's backlog (a quiet-hours release, a backfill, a hanging mail server) cannot hold up other shops'
   * webhooks, syncs and sends; with nobody else waiting it still uses every free slot (see claimNext). Jobs without a
   * shop are not limited.
   */
  shopConcurrency?: number;
  pollIntervalMs?: number;
  lockTimeoutMs?: number;
  /** Random factor in [0,1) for backoff jitter; injectable for tests. */
  random?: () => number;
  onEvent?: (event: RunnerEvent) => void;
}

export type RunnerEvent =
  | { type: "succeeded"; jobId: string; name: string; ms: number }
  | { type: "retrying"; jobId: string; name: string; attempt: number; runAt: Date; error: string }
  | { type: "failed"; jobId: string; name: string; error: string }
  | { type: "reclaimed"; count: number };

export function defaultBackoffMs(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(1000 * 2 ** (attempt - 1), 60 * 60 * 1000);
  return Math.round(base * (0.75 + random() * 0.5));
}

export class JobRunner {
  readonly workerId: string;
  private readonly db: PrismaClient;
  private readonly byName: Map<string, JobDefinition<any>>;
  private readonly clock: Clock;
  private readonly concurrency: number;
  private readonly shopConcurrency: number;
  private readonly pollIntervalMs: number;
  private readonly lockTimeoutMs: number;
  private readonly random: () => number;
  private readonly onEvent: (event: RunnerEvent) => void;
  private readonly active = new Map<string, Promise<void>>();
  private readonly abort = new AbortController();
  private loop: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  private lastReclaimAt = 0;

  constructor(options: RunnerOptions) {
    this.db = options.db;
    this.byName = new Map(options.definitions.map((d) => [d.name, d]));
    this.clock = options.clock ?? systemClock;
    this.workerId = options.workerId ?? `worker-${process.pid}-${randomUUID().slice(0, 8)}`;
    this.concurrency = options.concurrency ?? 4;
    this.shopConcurrency = options.shopConcurrency ?? 2;
    this.pollIntervalMs = options.pollIntervalMs ?? 1000;
    this.lockTimeoutMs = options.lockTimeoutMs ?? 5 * 60 * 1000;
    this.random = options.random ?? Math.random;
    this.onEvent = options.onEvent ?? (() => {});
  }

  /** Starts polling in the background until stop(). */
  start(): void {
    if (this.loop) return;
    this.loop = (async () => {
      while (!this.abort.signal.aborted) {
        let started = 0;
        try {
          started = await this.fill();
        } catch (error) {
          this.onEvent({ type: "failed", jobId: "-", name: "runner", error: String(error) });
        }
        if (started === 0 && !this.abort.signal.aborted) await this.sleep();
      }
    })();
  }

  /** Stops claiming, waits for running jobs to finish their attempt. */
  async stop(): Promise<void> {
    this.abort.abort();
    this.wake?.();
    await this.loop;
    await Promise.allSettled(this.active.values());
  }

  /**
   * Runs due jobs until none is due (or `maxJobs` ran). For tests, scripts and the demo's fake clock.
   * Returns how many jobs were run.
   */
  async drain(maxJobs = 10_000): Promise<number> {
    let ran = 0;
    while (ran < maxJobs) {
      await this.reclaimAbandoned();
      const job = await this.claimNext();
      if (!job) break;
      await this.execute(job);
      ran++;
    }
    return ran;
  }

  /** Queues again the running jobs whose lock went stale: their process died. */
  async reclaimAbandoned(): Promise<number> {
    const staleBefore = new Date(this.clock.now().getTime() - this.lockTimeoutMs);
    const { count } = await this.db.job.updateMany({
      where: { status: "running", lockedAt: { lt: staleBefore } },
      data: { status: "queued", lockedAt: null, lockedBy: null, lastError: "worker stopped responding; requeued" },
    });
    if (count > 0) this.onEvent({ type: "reclaimed", count });
    return count;
  }

  /**
   * Claims the next due job in one statement, one round trip: `FOR UPDATE SKIP LOCKED` in the sub-select means two
   * runners (in any processes) never take the same job and never wait for each other's claim; a row another runner has
   * just claimed is skipped, and re-checked as still 'queued' after its lock is released.
   *
   * Fair, and work-conserving: first a job of a shop running fewer than `shopConcurrency` jobs (or of no shop); only
   * when there is none, any due job. A big shop's backlog therefore fills idle slots, but every other shop's job is
   * taken before the big shop's next one. Returns null when none is due.
   */
  async claimNext(): Promise<ClaimedJob | null> {
    return (await this.claim(true)) ?? (await this.claim(false));
  }

  private async claim(fair: boolean): Promise<ClaimedJob | null> {
    const now = this.clock.now();
    const busyShops = fair
      ? Prisma.sql`AND ("shopId" IS NULL OR "shopId" NOT IN (
            SELECT "shopId" FROM "Job" WHERE "status" = 'running' AND "shopId" IS NOT NULL GROUP BY "shopId" HAVING count(*) >= ${this.shopConcurrency}))`
      : Prisma.empty;
    const rows = await this.db.$queryRaw<ClaimedJob[]>`
      UPDATE "Job" SET "status" = 'running', "lockedAt" = ${now}, "lockedBy" = ${this.workerId}, "attempts" = "attempts" + 1, "updatedAt" = ${now}
      WHERE "id" = (
        SELECT "id" FROM "Job"
        WHERE "status" = 'queued' AND "runAt" <= ${now} ${busyShops}
        ORDER BY "runAt" LIMIT 1 FOR UPDATE SKIP LOCKED)
        AND "status" = 'queued'
      RETURNING "id", "name", "payload", "attempts", "maxAttempts", "shopId"`;
    const job = rows[0];
    return job ? { ...job, attempts: Number(job.attempts), maxAttempts: Number(job.maxAttempts) } : null;
  }

  private async fill(): Promise<number> {
    // Looking for dead workers' jobs once a second is plenty (locks go stale after minutes).
    const now = this.clock.now().getTime();
    if (now - this.lastReclaimAt >= 1000) {
      this.lastReclaimAt = now;
      await this.reclaimAbandoned();
    }
    let started = 0;
    while (this.active.size < this.concurrency && !this.abort.signal.aborted) {
      const job = await this.claimNext();
      if (!job) break;
      const run = this.execute(job).finally(() => {
        this.active.delete(job.id);
        this.wake?.();
      });
      this.active.set(job.id, run);
      started++;
    }
    return started;
  }

  private sleep(): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, this.pollIntervalMs);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }

  private async execute(job: ClaimedJob): Promise<void> {
    const started = Date.now();
    const definition = this.byName.get(job.name);
    const heartbeat = setInterval(() => {
      void this.db.job
        .updateMany({ where: { id: job.id, lockedBy: this.workerId, status: "running" }, data: { lockedAt: this.clock.now() } })
        .catch(() => {});
    }, Math.max(50, Math.floor(this.lockTimeoutMs / 3)));
    try {
      if (!definition) throw new PermanentJobError(`No job definition named "${job.name}"`);
      const parsed = definition.payload.safeParse(JSON.parse(job.payload));
      if (!parsed.success) throw new PermanentJobError(`Invalid payload: ${parsed.error.issues.map((i) => `${i.path.join(".")} ${i.message}`).join("; ")}`);
      await definition.run({
        payload: parsed.data,
        job: { id: job.id, name: job.name, attempts: job.attempts, shopId: job.shopId },
        db: this.db,
        clock: this.clock,
        signal: this.abort.signal,
      });
      // Only the owner of the lock may finish the job (a reclaimed job belongs to someone else now).
      await this.db.job.updateMany({
        where: { id: job.id, lockedBy: this.workerId, status: "running" },
        data: { status: "succeeded", key: null, finishedAt: this.clock.now(), lockedAt: null, lastError: null },
      });
      this.onEvent({ type: "succeeded", jobId: job.id, name: job.name, ms: Date.now() - started });
    } catch (error) {
      const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      const permanent = error instanceof PermanentJobError;
      if (!permanent && job.attempts < job.maxAttempts) {
        const delay = (definition?.backoffMs ?? ((a: number) => defaultBackoffMs(a, this.random)))(job.attempts);
        const runAt = new Date(this.clock.now().getTime() + delay);
        await this.db.job.updateMany({
          where: { id: job.id, lockedBy: this.workerId, status: "running" },
          data: { status: "queued", runAt, lockedAt: null, lockedBy: null, lastError: message.slice(0, 2000) },
        });
        this.onEvent({ type: "retrying", jobId: job.id, name: job.name, attempt: job.attempts, runAt, error: message });
      } else {
        await this.db.job.updateMany({
          where: { id: job.id, lockedBy: this.workerId, status: "running" },
          data: { status: "failed", key: null, finishedAt: this.clock.now(), lockedAt: null, lastError: message.slice(0, 2000) },
        });
        this.onEvent({ type: "failed", jobId: job.id, name: job.name, error: message });
      }
    } finally {
      clearInterval(heartbeat);
    }
  }
}

interface ClaimedJob {
  id: string;
  name: string;
  payload: string;
  attempts: number;
  maxAttempts: number;
  shopId: string | null;
}
