import { EventEmitter } from "node:events";
import pg from "pg";
import type { PrismaClient } from "@prisma/client";
import {
  Logger,
  run,
  runMigrations,
  runOnce,
  type Job as GraphileJob,
  type LogFunctionFactory,
  type Runner,
  type Task,
  type TaskList,
  type WorkerEvents,
} from "graphile-worker";
import type { ZodType } from "zod";
import { CANCELLED_PREFIX, QUEUE_SCHEMA, shopOfQueue, SUPERSEDED } from "./queue.server";

/**
 * The job engine: graphile-worker 0.16 on the app's PostgreSQL (docs/decisions/080-queue-engine.md). This module wires
 * our job definitions (zod payload + run) into graphile-worker tasks and adds the three things 0.16 does not do the way
 * we need:
 * - **retry timing**: each definition's own backoff (in the clock's time), and `PermanentJobError` / invalid payloads
 *   failing at once; the error is kept on the job (`last_error`) either way;
 * - **stale locks**: a running job refreshes its `locked_at` (heartbeat) and every worker unlocks jobs whose lock is
 *   older than `lockTimeoutMs` (graphile-worker 0.16 only does so after 4 hours);
 * - **a clock**: with `useNodeTime`, due-ness follows Node's `Date` (the demo's compressed clock, ADR 061); tests run
 *   jobs "as of" their fake clock (`drainJobs`, `poolOnClock`).
 */

export interface Clock {
  now(): Date;
}
export const systemClock: Clock = { now: () => new Date() };

export interface JobContext<P> {
  payload: P;
  job: { id: string; name: string; attempts: number; maxAttempts?: number; shopId: string | null };
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

export function defaultBackoffMs(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(1000 * 2 ** (attempt - 1), 60 * 60 * 1000);
  return Math.round(base * (0.75 + random() * 0.5));
}

export type RunnerEvent =
  | { type: "succeeded"; jobId: string; name: string; ms: number }
  | { type: "retrying"; jobId: string; name: string; attempt: number; runAt: Date; error: string }
  | { type: "failed"; jobId: string; name: string; error: string }
  | { type: "reclaimed"; count: number };

export interface EngineOptions {
  db: PrismaClient;
  definitions: JobDefinition<any>[];
  clock?: Clock;
  /** Jobs run at once by this process (graphile-worker's concurrentJobs). */
  concurrency?: number;
  pollIntervalMs?: number;
  /** A running job whose heartbeat is older than this was left by a dead worker and is unlocked (JOB_LOCK_TIMEOUT_MS). */
  lockTimeoutMs?: number;
  /** Random factor in [0,1) for backoff jitter; injectable for tests. */
  random?: () => number;
  onEvent?: (event: RunnerEvent) => void;
  /** Connection string of the queue's own pool (default DATABASE_URL). */
  connectionString?: string;
  /**
   * Jobs that run in slots of their own (a second graphile-worker runner that takes only these): shops' send jobs, which
   * mostly wait on SMTP, so a sending backlog never takes the slots intake needs, nor the other way round (ADR 085).
   */
  dedicated?: { names: string[]; concurrency: number };
}

const DEFAULT_LOCK_TIMEOUT_MS = 5 * 60_000;
const S = `"${QUEUE_SCHEMA}"`;

// ---------------------------------------------------------------------------------------------------------------
// Pools and schema

const pools = new Map<string, pg.Pool>();
/** The queue's pg pool for a database (one per process and URL; graphile-worker needs node-postgres, not Prisma). */
export function queuePool(connectionString = process.env.DATABASE_URL!, max = 8): pg.Pool {
  let pool = pools.get(connectionString);
  if (!pool) {
    pool = new pg.Pool({ connectionString, max, connectionTimeoutMillis: 60_000, options: "-c TimeZone=UTC" }); // bounded wait, as for Prisma's pool
    pool.on("error", () => {}); // an idle client's connection dropped: the pool replaces it
    pools.set(connectionString, pool);
  }
  return pool;
}

export async function closeQueuePools(): Promise<void> {
  const all = [...pools.values()];
  pools.clear();
  await Promise.all(all.map((p) => p.end().catch(() => {})));
}

/**
 * Installs or upgrades graphile-worker's own schema (its SQL ships inside the npm package: offline). Called by
 * applyMigrations while it holds the migrations' advisory lock, so several instances starting at once apply it once.
 */
export async function installQueueSchema(connectionString: string): Promise<void> {
  const pool = new pg.Pool({ connectionString, max: 1 });
  try {
    await runMigrations({ pgPool: pool, schema: QUEUE_SCHEMA, logger: quietLogger });
  } finally {
    await pool.end();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Tasks

const quietLogger = new Logger(((scope: Record<string, unknown>) => (level: string, message: string, meta?: unknown) => {
  // graphile-worker's own lines (a job's failure is reported through onEvent, with our log masking): errors only.
  if (level === "error") void import("../logger.server").then(({ logger }) => logger.warn(`queue: ${message}`, { scope: scope.label, ...(meta as object) }));
}) as unknown as LogFunctionFactory);

interface TaskDeps {
  db: PrismaClient;
  clock: Clock;
  lockTimeoutMs: number;
  random: () => number;
  onEvent: (event: RunnerEvent) => void;
  signal: AbortSignal;
  pool: pg.Pool;
}

/** Thrown to graphile-worker after our own bookkeeping of a failure (the job is already unlocked: its failJob is a no-op). */
class JobAttemptFailed extends Error {
  name = "JobAttemptFailed";
}

function taskFor(definition: JobDefinition<any>, deps: TaskDeps): Task {
  return async (rawPayload, helpers) => {
    const job = helpers.job as GraphileJob & { locked_by?: string | null };
    const workerId = job.locked_by ?? "";
    const id = String(job.id);
    const started = Date.now();
    const queueName = job.job_queue_id != null ? await helpers.getQueueName() : null;
    const context = { id, name: definition.name, attempts: job.attempts, maxAttempts: job.max_attempts, shopId: shopOfQueue(queueName) };
    // Heartbeat: the lock (and the shop lane's lock) stays fresh while the job runs; a killed worker's goes stale.
    const heartbeat = setInterval(
      () => {
        void deps.pool
          .query(
            `WITH j AS (UPDATE ${S}._private_jobs SET locked_at = $3 WHERE id = $1 AND locked_by = $2 RETURNING job_queue_id)
             UPDATE ${S}._private_job_queues q SET locked_at = $3 FROM j WHERE q.id = j.job_queue_id AND q.locked_by = $2`,
            [id, workerId, deps.clock.now()],
          )
          .catch(() => {});
      },
      Math.max(50, Math.floor(deps.lockTimeoutMs / 3)),
    );
    try {
      const parsed = definition.payload.safeParse(rawPayload ?? {});
      if (!parsed.success) throw new PermanentJobError(`Invalid payload: ${parsed.error.issues.map((i) => `${i.path.join(".")} ${i.message}`).join("; ")}`);
      await definition.run({ payload: parsed.data, job: context, db: deps.db, clock: deps.clock, signal: helpers.abortSignal ?? deps.signal });
      deps.onEvent({ type: "succeeded", jobId: id, name: definition.name, ms: Date.now() - started });
    } catch (error) {
      const message = (error instanceof Error ? `${error.name}: ${error.message}` : String(error)).slice(0, 2000);
      const retry = !(error instanceof PermanentJobError) && job.attempts < job.max_attempts;
      const runAt = retry
        ? new Date(deps.clock.now().getTime() + (definition.backoffMs ?? ((a: number) => defaultBackoffMs(a, deps.random)))(job.attempts))
        : null;
      // Our own failJob: the definition's backoff in the clock's time, or failed for good (attempts = max_attempts), the
      // error kept, the job and its lane unlocked. Only the lock's owner may do it (a reaped job belongs to someone else).
      await deps.pool.query(
        `WITH j AS (
           UPDATE ${S}._private_jobs SET last_error = $3, run_at = COALESCE($4, run_at), max_attempts = CASE WHEN $4::timestamptz IS NULL THEN attempts ELSE max_attempts END,
             locked_at = NULL, locked_by = NULL, updated_at = now()
           WHERE id = $1 AND locked_by = $2 RETURNING job_queue_id)
         UPDATE ${S}._private_job_queues q SET locked_at = NULL, locked_by = NULL FROM j WHERE q.id = j.job_queue_id AND q.locked_by = $2`,
        [id, workerId, message, runAt],
      );
      if (runAt) deps.onEvent({ type: "retrying", jobId: id, name: definition.name, attempt: job.attempts, runAt, error: message });
      else deps.onEvent({ type: "failed", jobId: id, name: definition.name, error: message });
      throw new JobAttemptFailed(message);
    } finally {
      clearInterval(heartbeat);
    }
  };
}

export function taskListFor(definitions: JobDefinition<any>[], deps: TaskDeps): TaskList {
  return Object.fromEntries(definitions.map((d) => [d.name, taskFor(d, deps)]));
}

// ---------------------------------------------------------------------------------------------------------------
// Stale locks

/**
 * Unlocks jobs (and shop lanes) whose lock is older than `timeoutMs`: their worker died (a running job's heartbeat
 * keeps its lock fresh). graphile-worker's own sweep does the same after 4 hours; this one after JOB_LOCK_TIMEOUT_MS.
 * The job runs again (its attempt was counted), at once. Returns how many jobs were unlocked.
 */
export async function unlockStaleJobs(pool: pg.Pool, timeoutMs: number, now: Date = new Date()): Promise<number> {
  const before = new Date(now.getTime() - timeoutMs);
  // A dead worker's job that was not to be retried anyway (superseded by its next run, or cancelled): removed.
  await pool.query(`DELETE FROM ${S}._private_jobs WHERE locked_at < $1 AND attempts >= max_attempts AND (last_error = $2 OR starts_with(last_error, $3))`, [
    before,
    SUPERSEDED,
    CANCELLED_PREFIX,
  ]);
  const { rows } = await pool.query<{ n: number }>(
    `WITH j AS (
       UPDATE ${S}._private_jobs SET locked_at = NULL, locked_by = NULL, last_error = 'worker stopped responding; unlocked', updated_at = now()
       WHERE locked_at < $1 RETURNING id),
     q AS (UPDATE ${S}._private_job_queues SET locked_at = NULL, locked_by = NULL WHERE locked_at < $1)
     SELECT count(*)::int AS n FROM j`,
    [before],
  );
  return rows[0]?.n ?? 0;
}

// ---------------------------------------------------------------------------------------------------------------
// Running

export interface JobWorker {
  /** graphile-worker's ids of this process's workers (what `locked_by` of their running jobs says). */
  workerIds: string[];
  stop(): Promise<void>;
}

/** Starts graphile-worker in this process (web server in-process mode, `npm run worker`, the demo) until stop(). */
export async function startWorker(options: EngineOptions): Promise<JobWorker> {
  const pool = queuePool(options.connectionString, (options.concurrency ?? 4) + (options.dedicated ? options.dedicated.concurrency + 1 : 0) + 2);
  const abort = new AbortController();
  const lockTimeoutMs = options.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
  const onEvent = options.onEvent ?? (() => {});
  const taskList = taskListFor(options.definitions, {
    db: options.db,
    clock: options.clock ?? systemClock,
    lockTimeoutMs,
    random: options.random ?? Math.random,
    onEvent,
    signal: abort.signal,
    pool,
  });
  const reap = async () => {
    const count = await unlockStaleJobs(pool, lockTimeoutMs, (options.clock ?? systemClock).now()).catch(() => 0);
    if (count > 0) onEvent({ type: "reclaimed", count });
  };
  await reap();
  const reaper = setInterval(() => void reap(), Math.max(200, Math.min(lockTimeoutMs / 3, 60_000)));
  const workerIds: string[] = [];
  const startRunner = async (tasks: TaskList, concurrency: number): Promise<Runner> => {
    const events = new EventEmitter() as WorkerEvents;
    events.on("worker:create", ({ worker }) => void workerIds.push(worker.workerId));
    return run({
      events,
      pgPool: poolOnClock(pool, options.clock ?? systemClock),
      schema: QUEUE_SCHEMA,
      taskList: tasks,
      concurrency,
      pollInterval: options.pollIntervalMs ?? 1000,
      noHandleSignals: true,
      useNodeTime: true,
      logger: quietLogger,
      crontab: "",
    });
  };
  const dedicated = new Set((options.dedicated?.names ?? []).filter((name) => name in taskList));
  const runners: Runner[] = [];
  // graphile-worker's runner only takes jobs whose task it has: each runner gets its own share of the task list.
  runners.push(await startRunner(Object.fromEntries(Object.entries(taskList).filter(([name]) => !dedicated.has(name))) as TaskList, options.concurrency ?? 4));
  if (dedicated.size > 0) {
    runners.push(
      await startRunner(Object.fromEntries(Object.entries(taskList).filter(([name]) => dedicated.has(name))) as TaskList, options.dedicated!.concurrency),
    );
  }
  return {
    workerIds,
    async stop() {
      clearInterval(reaper);
      abort.abort();
      await Promise.all(runners.map((r) => r.stop()));
    },
  };
}

/**
 * Runs every job due by the clock's now until none is due (or `maxJobs` ran), for tests, scripts and the demo's fake
 * clock. Due-ness is graphile-worker's own (`useNodeTime`): while draining, Node's `Date` reads the clock (as the
 * demo's compressed clock does for the whole process, ADR 061). Returns how many jobs ran.
 */
export async function drainJobs(options: EngineOptions & { maxJobs?: number }): Promise<number> {
  const clock = options.clock ?? systemClock;
  const pool = queuePool(options.connectionString);
  const lockTimeoutMs = options.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
  const onEvent = options.onEvent ?? (() => {});
  let ran = 0;
  const deps: TaskDeps = { db: options.db, clock, lockTimeoutMs, random: options.random ?? Math.random, onEvent, signal: new AbortController().signal, pool };
  const counted = Object.fromEntries(
    Object.entries(taskListFor(options.definitions, deps)).map(([name, task]) => [
      name,
      (async (payload, helpers) => {
        ran++;
        return (task as Exclude<Task, undefined>)(payload, helpers);
      }) as Task,
    ]),
  );
  const maxJobs = options.maxJobs ?? 10_000;
  for (;;) {
    const before = ran;
    await unlockStaleJobs(pool, lockTimeoutMs, clock.now());
    await runOnce(
      {
        pgPool: poolOnClock(pool, clock),
        schema: QUEUE_SCHEMA,
        concurrency: options.concurrency ?? 1,
        noHandleSignals: true,
        useNodeTime: true,
        logger: quietLogger,
      },
      counted,
    );
    // Look again until a round runs nothing (a job may have queued another that is already due).
    if (ran === before || ran >= maxJobs) return ran;
  }
}

/**
 * The queue's pool as seen by graphile-worker running on `clock` (tests' fake clocks): graphile-worker 0.16 with
 * `useNodeTime` passes "now" as the last parameter of its claim query (get_job); this pool passes the clock's time
 * instead, so "is it due" and the lock time follow the clock. Everything else is the pool itself. (The demo does not
 * need it: its whole process's Date is the compressed clock, ADR 061.)
 */
export function poolOnClock(pool: pg.Pool, clock: Clock): pg.Pool {
  if (clock === systemClock) return pool;
  const isClaim = (text: unknown) => typeof text === "string" && text.includes("jobs.is_available = true") && text.includes("locked_at = $");
  const patchQuery = (query: (...args: any[]) => any) =>
    function (this: unknown, config: unknown, ...rest: unknown[]) {
      if (config && typeof config === "object" && isClaim((config as { text?: unknown }).text)) {
        const values = [...((config as { values?: unknown[] }).values ?? [])];
        values[values.length - 1] = clock.now().toISOString();
        return query.call(this, { ...(config as object), values }, ...rest);
      }
      return query.call(this, config, ...rest);
    };
  return new Proxy(pool, {
    get(target, prop, receiver) {
      if (prop === "connect") {
        const wrap = (client: pg.PoolClient) => new Proxy(client, { get: (c, p) => (p === "query" ? patchQuery(c.query.bind(c)) : Reflect.get(c, p, c)) });
        return (...args: unknown[]) => {
          // graphile-worker's run() takes its LISTEN client with the callback form of connect().
          const callback = args[0] as ((error: Error | undefined, client?: pg.PoolClient, release?: (e?: unknown) => void) => void) | undefined;
          if (typeof callback === "function") {
            target.connect().then(
              (client) => callback(undefined, wrap(client), (e?: unknown) => client.release(e as Error | undefined)),
              (error: Error) => callback(error),
            );
            return undefined;
          }
          return target.connect().then(wrap);
        };
      }
      const value = Reflect.get(target, prop, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
