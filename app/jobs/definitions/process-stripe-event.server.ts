import { z } from "zod";
import { logger } from "../../logger.server";
import { loadApiCredentials } from "../../models/stripe-connection.server";
import { fetchSessionLineItems, type LineItemsResult } from "../../sources/stripe/api.server";
import { handlerFor } from "../../sources/stripe/handlers.server";
import { PROCESS_STRIPE_EVENT_JOB } from "../../sources/stripe/receive-webhook.server";
import { StripePayloadError } from "../../sources/stripe/to-source-event";
import type { StripeEventEnvelope } from "../../sources/stripe/verify-event.server";
import { defineJob, PermanentJobError } from "../runner.server";
import { refuseOtherShopsRow } from "../../security/job-scope.server";

/**
 * Processes one stored Stripe event (the route only verifies, stores and enqueues). Maps it to a SourceEvent and hands
 * it to ingestSourceEvent; for an expired session, first fetches its line items with the merchant's API key when
 * there is one. A failed Stripe call (network, outage) throws and the runner retries; an answer about the key itself
 * is recorded on the recovery as the reason there are no line items.
 */
export const processStripeEvent = defineJob({
  name: PROCESS_STRIPE_EVENT_JOB,
  payload: z.object({ inboundEventId: z.string() }),
  async run({ payload, db, clock, job }) {
    const row = await db.inboundEvent.findUnique({ where: { id: payload.inboundEventId } });
    if (!row) throw new PermanentJobError(`inbound event ${payload.inboundEventId} not found`);
    if (row.processedAt) return;
    await refuseOtherShopsRow(job, async () => (await db.stripeConnection.findUnique({ where: { id: row.receiver }, select: { shopId: true } }))?.shopId, `inbound event ${row.id}`);
    const finish = (error: string | null) => db.inboundEvent.update({ where: { id: row.id }, data: { processedAt: clock.now(), error } });

    const event = JSON.parse(row.payload) as StripeEventEnvelope;
    const handler = handlerFor(event.type);
    if (!handler) {
      logger.info("stripe event ignored: type not handled", { eventId: event.id, type: event.type });
      await finish(null);
      return;
    }
    const connection = await db.stripeConnection.findUnique({ where: { id: row.receiver }, select: { id: true, shopId: true } });
    const shop = connection ? await db.shop.findUnique({ where: { id: connection.shopId }, select: { id: true, currency: true, uninstalledAt: true } }) : null;
    if (!connection || !shop) {
      await finish("the Stripe connection was removed before this event was processed");
      return;
    }
    if (shop.uninstalledAt) {
      await finish("the shop had uninstalled Reclaim when this event was processed");
      return;
    }

    const lineItems = async (sessionId: string, currency: string, livemode: boolean): Promise<LineItemsResult> => {
      const credentials = await loadApiCredentials(db, connection.id);
      if (!credentials) return { ok: false, unavailable: "no Stripe API key connected" };
      if (credentials.livemode !== livemode) {
        return { ok: false, unavailable: `the connected API key is a ${credentials.livemode ? "live" : "test"}-mode key and this session is ${livemode ? "live" : "test"}` };
      }
      return fetchSessionLineItems(credentials.apiKey, sessionId, currency);
    };

    try {
      await handler({ db, shop, event, now: clock.now(), lineItems });
    } catch (error) {
      // A payload that cannot be read never will be: keep it, say why, do not retry.
      if (!(error instanceof StripePayloadError)) throw error;
      await finish(error.message);
      return;
    }
    await db.$transaction([
      db.inboundEvent.update({ where: { id: row.id }, data: { processedAt: clock.now(), error: null } }),
      db.stripeConnection.updateMany({
        where: { id: connection.id, OR: [{ lastEventAt: null }, { lastEventAt: { lt: new Date(event.created * 1000) } }] },
        data: { lastEventAt: new Date(event.created * 1000) },
      }),
    ]);
  },
});
