/**
 * Hostile-but-plausible inputs for the parsers' property tests: objects with the field names a vendor sends, each
 * holding anything JSON can carry (the right type, a wrong type, an edge value), so a run reaches deep into a mapper
 * instead of being refused at its first check.
 */
import fc from "fast-check";

/** Values a JSON field can hold, weighted towards the edges parsers trip on. */
export const anyJsonValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 2, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.double() },
  { weight: 1, arbitrary: fc.constantFrom(0, -1, 1e21, -1e21, 2 ** 31, 2 ** 53, Number.MAX_SAFE_INTEGER, 1e300) },
  { weight: 1, arbitrary: fc.boolean() },
  { weight: 1, arbitrary: fc.constant(null) },
  { weight: 1, arbitrary: fc.constantFrom("", " ", "0", "-0", "1e5", "NaN", "Infinity", "12.345678", "99999999999999999999", "__proto__", "constructor") },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
);

/** A decimal money string as Shopify sends it, or something that only looks like one. */
export const moneyString: fc.Arbitrary<unknown> = fc.oneof(
  fc.stringMatching(/^\d{1,12}(\.\d{1,4})?$/),
  fc.stringMatching(/^-?\d{1,25}(\.\d{0,12})?$/),
  anyJsonValue,
);

/** An ISO 8601 time, a plausible but wrong one, or anything. */
export const timeString: fc.Arbitrary<unknown> = fc.oneof(
  fc.date({ min: new Date("1970-01-01T00:00:00Z"), max: new Date("2100-01-01T00:00:00Z"), noInvalidDate: true }).map((d) => d.toISOString()),
  fc.constantFrom("2026-13-45T99:99:99Z", "+275760-09-13T00:00:00.000Z", "-271821-04-20T00:00:00.000Z", "0000-00-00", "yesterday"),
  anyJsonValue,
);

/** An object with some of `fields` (each from its arbitrary, or anything), plus stray keys. */
export function fuzzedObject(fields: Record<string, fc.Arbitrary<unknown>>): fc.Arbitrary<Record<string, unknown>> {
  const withNoise = Object.fromEntries(
    Object.entries(fields).map(([k, arb]) => [k, fc.oneof({ weight: 4, arbitrary: arb }, { weight: 1, arbitrary: anyJsonValue })]),
  );
  return fc
    .tuple(fc.record(withNoise, { requiredKeys: [] }), fc.dictionary(fc.string({ maxLength: 12 }), anyJsonValue, { maxKeys: 3 }))
    .map(([known, stray]) => ({ ...stray, ...known }));
}

/** Run counts: enough to find what these tests found, small enough to keep the suite quick. */
export const RUNS = { unit: 300, route: 100 } as const;

/** What the mappers let through (app/recovery/storable.ts): money columns are 64-bit, one amount at most 10^13. */
export const MAX_STORED_INT = 10_000_000_000_000;

/** A date the database can store: from 1970 (vendor times) to the end of year 9999 (Prisma's limit). */
const validDate = (d: unknown) => d instanceof Date && d.getTime() >= 0 && d.getTime() <= Date.UTC(9999, 11, 31, 23, 59, 59, 999);
const storableInt = (n: unknown) => typeof n === "number" && Number.isSafeInteger(n) && Math.abs(n) <= MAX_STORED_INT;

/**
 * What ingest needs from a mapped event: real dates, integer amounts it can store, strings where strings go. Returns the
 * problems found (empty when the event is well formed).
 */
export function sourceEventProblems(e: Record<string, any>): string[] {
  const problems: string[] = [];
  const dateFields = e.kind === "checkout.observed" ? ["abandonedAt", "updatedAt"] : ["occurredAt"];
  for (const f of dateFields) if (!validDate(e[f])) problems.push(`${f} is not a valid date`);
  for (const f of ["completedAt", "recoveryUrlExpiresAt"]) if (e[f] != null && !validDate(e[f])) problems.push(`${f} is not a valid date`);
  const money = e.kind === "checkout.observed" ? e.total : e.amount;
  if (!storableInt(money?.amountMinor)) problems.push(`amount ${money?.amountMinor} is not a storable integer`);
  if (typeof money?.currency !== "string") problems.push("currency is not a string");
  if (e.shopTotal && !storableInt(e.shopTotal.amountMinor)) problems.push("shopTotal is not a storable integer");
  if (typeof e.externalId !== "string" || e.externalId.length === 0) problems.push("externalId is not a non-empty string");
  for (const f of ["email", "firstName", "checkoutToken", "cartToken", "name", "recoveryUrl", "locale"]) {
    if (e[f] != null && typeof e[f] !== "string") problems.push(`${f} is not a string`);
  }
  if (e.consent) {
    if (e.consent.at != null && (typeof e.consent.at !== "string" || Number.isNaN(Date.parse(e.consent.at)))) problems.push("consent.at is not a time");
  }
  for (const item of e.lineItems ?? []) {
    if (typeof item.title !== "string") problems.push("line item title is not a string");
    if (!Number.isSafeInteger(item.quantity) || item.quantity < 1) problems.push("line item quantity is not a positive integer");
    if (!Number.isSafeInteger(item.unitPriceMinor) || !Number.isSafeInteger(item.totalPriceMinor)) problems.push("line item price is not an integer");
  }
  if (e.discountCodes && !e.discountCodes.every((c: unknown) => typeof c === "string")) problems.push("a discount code is not a string");
  return problems;
}
