/**
 * Checkout-pixel events, merged per (shop, checkout) (docs/decisions/051, 079). The collector is public, so a burst of
 * events must cost neither a row nor a job each: every accepted event for a checkout updates that checkout's one row in
 * place (merged state, first and last seen, event count) and leaves at most one processing job queued for it (job
 * key). New checkouts — the only thing that grows storage — are capped per shop per day.
 */
import { randomUUID } from "node:crypto";
import type { Prisma, PrismaClient } from "@prisma/client";
import { enqueueJob } from "../jobs/queue.server";
import type { CheckoutPixelObserved } from "../recovery/model";
import { mergePixelCompletion, mergePixelState, parsePixelState } from "../recovery/pixel-merge";

type Tx = Prisma.TransactionClient;

/** The processing job (app/jobs/definitions/process-pixel-event.server.ts). */
export const PIXEL_EVENT_JOB = "process-pixel-event";
/** Event ids remembered per checkout to recognise a redelivered event. */
const RECENT_EVENT_IDS = 20;
const DAY_MS = 86_400_000;

export const pixelCheckoutJobKey = (id: string) => `pixel-checkout:${id}`;

export type MergeOutcome = "new" | "merged" | "duplicate" | "capped";

interface LockedRow {
  id: string;
  state: string | null;
  completedAt: Date | null;
  recentEventIds: string;
}

/** The checkout's row, locked until the transaction ends: events for one checkout merge one at a time. */
async function lockRow(tx: Tx, shopId: string, checkoutToken: string): Promise<LockedRow | null> {
  const rows = await tx.$queryRaw<LockedRow[]>`
    SELECT "id", "state", "completedAt", "recentEventIds" FROM "PixelCheckout"
    WHERE "shopId" = ${shopId} AND "checkoutToken" = ${checkoutToken} FOR UPDATE`;
  return rows[0] ?? null;
}

/** Whether the shop's pixel has reported `cap` new checkouts in the last 24 hours (counts at most `cap` rows, over an index). */
async function newPixelCheckoutsCapReached(db: PrismaClient | Tx, shopId: string, now: Date, cap: number): Promise<boolean> {
  const since = new Date(now.getTime() - DAY_MS);
  const rows = await db.$queryRaw<{ n: bigint }[]>`
    SELECT count(*) AS "n" FROM (SELECT 1 FROM "PixelCheckout" WHERE "shopId" = ${shopId} AND "firstSeenAt" >= ${since} LIMIT ${cap}) t`;
  return Number(rows[0]?.n ?? 0) >= cap;
}

const enqueue = (tx: Tx, id: string, shopId: string) =>
  enqueueJob(tx, PIXEL_EVENT_JOB, { pixelCheckoutId: id }, { key: pixelCheckoutJobKey(id), keyMode: "replace", shopId });

/**
 * Merges one validated pixel event into its checkout's row (created on the first event, unless the shop is at its daily
 * cap of new checkouts), and makes sure one processing job is queued for it. A redelivered event id changes nothing.
 */
export async function mergePixelEvent(
  db: PrismaClient,
  input: { shopId: string; eventId: string; observation: CheckoutPixelObserved; receivedAt: Date },
  cap: number,
): Promise<MergeOutcome> {
  const { shopId, eventId, observation: e, receivedAt } = input;
  return db.$transaction(
    async (tx) => {
      let row = await lockRow(tx, shopId, e.checkoutToken);
      if (!row) {
        if (await newPixelCheckoutsCapReached(tx, shopId, receivedAt, cap)) return "capped";
        const id = randomUUID();
        const state = mergePixelState(null, e);
        const inserted = await tx.$queryRaw<{ id: string }[]>`
        INSERT INTO "PixelCheckout" ("id", "shopId", "checkoutToken", "state", "completedAt", "lastEvent", "recentEventIds", "eventCount", "firstSeenAt", "lastSeenAt")
        VALUES (${id}, ${shopId}, ${e.checkoutToken}, ${state ? JSON.stringify(state) : null}, ${mergePixelCompletion(null, e)}, ${e.event}, ${JSON.stringify([eventId])}, 1, ${receivedAt}, ${receivedAt})
        ON CONFLICT ("shopId", "checkoutToken") DO NOTHING
        RETURNING "id"`;
        if (inserted[0]) {
          await enqueue(tx, id, shopId);
          return "new";
        }
        // Another request created it a moment ago (the insert waited for it to commit): merge into theirs.
        row = await lockRow(tx, shopId, e.checkoutToken);
        if (!row) throw new Error(`pixel checkout ${e.checkoutToken} vanished while it was being merged`);
      }
      const recent = parseIds(row.recentEventIds);
      if (recent.includes(eventId)) return "duplicate";
      const state = mergePixelState(parsePixelState(row.state), e);
      await tx.pixelCheckout.update({
        where: { id: row.id },
        data: {
          state: state ? JSON.stringify(state) : null,
          completedAt: mergePixelCompletion(row.completedAt, e),
          lastEvent: e.event,
          recentEventIds: JSON.stringify([...recent, eventId].slice(-RECENT_EVENT_IDS)),
          eventCount: { increment: 1 },
          lastSeenAt: receivedAt,
        },
      });
      await enqueue(tx, row.id, shopId);
      return "merged";
      // A burst for one checkout queues on its row lock, a few milliseconds each: wait for that rather than fail.
    },
    { maxWait: 10_000, timeout: 10_000 },
  );
}

function parseIds(raw: string): string[] {
  try {
    const ids = JSON.parse(raw) as unknown;
    return Array.isArray(ids) ? ids.filter((id): id is string => typeof id === "string") : [];
  } catch {
    return [];
  }
}

/** Recoveries seen only by the pixel, waiting for Shopify to confirm them (Settings › Checkout pixel). */
export function countUnconfirmedPixelRecoveries(db: PrismaClient, shopId: string): Promise<number> {
  return db.recovery.count({ where: { shopId, pixelOnly: true } });
}

/**
 * The last pixel event a shop received (Settings › Checkout pixel): the newest merged checkout, or a pixel event stored
 * whole before events were merged (kept until retention removes them).
 */
export async function lastPixelEvent(db: PrismaClient, shop: { id: string; domain: string }): Promise<{ at: Date; name: string } | null> {
  const [merged, legacy] = await Promise.all([
    db.pixelCheckout.findFirst({ where: { shopId: shop.id }, orderBy: { lastSeenAt: "desc" }, select: { lastSeenAt: true, lastEvent: true } }),
    db.inboundEvent.findFirst({
      where: { source: "pixel", receiver: shop.domain },
      orderBy: { receivedAt: "desc" },
      select: { receivedAt: true, topic: true },
    }),
  ]);
  const candidates = [merged && { at: merged.lastSeenAt, name: merged.lastEvent }, legacy && { at: legacy.receivedAt, name: legacy.topic }].filter(
    (c): c is { at: Date; name: string } => Boolean(c),
  );
  return candidates.sort((a, b) => b.at.getTime() - a.at.getTime())[0] ?? null;
}
