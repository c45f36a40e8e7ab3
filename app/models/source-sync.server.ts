import type { Prisma, PrismaClient, SourceSync } from "@prisma/client";

/** A client or a transaction: progress is written in the transaction that stores the page it describes. */
type Db = PrismaClient | Prisma.TransactionClient;

/**
 * Progress and health of pulling one source for one shop (the SourceSync row the dashboard shows).
 * Progress is written in the transaction that stores the page it describes, so what is stored and what the progress
 * says never disagree, and a crash re-reads at most the page that was being stored
 * (docs/decisions/030-shopify-sync-watermark.md, 095-sync-overlap-and-resumable-backfill.md).
 */

/** The poll in progress. Times are ISO strings. */
export interface SyncRun {
  /** `updated_at` lower bound of this poll (watermark − overlap) */
  from: string;
  /** when this poll began: the next watermark is never later than this */
  startedAt: string;
  /** cursor after the last stored page */
  after: string | null;
  /** newest `updatedAt` among the stored checkouts */
  maxSeen: string | null;
  pages: number;
}

export type BackfillProgress =
  | {
      mode: "bulk";
      since: string;
      until: string;
      operationId: string | null;
      /** checkouts of the operation's file stored so far */
      done: number;
      /**
       * byte offset in the operation's file of the first line not yet stored (always the start of a checkout's line):
       * a resumed backfill asks for the file from here (`Range: bytes=<offset>-`). Absent before the first batch and
       * for progress saved by older versions (they resume by skipping `done` checkouts).
       */
      offset?: number;
      /** checkouts whose line items arrived away from them in the part already read: read again by id at the end */
      orphans?: string[];
    }
  | { mode: "paged"; since: string; until: string; after: string | null; done: number };

export type SyncHealth = "healthy" | "degraded" | "unhealthy";

/** After this many failed runs in a row the sync is shown as unhealthy (before that: degraded). */
export const UNHEALTHY_AFTER_FAILURES = 3;

export function parseSyncRun(row: Pick<SourceSync, "syncRun">): SyncRun | null {
  if (!row.syncRun) return null;
  try {
    return JSON.parse(row.syncRun) as SyncRun;
  } catch {
    return null;
  }
}

export function parseBackfill(row: Pick<SourceSync, "backfillCursor">): BackfillProgress | null {
  if (!row.backfillCursor) return null;
  try {
    return JSON.parse(row.backfillCursor) as BackfillProgress;
  } catch {
    return null;
  }
}

/**
 * The shop's sync row, created on first use. A new row starts its watermark now: history before that is the
 * backfill's job, changes after it the poll's.
 */
export async function getOrCreateSourceSync(db: PrismaClient, shopId: string, source: string, now: Date): Promise<SourceSync> {
  const existing = await db.sourceSync.findUnique({ where: { shopId_source: { shopId, source } } });
  if (existing) return existing;
  try {
    return await db.sourceSync.create({ data: { shopId, source, watermark: now, backfillStatus: "pending" } });
  } catch {
    // Created by a concurrent caller a moment ago.
    return db.sourceSync.findUniqueOrThrow({ where: { shopId_source: { shopId, source } } });
  }
}

/** The shop's sync state for a source, or null before its first sync (read only: the Overview's sync line). */
export function findSourceSync(db: PrismaClient, shopId: string, source: string): Promise<SourceSync | null> {
  return db.sourceSync.findUnique({ where: { shopId_source: { shopId, source } } });
}

export function saveSyncRun(db: Db, id: string, run: SyncRun) {
  return db.sourceSync.update({ where: { id }, data: { syncRun: JSON.stringify(run) } });
}

/** A poll reached its last page: the watermark moves and the run is forgotten, in one write. */
export function finishSyncRun(db: Db, id: string, watermark: Date | null) {
  return db.sourceSync.update({ where: { id }, data: { syncRun: null, ...(watermark ? { watermark } : {}) } });
}

export function saveBackfill(db: Db, id: string, status: "pending" | "running" | "done", progress: BackfillProgress | null) {
  return db.sourceSync.update({
    where: { id },
    data: {
      backfillStatus: status,
      backfillCursor: progress ? JSON.stringify(progress) : null,
      bulkOperationId: progress?.mode === "bulk" ? progress.operationId : null,
    },
  });
}

export function recordSyncAttempt(db: PrismaClient, id: string, at: Date) {
  return db.sourceSync.update({ where: { id }, data: { lastAttemptAt: at } });
}

/**
 * A run finished. `note` is a merchant-readable caveat (e.g. emails hidden) that leaves the sync degraded rather
 * than healthy; `undefined` means the run saw nothing to confirm or clear an earlier note, which is kept.
 */
export async function recordSyncSuccess(db: PrismaClient, id: string, at: Date, note: string | null | undefined): Promise<SourceSync> {
  const current = await db.sourceSync.findUniqueOrThrow({ where: { id } });
  const keptNote = current.consecutiveFailures === 0 && current.status === "degraded" ? current.lastError : null;
  const finalNote = note === undefined ? keptNote : note;
  return db.sourceSync.update({
    where: { id },
    data: {
      lastSuccessAt: at,
      consecutiveFailures: 0,
      lastError: finalNote,
      status: finalNote ? "degraded" : "healthy",
    },
  });
}

/**
 * A run failed. Failures the merchant must fix (permissions, access) are unhealthy at once; others become
 * unhealthy after UNHEALTHY_AFTER_FAILURES in a row. The message is shown on the dashboard as is.
 */
export async function recordSyncFailure(db: PrismaClient, id: string, at: Date, message: string, needsMerchant: boolean): Promise<SourceSync> {
  const current = await db.sourceSync.findUniqueOrThrow({ where: { id }, select: { consecutiveFailures: true } });
  const failures = current.consecutiveFailures + 1;
  const status: SyncHealth = needsMerchant || failures >= UNHEALTHY_AFTER_FAILURES ? "unhealthy" : "degraded";
  return db.sourceSync.update({
    where: { id },
    data: { consecutiveFailures: failures, lastError: message.slice(0, 500), status },
  });
}
