/**
 * Many rows in one INSERT, one array parameter per column (`INSERT … SELECT * FROM unnest($1::text[], …)`), for the
 * batch ingest's hot inserts (issue 14, docs/decisions/097). Prisma's createMany sends the same kind of statement, but
 * its query compiler (engineType "client") spent about 1.4 ms of CPU per Recovery row and 0.4 ms per Message row
 * building it: most of the time of storing a page of 250 checkouts. Here the rows go as they are, a few arrays.
 *
 * What Prisma would otherwise do for us, the caller does: ids come from `newId` (the shape of Prisma's cuid) and
 * `updatedAt` is set by the caller; columns with a database default (createdAt, status…) may be left out. The column
 * names and types are written out by the caller, so a typo fails the statement (and its test), not silently.
 */
import { randomBytes } from "node:crypto";
import type { Prisma } from "@prisma/client";

export type ColumnType = "text" | "integer" | "bigint" | "boolean" | "timestamp(3)";

/** Every value goes as text (or NULL) and PostgreSQL casts the array: one code path for every type. */
function asText(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  // Timestamps are stored as UTC without a zone (Prisma's convention); PostgreSQL ignores the `Z` of an ISO instant.
  if (value instanceof Date) return value.toISOString();
  return String(value);
}

/**
 * Inserts `rows` into `table`, one statement. `columns` names each column written and its PostgreSQL type; each row
 * must have a value (or null) for each. Options: `onConflictDoNothing` (Prisma's skipDuplicates) and `returning`
 * (columns to read back, e.g. which rows were inserted).
 */
export async function insertRows<Returned = never>(
  tx: Prisma.TransactionClient,
  table: string,
  columns: Record<string, ColumnType>,
  rows: Record<string, unknown>[],
  options: { onConflictDoNothing?: boolean; returning?: string[] } = {},
): Promise<Returned[]> {
  if (rows.length === 0) return [];
  const names = Object.keys(columns);
  for (const name of names) if (!(name in rows[0]!)) throw new Error(`insertRows(${table}): the rows have no value for column "${name}"`);
  const arrays = names.map((name) => rows.map((row) => asText(row[name])));
  const unnest = names.map((name, i) => `$${i + 1}::text[]::${columns[name]}[]`).join(", ");
  const sql =
    `INSERT INTO "${table}" (${names.map((n) => `"${n}"`).join(", ")}) SELECT * FROM unnest(${unnest})` +
    (options.onConflictDoNothing ? " ON CONFLICT DO NOTHING" : "") +
    (options.returning?.length ? ` RETURNING ${options.returning.map((n) => `"${n}"`).join(", ")}` : "");
  if (options.returning?.length) return tx.$queryRawUnsafe<Returned[]>(sql, ...arrays);
  await tx.$executeRawUnsafe(sql, ...arrays);
  return [];
}

let counter = 0;

/**
 * A new row id in the shape of Prisma's `cuid()` (c + time + counter + random, 25 lower-case characters), for rows
 * inserted with insertRows. Ids from one process sort by creation time, like cuid's.
 */
export function newId(): string {
  counter = (counter + 1) % 36 ** 4;
  const random = randomBytes(8).readBigUInt64BE().toString(36).padStart(13, "0").slice(-12);
  return `c${Date.now().toString(36).padStart(8, "0")}${counter.toString(36).padStart(4, "0")}${random}`;
}
