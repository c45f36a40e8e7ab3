import { z } from "zod";
import { ingestSourceEvent } from "../../models/ingest.server";
import { PIXEL_EVENT_JOB } from "../../models/pixel-checkout.server";
import { parsePixelState, pixelObservations } from "../../recovery/pixel-merge";
import { pixelEventBody, toPixelObservation, describeIssues } from "../../sources/pixel/payload";
import { defineJob, PermanentJobError, type JobContext } from "../engine.server";
import { completeJobs } from "../queue.server";
import { refuseOtherShopsRow } from "../../security/job-scope.server";
import { BATCH_TRANSACTION_OPTIONS, IngestCollector, logRolledBack, processAloneThenSettle, takeLaneBatch } from "./lane-batch.server";

/** Rounds of catching up with events merged while the job ran, before leaving the rest to the job queued behind it. */
const MAX_ROUNDS = 5;

const payload = z.union([
  z.object({ pixelCheckoutId: z.string() }),
  /** Jobs queued before events were merged (migration 20261207000900): one stored event each. */
  z.object({ inboundEventId: z.string() }),
]);

/**
 * Applies a checkout the pixel reported, merged from all its events so far (app/models/pixel-checkout.server.ts): the
 * checkout, then its completion, handed to ingest. What pixel data may change is decided there (docs/decisions/050):
 * it can show a checkout early or hold sends, never more. Events merged while this runs are applied in another round
 * (or by the job the collector queued behind this one); a checkout already applied is left alone. The job that runs
 * takes the shop's other queued pixel checkouts with it and applies them in one transaction, their observations stored
 * with one `ingestSourceEvents` call (docs/decisions/096).
 */
export const processPixelEvent = defineJob({
  name: PIXEL_EVENT_JOB,
  payload,
  async run(ctx) {
    const { payload: p } = ctx;
    if ("inboundEventId" in p) return processStoredEvent(ctx, p.inboundEventId);
    return processPixelCheckoutBatch(ctx, p.pixelCheckoutId);
  },
});

type Ctx = JobContext<z.infer<typeof payload>>;

/**
 * The running job's pixel checkout and the shop's other queued ones, applied in one transaction. A checkout whose row
 * moved on meanwhile (an event merged while this ran) keeps its job, which applies it again; the running one's is done
 * at once, alone, in rounds. When the transaction fails, each is applied alone (the failing one keeps its job).
 */
async function processPixelCheckoutBatch(ctx: Ctx, pixelCheckoutId: string): Promise<void> {
  const { db, clock, job } = ctx;
  const jobs = await takeLaneBatch(ctx, PIXEL_EVENT_JOB, "pixelCheckoutId", pixelCheckoutId);
  if (jobs.length === 1) return processPixelCheckout(ctx, pixelCheckoutId);
  const rows = await db.pixelCheckout.findMany({ where: { id: { in: jobs.map((j) => j.value) } } });
  const rowById = new Map(rows.map((r) => [r.id, r]));
  const lead = rowById.get(pixelCheckoutId);
  if (!lead) return; // removed since (retention, a customer's or the shop's redaction)
  await refuseOtherShopsRow(job, async () => lead.shopId, `pixel checkout ${lead.id}`);
  const shop = await db.shop.findUnique({ where: { id: lead.shopId }, select: { uninstalledAt: true } });
  // A sibling of another shop is left to its own job (which refuses it); one whose row is gone has nothing left to do.
  const gone = jobs.filter((j) => !rowById.has(j.value) && j.jobId !== job.id).map((j) => j.jobId);
  const batch = jobs.flatMap((j) => {
    const row = rowById.get(j.value);
    return row && row.shopId === lead.shopId ? [{ jobId: j.jobId, row }] : [];
  });
  let leadAgain = false;
  try {
    await db.$transaction(async (tx) => {
      const collected = new IngestCollector(tx, lead.shopId, () => clock.now());
      const todo = batch.filter((b) => b.row.processedCount < b.row.eventCount);
      if (shop && !shop.uninstalledAt) {
        for (const { row } of todo) for (const observation of pixelObservations({ ...row, state: parsePixelState(row.state) })) collected.add(observation);
      }
      await collected.flush();
      // Done with exactly what was read (one statement); a checkout whose count moved meanwhile is applied again by its job.
      const applied = new Set(
        todo.length === 0
          ? []
          : (
              await tx.$queryRawUnsafe<{ id: string }[]>(
                `UPDATE "PixelCheckout" p SET "processedCount" = m.count, "processedAt" = $1, "error" = NULL
                 FROM unnest($2::text[], $3::int[]) AS m(id, count) WHERE p."id" = m.id AND p."eventCount" = m.count RETURNING p."id"`,
                clock.now(),
                todo.map((b) => b.row.id),
                todo.map((b) => b.row.eventCount),
              )
            ).map((r) => r.id),
      );
      leadAgain = todo.some((b) => b.row.id === lead.id) && !applied.has(lead.id);
      const done = batch.filter((b) => b.row.processedCount >= b.row.eventCount || applied.has(b.row.id)).map((b) => b.jobId);
      await completeJobs(
        tx,
        [...gone, ...done].filter((id) => id !== job.id),
      );
    }, BATCH_TRANSACTION_OPTIONS);
  } catch (error) {
    logRolledBack("pixel checkout", batch.length, error);
    await processAloneThenSettle(
      db,
      job.id,
      batch.map((b) => ({ jobId: b.jobId, value: b.row.id })),
      (one) => processPixelCheckout(ctx, one.value),
      "pixel checkout",
    );
    return;
  }
  // The running job's checkout moved on while the batch ran: applied again now, in rounds, as a lone job does.
  if (leadAgain) await processPixelCheckout(ctx, lead.id);
}

/** One pixel checkout, the way a lone job applies it (its own transactions, in rounds). */
async function processPixelCheckout({ db, clock, job }: Ctx, pixelCheckoutId: string): Promise<void> {
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const row = await db.pixelCheckout.findUnique({ where: { id: pixelCheckoutId } });
    if (!row) return; // removed since (retention, a customer's or the shop's redaction)
    await refuseOtherShopsRow(job, async () => row.shopId, `pixel checkout ${row.id}`);
    if (row.processedCount >= row.eventCount) return;
    const shop = await db.shop.findUnique({ where: { id: row.shopId }, select: { uninstalledAt: true } });
    if (shop && !shop.uninstalledAt) {
      for (const observation of pixelObservations({ ...row, state: parsePixelState(row.state) })) {
        await ingestSourceEvent(db, row.shopId, observation, clock.now());
      }
    }
    // Done with exactly what was read; if more was merged meanwhile, the count moved and this applies it too.
    const { count } = await db.pixelCheckout.updateMany({
      where: { id: row.id, eventCount: row.eventCount },
      data: { processedCount: row.eventCount, processedAt: clock.now(), error: null },
    });
    if (count === 1) return;
  }
}

/** A pixel event stored whole by an earlier version, with its own job: applied as before. */
async function processStoredEvent({ db, clock, job }: Ctx, inboundEventId: string) {
  const event = await db.inboundEvent.findUnique({ where: { id: inboundEventId } });
  if (!event) throw new PermanentJobError(`inbound event ${inboundEventId} not found`);
  if (event.processedAt) return;
  const shop = await db.shop.findUnique({ where: { domain: event.receiver }, select: { id: true, uninstalledAt: true } });
  await refuseOtherShopsRow(job, async () => shop?.id, `inbound event ${event.id}`);
  let error: string | null = null;
  if (shop && !shop.uninstalledAt) {
    const body = pixelEventBody.safeParse(JSON.parse(event.payload));
    // Validated before it was stored, against the time it arrived: a failure here is a changed schema, kept and explained.
    const observation = body.success ? toPixelObservation(body.data, event.receivedAt) : { ok: false as const, reason: describeIssues(body.error) };
    if (observation.ok) await ingestSourceEvent(db, shop.id, observation.value, clock.now());
    else error = observation.reason;
  }
  await db.inboundEvent.update({ where: { id: event.id }, data: { processedAt: clock.now(), error } });
}
