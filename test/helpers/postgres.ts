import { randomUUID } from "node:crypto";
import pg from "pg";
import { createDatabaseIfMissing } from "../../app/database/embedded-postgres.server";

/**
 * Databases for tests: each test file (and each test that wants a fresh one) gets its own database, created in
 * milliseconds from the run's migrated template (test/setup/global-setup.ts) with CREATE DATABASE … TEMPLATE.
 */
export function maintenanceUrl(): string {
  const url = process.env.RECLAIM_TEST_PG_MAINTENANCE_URL;
  if (!url) throw new Error("RECLAIM_TEST_PG_MAINTENANCE_URL is not set: run tests through vitest (test/setup/global-setup.ts)");
  return url;
}

export function databaseUrlFor(database: string, base = maintenanceUrl()): string {
  const url = new URL(base);
  url.pathname = `/${database}`;
  return url.toString();
}

/** A new database copied from the run's template; returns its URL. */
export async function createTestDatabase(label = "t"): Promise<string> {
  const prefix = process.env.RECLAIM_TEST_DB_PREFIX ?? "reclaim_test";
  const name = `${prefix}_${label}_${randomUUID().replace(/-/g, "").slice(0, 12)}`.toLowerCase();
  await createDatabaseIfMissing(maintenanceUrl(), name, process.env.RECLAIM_TEST_PG_TEMPLATE);
  return databaseUrlFor(name);
}

export async function dropDatabase(url: string): Promise<void> {
  const name = new URL(url).pathname.slice(1);
  const client = new pg.Client({ connectionString: maintenanceUrl() });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
  } finally {
    await client.end();
  }
}
