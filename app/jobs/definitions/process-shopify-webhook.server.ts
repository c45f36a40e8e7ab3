import { z } from "zod";
import type { InboundEvent } from "@prisma/client";
import { enqueuePixelActivation } from "../../sources/pixel/activate.server";
import { ingestSourceEvent, type IngestResult } from "../../models/ingest.server";
import { ingestPurchaseCancellation } from "../../models/ingest-cancellation.server";
import { checkoutWebhookToEvent, orderCancelledWebhookToEvent, orderWebhookToEvent, PayloadError } from "../../sources/shopify/webhook-mapping";
import { withCheckedShopifyLink } from "../../sources/shopify/recovery-url";
import { env } from "../../env.server";
import { defineJob, PermanentJobError, type JobContext } from "../engine.server";
import { completeJobs } from "../queue.server";
import { processComplianceDelivery } from "../../privacy/compliance.server";
import { refuseOtherShopsRow } from "../../security/job-scope.server";
import { CONSENT_UPDATE_TOPIC, consentUpdateFromRaw } from "../../sources/shopify/consent-webhook";
import { applyShopifyConsentUpdate } from "../../models/shopify-consent.server";
import { BATCH_TRANSACTION_OPTIONS, inTransaction, IngestCollector, logRolledBack, processAloneThenSettle, takeLaneBatch } from "./lane-batch.server";

const PROCESS_SHOPIFY_WEBHOOK_JOB = "process-shopify-webhook";
type Payload = { inboundEventId: string };

/**
 * An order that is not a purchase (a test order, one already cancelled) is processed and kept; like an unreadable
 * payload, the InboundEvent says why nothing came of it (`error`, the column the inbox has for "why not").
 */
function ignoredBecause(result: IngestResult): string | null {
  return result.kind === "purchase_ignored" ? `ignored: ${result.reason}` : null;
}

/**
 * Topics a batch takes (docs/decisions/096): the ones that become SourceEvents for ingest, and a cancellation (which
 * acts on stored purchases, so the batch stores what it collected first). Every other topic (privacy requests,
 * consent, scopes) is processed by its own job, alone, and ends the batch where it stands, so the order is kept.
 */
const BATCHED_TOPICS = new Set(["checkouts/create", "checkouts/update", "orders/create", "orders/cancelled"]);

/**
 * Processes a stored Shopify webhook delivery (routes only verify, store and enqueue). The job that runs takes the
 * shop's other queued checkout and order deliveries with it and processes them in one transaction, their SourceEvents
 * stored with one `ingestSourceEvents` call (docs/decisions/096); a lone delivery, or one of another topic, is processed
 * alone. Compliance topics (privacy requests) are processed by app/privacy/compliance.server.ts.
 */
export const processShopifyWebhook = defineJob({
  name: PROCESS_SHOPIFY_WEBHOOK_JOB,
  payload: z.object({ inboundEventId: z.string() }),
  run: (ctx) => processShopifyWebhookBatch(ctx),
});

async function processShopifyWebhookBatch(ctx: JobContext<Payload>): Promise<void> {
  const { db, clock, job, payload } = ctx;
  const lead = await db.inboundEvent.findUnique({ where: { id: payload.inboundEventId } });
  if (!lead) throw new PermanentJobError(`inbound event ${payload.inboundEventId} not found`);
  if (lead.processedAt) return;
  if (!BATCHED_TOPICS.has(lead.topic) || !job.shopId) return processStoredShopifyWebhook(ctx);
  const jobs = await takeLaneBatch(ctx, PROCESS_SHOPIFY_WEBHOOK_JOB, "inboundEventId", lead.id);
  if (jobs.length === 1) return processStoredShopifyWebhook(ctx);

  const rows = await db.inboundEvent.findMany({ where: { id: { in: jobs.map((j) => j.value) } } });
  const rowById = new Map(rows.map((r) => [r.id, r]));
  const shop = await db.shop.findUnique({ where: { domain: lead.receiver } });
  await refuseOtherShopsRow(job, async () => shop?.id, `inbound event ${lead.id}`);

  // The batch, in the order received, up to the first delivery it does not take (that one and those after it are left
  // to their own jobs); a sibling for another shop, or whose row is gone, is left to its own job, which says why.
  const batch: { jobId: string; row: InboundEvent }[] = [];
  for (const j of jobs) {
    const row = rowById.get(j.value);
    if (!row || row.receiver !== lead.receiver) continue;
    if (!BATCHED_TOPICS.has(row.topic)) {
      if (BigInt(j.jobId) > BigInt(job.id)) break;
      continue;
    }
    batch.push({ jobId: j.jobId, row });
  }

  const marks: { id: string; error: string | null }[] = [];
  const doneJobs: string[] = [];
  try {
    await db.$transaction(async (tx) => {
      const txDb = inTransaction(tx);
      const collected = shop ? new IngestCollector(tx, shop.id, () => clock.now()) : null;
      for (const { jobId, row } of batch) {
        if (row.processedAt) {
          if (jobId !== job.id) doneJobs.push(jobId);
          continue;
        }
        const mark = { id: row.id, error: null as string | null };
        marks.push(mark);
        if (!shop || !collected) continue;
        try {
          const body = JSON.parse(row.payload);
          switch (row.topic) {
            case "checkouts/create":
            case "checkouts/update":
              collected.add(withCheckedShopifyLink(checkoutWebhookToEvent(body), shop.domain, env.SHOPIFY_STOREFRONT_EXTRA_HOSTS));
              break;
            case "orders/create":
              collected.add(orderWebhookToEvent(body), (result) => (mark.error = ignoredBecause(result)));
              break;
            case "orders/cancelled": {
              const cancellation = orderCancelledWebhookToEvent(body);
              // It acts on the stored purchase: what the deliveries before it brought is stored first.
              await collected.flush();
              mark.error = ignoredBecause(await ingestPurchaseCancellation(txDb, shop.id, cancellation, clock.now()));
              break;
            }
          }
        } catch (e) {
          // A payload we cannot read will never become readable: keep it, say why, do not retry.
          if (!(e instanceof PayloadError)) throw e;
          mark.error = e.message;
        }
      }
      await collected?.flush();
      if (marks.length > 0) {
        await tx.$executeRawUnsafe(
          `UPDATE "InboundEvent" e SET "processedAt" = $1, "error" = m.error
           FROM unnest($2::text[], $3::text[]) AS m(id, error) WHERE e."id" = m.id AND e."processedAt" IS NULL`,
          clock.now(),
          marks.map((m) => m.id),
          marks.map((m) => m.error),
        );
      }
      // The siblings' jobs go with their deliveries (the running job is the engine's to finish).
      const jobOf = new Map(batch.map((b) => [b.row.id, b.jobId]));
      await completeJobs(
        tx,
        [...doneJobs, ...marks.map((m) => jobOf.get(m.id)!)].filter((id) => id !== job.id),
      );
    }, BATCH_TRANSACTION_OPTIONS);
  } catch (error) {
    // Nothing of the batch was kept: each delivery is processed alone, the failing one left with its own job.
    logRolledBack("shopify webhook", batch.length, error);
    await processAloneThenSettle(
      db,
      job.id,
      batch.map((b) => ({ jobId: b.jobId, value: b.row.id })),
      (one) => processStoredShopifyWebhook({ ...ctx, payload: { inboundEventId: one.value } }),
      "shopify webhook",
    );
  }
}

/** One stored delivery, the way a lone job processes it (its own reads and transactions). */
async function processStoredShopifyWebhook({ payload, db, clock, job }: JobContext<Payload>): Promise<void> {
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
}
