import { z } from "zod";
import { ingestSourceEvent } from "../../models/ingest.server";
import { checkoutWebhookToEvent, orderWebhookToEvent, PayloadError } from "../../sources/shopify/webhook-mapping";
import { defineJob, PermanentJobError } from "../runner.server";

/**
 * Processes one stored Shopify webhook delivery (routes only verify, store and enqueue).
 * Compliance topics are recorded by the route; their processing is marked here and extended in app/privacy.
 */
export const processShopifyWebhook = defineJob({
  name: "process-shopify-webhook",
  payload: z.object({ inboundEventId: z.string() }),
  async run({ payload, db, clock }) {
    const event = await db.inboundEvent.findUnique({ where: { id: payload.inboundEventId } });
    if (!event) throw new PermanentJobError(`inbound event ${payload.inboundEventId} not found`);
    if (event.processedAt) return;
    const shop = await db.shop.findUnique({ where: { domain: event.receiver } });
    const body = JSON.parse(event.payload);
    let error: string | null = null;
    try {
      switch (event.topic) {
        case "checkouts/create":
        case "checkouts/update":
          if (shop) await ingestSourceEvent(db, shop.id, checkoutWebhookToEvent(body), clock.now());
          break;
        case "orders/create":
          if (shop) await ingestSourceEvent(db, shop.id, orderWebhookToEvent(body), clock.now());
          break;
        case "app/scopes_update": {
          const current = Array.isArray(body.current) ? body.current.join(",") : "";
          if (shop) await db.shop.update({ where: { id: shop.id }, data: { grantedScopes: current } });
          await db.session.updateMany({ where: { shop: event.receiver }, data: { scope: current } });
          break;
        }
        default:
          // app/uninstalled is handled in its route; compliance topics are stored for app/privacy.
          break;
      }
    } catch (e) {
      // A payload we cannot read will never become readable: keep it, say why, do not retry.
      if (!(e instanceof PayloadError)) throw e;
      error = e.message;
    }
    await db.inboundEvent.update({ where: { id: event.id }, data: { processedAt: clock.now(), error } });
  },
});
