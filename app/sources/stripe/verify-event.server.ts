import { MAX_JSON_DEPTH, parseJsonWithLimits } from "../../security/request-limits.server";
import { Stripe, stripeWebhooks } from "./stripe-client.server";

/** Stripe's own default, stated here because it is part of our contract with merchants: 5 minutes. */
export const SIGNATURE_TOLERANCE_SECONDS = 300;

/** The part of a Stripe event envelope Reclaim relies on; `data.object` is read defensively by the mappers. */
export interface StripeEventEnvelope {
  id: string;
  type: string;
  created: number;
  livemode: boolean;
  data: { object: Record<string, unknown> };
  /** The API version the payload was rendered with (the endpoint's pinned version, else the account default). */
  api_version?: string | null;
  /** Set only on events from a connected account (Connect). */
  account?: string | null;
}

/**
 * A "thin" event: an event destination's notification (`object: "v2.core.event"`, `related_object` to fetch) or any
 * signed event without `data.object`. Unversioned and carrying no payload Reclaim can use: stored, acknowledged and
 * recorded as ignored, never refused (a 4xx makes Stripe retry for days and then disable the endpoint; ADR 076).
 */
export interface ThinStripeEvent {
  id: string;
  type: string;
  thin: true;
  livemode: boolean | null;
  /** A v1 envelope without data.object still says its version; a v2 notification has none. */
  api_version: string | null;
}

export type VerifyFailure = "missing_signature" | "bad_signature" | "stale_timestamp" | "malformed_json" | "too_deep" | "not_an_event";

export type VerifyOutcome =
  | { ok: true; event: StripeEventEnvelope; /** Which secret matched: 0 = current, 1 = previous (rotation). */ secretIndex: number }
  | { ok: true; event: ThinStripeEvent; secretIndex: number }
  | { ok: false; reason: VerifyFailure; message: string };

const MESSAGES: Record<VerifyFailure, string> = {
  missing_signature: "missing Stripe-Signature header",
  bad_signature: "signature does not match this endpoint's signing secret",
  stale_timestamp: `signature timestamp is more than ${SIGNATURE_TOLERANCE_SECONDS} s old`,
  malformed_json: "body is not valid JSON",
  too_deep: `body is nested deeper than ${MAX_JSON_DEPTH} levels`,
  not_an_event: "body is not a Stripe event",
};

const fail = (reason: VerifyFailure): VerifyOutcome => ({ ok: false, reason, message: MESSAGES[reason] });

/**
 * Verifies `Stripe-Signature` over the exact raw body with the SDK's `webhooks.signature.verifyHeader` (300 s
 * tolerance), trying each secret in turn: the current one, then during a rotation the previous one. A signature that
 * matches but is too old is reported as stale rather than as a mismatch. Only a verified body is parsed, with the
 * nesting limit checked before JSON.parse (request-limits.server.ts). `receivedAtMs` replaces the clock (tests).
 */
export function verifyStripeEvent(rawBody: string, signatureHeader: string | null, secrets: string[], receivedAtMs?: number): VerifyOutcome {
  if (!signatureHeader) return fail("missing_signature");
  if (!rawBody) return fail("malformed_json");
  let stale = false;
  for (const [index, secret] of secrets.entries()) {
    try {
      stripeWebhooks.signature!.verifyHeader(rawBody, signatureHeader, secret, SIGNATURE_TOLERANCE_SECONDS, undefined, receivedAtMs);
    } catch (error) {
      if (error instanceof Stripe.errors.StripeSignatureVerificationError) {
        // The SDK checks the signature first, so "outside the tolerance zone" means this secret did sign it.
        if (/tolerance/i.test(error.message)) stale = true;
        continue;
      }
      throw error;
    }
    // The signature matched; now the body itself.
    const parsed = parseJsonWithLimits(rawBody, MAX_JSON_DEPTH);
    if (!parsed.ok) return fail(parsed.problem === "malformed" ? "malformed_json" : "too_deep");
    if (isEventEnvelope(parsed.value)) return { ok: true, event: parsed.value, secretIndex: index };
    const thin = thinEvent(parsed.value);
    return thin ? { ok: true, event: thin, secretIndex: index } : fail("not_an_event");
  }
  return fail(stale ? "stale_timestamp" : "bad_signature");
}

function isEventEnvelope(value: unknown): value is StripeEventEnvelope {
  if (!value || typeof value !== "object") return false;
  const e = value as Record<string, unknown>;
  const data = e.data as Record<string, unknown> | undefined;
  return (
    e.object === "event" &&
    typeof e.id === "string" &&
    e.id.length > 0 &&
    e.id.length <= 255 &&
    typeof e.type === "string" &&
    e.type.length > 0 &&
    // Unix seconds the database can store as a date (the job turns `created` into the abandonment time).
    Number.isSafeInteger(e.created) &&
    (e.created as number) > 0 &&
    (e.created as number) <= 253_402_300_799 &&
    typeof data === "object" &&
    data !== null &&
    typeof data.object === "object" &&
    data.object !== null
  );
}

/** A signed event that has an id and a type but no snapshot payload (see ThinStripeEvent), or null. */
export function thinEvent(value: unknown): ThinStripeEvent | null {
  if (!value || typeof value !== "object" || Array.isArray(value)) return null;
  const e = value as Record<string, unknown>;
  if (e.object !== "v2.core.event" && e.object !== "event") return null;
  if (typeof e.id !== "string" || e.id.length === 0 || e.id.length > 255 || typeof e.type !== "string" || e.type.length === 0 || e.type.length > 255)
    return null;
  return {
    id: e.id,
    type: e.type,
    thin: true,
    livemode: typeof e.livemode === "boolean" ? e.livemode : null,
    api_version: typeof e.api_version === "string" ? e.api_version : null,
  };
}

/** Whether a stored payload is a snapshot event the handlers can read (the job re-reads what the route stored). */
export function isSnapshotEvent(value: unknown): value is StripeEventEnvelope {
  return isEventEnvelope(value);
}
