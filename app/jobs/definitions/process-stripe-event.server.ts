import { z } from "zod";
import { logger } from "../../logger.server";
import { loadApiCredentials, modeGate, type IgnoredReason } from "../../models/stripe-connection.server";
import type { PrismaClient } from "@prisma/client";
import { env } from "../../env.server";
import { paymentLinkFacts } from "../../models/stripe-payment-link.server";
import { fetchPaymentLink, fetchSessionLineItems, isTransientStripeError, transientReason, type LineItemsResult } from "../../sources/stripe/api.server";
import { handlerFor, type StripeEventContext } from "../../sources/stripe/handlers.server";
import { enqueueJob } from "../queue.server";
import { PROCESS_STRIPE_EVENT_JOB } from "../../sources/stripe/receive-webhook.server";
import { StripePayloadError, type PaymentLinkFacts } from "../../sources/stripe/to-source-event";
import { isSnapshotEvent, type StripeEventEnvelope } from "../../sources/stripe/verify-event.server";
import { defineJob, PermanentJobError, type JobContext } from "../engine.server";
import { processStripeEventBatch, type SingleEventPath } from "./stripe-event-batch.server";
import { ingestNow } from "./lane-batch.server";
import { refuseOtherShopsRow } from "../../security/job-scope.server";

/**
 * Processes one stored Stripe event (the route only verifies, stores and enqueues). Maps it to a SourceEvent and hands
 * it to ingest (alone: ingestSourceEvent; with the shop's other queued events: one ingestSourceEvents, ADR 096); for an expired session, first fetches its line items with the merchant's API key when
 * there is one (and, for a Payment Link session, the link's address). When Stripe does not answer (429, 5xx, network),
 * the recovery is made at once without them and the enrich-stripe-recovery job fetches them later; an answer about the
 * key itself is recorded on the recovery as the reason there are no line items or link.
 */
export const processStripeEvent = defineJob({
  name: PROCESS_STRIPE_EVENT_JOB,
  payload: z.object({ inboundEventId: z.string() }),
  // The shop's other queued events go with this one (docs/decisions/091-stripe-processing-in-batches.md).
  run: (ctx) => processStripeEventBatch(ctx, { single: processStoredStripeEvent, fetchers: credentialedFetchers, sourceOff: STRIPE_SOURCE_OFF }),
});

/** The batch's fetchers: never transient-deferred there (an event that would call Stripe leaves the batch first). */
const credentialedFetchers: SingleEventPath["fetchers"] = (db, connection, shopId, now, loadCredentials) =>
  stripeFetchers(db, connection, shopId, now, "defer", loadCredentials);

/** One stored event, the way a lone job processes it (the batch's path for events that call Stripe). */
export async function processStoredStripeEvent({ payload, db, clock, job }: JobContext<{ inboundEventId: string }>): Promise<void> {
  const row = await db.inboundEvent.findUnique({ where: { id: payload.inboundEventId } });
  if (!row) throw new PermanentJobError(`inbound event ${payload.inboundEventId} not found`);
  if (row.processedAt) return;
  await refuseOtherShopsRow(
    job,
    async () => (await db.stripeConnection.findUnique({ where: { id: row.receiver }, select: { shopId: true } }))?.shopId,
    `inbound event ${row.id}`,
  );
  const finish = (error: string | null) => db.inboundEvent.update({ where: { id: row.id }, data: { processedAt: clock.now(), error } });

  if (!env.STRIPE_SOURCE_ENABLED) {
    await finish(STRIPE_SOURCE_OFF);
    return;
  }
  // Stored but not acted on, with the reason (test-mode events on a live connection, thin events…; ADR 076).
  const ignore = async (reason: IgnoredReason, detail?: string) => {
    logger.info("stripe event ignored", { inboundEventId: row.id, type: row.topic, reason, ...(detail ? { detail } : {}) });
    await db.inboundEvent.update({ where: { id: row.id }, data: { processedAt: clock.now(), error: null, ignoredReason: reason } });
  };
  const parsed: unknown = JSON.parse(row.payload);
  // A thin event (event destinations, no data.object) carries nothing to act on; the page asks for snapshot payloads.
  if (!isSnapshotEvent(parsed)) {
    await ignore("thin_event");
    return;
  }
  const event: StripeEventEnvelope = parsed;
  // The connection's mode (learned from its first verified event, the API key's mode, or the merchant's choice): events
  // of the other mode, and from connected accounts unless this is a Connect platform, never become recoveries.
  const gate = await modeGate(
    db,
    row.receiver,
    { livemode: event.livemode === true, account: typeof event.account === "string" ? event.account : null },
    clock.now(),
  );
  if (gate?.ignored) {
    await ignore(gate.ignored);
    return;
  }
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

  // Line items and a Payment Link's address are optional extras: when Stripe does not answer, the recovery is made
  // now without them and a follow-up job fetches them (ADR 077), so an outage never costs the cart.
  const fetchers = stripeFetchers(db, connection, shop.id, clock.now(), "defer");

  try {
    const outcome = await handler({
      db,
      shop,
      event,
      now: clock.now(),
      connectionId: connection.id,
      ingest: ingestNow(db, shop.id, () => clock.now()),
      ...fetchers,
    });
    if (outcome && "ignored" in outcome) {
      await ignore(outcome.ignored, outcome.detail);
      return;
    }
    if (outcome && "note" in outcome) logger.info("stripe event changed nothing", { eventId: event.id, type: event.type, note: outcome.note });
  } catch (error) {
    // A payload that cannot be read never will be: keep it, say why, do not retry.
    if (!(error instanceof StripePayloadError)) throw error;
    await finish(error.message);
    return;
  }
  if (fetchers.deferred()) {
    await enqueueJob(
      db,
      ENRICH_STRIPE_RECOVERY_JOB,
      { inboundEventId: row.id },
      {
        key: `${ENRICH_STRIPE_RECOVERY_JOB}:${row.id}`,
        shopId: shop.id,
        runAt: new Date(clock.now().getTime() + enrichBackoffMs(0)),
        maxAttempts: ENRICH_MAX_ATTEMPTS,
      },
    );
  }
  await db.$transaction([
    db.inboundEvent.update({ where: { id: row.id }, data: { processedAt: clock.now(), error: null } }),
    db.stripeConnection.updateMany({
      where: { id: connection.id, OR: [{ lastEventAt: null }, { lastEventAt: { lt: new Date(event.created * 1000) } }] },
      data: { lastEventAt: new Date(event.created * 1000) },
    }),
  ]);
}

export const ENRICH_STRIPE_RECOVERY_JOB = "enrich-stripe-recovery";
/** Attempts of the follow-up job, and its backoff: 1, 2, 4, 8, 16, 32 minutes (about an hour in all). */
export const ENRICH_MAX_ATTEMPTS = 6;
export const enrichBackoffMs = (attempt: number) => Math.min(60_000 * 2 ** attempt, 32 * 60_000);

export const STRIPE_SOURCE_OFF = "the Stripe source is turned off on this deployment (STRIPE_SOURCE_ENABLED=false)";

/**
 * The optional Stripe reads of an event's processing, with the connection's key. `defer`: a transient failure
 * (429, 5xx, network) becomes "not available yet" and is remembered, so the caller can queue the follow-up job;
 * `throw`: it throws, so the runner retries the job; `give-up`: it becomes a final "Stripe did not answer".
 */
export function stripeFetchers(
  db: PrismaClient,
  connection: { id: string },
  shopId: string,
  now: Date,
  onTransient: "defer" | "throw" | "give-up",
  loadCredentials: () => Promise<{ apiKey: string; livemode: boolean } | null> = () => loadApiCredentials(db, connection.id),
): Pick<StripeEventContext, "lineItems" | "paymentLink"> & { deferred(): boolean } {
  let deferred = false;
  const transient = (error: unknown, what: string): string => {
    if (onTransient === "throw" || !isTransientStripeError(error)) throw error;
    if (onTransient === "defer") {
      deferred = true;
      return `${transientReason(error)}; Reclaim is fetching ${what} again`;
    }
    return `${transientReason(error)} after ${ENRICH_MAX_ATTEMPTS + 1} tries over about an hour`;
  };
  const credentialsFor = async (livemode: boolean, what: string) => {
    const credentials = await loadCredentials();
    if (!credentials) return { problem: `no Stripe API key connected${what}` } as const;
    if (credentials.livemode !== livemode) {
      return {
        problem: `the connected API key is a ${credentials.livemode ? "live" : "test"}-mode key and this session is ${livemode ? "live" : "test"}`,
      } as const;
    }
    return { apiKey: credentials.apiKey } as const;
  };
  return {
    deferred: () => deferred,
    async lineItems(sessionId: string, currency: string, livemode: boolean): Promise<LineItemsResult> {
      const credentials = await credentialsFor(livemode, "");
      if ("problem" in credentials) return { ok: false, unavailable: credentials.problem! };
      try {
        return await fetchSessionLineItems(credentials.apiKey, sessionId, currency);
      } catch (error) {
        return { ok: false, unavailable: transient(error, "them"), retrying: onTransient === "defer" };
      }
    },
    async paymentLink(paymentLinkId: string, livemode: boolean): Promise<PaymentLinkFacts> {
      const credentials = await credentialsFor(livemode, ", so Reclaim cannot read the Payment Link's address (Payment Links: Read)");
      if ("problem" in credentials) return { ok: false, unavailable: credentials.problem! };
      try {
        return await paymentLinkFacts(db, { shopId, connectionId: connection.id, paymentLinkId }, now, () =>
          fetchPaymentLink(credentials.apiKey, paymentLinkId),
        );
      } catch (error) {
        return { ok: false, unavailable: transient(error, "the Payment Link's address") };
      }
    },
  };
}
