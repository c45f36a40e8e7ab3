/**
 * The demo's own folder (default data/demo, gitignored): its PostgreSQL cluster, generated secrets, captured emails and
 * the simulators' state. Nothing outside it is written, so `--reset` (or deleting the folder) starts over.
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import path from "node:path";

export interface DemoSecrets {
  /** The demo's own Shopify app credentials: it signs session tokens and webhooks with them, as Shopify would. */
  shopifyApiKey: string;
  shopifyApiSecret: string;
  encryptionKeys: string;
  linkSigningSecret: string;
  /** The Stripe endpoint's signing secret (the simulator signs with it) and a restricted key for the fake Stripe API. */
  stripeWebhookSecret: string;
  stripeApiKey: string;
}

const alnum = (bytes: number) =>
  randomBytes(bytes)
    .toString("base64")
    .replace(/[^A-Za-z0-9]/g, "")
    .slice(0, bytes);

export function readJson<T>(file: string): T | null {
  if (!existsSync(file)) return null;
  return JSON.parse(readFileSync(file, "utf8")) as T;
}

/** Writes through a temporary file and a rename, so a crash never leaves half a file. */
export function writeJson(file: string, value: unknown, mode = 0o644): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(value), { mode });
  renameSync(tmp, file);
}

export function loadOrCreateSecrets(dataDir: string): { secrets: DemoSecrets; created: boolean } {
  const file = path.join(dataDir, "secrets.json");
  const existing = readJson<DemoSecrets>(file);
  if (existing) return { secrets: existing, created: false };
  const secrets: DemoSecrets = {
    shopifyApiKey: `demo${randomBytes(14).toString("hex")}`,
    shopifyApiSecret: randomBytes(32).toString("hex"),
    encryptionKeys: `demo1:${randomBytes(32).toString("base64")}`,
    linkSigningSecret: randomBytes(32).toString("base64url"),
    stripeWebhookSecret: `whsec_${alnum(32)}`,
    stripeApiKey: `rk_test_${alnum(40)}`,
  };
  writeJson(file, secrets, 0o600);
  return { secrets, created: true };
}

/**
 * The demo's own embedded PostgreSQL, in `<dataDir>/postgres` (never the app's DATABASE_URL: the demo writes made-up
 * shops and buyers). The port it got is kept in `postgres.port` so tests and a second look can connect to it.
 */
export async function startDemoDatabase(dataDir: string, port: number): Promise<{ url: string; port: number; dataDir: string; stop: () => Promise<void> }> {
  const { freePort, startEmbeddedPostgres } = await import("../database/embedded-postgres.server");
  const chosen = port === 0 ? await freePort() : port;
  const pgDir = path.join(dataDir, "postgres");
  const running = await startEmbeddedPostgres({ dataDir: pgDir, port: chosen, database: "reclaim_demo" });
  writeFileSync(path.join(dataDir, "postgres.port"), String(chosen));
  return { url: running.url, port: chosen, dataDir: pgDir, stop: running.stop };
}

/** The URL of a demo's database (while the demo runs), from its data folder: for tests and inspection. */
export async function demoDatabaseUrl(dataDir: string): Promise<string> {
  const { embeddedDatabaseUrl } = await import("../database/embedded-postgres.server");
  const port = Number(readFileSync(path.join(dataDir, "postgres.port"), "utf8"));
  return embeddedDatabaseUrl({ dataDir: path.join(dataDir, "postgres"), port, database: "reclaim_demo" });
}

/** Deletes the demo's data but keeps the app build (derived from the sources, checked against them on start). */
export function resetDataDir(dataDir: string, keep: string[]): void {
  if (!existsSync(dataDir)) return;
  const kept = new Set(keep.map((k) => path.resolve(k)));
  for (const name of readdirSync(dataDir)) {
    const full = path.resolve(dataDir, name);
    if (!kept.has(full)) rmSync(full, { recursive: true, force: true });
  }
}

export function ensureDir(dir: string): void {
  mkdirSync(dir, { recursive: true });
}

/**
 * One demo per data folder: two processes would write the same database and state files. Returns the release function;
 * a lock left by a process that no longer exists is taken over.
 */
export function lockDataDir(dataDir: string): () => void {
  const file = path.join(dataDir, "demo.pid");
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, String(process.pid), { flag: "wx" });
      return () => {
        try {
          if (readFileSync(file, "utf8") === String(process.pid)) unlinkSync(file);
        } catch {
          // already gone
        }
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const pid = Number(readFileSync(file, "utf8"));
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isRunning(pid)) {
        throw new Error(`another demo (process ${pid}) is using ${dataDir}. Stop it first, or pass --data-dir.`);
      }
      rmSync(file, { force: true });
    }
  }
  throw new Error(`could not lock ${dataDir}`);
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
