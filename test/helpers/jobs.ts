/**
 * The job engine for tests: graphile-worker (app/jobs/engine.server.ts) driven by a test's clock. `JobRunner` keeps
 * the old runner's test-facing shape (`drain()` at the clock's time, `start()`/`stop()`), and `jobTable(db)` reads and
 * writes graphile-worker's jobs with the few Prisma-style calls tests used on the old `Job` table. Statuses: `queued`
 * (waiting, or waiting for a retry), `running` (locked), `failed` (no attempt left, error kept). Finished jobs are gone.
 */
import type { PrismaClient } from "@prisma/client";
import {
  drainJobs,
  queuePool,
  startWorker,
  systemClock,
  unlockStaleJobs,
  type Clock,
  type EngineOptions,
  type JobDefinition,
  type JobWorker,
} from "~/jobs/engine.server";
import { JOBS_WITH_PAYLOAD, QUEUE_SCHEMA, shopOfQueue } from "~/jobs/queue.server";

export { defaultBackoffMs, defineJob, PermanentJobError, type Clock } from "~/jobs/engine.server";

declare module "~/jobs/queue.server" {
  // Jobs only tests define.
  interface JobPayloads {
    "test-record": { n: number };
    flaky: Record<string, unknown>;
    strict: Record<string, unknown>;
    slow: Record<string, unknown>;
    noop: Record<string, unknown>;
    hang: Record<string, unknown>;
  }
}

export interface RunnerOptions {
  db: PrismaClient;
  definitions: JobDefinition<any>[];
  clock?: Clock;
  workerId?: string;
  concurrency?: number;
  pollIntervalMs?: number;
  lockTimeoutMs?: number;
  random?: () => number;
  onEvent?: EngineOptions["onEvent"];
}

export class JobRunner {
  readonly workerId: string;
  private worker: JobWorker | null = null;
  constructor(private readonly options: RunnerOptions) {
    this.workerId = options.workerId ?? "test-worker";
  }

  /** Runs every job due by the clock's now, until none is due. Returns how many ran. */
  async drain(maxJobs?: number): Promise<number> {
    return drainJobs({ ...this.options, maxJobs });
  }

  /** Runs continuously (graphile-worker's run()) on the clock until stop(). */
  async start(): Promise<void> {
    this.worker = await startWorker(this.options);
  }

  async stop(): Promise<void> {
    await this.worker?.stop();
    this.worker = null;
  }

  reclaimAbandoned(): Promise<number> {
    return unlockStaleJobs(queuePool(), this.options.lockTimeoutMs ?? 300_000, (this.options.clock ?? systemClock).now());
  }
}

export interface JobRow {
  id: string;
  name: string;
  payload: string;
  key: string | null;
  shopId: string | null;
  queueName: string | null;
  /** `succeeded`/`cancelled` jobs no longer exist (graphile-worker deletes them): never matched. */
  status: "queued" | "running" | "failed" | "succeeded" | "cancelled";
  runAt: Date;
  attempts: number;
  maxAttempts: number;
  lastError: string | null;
  lockedBy: string | null;
  lockedAt: Date | null;
}

type Filter<T> = T | { in?: T[]; not?: T | null; startsWith?: string; contains?: string; lte?: T; lt?: T; gte?: T; gt?: T; notIn?: T[] } | null;
export type JobWhere = Partial<{ [K in keyof JobRow]: Filter<JobRow[K]> }>;

const STATUS_SQL = `CASE WHEN locked_at IS NOT NULL THEN 'running' WHEN attempts < max_attempts THEN 'queued' ELSE 'failed' END`;
const ROW_SQL = `SELECT id::text AS id, task_identifier AS name, payload::text AS payload, key, queue_name AS "queueName", ${STATUS_SQL} AS status,
  run_at AS "runAt", attempts::int AS attempts, max_attempts::int AS "maxAttempts", last_error AS "lastError", locked_by AS "lockedBy", locked_at AS "lockedAt"
  FROM ${JOBS_WITH_PAYLOAD}`;

function matches(row: JobRow, where: JobWhere = {}): boolean {
  return Object.entries(where).every(([field, filter]) => {
    const value = row[field as keyof JobRow] as unknown;
    if (filter === null || typeof filter !== "object" || filter instanceof Date) return same(value, filter);
    const f = filter as Record<string, unknown>;
    if ("in" in f && !(f.in as unknown[]).some((v) => same(value, v))) return false;
    if ("notIn" in f && (f.notIn as unknown[]).some((v) => same(value, v))) return false;
    if ("not" in f && same(value, f.not)) return false;
    if ("startsWith" in f && !(typeof value === "string" && value.startsWith(f.startsWith as string))) return false;
    if ("contains" in f && !(typeof value === "string" && value.includes(f.contains as string))) return false;
    const n = (v: unknown) => (v instanceof Date ? v.getTime() : (v as number));
    if ("lte" in f && !(n(value) <= n(f.lte))) return false;
    if ("lt" in f && !(n(value) < n(f.lt))) return false;
    if ("gte" in f && !(n(value) >= n(f.gte))) return false;
    if ("gt" in f && !(n(value) > n(f.gt))) return false;
    return true;
  });
}
function same(a: unknown, b: unknown): boolean {
  if (a instanceof Date || b instanceof Date) return a instanceof Date && b instanceof Date && a.getTime() === b.getTime();
  return a === b;
}

function pick<T extends object>(row: T, select?: Record<string, boolean>): Partial<T> {
  if (!select) return row;
  return Object.fromEntries(Object.entries(row).filter(([k]) => select[k])) as Partial<T>;
}

/** graphile-worker's jobs, read (and, for tests' set-up, written) like the old Prisma `Job` model. */
export function jobTable(db: PrismaClient) {
  const all = async (): Promise<JobRow[]> =>
    (await db.$queryRawUnsafe<Omit<JobRow, "shopId">[]>(`${ROW_SQL} ORDER BY run_at, id`)).map((r) => ({
      ...r,
      // As JSON.stringify writes it (PostgreSQL's json text keeps the spacing it was built with).
      payload: JSON.stringify(JSON.parse(r.payload)),
      runAt: new Date(r.runAt),
      lockedAt: r.lockedAt ? new Date(r.lockedAt) : null,
      shopId: shopOfQueue(r.queueName),
    }));
  const table = {
    async findMany(args: { where?: JobWhere; select?: Record<string, boolean>; orderBy?: unknown; take?: number } = {}) {
      const rows = (await all()).filter((r) => matches(r, args.where));
      return (args.take ? rows.slice(0, args.take) : rows).map((r) => pick(r, args.select)) as JobRow[];
    },
    async findFirst(args: { where?: JobWhere; select?: Record<string, boolean>; orderBy?: unknown } = {}) {
      return (await table.findMany(args))[0] ?? null;
    },
    async findFirstOrThrow(args: { where?: JobWhere; select?: Record<string, boolean> } = {}) {
      const row = await table.findFirst(args);
      if (!row) throw new Error(`no job matches ${JSON.stringify(args.where)}`);
      return row;
    },
    findUnique: (args: { where: JobWhere; select?: Record<string, boolean> }) => table.findFirst(args),
    findUniqueOrThrow: (args: { where: JobWhere; select?: Record<string, boolean> }) => table.findFirstOrThrow(args),
    async count(args: { where?: JobWhere } = {}) {
      return (await all()).filter((r) => matches(r, args.where)).length;
    },
    /** Test set-up: only `runAt` (and `status: "queued"` with attempts) can be changed. */
    async updateMany(args: { where?: JobWhere; data: { runAt?: Date; attempts?: number } }) {
      const ids = (await table.findMany({ where: args.where })).map((r) => r.id);
      if (ids.length === 0) return { count: 0 };
      await db.$executeRawUnsafe(
        `UPDATE ${QUEUE_SCHEMA}._private_jobs SET run_at = COALESCE($2::timestamptz, run_at), attempts = COALESCE($3::smallint, attempts) WHERE id::text = ANY($1::text[])`,
        ids,
        args.data.runAt ?? null,
        args.data.attempts ?? null,
      );
      return { count: ids.length };
    },
    /** Adds a job the way the old tests inserted rows (no key dedupe): straight through graphile-worker's add_job. */
    async create(args: { data: { name: string; payload?: string; runAt?: Date; key?: string | null; shopId?: string | null; maxAttempts?: number } }) {
      const { queueNameFor } = await import("~/jobs/queue.server");
      const d = args.data;
      const [row] = await db.$queryRawUnsafe<{ id: string }[]>(
        `SELECT (${QUEUE_SCHEMA}.add_job($1::text, $2::json, queue_name => $3::text, run_at => $4::timestamptz, max_attempts => $5::int, job_key => $6::text)).id::text AS id`,
        d.name,
        d.payload ?? "{}",
        queueNameFor(d.name, d.shopId),
        d.runAt ?? new Date(),
        d.maxAttempts ?? 8,
        d.key ?? null,
      );
      return { id: row!.id, name: d.name };
    },
    async deleteMany(args: { where?: JobWhere } = {}) {
      const ids = (await table.findMany({ where: args.where })).map((r) => r.id);
      if (ids.length) await db.$executeRawUnsafe(`DELETE FROM ${QUEUE_SCHEMA}._private_jobs WHERE id::text = ANY($1::text[])`, ids);
      return { count: ids.length };
    },
  };
  return table;
}
