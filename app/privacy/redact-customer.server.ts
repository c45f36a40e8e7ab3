/**
 * customers/redact: removes one customer's personal data from one shop, from both sources, and keeps only aggregate
 * counts (DailyStat, which its triggers never decrement on delete). What is deleted, what is kept and why:
 * docs/decisions/040-privacy-requests.md. Idempotent: a second run finds nothing left to remove.
 */
import { Prisma, type PrismaClient } from "@prisma/client";
import { cancelJobsSql, JOBS_WITH_PAYLOAD, QUEUE_SCHEMA } from "../jobs/queue.server";
import { emailHash, isEmailHash } from "../models/email-hash.server";
import type { KeptSuppression } from "../models/redacted-suppression.server";
import { findFootprint, type Footprint } from "./footprint.server";
import { hasNeedles, mentions, type Needles, type PrivacySubject } from "./subject";

/** Left where a sentence about the customer was (decision details, job errors). */
export const REDACTED_TEXT = "[removed: customer data redacted]";
/** Reason code on the messages a redaction cancels. */
export const REDACTION_REASON = "customer_redacted";

export const redactedBody = (now: Date) => JSON.stringify({ redacted: true, by: "customers/redact", at: now.toISOString() });

export interface RedactionSummary {
  recoveries: number;
  messagesCancelled: number;
  messages: number;
  clicks: number;
  conversions: number;
  purchases: number;
  contacts: number;
  webhookBodies: number;
  jobsCancelled: number;
  exportsRemoved: number;
  keptSuppressions: KeptSuppression[];
}

const unique = <T>(values: Iterable<T | null | undefined>): T[] => [...new Set([...values].filter((v): v is T => v !== null && v !== undefined))];
const chunks = <T>(values: T[], size = 200): T[][] => Array.from({ length: Math.ceil(values.length / size) }, (_, i) => values.slice(i * size, (i + 1) * size));

type Tx = Prisma.TransactionClient;

/** SQL narrowing for "this text column mentions a needle" (exactness comes from `mentions` afterwards). */
function mentionSql(column: string, needles: Needles, cast = ""): Prisma.Sql {
  const col = Prisma.raw(`"${column}"${cast}`);
  return Prisma.join(
    [
      ...needles.caseless.map((n) => Prisma.sql`strpos(lower(coalesce(${col}, '')), ${n}) > 0`),
      ...needles.digits.map((d) => Prisma.sql`strpos(coalesce(${col}, ''), ${d}) > 0`),
    ],
    " OR ",
  );
}

export interface RedactOptions {
  /** The ComplianceRequest to complete in the same transaction as the redaction. */
  requestId?: string;
  /** The delivery being processed: its body is scrubbed too, but its processing is the caller's to finish. */
  currentEventId?: string;
}

export async function redactCustomer(
  db: PrismaClient,
  shop: { id: string; domain: string },
  subject: PrivacySubject,
  now: Date,
  options: RedactOptions = {},
): Promise<RedactionSummary> {
  // Found outside the write transaction: the scan of stored webhook bodies is the slow part; the transaction stays short.
  const f = await findFootprint(db, shop, subject);
  return db.$transaction((tx) => applyRedaction(tx, f, now, options));
}

async function applyRedaction(tx: Tx, f: Footprint, now: Date, options: RedactOptions): Promise<RedactionSummary> {
  const shopId = f.shop.id;

  // 1. Nothing more goes out: pending emails are cancelled (a send in progress re-checks its claim and stops).
  const pending = f.messages.filter((m) => m.status === "scheduled" || m.status === "claimed").map((m) => m.id);
  const { count: messagesCancelled } = await tx.message.updateMany({
    where: { id: { in: pending }, status: { in: ["scheduled", "claimed"] } },
    data: { status: "cancelled", skipReason: REDACTION_REASON, claimedBy: null, updatedAt: now },
  });

  // 2. Queued jobs about these rows (sends, consent mirroring, unprocessed deliveries, Flow triggers) are cancelled.
  const rowIds = unique([
    ...f.messages.map((m) => m.id),
    ...f.contacts.map((c) => c.id),
    ...f.recoveries.map((r) => r.id),
    ...f.conversions.map((c) => c.id),
    ...f.flowDeliveries.map((d) => d.id),
    ...f.purchases.map((p) => p.id),
    ...f.events.filter((e) => e.id !== options.currentEventId).map((e) => e.id),
  ]);
  let jobsCancelled = 0;
  // (graphile-worker's jobs: the shop's queues, or no queue; queued ones are removed from the queue.)
  const inScope = Prisma.sql`(queue_name LIKE ${`shop:${shopId}:%`} OR queue_name IS NULL)`;
  for (const ids of chunks(rowIds)) {
    const picked = await tx.$queryRaw<{ id: string }[]>`
      SELECT id::text AS id FROM ${Prisma.raw(JOBS_WITH_PAYLOAD)} WHERE locked_at IS NULL AND attempts < max_attempts AND ${inScope}
        AND (${Prisma.join(
          ids.map((id) => Prisma.sql`strpos(payload::text, ${id}) > 0`),
          " OR ",
        )})`;
    if (picked.length) jobsCancelled += await cancelJobsSql(tx, `id::text = ANY($1::text[])`, [picked.map((j) => j.id)], "customer data redacted");
  }
  // Jobs that carry the person in their payload or error text (an SMTP refusal quotes the address).
  if (hasNeedles(f.identity)) {
    const jobs = await tx.$queryRaw<{ id: string; queued: boolean; payload: string; lastError: string | null }[]>`
      SELECT id::text AS id, attempts < max_attempts AS queued, payload::text AS payload, last_error AS "lastError" FROM ${Prisma.raw(JOBS_WITH_PAYLOAD)}
      WHERE ${inScope} AND locked_at IS NULL AND (${mentionSql("payload", f.identity, "::text")} OR ${mentionSql("last_error", f.identity)})`;
    for (const job of jobs) {
      const inPayload = mentions(job.payload, f.identity);
      const inError = mentions(job.lastError, f.identity);
      if (!inPayload && !inError) continue;
      if (job.queued) {
        jobsCancelled += await cancelJobsSql(tx, `id::text = $1`, [job.id], "customer data redacted");
        continue;
      }
      // A failed job stays for operators, without the person.
      await tx.$executeRawUnsafe(
        `UPDATE ${QUEUE_SCHEMA}._private_jobs SET payload = CASE WHEN $2 THEN '{}'::json ELSE payload END, last_error = CASE WHEN $3 THEN $4 ELSE last_error END WHERE id = $1::bigint`,
        job.id,
        inPayload,
        inError,
        REDACTED_TEXT,
      );
    }
  }

  // 3. Row-level data goes. Deleting a recovery takes its messages, clicks, conversions, decisions and Flow deliveries
  //    with it (cascade); no trigger fires on delete, so the dashboard's DailyStat totals stay exactly as they were.
  for (const ids of chunks(f.recoveries.map((r) => r.id))) await tx.recovery.deleteMany({ where: { shopId, id: { in: ids } } });
  for (const ids of chunks(f.purchases.map((p) => p.id))) await tx.purchase.deleteMany({ where: { shopId, id: { in: ids } } });
  // Emails of other recoveries that went to this address (a checkout whose email was changed later).
  const strayMessages = f.messages.filter((m) => !f.recoveries.some((r) => r.id === m.recoveryId)).map((m) => m.id);
  if (strayMessages.length) {
    // The email as sent (subject and HTML) was written for this person: it goes with the address.
    await tx.message.updateMany({ where: { id: { in: strayMessages } }, data: { toEmail: null, subject: null, bodyHtml: null } });
    await tx.message.updateMany({ where: { id: { in: strayMessages }, lastError: { not: null } }, data: { lastError: REDACTED_TEXT } });
  }
  // Sentences elsewhere in the shop that quote the address.
  const needles = f.identity;
  if (hasNeedles(needles)) {
    const decisions = await tx.$queryRaw<{ id: string; detail: string | null }[]>`
      SELECT "id", "detail" FROM "DecisionLog" WHERE "shopId" = ${shopId} AND (${mentionSql("detail", needles)})`;
    const quoting = decisions.filter((d) => mentions(d.detail, needles)).map((d) => d.id);
    if (quoting.length) await tx.decisionLog.updateMany({ where: { id: { in: quoting } }, data: { detail: REDACTED_TEXT } });
    const flows = await tx.$queryRaw<{ id: string; payload: string; lastError: string | null }[]>`
      SELECT "id", "payload", "lastError" FROM "FlowTriggerDelivery" WHERE "shopId" = ${shopId} AND (${mentionSql("payload", needles)} OR ${mentionSql("lastError", needles)})`;
    for (const flow of flows.filter((d) => mentions(d.payload, needles) || mentions(d.lastError, needles))) {
      await tx.flowTriggerDelivery.update({
        where: { id: flow.id },
        data: { payload: JSON.stringify({ redacted: true }), lastError: flow.lastError ? REDACTED_TEXT : null },
      });
    }
  }

  // 4. Contacts go. An unsubscribe or suppression survives as a hash of the address, so the person is not emailed again
  //    if they come back, without Reclaim keeping who they are.
  const keptSuppressions: KeptSuppression[] = f.contacts
    .filter((c) => c.unsubscribedAt || c.suppressedAt)
    .map((c) => ({
      emailHash: emailHash(shopId, c.email),
      unsubscribedAt: c.unsubscribedAt?.toISOString() ?? null,
      suppressedAt: c.suppressedAt?.toISOString() ?? null,
      suppressionReason: c.suppressionReason,
    }));
  await tx.contact.deleteMany({ where: { shopId, id: { in: f.contacts.map((c) => c.id) } } });

  // 5. Stored webhook bodies that mention the person (this request's too) are replaced by a marker. The rows stay, so a
  //    late redelivery of the same event is still recognised as a duplicate and cannot bring the data back.
  const eventIds = f.events.map((e) => e.id);
  for (const ids of chunks(eventIds)) {
    await tx.inboundEvent.updateMany({ where: { id: { in: ids } }, data: { payload: redactedBody(now) } });
    await tx.inboundEvent.updateMany({
      where: { id: { in: ids.filter((id) => id !== options.currentEventId) }, processedAt: null },
      data: { processedAt: now, error: "body removed by customers/redact before it was processed" },
    });
  }

  // 5b. The pixel's merged checkouts of the person go: they only exist to merge the pixel's events (a later event for the
  //     checkout would start a new row, from what the browser sends then).
  const pixelCheckouts = f.pixelCheckouts.map((c) => c.id);
  for (const ids of chunks(pixelCheckouts)) await tx.pixelCheckout.deleteMany({ where: { shopId, id: { in: ids } } });

  // 6. Earlier privacy requests about the person: their exports go, their email becomes the hash.
  let exportsRemoved = 0;
  for (const request of f.requests) {
    if (request.export !== null) exportsRemoved++;
    await tx.complianceRequest.update({
      where: { id: request.id },
      data: { export: null, email: request.email && !isEmailHash(request.email) ? emailHash(shopId, request.email) : request.email },
    });
  }

  const summary: RedactionSummary = {
    recoveries: f.recoveries.length,
    messagesCancelled,
    messages: f.messages.length,
    clicks: f.clicks.length,
    conversions: f.conversions.length,
    purchases: f.purchases.length,
    contacts: f.contacts.length,
    webhookBodies: eventIds.filter((id) => id !== options.currentEventId).length,
    jobsCancelled,
    exportsRemoved,
    keptSuppressions,
  };
  if (options.requestId) {
    const request = await tx.complianceRequest.findUniqueOrThrow({ where: { id: options.requestId } });
    await tx.complianceRequest.update({
      where: { id: options.requestId },
      data: {
        status: "done",
        completedAt: now,
        summary: JSON.stringify(summary),
        export: null,
        email: request.email && !isEmailHash(request.email) ? emailHash(shopId, request.email) : request.email,
      },
    });
  }
  return summary;
}
