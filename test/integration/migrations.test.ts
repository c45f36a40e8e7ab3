import { execFileSync } from "node:child_process";
import path from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";

/** The tables, columns and indexes of a SQLite file, in a comparable form. */
function shape(file: string) {
  const sqlite = new Database(file, { readonly: true });
  try {
    const objects = sqlite
      .prepare("SELECT type, name, tbl_name FROM sqlite_master WHERE type IN ('table', 'index') AND name NOT LIKE 'sqlite_%' AND name <> '_prisma_migrations' ORDER BY type, name")
      .all() as { type: string; name: string; tbl_name: string }[];
    return objects.map((o) =>
      o.type === "table"
        ? { ...o, columns: sqlite.prepare(`PRAGMA table_info("${o.name}")`).all() }
        : { ...o, columns: sqlite.prepare(`PRAGMA index_info("${o.name}")`).all() },
    );
  } finally {
    sqlite.close();
  }
}

describe("migrations", () => {
  it("the committed migrations build exactly the database that schema.prisma describes (no drift)", () => {
    const runDir = process.env.RECLAIM_TEST_RUN_DIR!;
    // The schema's own SQL (what `prisma migrate diff` derives from schema.prisma), applied to an empty database.
    const sql = execFileSync(path.resolve("node_modules/.bin/prisma"), ["migrate", "diff", "--from-empty", "--to-schema-datamodel", "prisma/schema.prisma", "--script"], {
      env: { ...process.env, CHECKPOINT_DISABLE: "1" },
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
    const fromSchema = path.join(runDir, `from-schema-${process.pid}.sqlite`);
    const sqlite = new Database(fromSchema);
    sqlite.exec(sql);
    sqlite.close();
    const migrated = shape(path.join(runDir, "template.sqlite"));
    expect(migrated.length).toBeGreaterThan(10);
    expect(migrated).toEqual(shape(fromSchema));
  });

  it("installs the triggers that keep the dashboard's daily totals (they live outside schema.prisma)", () => {
    const sqlite = new Database(path.join(process.env.RECLAIM_TEST_RUN_DIR!, "template.sqlite"), { readonly: true });
    const triggers = sqlite.prepare("SELECT name FROM sqlite_master WHERE type = 'trigger' ORDER BY name").all().map((r) => (r as { name: string }).name);
    sqlite.close();
    expect(triggers).toEqual(expect.arrayContaining(["Recovery_daily_stat_insert", "Recovery_daily_stat_update", "Message_daily_stat_sent", "Click_daily_stat_insert", "Conversion_daily_stat_insert"]));
  });
});
