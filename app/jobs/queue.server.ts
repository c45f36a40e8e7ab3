import { randomUUID } from "node:crypto";
import type { Prisma, PrismaClient } from "@prisma/client";

type Db = PrismaClient | Prisma.TransactionClient;

export interface EnqueueOptions {
  /** When to run (default: now). */
  runAt?: Date;
  /**
   * Dedupe key: while a job with this key is queued or running, enqueueing again does not add a second one
   * (a queued job's runAt moves earlier if asked). Cleared when the job finishes.
   */
  key?: string;
  /**
   * With `key`: when the job holding the key is already running, queue another one behind it (the running one gives up
   * the key) instead of counting the running one. For work whose input can change while it runs (a merged pixel
   * checkout): the queued job then sees what arrived meanwhile. At most one queued job per key either way.
   */
  queueBehindRunning?: boolean;
  shopId?: string | null;
  maxAttempts?: number;
}

/** Adds a job to the durable queue. Safe inside a transaction, so "store the event and enqueue its processing" is atomic. */
export async function enqueueJob(db: Db, name: string, payload: unknown, options: EnqueueOptions = {}): Promise<string> {
  const runAt = options.runAt ?? new Date();
  const data = {
    name,
    payload: JSON.stringify(payload ?? {}),
    runAt,
    shopId: options.shopId ?? null,
    maxAttempts: options.maxAttempts ?? 8,
  };
  if (!options.key) return (await db.job.create({ data, select: { id: true } })).id;

  // One statement whatever the race: insert, or (same key queued or running) keep that job and only move a queued one
  // earlier. Never a caught unique violation: in PostgreSQL that would abort the caller's transaction.
  for (let attempt = 0; attempt < 3; attempt++) {
    // A running holder keeps running but lets go of the key, so the insert below queues the next job.
    if (options.queueBehindRunning) await db.$executeRaw`UPDATE "Job" SET "key" = NULL WHERE "key" = ${options.key} AND "status" = 'running'`;
    const inserted = await db.$queryRaw<{ id: string }[]>`
      INSERT INTO "Job" ("id", "name", "payload", "key", "shopId", "status", "runAt", "attempts", "maxAttempts", "createdAt", "updatedAt")
      VALUES (${randomUUID()}, ${name}, ${data.payload}, ${options.key}, ${data.shopId}, 'queued', ${runAt}, 0, ${data.maxAttempts}, now(), now())
      ON CONFLICT ("key") DO UPDATE SET "runAt" = excluded."runAt", "payload" = excluded."payload", "updatedAt" = now()
        WHERE "Job"."status" = 'queued' AND "Job"."runAt" > excluded."runAt"
      RETURNING "id"`;
    if (inserted[0]) return inserted[0].id;
    const existing = await db.job.findUnique({ where: { key: options.key }, select: { id: true } });
    if (existing) return existing.id;
    // The holder of the key finished between the two statements: try again.
  }
  throw new Error(`enqueueJob: could not queue or find the job with key ${options.key}`);
}

/**
 * Cancels every queued job of a shop (uninstall). Running jobs finish their current attempt and are not retried.
 * `except`: job names to leave alone (e.g. processing of deliveries already stored).
 */
export async function cancelShopJobs(db: Db, shopId: string, reason: string, options: { except?: string[] } = {}): Promise<number> {
  const { count } = await db.job.updateMany({
    where: { shopId, status: { in: ["queued", "running"] }, ...(options.except?.length ? { name: { notIn: options.except } } : {}) },
    data: { status: "cancelled", key: null, lastError: reason, finishedAt: new Date() },
  });
  return count;
}
