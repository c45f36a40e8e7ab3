import type { PrismaClient } from "@prisma/client";
import { z } from "zod";
import { env } from "../../env.server";
import { handlerFor } from "../../sources/stripe/handlers.server";
import { ingestNow } from "./lane-batch.server";
import { StripePayloadError } from "../../sources/stripe/to-source-event";
import type { StripeEventEnvelope } from "../../sources/stripe/verify-event.server";
import { defineJob } from "../engine.server";
import { refuseOtherShopsRow } from "../../security/job-scope.server";
import { ENRICH_MAX_ATTEMPTS, ENRICH_STRIPE_RECOVERY_JOB, enrichBackoffMs, stripeFetchers } from "./process-stripe-event.server";

/**
 * The follow-up of an expired session whose line items or Payment Link address Stripe did not give the first time
 * (ADR 077): reads them again and folds them into the recovery through the same handler and ingest, which keeps what
 * is known, fills what was missing (items, link) and schedules the campaign if the recovery just became contactable.
 * A transient failure is retried with backoff; the last attempt records "Stripe did not answer" instead. The first email
 * never waits for this job: it goes out at its scheduled time with whatever the recovery holds by then.
 */
export const enrichStripeRecovery = defineJob({
  name: ENRICH_STRIPE_RECOVERY_JOB,
  payload: z.object({ inboundEventId: z.string() }),
  backoffMs: enrichBackoffMs,
  async run({ payload, db, clock, job }) {
    const row = await db.inboundEvent.findUnique({ where: { id: payload.inboundEventId } });
    if (!row) return; // pruned or redacted: nothing left to enrich
    await refuseOtherShopsRow(
      job,
      async () => (await db.stripeConnection.findUnique({ where: { id: row.receiver }, select: { shopId: true } }))?.shopId,
      `inbound event ${row.id}`,
    );
    if (!env.STRIPE_SOURCE_ENABLED || row.source !== "stripe") return;
    const connection = await db.stripeConnection.findUnique({ where: { id: row.receiver }, select: { id: true, shopId: true } });
    const shop = connection ? await db.shop.findUnique({ where: { id: connection.shopId }, select: { id: true, currency: true, uninstalledAt: true } }) : null;
    if (!connection || !shop || shop.uninstalledAt) return;
    let event: StripeEventEnvelope;
    try {
      event = JSON.parse(row.payload) as StripeEventEnvelope;
    } catch {
      return; // the body was removed by retention
    }
    const handler = handlerFor(event.type);
    if (!handler || event.type !== "checkout.session.expired") return;
    const lastTry = job.attempts >= ENRICH_MAX_ATTEMPTS;
    const fetchers = stripeFetchers(db, connection, shop.id, clock.now(), lastTry ? "give-up" : "throw");
    try {
      await handler({ db, shop, event, now: clock.now(), connectionId: connection.id, ingest: ingestNow(db, shop.id, () => clock.now()), ...fetchers });
    } catch (error) {
      if (!(error instanceof StripePayloadError)) throw error;
      return;
    }
    // Ingest keeps a recovery unchanged when only its notes differ: the final "did not answer" is written here.
    if (lastTry) await finalNotes(db, shop.id, (event.data as { object?: { id?: unknown } } | undefined)?.object?.id);
  },
});

async function finalNotes(db: PrismaClient, shopId: string, sessionId: unknown): Promise<void> {
  if (typeof sessionId !== "string") return;
  const recovery = await db.recovery.findFirst({ where: { shopId, source: "stripe", externalId: sessionId }, select: { id: true, sourceMetadata: true } });
  if (!recovery) return;
  const metadata = JSON.parse(recovery.sourceMetadata) as Record<string, unknown>;
  let changed = false;
  for (const key of ["line_items_unavailable", "recovery_link_unavailable"]) {
    const note = metadata[key];
    if (typeof note === "string" && note.includes("Reclaim is fetching")) {
      metadata[key] = `Stripe did not answer after ${ENRICH_MAX_ATTEMPTS + 1} tries over about an hour`;
      changed = true;
    }
  }
  if (changed) await db.recovery.update({ where: { id: recovery.id }, data: { sourceMetadata: JSON.stringify(metadata) } });
}
