import { z } from "zod";
import { enqueuePixelActivation } from "../../sources/pixel/activate.server";
import { ingestSourceEvent, type IngestResult } from "../../models/ingest.server";
import { ingestPurchaseCancellation } from "../../models/ingest-cancellation.server";
import { checkoutWebhookToEvent, orderCancelledWebhookToEvent, orderWebhookToEvent, PayloadError } from "../../sources/shopify/webhook-mapping";
import { withCheckedShopifyLink } from "../../sources/shopify/recovery-url";
import { env } from "../../env.server";
import { defineJob, PermanentJobError } from "../engine.server";
import { processComplianceDelivery } from "../../privacy/compliance.server";
import { refuseOtherShopsRow } from "../../security/job-scope.server";
import { CONSENT_UPDATE_TOPIC, consentUpdateFromRaw } from "../../sources/shopify/consent-webhook";
import { applyShopifyConsentUpdate } from "../../models/shopify-consent.server";

/**
 * An order that is not a purchase (a test order, one already cancelled) is processed and kept; like an unreadable
 * payload, the InboundEvent says why nothing came of it (`error`, the column the inbox has for "why not").
 */
function ignoredBecause(result: IngestResult): string | null {
  return result.kind === "purchase_ignored" ? `ignored: ${result.reason}` : null;
}

/**
 * Processes one stored Shopify webhook delivery (routes only verify, store and enqueue).
 * Compliance topics (privacy requests) are processed by app/privacy/compliance.server.ts.
 */
export const processShopifyWebhook = defineJob({
  name: "process-shopify-webhook",
  payload: z.object({ inboundEventId: z.string() }),
  async run({ payload, db, clock, job }) {
    const event = await db.inboundEvent.findUnique({ where: { id: payload.inboundEventId } });
    if (!event) throw new PermanentJobError(`inbound event ${payload.inboundEventId} not found`);
    if (event.processedAt) return;
    const shop = await db.shop.findUnique({ where: { domain: event.receiver } });
    await refuseOtherShopsRow(job, async () => shop?.id, `inbound event ${event.id}`);
    const body = JSON.parse(event.payload);
    let error: string | null = null;
    try {
      switch (event.topic) {
        case "checkouts/create":
        case "checkouts/update":
          if (shop)
            await ingestSourceEvent(
              db,
              shop.id,
              withCheckedShopifyLink(checkoutWebhookToEvent(body), shop.domain, env.SHOPIFY_STOREFRONT_EXTRA_HOSTS),
              clock.now(),
            );
          break;
        case "orders/create":
          if (shop) error = ignoredBecause(await ingestSourceEvent(db, shop.id, orderWebhookToEvent(body), clock.now()));
          break;
        case "orders/cancelled":
          if (shop) error = ignoredBecause(await ingestPurchaseCancellation(db, shop.id, orderCancelledWebhookToEvent(body), clock.now()));
          break;
        case CONSENT_UPDATE_TOPIC: {
          // Read from the stored bytes: customer_id can exceed 2^53 (docs/decisions/073). An unknown customer changes nothing.
          const update = consentUpdateFromRaw(event.payload);
          if (shop) await applyShopifyConsentUpdate(db, shop.id, update, { receivedAt: event.receivedAt, now: clock.now() });
          break;
        }
        case "app/scopes_update": {
          const current = Array.isArray(body.current) ? body.current.join(",") : "";
          if (shop) await db.shop.update({ where: { id: shop.id }, data: { grantedScopes: current } });
          await db.session.updateMany({ where: { shop: event.receiver }, data: { scope: current } });
          // Pixel scopes granted after install: activate the pixel now rather than wait for "Activate again".
          if (shop && !shop.uninstalledAt && shop.webPixelStatus === "missing_scopes") await enqueuePixelActivation(db, shop.id);
          break;
        }
        case "customers/data_request":
        case "customers/redact":
        case "shop/redact": {
          // Privacy requests (app/privacy). shop/redact deletes the shop's deliveries, this one included.
          const outcome = await processComplianceDelivery(db, event, event.topic, { now: clock.now(), jobId: job.id });
          if (outcome.kind === "event_deleted") return;
          if (outcome.kind === "unreadable") throw new PayloadError(outcome.reason);
          break;
        }
        default:
          // app/uninstalled is handled in its route.
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
