import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import pg from "pg";
import { installQueueSchema } from "../jobs/engine.server";

/**
 * Applies the committed SQL migrations (prisma/migrations/<name>/migration.sql, written by `prisma migrate diff`) in
 * name order, each in its own transaction, recording each in "_reclaim_migrations" with a checksum. Every instance may
 * run it at start-up at once: a session advisory lock lets one apply while the others wait, then find nothing to do.
 * Why not `prisma migrate deploy`: it fails through the JS engine's pg adapter (prisma/orm#27403) and Prisma 7's CLI
 * downloads an engine binary; see docs/decisions/071-applying-migrations.md.
 */
export const MIGRATIONS_DIR = path.resolve("prisma/migrations");

// Any fixed 64-bit number, the same in every process: "Reclaim migrations".
const ADVISORY_LOCK = 7_302_115_961_223_001;

export interface Migration {
  name: string;
  sql: string;
  checksum: string;
}

export function readMigrations(dir: string = MIGRATIONS_DIR): Migration[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(path.join(dir, entry.name, "migration.sql")))
    .map((entry) => entry.name)
    .sort()
    .map((name) => {
      const sql = readFileSync(path.join(dir, name, "migration.sql"), "utf8");
      return { name, sql, checksum: createHash("sha256").update(sql).digest("hex") };
    });
}

export class MigrationError extends Error {
  name = "MigrationError";
}

/** Returns the names it applied (empty when the database was up to date). */
export async function applyMigrations(url: string, dir: string = MIGRATIONS_DIR): Promise<string[]> {
  const migrations = readMigrations(dir);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const applied: string[] = [];
  try {
    await client.query("SELECT pg_advisory_lock($1)", [ADVISORY_LOCK]);
    // The job queue's own schema (graphile-worker, ADR 080): its SQL ships in the npm package; installed or upgraded
    // first, under the same lock, so several instances starting at once apply it once and our migrations can use it.
    await installQueueSchema(url);
    await client.query(`CREATE TABLE IF NOT EXISTS "_reclaim_migrations" (
      "name" text PRIMARY KEY, "checksum" text NOT NULL, "appliedAt" timestamptz NOT NULL DEFAULT now())`);
    const { rows } = await client.query<{ name: string; checksum: string }>(`SELECT "name", "checksum" FROM "_reclaim_migrations"`);
    const done = new Map(rows.map((row) => [row.name, row.checksum]));
    for (const name of done.keys()) {
      if (!migrations.some((m) => m.name === name)) {
        throw new MigrationError(
          `The database has migration ${name}, which this version of Reclaim does not know: is an older version running against a newer database?`,
        );
      }
    }
    for (const migration of migrations) {
      const checksum = done.get(migration.name);
      if (checksum !== undefined) {
        if (checksum !== migration.checksum) {
          throw new MigrationError(
            `Migration ${migration.name} was changed after it was applied (checksum differs): add a new migration instead of editing an applied one`,
          );
        }
        continue;
      }
      await client.query("BEGIN");
      try {
        await client.query(migration.sql);
        await client.query(`INSERT INTO "_reclaim_migrations" ("name", "checksum") VALUES ($1, $2)`, [migration.name, migration.checksum]);
        await client.query("COMMIT");
      } catch (error) {
        await client.query("ROLLBACK");
        throw new MigrationError(`Migration ${migration.name} failed and was rolled back: ${error instanceof Error ? error.message : String(error)}`);
      }
      applied.push(migration.name);
    }
  } finally {
    await client.query("SELECT pg_advisory_unlock_all()").catch(() => {});
    await client.end();
  }
  return applied;
}
