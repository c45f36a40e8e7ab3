import type { Prisma, PrismaClient } from "@prisma/client";
import { env } from "../../env.server";
import { logger } from "../../logger.server";
import { modeGate, type IgnoredReason } from "../../models/stripe-connection.server";
import { refuseOtherShopsRow } from "../../security/job-scope.server";
import { handlerFor, INGEST_ONLY_TYPES, type StripeEventContext } from "../../sources/stripe/handlers.server";
import { PROCESS_STRIPE_EVENT_JOB } from "../../sources/stripe/receive-webhook.server";
import { mustStoreCollectedFirst } from "../../sources/stripe/reversal-order.server";
import { isSnapshotEvent, type StripeEventEnvelope } from "../../sources/stripe/verify-event.server";
import type { SourceEvent } from "../../recovery/model";
import { PermanentJobError, type JobContext } from "../engine.server";
import { completeJobs } from "../queue.server";
import {
  BATCH_TRANSACTION_OPTIONS,
  BATCH_TRANSACTION_TIMEOUT_MS,
  compareJobIds,
  inTransaction,
  IngestCollector,
  LANE_BATCH_SIZE,
  logRolledBack,
  processAloneThenSettle,
  takeLaneBatch,
} from "./lane-batch.server";

/**
 * One shop's Stripe events processed together (docs/decisions/091-stripe-processing-in-batches.md). Intake still
 * stores one job per event in the shop's intake lane; the job that runs takes up to STRIPE_BATCH_SIZE of the lane's
 * other queued `process-stripe-event` jobs with it, loads the events, connections and shops once, runs every event's
 * handler in one transaction, marks the events processed and removes their jobs in that same transaction. Handlers that
 * only map an event to a SourceEvent hand it to `ctx.ingest`, which collects it: the collected events are stored with
 * one `ingestSourceEvents` call, before any handler that acts on stored rows itself and at the end (ADR 096). Per event
 * the rules are those of a single event (an event already processed is skipped). When any event of the batch throws,
 * the batch's transaction is rolled back and every event is processed alone, as a lone job would: the failing one is
 * left with its job, which runs (and retries, with its error kept) on its own; the others are not held up by it.
 * Events of a connection with an API key may call Stripe: they are processed alone too, so no HTTP call holds the
 * batch's transaction (and the shop's ingest lock).
 */
export const STRIPE_BATCH_SIZE = LANE_BATCH_SIZE;

type Payload = { inboundEventId: string };
type Fetchers = Pick<StripeEventContext, "lineItems" | "paymentLink">;

/** What the per-event path of process-stripe-event.server.ts gives the batch (passed in: no import cycle). */
export interface SingleEventPath {
  /** Processes one stored event the way a lone job does (its own reads and transactions; may call Stripe). */
  single(ctx: JobContext<Payload>): Promise<void>;
  /** The optional Stripe reads, with the connection's credentials loaded by `loadCredentials`. */
  fetchers(
    db: PrismaClient,
    connection: { id: string },
    shopId: string,
    now: Date,
    loadCredentials: () => Promise<{ apiKey: string; livemode: boolean } | null>,
  ): Fetchers;
  sourceOff: string;
}

interface Mark {
  id: string;
  error: string | null;
  ignoredReason: IgnoredReason | null;
}

export async function processStripeEventBatch(ctx: JobContext<Payload>, path: SingleEventPath): Promise<void> {
  const { db, clock, job, payload } = ctx;
  const siblings = (await takeLaneBatch(ctx, PROCESS_STRIPE_EVENT_JOB, "inboundEventId", payload.inboundEventId)).filter((s) => s.jobId !== job.id);
  const rows = await db.inboundEvent.findMany({ where: { id: { in: [payload.inboundEventId, ...siblings.map((s) => s.value)] } } });
  const rowById = new Map(rows.map((r) => [r.id, r]));
  const lead = rowById.get(payload.inboundEventId);
  if (!lead) throw new PermanentJobError(`inbound event ${payload.inboundEventId} not found`);
  const connections = await db.stripeConnection.findMany({
    where: { id: { in: [...new Set(rows.map((r) => r.receiver))] } },
    select: { id: true, shopId: true, mode: true, apiKeyEncrypted: true, livemode: true, connectPlatform: true },
  });
  const connectionById = new Map(connections.map((c) => [c.id, c]));
  await refuseOtherShopsRow(job, async () => connectionById.get(lead.receiver)?.shopId, `inbound event ${lead.id}`);
  const shops = await db.shop.findMany({
    where: { id: { in: [...new Set(connections.map((c) => c.shopId))] } },
    select: { id: true, currency: true, uninstalledAt: true },
  });
  const shopById = new Map(shops.map((s) => [s.id, s]));

  // The batch in the order the events were received (job order); a sibling that is not this shop's, or whose row is
  // gone, is left to its own job (which refuses it with the reason).
  const jobOfEvent = new Map<string, string | null>([[lead.id, null]]);
  const batch = [{ row: lead, jobId: job.id }];
  for (const s of siblings) {
    const row = rowById.get(s.value);
    const owner = row ? connectionById.get(row.receiver)?.shopId : undefined;
    if (!row || jobOfEvent.has(row.id) || (job.shopId && owner && owner !== job.shopId)) continue;
    jobOfEvent.set(row.id, s.jobId);
    batch.push({ row, jobId: s.jobId });
  }
  batch.sort((a, b) => compareJobIds(a.jobId, b.jobId));

  const marks: Mark[] = [];
  const doneJobs: string[] = [];
  const lastEventAt = new Map<string, Date>();
  /** Events processed alone, after the batch's transaction (their connection has an API key; or the batch failed). */
  const later: string[] = [];
  type Ready = { id: string; handler: NonNullable<ReturnType<typeof handlerFor>>; event: StripeEventEnvelope; connectionId: string; shopId: string };
  const ready: Ready[] = [];
  const ignore = (id: string, type: string, reason: IgnoredReason, detail?: string) => {
    logger.info("stripe event ignored", { inboundEventId: id, type, reason, ...(detail ? { detail } : {}) });
    marks.push({ id, error: null, ignoredReason: reason });
  };

  // Everything decided without writing rows of the shop: the outcome is only a mark on the event.
  for (const { row, jobId } of batch) {
    if (row.processedAt) {
      doneJobs.push(jobId);
      continue;
    }
    if (!env.STRIPE_SOURCE_ENABLED) {
      marks.push({ id: row.id, error: path.sourceOff, ignoredReason: null });
      continue;
    }
    const parsed: unknown = JSON.parse(row.payload);
    if (!isSnapshotEvent(parsed)) {
      ignore(row.id, row.topic, "thin_event");
      continue;
    }
    const event: StripeEventEnvelope = parsed;
    const connection = connectionById.get(row.receiver);
    // The connection's mode, from the row loaded above; only the first event of a connection without one writes it.
    const gate = await modeGate(
      db,
      row.receiver,
      { livemode: event.livemode === true, account: typeof event.account === "string" ? event.account : null },
      clock.now(),
      connection ?? null,
    );
    if (connection && gate) connection.mode = gate.mode;
    if (gate?.ignored) {
      ignore(row.id, row.topic, gate.ignored);
      continue;
    }
    const handler = handlerFor(event.type);
    if (!handler) {
      logger.info("stripe event ignored: type not handled", { eventId: event.id, type: event.type });
      marks.push({ id: row.id, error: null, ignoredReason: null });
      continue;
    }
    const shop = connection ? shopById.get(connection.shopId) : undefined;
    if (!connection || !shop) {
      marks.push({ id: row.id, error: "the Stripe connection was removed before this event was processed", ignoredReason: null });
      continue;
    }
    if (shop.uninstalledAt) {
      marks.push({ id: row.id, error: "the shop had uninstalled Reclaim when this event was processed", ignoredReason: null });
      continue;
    }
    if (connection.apiKeyEncrypted) later.push(row.id);
    else ready.push({ id: row.id, handler, event, connectionId: connection.id, shopId: shop.id });
  }

  const commit = async (tx: Prisma.TransactionClient) => {
    if (marks.length > 0) {
      await tx.$executeRawUnsafe(
        `UPDATE "InboundEvent" e SET "processedAt" = $1, "error" = m.error, "ignoredReason" = m.reason
         FROM unnest($2::text[], $3::text[], $4::text[]) AS m(id, error, reason) WHERE e."id" = m.id AND e."processedAt" IS NULL`,
        clock.now(),
        marks.map((m) => m.id),
        marks.map((m) => m.error),
        marks.map((m) => m.ignoredReason),
      );
    }
    for (const [connectionId, at] of lastEventAt) {
      await tx.stripeConnection.updateMany({
        where: { id: connectionId, OR: [{ lastEventAt: null }, { lastEventAt: { lt: at } }] },
        data: { lastEventAt: at },
      });
    }
    // The jobs of the siblings settled here go with them (the running job is the engine's to finish).
    const settled = [...doneJobs, ...marks.map((m) => jobOfEvent.get(m.id))].filter((id): id is string => Boolean(id) && id !== job.id);
    await completeJobs(tx, settled);
  };
  const settledBefore = marks.length;

  try {
    await db.$transaction(async (tx) => {
      const txDb = inTransaction(tx);
      // Every event of the batch is this shop's (siblings of another shop were left out above).
      const collector = ready[0] ? new IngestCollector(tx, ready[0].shopId, () => clock.now()) : null;
      // The events collected and not stored yet (what a refund or dispute may have to wait for).
      const collected: SourceEvent[] = [];
      const ingest = async (event: SourceEvent) => {
        collected.push(event);
        await collector!.ingest(event);
      };
      for (const item of ready) {
        const connection = connectionById.get(item.connectionId)!;
        const shop = shopById.get(item.shopId)!;
        const now = clock.now();
        // A handler that acts on stored rows itself sees what the events before it stored; a refund or dispute that
        // no collected event can meet runs first instead (the same outcome, one store of the collected events less).
        if (!INGEST_ONLY_TYPES.has(item.event.type) && (await mustStoreCollectedFirst(tx, item.shopId, item.event, collected))) {
          await collector!.flush();
          collected.length = 0;
        }
        // The connection has no API key (see above): the reads answer "no key" without calling Stripe.
        const fetchers = path.fetchers(txDb, connection, shop.id, now, async () => null);
        const outcome = await item.handler({ db: txDb, shop, event: item.event, now, connectionId: connection.id, ingest, ...fetchers });
        if (outcome && "ignored" in outcome) {
          ignore(item.id, item.event.type, outcome.ignored, outcome.detail);
          continue;
        }
        if (outcome && "note" in outcome) logger.info("stripe event changed nothing", { eventId: item.event.id, type: item.event.type, note: outcome.note });
        marks.push({ id: item.id, error: null, ignoredReason: null });
        const created = new Date(item.event.created * 1000);
        const latest = lastEventAt.get(connection.id);
        if (!latest || latest < created) lastEventAt.set(connection.id, created);
      }
      await collector?.flush();
      await commit(tx);
    }, BATCH_TRANSACTION_OPTIONS);
  } catch (error) {
    // One event threw (a payload the mapper refuses, a row the database refuses, a lost connection): nothing of the
    // batch's handlers was kept. What was decided without them is committed, and each of them is processed alone.
    logRolledBack("stripe", ready.length, error);
    marks.length = settledBefore;
    lastEventAt.clear();
    await db.$transaction((tx) => commit(tx), { timeout: BATCH_TRANSACTION_TIMEOUT_MS });
    later.push(...ready.map((r) => r.id));
  }

  // One at a time, each with its own transactions, as a lone job would (in the order received).
  await processAloneThenSettle(
    db,
    job.id,
    later.map((id) => ({ jobId: jobOfEvent.get(id) ?? job.id, value: id })),
    (one) => path.single({ ...ctx, payload: { inboundEventId: one.value } }),
    "stripe event",
  );
}
