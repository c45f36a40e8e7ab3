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

  const existing = await db.job.findUnique({ where: { key: options.key }, select: { id: true, status: true, runAt: true } });
  if (existing) {
    if (existing.status === "queued" && existing.runAt > runAt) {
      await db.job.update({ where: { id: existing.id }, data: { runAt, payload: data.payload } });
    }
    return existing.id;
  }
  try {
    return (await db.job.create({ data: { ...data, key: options.key }, select: { id: true } })).id;
  } catch (error) {
    // Lost a race with another enqueue of the same key: theirs stands.
    const winner = await db.job.findUnique({ where: { key: options.key }, select: { id: true } });
    if (winner) return winner.id;
    throw error;
  }
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
