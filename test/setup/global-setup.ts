import { mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import path from "node:path";
import pg from "pg";
import type { TestProject } from "vitest/node";
import { createDatabaseIfMissing, freePort, startEmbeddedPostgres } from "../../app/database/embedded-postgres.server";
import { applyMigrations } from "../../app/database/migrate.server";
import { databaseUrlFor } from "../helpers/postgres";

const ROOT = path.resolve("test/.tmp");

/** The test tiers (vitest.config.ts projects) whose files get a database; `unit` does not. */
export const DATABASE_PROJECTS = ["integration", "e2e"];

/**
 * Starts the run's PostgreSQL and applies the committed migrations once to a template database; each test file gets
 * a copy (test/setup/per-file.ts). Without DATABASE_URL that is an embedded PostgreSQL of this run's own (its own
 * folder and port, so two runs at once never share anything), made for speed (no fsync: it is thrown away). With
 * DATABASE_URL the run uses that server and creates (then drops) databases named after the run. A run of the unit
 * tier alone (`npm run test:unit`) starts no PostgreSQL at all.
 */
export default async function setup(project: TestProject) {
  mkdirSync(ROOT, { recursive: true });
  // Leftovers of runs that died without tearing down (older than a day).
  for (const name of readdirSync(ROOT)) {
    const full = path.join(ROOT, name);
    if (Date.now() - statSync(full).mtimeMs > 86_400_000) rmSync(full, { recursive: true, force: true });
  }
  const runId = `${process.pid}_${Date.now()}`;
  const runDir = path.join(ROOT, `run-${runId}`);
  mkdirSync(runDir, { recursive: true });

  // Test workers are started after this and inherit the variables.
  process.env.RECLAIM_TEST_RUN_DIR = runDir;
  const needsDatabase = project.vitest.projects.some((p) => DATABASE_PROJECTS.includes(p.name));
  if (!needsDatabase) {
    delete process.env.DATABASE_URL;
    return async () => rmSync(runDir, { recursive: true, force: true });
  }

  let maintenance: string;
  let stopServer = async () => {};
  if (process.env.DATABASE_URL?.trim()) {
    maintenance = databaseUrlFor("postgres", process.env.DATABASE_URL.trim());
  } else {
    const running = await startEmbeddedPostgres({
      dataDir: path.join(runDir, "postgres"),
      port: await freePort(),
      database: "postgres",
      settings: { fsync: "off", synchronous_commit: "off", full_page_writes: "off", max_connections: "400" },
    });
    maintenance = running.url;
    stopServer = running.stop;
  }
  const prefix = `reclaim_test_${runId}`;
  const template = `${prefix}_template`;
  await createDatabaseIfMissing(maintenance, template);
  await applyMigrations(databaseUrlFor(template, maintenance));

  process.env.RECLAIM_TEST_PG_MAINTENANCE_URL = maintenance;
  process.env.RECLAIM_TEST_PG_TEMPLATE = template;
  process.env.RECLAIM_TEST_DB_PREFIX = prefix;
  delete process.env.DATABASE_URL;

  return async () => {
    // Drop this run's databases (on a shared server), then stop the embedded server if this run started it.
    const client = new pg.Client({ connectionString: maintenance });
    try {
      await client.connect();
      const { rows } = await client.query<{ datname: string }>("SELECT datname FROM pg_database WHERE datname LIKE $1", [`${prefix}%`]);
      for (const { datname } of rows) await client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(datname)} WITH (FORCE)`);
    } catch {
      // the server is going away with the run anyway
    } finally {
      await client.end().catch(() => {});
    }
    await stopServer();
    rmSync(runDir, { recursive: true, force: true });
  };
}
