import { execFile, execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { applyMigrations, MigrationError, readMigrations } from "~/database/migrate.server";
import { createTestDatabase, dropDatabase } from "../helpers/postgres";

const made: string[] = [];
async function emptyDatabase(): Promise<string> {
  // A copy of the run's template would already be migrated: start from template0 (nothing in it).
  const url = await createTestDatabase("m");
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query("DROP SCHEMA public CASCADE; CREATE SCHEMA public");
  await client.end();
  made.push(url);
  return url;
}
afterAll(async () => {
  for (const url of made) await dropDatabase(url).catch(() => {});
});

async function query<T extends pg.QueryResultRow>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

/**
 * Partial indexes, which schema.prisma cannot declare (Prisma 6): written in the migrations only, each with a comment in
 * the schema. Left out of the comparison with the schema and checked on their own below.
 */
const MIGRATION_ONLY_INDEXES: Record<string, string> = {
  Message_needing_code_idx: `CREATE INDEX "Message_needing_code_idx" ON public."Message" USING btree ("stepId", "scheduledFor") WHERE ((status = 'scheduled'::text) AND ("discountCreatedAt" IS NULL) AND ("discountError" IS NULL))`,
};

/** Tables, columns (type, nullability, default) and indexes of a database, in a comparable form. */
async function shape(url: string) {
  const columns = await query(
    url,
    `SELECT table_name, column_name, data_type, is_nullable, column_default FROM information_schema.columns
     WHERE table_schema = 'public' AND table_name <> '_reclaim_migrations' ORDER BY table_name, column_name`,
  );
  const indexes = await query(
    url,
    `SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename <> '_reclaim_migrations'
       AND NOT indexname = ANY($1::text[]) ORDER BY indexname`,
    [Object.keys(MIGRATION_ONLY_INDEXES)],
  );
  const constraints = await query(
    url,
    `SELECT conrelid::regclass::text AS tbl, conname, pg_get_constraintdef(oid) AS def FROM pg_constraint
     WHERE connamespace = 'public'::regnamespace AND conrelid::regclass::text <> '_reclaim_migrations' ORDER BY conname`,
  );
  return { columns, indexes, constraints };
}

describe("migrations", () => {
  it("the committed migrations build exactly the database that schema.prisma describes (no drift)", async () => {
    // The schema's own SQL (what `prisma migrate diff` derives from schema.prisma), applied to an empty database.
    const sql = execFileSync(
      path.resolve("node_modules/.bin/prisma"),
      ["migrate", "diff", "--from-empty", "--to-schema-datamodel", "prisma/schema.prisma", "--script"],
      {
        env: { ...process.env, CHECKPOINT_DISABLE: "1" },
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    const fromSchema = await emptyDatabase();
    await query(fromSchema, sql);
    const migrated = await shape(process.env.DATABASE_URL!);
    expect(migrated.columns.length).toBeGreaterThan(100);
    expect(migrated).toEqual(await shape(fromSchema));
  });

  it("builds the partial indexes that live outside schema.prisma, exactly as written", async () => {
    const rows = await query<{ indexname: string; indexdef: string }>(
      process.env.DATABASE_URL!,
      `SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' AND indexname = ANY($1::text[]) ORDER BY indexname`,
      [Object.keys(MIGRATION_ONLY_INDEXES)],
    );
    expect(Object.fromEntries(rows.map((r) => [r.indexname, r.indexdef]))).toEqual(MIGRATION_ONLY_INDEXES);
  });

  it("installs the triggers that keep the dashboard's daily totals (they live outside schema.prisma)", async () => {
    const rows = await query<{ tgname: string }>(process.env.DATABASE_URL!, `SELECT tgname FROM pg_trigger WHERE NOT tgisinternal ORDER BY tgname`);
    expect(rows.map((r) => r.tgname)).toEqual([
      "Click_daily_stat",
      "Conversion_daily_stat",
      "Conversion_refunded_daily_stat",
      "Conversion_reversed_daily_stat",
      "Message_daily_stat",
      "Recovery_daily_stat",
    ]);
  });

  it("applies each migration once, even when several instances run `npm run setup` at the same moment", async () => {
    const url = await emptyDatabase();
    const run = () =>
      promisify(execFile)(process.execPath, ["--import", "tsx", "scripts/migrate.ts"], { env: { ...process.env, DATABASE_URL: url }, encoding: "utf8" });
    const outputs = await Promise.all([run(), run(), run()]);
    const names = readMigrations().map((m) => m.name);
    // Exactly one process applied them; the others waited for its lock and found nothing to do.
    expect(outputs.filter((o) => o.stdout.includes(`Applied ${names.length} migration(s)`))).toHaveLength(1);
    expect(outputs.filter((o) => o.stdout.includes("The database is up to date."))).toHaveLength(2);
    const applied = await query<{ name: string }>(url, `SELECT "name" FROM "_reclaim_migrations" ORDER BY "name"`);
    expect(applied.map((r) => r.name)).toEqual(names);
    expect(await applyMigrations(url)).toEqual([]);
  });

  it("refuses a migration edited after it was applied, and rolls back a failing one whole, naming it", async () => {
    const url = await emptyDatabase();
    const dir = mkdtempSync(path.join(tmpdir(), "reclaim-migrations-"));
    const write = (name: string, sql: string) => {
      mkdirSync(path.join(dir, name), { recursive: true });
      writeFileSync(path.join(dir, name, "migration.sql"), sql);
    };
    write("001_a", `CREATE TABLE "A" ("id" int PRIMARY KEY);`);
    expect(await applyMigrations(url, dir)).toEqual(["001_a"]);

    write("001_a", `CREATE TABLE "A" ("id" bigint PRIMARY KEY);`);
    await expect(applyMigrations(url, dir)).rejects.toThrow(
      new MigrationError("Migration 001_a was changed after it was applied (checksum differs): add a new migration instead of editing an applied one"),
    );

    write("001_a", `CREATE TABLE "A" ("id" int PRIMARY KEY);`);
    write("002_b", `CREATE TABLE "B" ("id" int); INSERT INTO "A" VALUES (1); SELECT nonsense FROM nowhere;`);
    await expect(applyMigrations(url, dir)).rejects.toThrow(/Migration 002_b failed and was rolled back: relation "nowhere" does not exist/);
    // Nothing of 002_b stayed: no table B, no row in A, not recorded as applied.
    expect(await query(url, `SELECT to_regclass('"B"') AS b`)).toEqual([{ b: null }]);
    expect(await query(url, `SELECT count(*)::int AS n FROM "A"`)).toEqual([{ n: 0 }]);
    expect(await query(url, `SELECT "name" FROM "_reclaim_migrations"`)).toEqual([{ name: "001_a" }]);
  });
});
