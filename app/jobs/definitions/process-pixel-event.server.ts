import { z } from "zod";
import { ingestSourceEvent } from "../../models/ingest.server";
import { PIXEL_EVENT_JOB } from "../../models/pixel-checkout.server";
import { parsePixelState, pixelObservations } from "../../recovery/pixel-merge";
import { pixelEventBody, toPixelObservation, describeIssues } from "../../sources/pixel/payload";
import { defineJob, PermanentJobError, type JobContext } from "../engine.server";
import { refuseOtherShopsRow } from "../../security/job-scope.server";

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
 * (or by the job the collector queued behind this one); a checkout already applied is left alone.
 */
export const processPixelEvent = defineJob({
  name: PIXEL_EVENT_JOB,
  payload,
  async run(ctx) {
    const { payload: p } = ctx;
    if ("inboundEventId" in p) return processStoredEvent(ctx, p.inboundEventId);
    const { db, clock, job } = ctx;
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const row = await db.pixelCheckout.findUnique({ where: { id: p.pixelCheckoutId } });
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
  },
});

/** A pixel event stored whole by an earlier version, with its own job: applied as before. */
async function processStoredEvent({ db, clock, job }: JobContext<z.infer<typeof payload>>, inboundEventId: string) {
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
