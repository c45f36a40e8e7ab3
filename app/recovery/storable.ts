/**
 * What the database can hold, for the mappers that turn vendor data into SourceEvents: a value past these is refused as
 * an unreadable payload there, rather than failing (and being retried) when ingest writes it.
 */

/**
 * Money columns are 64-bit (Prisma `BigInt`), read into JS numbers (exact below 2^53). One amount is capped at 10^13
 * minor units (100 billion in a 2-decimal currency, more than any real order in JPY, IDR or VND), so sums of
 * hundreds of such amounts in the app stay exact.
 */
export const MAX_STORED_MINOR = 10_000_000_000_000;

// Vendor timestamps are never before the Unix epoch; Prisma cannot write years past 9999.
const EARLIEST = Date.UTC(1970, 0, 1);
const LATEST = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/** The date when it is a real date the database can store, else null. */
export function storableDate(d: Date | null): Date | null {
  const t = d?.getTime();
  return t !== undefined && t >= EARLIEST && t <= LATEST ? d : null;
}
