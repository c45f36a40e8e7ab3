/**
 * The PostgreSQL a benchmark runs against.
 *
 * Without DATABASE_URL: a private embedded PostgreSQL (app/database/embedded-postgres.server.ts) in a fresh folder under
 * the OS temp dir, on a free loopback port, stopped and deleted when the benchmark ends. It runs with PostgreSQL's
 * default durability settings (fsync, synchronous_commit, full_page_writes all on: unlike the test suite's throwaway
 * cluster, nothing is turned off), so commits cost what they cost in production on this disk. Only max_connections is
 * raised, so that several app processes with their pools fit.
 *
 * With DATABASE_URL: that server is used, and a fresh database named after the benchmark is created on it (through its
 * `postgres` maintenance database) and dropped at the end; the URL's own database is never touched.
 *
 * Either way the committed migrations are applied with applyMigrations before the URL is returned.
 */
import { randomBytes } from "node:crypto";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { createDatabaseIfMissing, freePort, startEmbeddedPostgres } from "../app/database/embedded-postgres.server";
import { applyMigrations } from "../app/database/migrate.server";

export interface BenchDatabase {
  /** The migrated database's URL (pass it as DATABASE_URL to the app processes). */
  url: string;
  /** "embedded PostgreSQL 17 (fsync on, defaults)" or "PostgreSQL at DATABASE_URL": for the printed tables. */
  description: string;
  /** Another fresh, migrated database on the same server (for benchmarks that want one per run); returns its URL. */
  createDatabase(label: string): Promise<string>;
  /** Drops what was created (DATABASE_URL) or stops and deletes the embedded cluster. Safe to call twice. */
  stop(): Promise<void>;
}

export { freePort };

export function withDatabase(url: string, database: string): string {
  const next = new URL(url);
  next.pathname = `/${database}`;
  return next.toString();
}

async function serverVersion(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ server_version: string }>("SHOW server_version");
    return rows[0]!.server_version.split(" ")[0]!;
  } finally {
    await client.end();
  }
}

async function dropDatabases(maintenanceUrl: string, names: string[]): Promise<void> {
  if (!names.length) return;
  const client = new pg.Client({ connectionString: maintenanceUrl });
  await client.connect();
  try {
    for (const name of names) await client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

/** Starts (or connects to) the benchmark's PostgreSQL and returns a fresh, migrated database on it. */
export async function startBenchDatabase(
  name: string,
  log: (line: string) => void = () => {},
  /** Extra settings of the embedded server (not applied to DATABASE_URL's), e.g. shared_preload_libraries. */
  settings: Record<string, string> = {},
): Promise<BenchDatabase> {
  const configured = process.env.DATABASE_URL?.trim();
  const stamp = `${process.pid}_${Date.now()}`;
  const created: string[] = [];
  let maintenanceUrl: string;
  let stopServer = async () => {};
  let description: string;
  if (configured) {
    maintenanceUrl = withDatabase(configured, "postgres");
    description = `PostgreSQL ${await serverVersion(maintenanceUrl)} at DATABASE_URL`;
  } else {
    const dir = mkdtempSync(path.join(os.tmpdir(), `reclaim-bench-${name}-pg-`));
    chmodSync(dir, 0o755); // as root, PostgreSQL runs as the `postgres` user, which must reach the data dir
    const port = await freePort();
    log(`starting an embedded PostgreSQL in ${dir} on 127.0.0.1:${port} (default durability: fsync on)…`);
    const running = await startEmbeddedPostgres({
      dataDir: path.join(dir, "data"),
      port,
      database: "postgres",
      settings: { max_connections: "300", ...settings },
    });
    maintenanceUrl = running.url;
    stopServer = async () => {
      await running.stop().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    };
    description = `embedded PostgreSQL ${await serverVersion(maintenanceUrl)} (default settings: fsync on)`;
  }
  const createDatabase = async (label: string) => {
    const database = `reclaim_bench_${name}_${label}_${stamp}`.toLowerCase().replace(/[^a-z0-9_]/g, "_");
    await createDatabaseIfMissing(maintenanceUrl, database);
    created.push(database);
    const url = withDatabase(maintenanceUrl, database);
    await applyMigrations(url);
    return url;
  };
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (configured) await dropDatabases(maintenanceUrl, created).catch((error) => log(`could not drop ${created.join(", ")}: ${String(error)}`));
    await stopServer();
  };
  try {
    const url = await createDatabase("main");
    return { url, description, createDatabase, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * The app's environment for a benchmark process on `databaseUrl`: production mode, throwaway keys, no in-process job
 * runner (each benchmark starts the worker it measures), no logging.
 */
export function benchAppEnv(databaseUrl: string): Record<string, string> {
  return {
    NODE_ENV: "production",
    DATABASE_URL: databaseUrl,
    SHOPIFY_API_KEY: "bench-api-key",
    SHOPIFY_API_SECRET: "bench-api-secret",
    SHOPIFY_APP_URL: "https://reclaim.bench",
    ENCRYPTION_KEYS: `bench:${randomBytes(32).toString("base64")}`,
    LINK_SIGNING_SECRET: randomBytes(32).toString("hex"),
    JOB_RUNNER: "off",
    LOG_LEVEL: "silent",
  };
}
