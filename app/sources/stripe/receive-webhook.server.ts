import type { PrismaClient } from "@prisma/client";
import { env } from "../../env.server";
import { logger } from "../../logger.server";
import { recordInboundEvent } from "../../models/inbound-event.server";
import { loadVerificationSecrets } from "../../models/stripe-connection.server";
import { verifyStripeEvent, type VerifyOutcome } from "./verify-event.server";
// Stripe's events are a few kilobytes; the shared 1 MB limit refuses anything far larger before it is read.
import { MAX_BODY_BYTES, readBodyWithLimit } from "../../security/request-limits.server";

export const PROCESS_STRIPE_EVENT_JOB = "process-stripe-event";

/** What Stripe (and the merchant, in the endpoint's delivery log) reads when the Stripe source is off. */
export const STRIPE_SOURCE_OFF_ANSWER =
  "Stripe recovery is turned off on this Reclaim deployment (STRIPE_SOURCE_ENABLED=false); this event was not stored. Remove this endpoint in Stripe.";

/** Connection ids are cuids; anything else cannot be one of ours and costs no database read. */
const CONNECTION_ID = /^[a-z0-9]{10,40}$/;

export interface WebhookAnswer {
  status: number;
  body: string;
}

const answer = (status: number, body: string): WebhookAnswer => ({ status, body });

type Secrets = Awaited<ReturnType<typeof loadVerificationSecrets>>;
const lookups = new Map<string, Promise<Secrets>>();
/**
 * One lookup at a time per connection: when the 5 s secret cache expires under load, the requests that arrive while
 * it is being refilled share that one query and decryption instead of each making their own (ADR 013).
 */
function verificationSecrets(db: PrismaClient, connectionId: string): Promise<Secrets> {
  let lookup = lookups.get(connectionId);
  if (!lookup) {
    lookup = loadVerificationSecrets(db, connectionId).finally(() => lookups.delete(connectionId));
    lookups.set(connectionId, lookup);
  }
  return lookup;
}

/**
 * Reads the raw body and verifies it against the connection's secrets. Shared by the real endpoint and the benchmark's
 * verify-only baseline, so the two differ only in what happens after verification.
 */
export async function readVerifiedEvent(
  db: PrismaClient,
  connectionId: string,
  request: Request,
): Promise<{ ok: true; shopId: string; raw: string; outcome: Extract<VerifyOutcome, { ok: true }> } | { ok: false; answer: WebhookAnswer }> {
  if (!CONNECTION_ID.test(connectionId)) return { ok: false, answer: answer(400, "unknown connection") };
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > MAX_BODY_BYTES) return { ok: false, answer: answer(413, "body too large") };
  const connection = await verificationSecrets(db, connectionId);
  if (!connection) return { ok: false, answer: answer(400, "unknown connection") };
  // The exact bytes Stripe signed (never parse before verifying), read with the cap enforced while streaming: a chunked
  // body has no Content-Length, and reading it whole first would let a caller stream any amount into memory.
  const read = await readBodyWithLimit(request, MAX_BODY_BYTES);
  if (!read.ok) return { ok: false, answer: answer(413, "body too large") };
  const raw = read.text;
  const outcome = verifyStripeEvent(raw, request.headers.get("stripe-signature"), connection.secrets);
  if (!outcome.ok) {
    logger.warn("stripe webhook refused", { connectionId, reason: outcome.reason });
    return { ok: false, answer: answer(400, outcome.message) };
  }
  return { ok: true, shopId: connection.shopId, raw, outcome };
}

/**
 * POST /webhooks/stripe/<connectionId>: verify, store once by event id, enqueue processing, answer 200 at once.
 * Unknown connection, bad or stale signature, malformed body → 400 with a short reason and nothing stored.
 * Event types Reclaim does not handle are stored and acknowledged too (the job records them as ignored), and so are thin
 * events (no data.object), which Reclaim cannot act on: a 4xx would only make Stripe retry and then disable the endpoint.
 */
export async function receiveStripeWebhook(db: PrismaClient, connectionId: string, request: Request): Promise<WebhookAnswer> {
  // A deployment listed on the Shopify App Store runs without the Stripe source (ADR 077): say so, store nothing.
  if (!env.STRIPE_SOURCE_ENABLED) return answer(410, STRIPE_SOURCE_OFF_ANSWER);
  const verified = await readVerifiedEvent(db, connectionId, request);
  if (!verified.ok) return verified.answer;
  const { event } = verified.outcome;
  const stored = await recordInboundEvent(
    db,
    {
      source: "stripe",
      receiver: connectionId,
      externalId: event.id,
      topic: event.type,
      payload: verified.raw, // as signed, byte for byte
      shopId: verified.shopId,
      // Thin events are unversioned; a snapshot's version says which payload shape it has (docs/decisions/076).
      apiVersion: typeof event.api_version === "string" ? event.api_version.slice(0, 64) : null,
    },
    { name: PROCESS_STRIPE_EVENT_JOB },
  );
  return answer(200, stored === "new" ? "stored" : "duplicate");
}
