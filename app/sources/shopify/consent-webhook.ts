/**
 * Pure mapper for Shopify's `customers_email_marketing_consent/update` webhook: a buyer's email marketing consent
 * changed in Shopify (an unsubscribe from a Shopify Email, the merchant editing the customer, a subscription at
 * checkout). The body, per Shopify's webhook reference:
 *
 *   {"customer_id": 706405506930370084, "email_address": "bob@biller.com",
 *    "email_marketing_consent": {"state": "unsubscribed", "opt_in_level": "single_opt_in",
 *                                "consent_updated_at": "2021-12-31T19:00:00-05:00"}}
 *
 * `customer_id` can exceed 2^53 (Shopify's own sample does), so `consentUpdateFromRaw` reads the stored body keeping
 * every number's digits; `consentUpdateFromWebhook` accepts an already parsed body, where an unsafe number is not
 * trusted as an id. See docs/decisions/073-shopify-consent-updates.md.
 */
import { parse as parseLossless } from "lossless-json";
import { SHOPIFY_CONSENT_UPDATE_SOURCE, type ShopifyConsentUpdate } from "../../recovery/decide";
import type { Consent } from "../../recovery/model";
import { normalizeEmail } from "../../recovery/model";
import { storableDate } from "../../recovery/storable";
import { PayloadError } from "./webhook-mapping";

export const CONSENT_UPDATE_TOPIC = "customers_email_marketing_consent/update";
export const CONSENT_UPDATE_EVIDENCE_SOURCE = SHOPIFY_CONSENT_UPDATE_SOURCE;

export type { ShopifyConsentUpdate };

/** The only error this module throws: the body cannot be read as a consent update (never becomes readable). */
export class ConsentPayloadError extends PayloadError {
  name = "ConsentPayloadError";
}

type Json = Record<string, unknown>;
const obj = (v: unknown): Json | null => (v && typeof v === "object" && !Array.isArray(v) ? (v as Json) : null);
const text = (v: unknown): string | null => (typeof v === "string" && v.trim().length > 0 ? v.trim() : null);

/** Shopify's numeric id as digits: a safe integer, or a string of digits (as lossless parsing gives them). */
function customerDigits(v: unknown): string | null {
  if (typeof v === "number") return Number.isSafeInteger(v) && v > 0 ? String(v) : null;
  const s = typeof v === "string" ? v.trim() : null;
  if (!s || !/^\d{1,30}$/.test(s)) return null;
  const digits = s.replace(/^0+(?=\d)/, "");
  return digits === "0" ? null : digits;
}

/**
 * The webhook's lowercase state → Reclaim's consent, the same mapping as `consentFromMarketingState` for the GraphQL
 * enum: only `subscribed` is an opt-in and only `unsubscribed` an opt-out; `not_subscribed`, `pending`, `invalid`,
 * `redacted` (and anything new) are no consent either way.
 */
export function consentFromWebhookState(state: string): Consent {
  const s = state.trim().toLowerCase();
  if (s === "subscribed") return "opt_in";
  if (s === "unsubscribed") return "opt_out";
  return "unknown";
}

/** A parsed webhook body → the consent update it reports. Throws ConsentPayloadError (only) when it cannot be read. */
export function consentUpdateFromWebhook(body: unknown): ShopifyConsentUpdate {
  const p = obj(body);
  if (!p) throw new ConsentPayloadError("consent payload is not a JSON object");
  const consent = obj(p.email_marketing_consent);
  if (!consent) throw new ConsentPayloadError("consent payload has no email_marketing_consent object");
  const rawState = text(consent.state);
  if (!rawState) throw new ConsentPayloadError("consent payload has no email_marketing_consent.state");
  const digits = customerDigits(p.customer_id);
  const email = normalizeEmail(text(p.email_address));
  if (!digits && !email) throw new ConsentPayloadError("consent payload names neither a customer_id nor an email_address");

  let at: Date | null = null;
  const rawAt = consent.consent_updated_at;
  if (rawAt !== null && rawAt !== undefined) {
    at = typeof rawAt === "string" ? storableDate(new Date(rawAt)) : null;
    if (!at) throw new ConsentPayloadError("consent payload has an invalid consent_updated_at");
  }
  const state = consentFromWebhookState(rawState);
  const optInLevel = text(consent.opt_in_level);
  return {
    shopifyCustomerId: digits ? `gid://shopify/Customer/${digits}` : null,
    email,
    state,
    evidence: {
      state,
      source: CONSENT_UPDATE_EVIDENCE_SOURCE,
      detail: { state: rawState.slice(0, 40), opt_in_level: optInLevel ? optInLevel.slice(0, 40) : null },
      at: at ? at.toISOString() : null,
    },
    at,
  };
}

/** The stored body (the bytes Shopify signed) → the consent update, with `customer_id` exact past 2^53. */
export function consentUpdateFromRaw(raw: string): ShopifyConsentUpdate {
  let body: unknown;
  try {
    body = parseLossless(raw, null, (digits) => digits);
  } catch {
    try {
      // lossless-json refuses some valid JSON (duplicate keys): read it the ordinary way (an id past 2^53 is then
      // not trusted; the email still identifies the person).
      body = JSON.parse(raw);
    } catch {
      throw new ConsentPayloadError("consent payload is not JSON");
    }
  }
  return consentUpdateFromWebhook(body);
}
