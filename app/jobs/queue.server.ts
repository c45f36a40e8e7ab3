import type { Prisma, PrismaClient } from "@prisma/client";

/**
 * The only way into the job queue (graphile-worker 0.16 on the app's PostgreSQL, docs/decisions/080-queue-engine.md).
 * Every write goes through graphile-worker's own SQL API (`add_job`, `add_jobs`, `complete_jobs`, `remove_job`) on the
 * caller's connection or transaction, so "store the event and enqueue its processing" commits or rolls back as one.
 * This module imports no app configuration (the migration script and the test set-up load it).
 */

type Db = PrismaClient | Prisma.TransactionClient;

/** graphile-worker's schema. */
export const QUEUE_SCHEMA = "graphile_worker";
const S = `"${QUEUE_SCHEMA}"`;

/**
 * Every job and its payload. A misspelt name, or a payload of the wrong shape, fails `npm run typecheck`.
 * Tests add their own jobs by augmenting this interface (`declare module "~/jobs/queue.server"`).
 */
export interface JobPayloads {
  "process-shopify-webhook": { inboundEventId: string };
  "process-stripe-event": { inboundEventId: string };
  "process-pixel-event": { pixelCheckoutId: string } | { inboundEventId: string };
  "enrich-stripe-recovery": { inboundEventId: string };
  "shop-installed": { shopId: string };
  "send-due-messages": Record<string, never>;
  /** Sends a shop's due emails in batches (docs/decisions/085); one queued per shop at most (job key). */
  "send-shop-messages": { shopId: string };
  /** Creates a shop's incentive discount codes ahead of their sends (docs/decisions/092); one queued per shop. */
  "prepare-incentive-codes": { shopId: string };
  "mirror-unsubscribe-to-shopify": { contactId: string };
  "sync-shopify-checkouts": { shopId: string };
  "activate-web-pixel": { shopId: string };
  "refresh-shop-details": { shopId: string };
  "fire-flow-trigger": { deliveryId: string };
  "prune-retention": Record<string, never>;
  "repair-split-checkouts": Record<string, never>;
}
export type JobName = keyof JobPayloads;

/**
 * Fairness (ADR 080): a shop's jobs run in that shop's named queues ("lanes"), which graphile-worker runs one job at a
 * time each. Intake (processing stored webhooks and events), sending, and the rest (syncs, install steps, Flow, pixel
 * activation) are separate lanes, so a shop never holds more than three workers' slots, and its email backlog never
 * holds up its own webhooks. Jobs without a shop (sweeps, retention) run in no queue.
 */
export type Lane = "in" | "send" | "bg";
const LANES: Partial<Record<string, Lane>> = {
  "process-shopify-webhook": "in",
  "process-stripe-event": "in",
  "process-pixel-event": "in",
  "send-shop-messages": "send",
  // With the sends, so the two never overlap for a shop (and a sync holding the shop's bg lane does not hold it up).
  "prepare-incentive-codes": "send",
};
export function laneOf(name: string): Lane {
  return LANES[name] ?? "bg";
}
export function queueNameFor(name: string, shopId: string | null | undefined): string | null {
  return shopId ? `shop:${shopId}:${laneOf(name)}` : null;
}
/** The shop a job belongs to, from its queue name (null: no shop). */
export function shopOfQueue(queueName: string | null | undefined): string | null {
  const match = /^shop:(.+):(in|send|bg)$/.exec(queueName ?? "");
  return match ? match[1]! : null;
}
/** SQL: the queue name of a job named by the expression `name` for the shop in the expression `shopId` (both text). */
export function queueNameSql(name: string, shopId: string): string {
  const cases = Object.entries(LANES)
    .map(([job, lane]) => `WHEN '${job}' THEN '${lane}'`)
    .join(" ");
  return `CASE WHEN ${shopId} IS NULL THEN NULL ELSE 'shop:' || ${shopId} || ':' || (CASE ${name} ${cases} ELSE 'bg' END) END`;
}

export const DEFAULT_MAX_ATTEMPTS = 8;
/** last_error of a running job whose next run took its key over (replace). */
export const SUPERSEDED = "superseded: its next run is queued";
/** last_error prefix of a running job cancelled while it ran (it is not retried). */
export const CANCELLED_PREFIX = "cancelled: ";

export interface EnqueueOptions {
  /** When to run (default: now, by Node's clock). */
  runAt?: Date;
  /**
   * Dedupe key (graphile-worker's job_key). `dedupe` (the default): while a job with this key is queued or running, no
   * second one is added; a queued one moves earlier if asked (never later); a failed one is replaced by the new one.
   * `replace`: graphile-worker's own mode, for a job queueing its own next run: a running holder gives the key to the
   * new job (and will not be retried); a queued one is replaced (its time included).
   */
  key?: string;
  keyMode?: "dedupe" | "replace";
  shopId?: string | null;
  maxAttempts?: number;
}

/** Adds a job. Safe inside a transaction; one statement (never a caught unique violation, which would abort it). */
export async function enqueueJob<N extends JobName>(db: Db, name: N, payload: JobPayloads[N], options: EnqueueOptions = {}): Promise<string> {
  const runAt = options.runAt ?? new Date();
  const args = [
    name,
    JSON.stringify(payload ?? {}),
    queueNameFor(name, options.shopId),
    runAt,
    options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
    options.key ?? null,
  ];
  const add = `${S}.add_job($1::text, $2::json, queue_name => $3::text, run_at => $4::timestamptz, max_attempts => $5::int, job_key => $6::text, job_key_mode => 'replace')`;
  if (options.key && options.keyMode === "replace") {
    // A running holder of the key (the job queueing its own next run) is superseded: graphile-worker's replace takes
    // its key and its retries; the note tells the stale-lock reaper that such a job, if its worker dies, is not a failure.
    await db.$executeRawUnsafe(`UPDATE ${S}._private_jobs SET last_error = $2 WHERE key = $1 AND locked_at IS NOT NULL`, options.key, SUPERSEDED);
  }
  if (!options.key || options.keyMode === "replace") {
    const rows = await db.$queryRawUnsafe<{ id: string }[]>(`SELECT (${add}).id::text AS "id"`, ...args);
    return rows[0]!.id;
  }
  for (let attempt = 0; attempt < 3; attempt++) {
    // Replace (graphile-worker's add_job) only when no job with the key is running, nor queued for this time or earlier.
    const rows = await db.$queryRawUnsafe<{ id: string }[]>(
      `WITH held AS (
         SELECT id FROM ${S}.jobs j WHERE j.key = $6::text AND (j.locked_at IS NOT NULL OR (j.attempts < j.max_attempts AND j.run_at <= $4::timestamptz)))
       SELECT id::text AS "id" FROM held
       UNION ALL
       SELECT (${add}).id::text WHERE NOT EXISTS (SELECT 1 FROM held)`,
      ...args,
    );
    if (rows[0]) return rows[0].id;
  }
  throw new Error(`enqueueJob: could not queue or find the job with key ${options.key}`);
}

/**
 * SQL that enqueues, in one statement, the jobs a query selects: `rowsSql` must select the columns
 * name, payload (json), shop_id, run_at (timestamptz), max_attempts, job_key. Keyed rows replace an unlocked job with
 * the same key (callers filter out keys already queued or running with `unfinishedJobWithKeySql`).
 */
export function addJobsSql(rowsSql: string): string {
  return `SELECT count(*)::int AS "added" FROM ${S}.add_jobs(ARRAY(
    SELECT ROW(r.name, r.payload::json, ${queueNameSql("r.name", "r.shop_id")}, r.run_at::timestamptz, r.max_attempts::smallint, r.job_key, 0::smallint, NULL::text[])::${S}.job_spec
    FROM (${rowsSql}) r))`;
}

/** SQL condition: an unfinished job (queued or running, not failed) holds the key given by the SQL expression. */
export function unfinishedJobWithKeySql(keyExpression: string): string {
  return `EXISTS (SELECT 1 FROM ${S}.jobs j WHERE j.key = ${keyExpression} AND (j.locked_at IS NOT NULL OR j.attempts < j.max_attempts))`;
}

/** When the unfinished jobs with these keys run next (null while running). */
export async function nextRunByKey(db: Db, keys: string[]): Promise<Map<string, Date>> {
  if (keys.length === 0) return new Map();
  const rows = await db.$queryRawUnsafe<{ key: string; run_at: Date }[]>(
    `SELECT key, run_at FROM ${S}.jobs WHERE key = ANY($1::text[]) AND (locked_at IS NOT NULL OR attempts < max_attempts)`,
    keys,
  );
  return new Map(rows.map((r) => [r.key, new Date(r.run_at)]));
}

/**
 * Cancels every queued job of a shop (uninstall): removed from the queue. Running jobs finish their current attempt
 * and are not retried. `except`: job names to leave alone (e.g. processing of deliveries already stored).
 */
export async function cancelShopJobs(db: Db, shopId: string, reason: string, options: { except?: string[] } = {}): Promise<number> {
  return cancelJobsSql(db, `queue_name LIKE $1 AND NOT (task_identifier = ANY($2::text[]))`, [`shop:${shopId}:%`, options.except ?? []], reason);
}

/**
 * graphile_worker.jobs (the engine's public view) with each job's payload, for conditions on it (privacy requests
 * find jobs about a person by their payload and error text).
 */
export const JOBS_WITH_PAYLOAD = `(SELECT j.id, j.payload, j.run_at, j.attempts, j.max_attempts, j.last_error, j.key, j.locked_at, j.locked_by,
    q.queue_name, t.identifier AS task_identifier
  FROM ${S}._private_jobs j JOIN ${S}._private_tasks t ON t.id = j.task_id LEFT JOIN ${S}._private_job_queues q ON q.id = j.job_queue_id) jobs`;

/** Cancels the queued jobs the condition (on graphile_worker.jobs) selects; running ones are not retried. */
export async function cancelJobsSql(db: Db, condition: string, params: unknown[], reason: string, options: { includeFailed?: boolean } = {}): Promise<number> {
  const n = params.length;
  const unfinished = options.includeFailed ? "" : "AND (locked_at IS NOT NULL OR attempts < max_attempts)";
  const [row] = await db.$queryRawUnsafe<{ removed: number; stopped: number }[]>(
    `WITH picked AS (SELECT id, locked_at FROM ${JOBS_WITH_PAYLOAD} WHERE (${condition}) ${unfinished}),
       removed AS (SELECT count(*)::int AS n FROM ${S}.complete_jobs(ARRAY(SELECT id FROM picked WHERE locked_at IS NULL))),
       stopped AS (UPDATE ${S}._private_jobs p SET attempts = p.max_attempts, key = NULL, last_error = $${n + 1}, updated_at = now()
                   FROM picked WHERE p.id = picked.id AND picked.locked_at IS NOT NULL RETURNING p.id)
     SELECT (SELECT n FROM removed) AS "removed", (SELECT count(*)::int FROM stopped) AS "stopped"`,
    ...params,
    `${CANCELLED_PREFIX}${reason}`,
  );
  return (row?.removed ?? 0) + (row?.stopped ?? 0);
}

/** Deletes failed jobs (kept with their error for operators) older than `before`; graphile-worker removes succeeded ones. */
export async function deleteFailedJobs(db: Db, before: Date, limit: number): Promise<number> {
  const [row] = await db.$queryRawUnsafe<{ n: number }[]>(
    `SELECT count(*)::int AS n FROM ${S}.complete_jobs(ARRAY(
       SELECT id FROM ${S}.jobs WHERE locked_at IS NULL AND attempts >= max_attempts AND updated_at < $1::timestamptz LIMIT $2))`,
    before,
    limit,
  );
  // Shop lanes with no job left (uninstalled or quiet shops) are removed too.
  await db.$executeRawUnsafe(
    `DELETE FROM ${S}._private_job_queues q WHERE q.locked_at IS NULL AND NOT EXISTS (SELECT 1 FROM ${S}._private_jobs j WHERE j.job_queue_id = q.id)`,
  );
  return row?.n ?? 0;
}

/**
 * A running job's lane-mates: queued jobs of `name` in the same queue (lane), due, unlocked and never tried (a job that
 * failed keeps its own backoff), oldest first, with one payload field. While the running job holds the lane nobody
 * else runs them (docs/decisions/091-stripe-processing-in-batches.md).
 */
export async function queuedSiblingJobs(
  db: Db,
  jobId: string,
  name: string,
  payloadField: string,
  now: Date,
  limit: number,
): Promise<{ jobId: string; value: string }[]> {
  if (limit <= 0) return [];
  return db.$queryRawUnsafe<{ jobId: string; value: string }[]>(
    `SELECT j.id::text AS "jobId", j.payload ->> $5 AS "value"
     FROM ${S}._private_jobs j JOIN ${S}._private_tasks t ON t.id = j.task_id
     WHERE j.job_queue_id = (SELECT job_queue_id FROM ${S}._private_jobs WHERE id = $1::bigint)
       AND t.identifier = $2 AND j.id <> $1::bigint AND j.locked_at IS NULL AND j.attempts = 0 AND j.run_at <= $3::timestamptz
       AND j.payload ->> $5 IS NOT NULL
     ORDER BY j.id ASC LIMIT $4`,
    jobId,
    name,
    now,
    limit,
    payloadField,
  );
}

/** Marks jobs done (graphile-worker removes them), e.g. the lane-mates a running job processed with it. */
export async function completeJobs(db: Db, jobIds: string[]): Promise<void> {
  if (jobIds.length === 0) return;
  await db.$queryRawUnsafe(`SELECT count(*)::int AS n FROM ${S}.complete_jobs($1::bigint[])`, jobIds);
}
