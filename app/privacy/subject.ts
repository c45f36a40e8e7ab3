/**
 * Who a Shopify privacy request is about, read from its payload, and the text needles used to find that person in
 * stored rows. Pure: no database, no clock.
 *
 * Shopify's ids can exceed JavaScript's safe integers (its own samples do), so numbers are read as the digits that were
 * sent (lossless-json), never through a float. That only helps when the stored payload is the body as received; a body
 * that was parsed and re-serialised has already lost the digits (see docs/decisions/040-privacy-requests.md).
 */
import { parse as parseLossless } from "lossless-json";
import { normalizeEmail } from "../recovery/model";

export const COMPLIANCE_TOPICS = ["customers/data_request", "customers/redact", "shop/redact"] as const;
export type ComplianceTopic = (typeof COMPLIANCE_TOPICS)[number];

export function isComplianceTopic(topic: string): topic is ComplianceTopic {
  return (COMPLIANCE_TOPICS as readonly string[]).includes(topic);
}

/** The customer a `customers/*` request names. Ids are Shopify's numeric ids, as decimal strings. */
export interface PrivacySubject {
  customerId: string | null;
  /** Normalised (trimmed, lower-case); null when absent or not an address. */
  email: string | null;
  phone: string | null;
  /** `orders_requested` (data request) or `orders_to_redact` (redaction). */
  orderIds: string[];
  /** Shopify's data request id (data requests only). */
  dataRequestId: string | null;
}

export class CompliancePayloadError extends Error {
  name = "CompliancePayloadError";
}

type Json = Record<string, unknown>;
const obj = (v: unknown): Json | null => (v && typeof v === "object" && !Array.isArray(v) ? (v as Json) : null);
/** A Shopify numeric id as sent (a number's digits, or a string of digits); anything else is not an id. */
const numericId = (v: unknown): string | null => {
  const s = typeof v === "string" ? v.trim() : null;
  return s && /^\d{1,30}$/.test(s) ? s.replace(/^0+(?=\d)/, "") : null;
};
const text = (v: unknown): string | null => (typeof v === "string" && v.trim().length > 0 ? v.trim() : null);

/** Parses JSON keeping every number as the exact digits it was written with. */
export function parseKeepingDigits(raw: string): unknown {
  try {
    return parseLossless(raw, null, (digits) => digits);
  } catch {
    // Not strictly valid for lossless-json (e.g. duplicate keys): fall back to the ordinary parser.
    return JSON.parse(raw, (_key, value) => (typeof value === "number" ? String(value) : value));
  }
}

/** Parses JSON for people to read: numbers stay numbers unless a float would change them (then the digits, as a string). */
export function parseForExport(raw: string): unknown {
  return parseLossless(raw, null, (digits) => {
    const n = Number(digits);
    return /^-?\d+$/.test(digits) && !Number.isSafeInteger(n) ? digits : n;
  });
}

/** The person named by a `customers/data_request` or `customers/redact` payload. Throws CompliancePayloadError if none. */
export function subjectFromPayload(raw: string): PrivacySubject {
  let body: Json | null;
  try {
    body = obj(parseKeepingDigits(raw));
  } catch {
    throw new CompliancePayloadError("the request body is not JSON");
  }
  if (!body) throw new CompliancePayloadError("the request body is not a JSON object");
  const customer = obj(body.customer);
  const orders = Array.isArray(body.orders_requested) ? body.orders_requested : Array.isArray(body.orders_to_redact) ? body.orders_to_redact : [];
  const subject: PrivacySubject = {
    customerId: numericId(customer?.id),
    email: normalizeEmail(text(customer?.email)),
    phone: text(customer?.phone),
    orderIds: [...new Set(orders.map(numericId).filter((id): id is string => id !== null))],
    dataRequestId: numericId(obj(body.data_request)?.id) ?? text(obj(body.data_request)?.id),
  };
  if (!subject.customerId && !subject.email && subject.orderIds.length === 0) {
    throw new CompliancePayloadError("the request names no customer id, email or order");
  }
  return subject;
}

export const customerGid = (id: string) => `gid://shopify/Customer/${id}`;
export const orderGid = (id: string) => `gid://shopify/Order/${id}`;

/** Stripe `client_reference_id` forms that carry a Shopify customer (see app/sources/stripe/to-source-event.ts). */
export function clientReferenceIds(customerId: string): string[] {
  return [`shopify_customer_${customerId}`, customerGid(customerId)];
}

/**
 * What to look for in free text (raw webhook bodies, error messages) to find a person. Every needle matches a whole
 * value only, never inside a longer one (`ann@example.com` is not found in `joann@example.com` or `ann@example.com.au`):
 * - `emails`: lower-cased addresses, matched case-insensitively where no address character touches them;
 * - `phones`: digits only (7+), matched against each phone-shaped run of the text normalised to its digits;
 * - `tokens`: checkout tokens, session ids, client reference ids, matched where no identifier character touches them;
 * - `digits`: numeric ids, matched only where no other digit touches them (so 12345 is not found inside 9123456);
 * - `caseless`: the coarse SQL prefilter (`strpos` on the lower-cased column) for the first three; exactness comes
 *   from `mentions` afterwards.
 */
export interface Needles {
  caseless: string[];
  digits: string[];
  emails: string[];
  phones: string[];
  tokens: string[];
}

export function needlesFor(values: { emails?: Iterable<string>; phones?: Iterable<string>; digits?: Iterable<string>; tokens?: Iterable<string> }): Needles {
  const emails = new Set<string>();
  for (const e of values.emails ?? []) if (e && e.trim()) emails.add(e.trim().toLowerCase());
  // Short phone fragments would match prices and dates; a full number is at least 7 digits.
  const phones = new Set<string>();
  for (const p of values.phones ?? []) {
    const d = (p ?? "").replace(/\D/g, "");
    if (d.length >= 7) phones.add(d);
  }
  const tokens = new Set<string>();
  for (const t of values.tokens ?? []) if (t && t.length >= 8) tokens.add(t.toLowerCase());
  const digits = new Set<string>();
  for (const d of values.digits ?? []) if (d && /^\d{5,}$/.test(d)) digits.add(d);
  // Prefilter: the last 4 digits of a phone stay together in every usual format (+1 613-555-0142).
  const caseless = new Set<string>([...emails, ...tokens, ...[...phones].map((p) => p.slice(-4))]);
  return { caseless: [...caseless], digits: [...digits], emails: [...emails], phones: [...phones], tokens: [...tokens] };
}

export const hasNeedles = (n: Needles) => n.emails.length + n.phones.length + n.tokens.length + n.digits.length > 0;

const isDigit = (c: number) => c >= 48 && c <= 57;
const isAlnum = (c: number) => isDigit(c) || (c >= 97 && c <= 122) || (c >= 65 && c <= 90);
/** Characters that would make the text around a match part of a longer address (`jo`+ann@…, ann@…`.au`). */
const emailLocalChar = (c: number) => isAlnum(c) || c === 46 /* . */ || c === 95 /* _ */ || c === 43 /* + */ || c === 45; /* - */
const domainChar = (c: number) => isAlnum(c) || c === 45 /* - */ || c === 95; /* _ */
const tokenChar = (c: number) => isAlnum(c) || c === 95 /* _ */ || c === 45; /* - */

/** Every index where `needle` occurs in `hay` and `whole(start, end)` holds. */
function occursWhole(hay: string, needle: string, whole: (start: number, end: number) => boolean): boolean {
  for (let i = hay.indexOf(needle); i !== -1; i = hay.indexOf(needle, i + 1)) if (whole(i, i + needle.length)) return true;
  return false;
}

/** Whether `haystack` mentions any needle as a whole value (the exact check behind the database's coarse `strpos` prefilter). */
export function mentions(haystack: string | null | undefined, needles: Needles): boolean {
  if (!haystack) return false;
  const lower = haystack.toLowerCase();
  const at = (i: number) => (i >= 0 && i < lower.length ? lower.charCodeAt(i) : -1);
  const emailHit = needles.emails.some((n) =>
    occursWhole(lower, n, (s, e) => {
      if (emailLocalChar(at(s - 1))) return false;
      // The domain goes on if a domain character follows, or a dot followed by one (`.au`); a full stop ending a sentence does not.
      if (domainChar(at(e))) return false;
      return !(at(e) === 46 && domainChar(at(e + 1)));
    }),
  );
  if (emailHit) return true;
  if (needles.tokens.some((n) => occursWhole(lower, n, (s, e) => !tokenChar(at(s - 1)) && !tokenChar(at(e))))) return true;
  if (needles.digits.some((d) => occursWhole(haystack, d, (s, e) => !isDigit(at(s - 1)) && !isDigit(at(e))))) return true;
  if (needles.phones.some((p) => occursWhole(haystack, p, (s, e) => !isDigit(at(s - 1)) && !isDigit(at(e))))) return true;
  if (needles.phones.length) {
    // A phone-shaped run: digits with the usual separators, not touching letters or other digits.
    for (const m of haystack.matchAll(/\+?\d[\d \-().]{5,30}\d/g)) {
      const digits = m[0].replace(/\D/g, "");
      if (needles.phones.includes(digits) && !isAlnum(at(m.index! - 1)) && !isAlnum(at(m.index! + m[0].length))) return true;
    }
  }
  return false;
}
