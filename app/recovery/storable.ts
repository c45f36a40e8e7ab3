/**
 * What the database can hold, for the mappers that turn vendor data into SourceEvents: a value past these is refused as
 * an unreadable payload there, rather than failing (and being retried) when ingest writes it.
 */

/** Money columns are 32-bit integers (Prisma `Int`). */
export const MAX_STORED_MINOR = 2_147_483_647;

// Vendor timestamps are never before the Unix epoch; Prisma cannot write years past 9999.
const EARLIEST = Date.UTC(1970, 0, 1);
const LATEST = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/** The date when it is a real date the database can store, else null. */
export function storableDate(d: Date | null): Date | null {
  const t = d?.getTime();
  return t !== undefined && t >= EARLIEST && t <= LATEST ? d : null;
}
