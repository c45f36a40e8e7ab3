/**
 * Background sync of a shop's abandoned checkouts from Admin GraphQL into Reclaim (issue 3).
 *
 * One run = the poll (checkouts changed since the watermark) and then, while the backfill is unfinished, one slice
 * of the backfill (a bulk operation, or paced pages). The poll always runs first and the backfill only gets what
 * time is left, so a large history never delays new checkouts. Decisions: docs/decisions/030–034.
 *
 * Every checkout goes through `ingestSourceEvent` (idempotent, order-independent), so reading a checkout twice —
 * the watermark overlap, a restart after a crash, a webhook that came first — never stores it twice.
 */
import type { PrismaClient } from "@prisma/client";
import { db as appDb } from "../../db.server";
import { logger } from "../../logger.server";
import { getOrCreateSourceSync, recordSyncAttempt, recordSyncFailure, recordSyncSuccess } from "../../models/source-sync.server";
import type { QueryCost } from "./cost-pacer";
import { requestShopifySync } from "./sync-request.server";
import { SHOPIFY_SOURCE, SYNC_MESSAGES, type ShopifySyncOptions, type ShopifySyncResult, SyncFailure } from "./sync-types";
import { zeroSyncStats, SyncRunContext } from "./sync-run-context.server";
import { poll, backfill } from "./sync-poll-backfill.server";

/** Delay before the next run after `failures` failed runs in a row: 1, 2, 4 … minutes, at most 30, ±25 %. */
export function failureDelayMs(failures: number, random: () => number = Math.random): number {
  const base = Math.min(30 * 60_000, 60_000 * 2 ** Math.max(0, failures - 1));
  return Math.round(base * (0.75 + random() * 0.5));
}

/**
 * One run of a shop's Shopify sync. Never throws for Shopify's answers: failures are recorded on the shop's
 * SourceSync (shown on the dashboard) and the result says when to run next.
 */
export async function syncShopifyCheckouts(db: PrismaClient, shopId: string, options: ShopifySyncOptions = {}): Promise<ShopifySyncResult> {
  const now = options.now ?? (() => new Date());
  const shop = await db.shop.findUnique({ where: { id: shopId } });
  const emptyStats = zeroSyncStats();
  if (!shop || shop.uninstalledAt) return { outcome: "skipped", nextRunInMs: 0, more: false, stats: emptyStats };
  let state = await getOrCreateSourceSync(db, shop.id, SHOPIFY_SOURCE, now());
  state = await recordSyncAttempt(db, state.id, now());
  const ctx = new SyncRunContext(db, shop, state, options);
  const interval = Math.max(1, shop.syncIntervalMinutes) * 60_000;
  try {
    // A run that comes back only for the backfill does not read the recent checkouts again within the interval: with a
    // bulk operation polled every few seconds, re-reading them each time spent the shop's API budget on nothing.
    const lastPoll = options.lastPollFinishedAt ?? null;
    const recentlyPolled = lastPoll !== null && !ctx.state.syncRun && now().getTime() - lastPoll.getTime() < interval;
    const polled = recentlyPolled ? "done" : await poll(ctx);
    const pollFinishedAt = recentlyPolled ? lastPoll : polled === "done" ? now() : null;
    let next = interval;
    let more = polled === "paused";
    if (polled === "paused") next = 0;
    else {
      const step = await backfill(ctx);
      if (step.state === "paused") {
        more = true;
        next = 0;
      } else if (step.state === "waiting") {
        more = true;
        next = step.ms;
      }
    }
    const note = ctx.note();
    ctx.state = await recordSyncSuccess(db, ctx.state.id, now(), note);
    logger.info("shopify sync run", { shop: shop.domain, ...ctx.stats, more, backfill: ctx.state.backfillStatus });
    return { outcome: "ok", nextRunInMs: next, more, stats: ctx.stats, note: ctx.state.lastError, pollFinishedAt };
  } catch (error) {
    if (options.signal?.aborted) {
      // The worker is stopping: not a failure. Progress is saved per page; the next run resumes at once.
      return { outcome: "ok", nextRunInMs: 0, more: true, stats: ctx.stats };
    }
    const failure =
      error instanceof SyncFailure
        ? error
        : new SyncFailure("failed", SYNC_MESSAGES.failed("an unexpected error"), error instanceof Error ? `${error.name}: ${error.message}` : String(error));
    if (!(error instanceof SyncFailure)) logger.error("shopify sync crashed", { shop: shop.domain, error: failure.detail });
    else logger.warn("shopify sync failed", { shop: shop.domain, kind: failure.kind, detail: failure.detail });
    const updated = await recordSyncFailure(db, ctx.state.id, now(), failure.message, failure.kind === "merchant");
    return {
      outcome: "failed",
      nextRunInMs: failureDelayMs(updated.consecutiveFailures, options.random),
      more: true,
      stats: ctx.stats,
      error: failure.message,
    };
  }
}

/**
 * Install step: the shop's sync row (watermark = now; history is the backfill's) and its first sync, queued now.
 * Idempotent: a reinstall keeps the row and so resumes from its watermark.
 */
export async function startShopifySync(shopId: string, db: PrismaClient = appDb, now: Date = new Date()): Promise<void> {
  await getOrCreateSourceSync(db, shopId, SHOPIFY_SOURCE, now);
  await requestShopifySync(db, shopId, now);
}

export type { QueryCost };
