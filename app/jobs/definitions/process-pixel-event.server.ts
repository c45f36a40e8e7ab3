import { z } from "zod";
import { ingestSourceEvent } from "../../models/ingest.server";
import { pixelEventBody, toPixelObservation, describeIssues } from "../../sources/pixel/payload";
import { PIXEL_EVENT_JOB } from "../../sources/pixel/receive.server";
import { defineJob, PermanentJobError } from "../engine.server";
import { refuseOtherShopsRow } from "../../security/job-scope.server";

/**
 * Applies one stored checkout-pixel event (the collector validated, stored and enqueued it). What a pixel event may
 * change is decided in ingest (docs/decisions/050): it can show a checkout early or hold sends, never more.
 */
export const processPixelEvent = defineJob({
  name: PIXEL_EVENT_JOB,
  payload: z.object({ inboundEventId: z.string() }),
  async run({ payload, db, clock, job }) {
    const event = await db.inboundEvent.findUnique({ where: { id: payload.inboundEventId } });
    if (!event) throw new PermanentJobError(`inbound event ${payload.inboundEventId} not found`);
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
  },
});
