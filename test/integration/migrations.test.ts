import { execFileSync } from "node:child_process";
import path from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";

/** The tables, columns and indexes of a SQLite file, in a comparable form. */
function shape(file: string) {
  const sqlite = new Database(file, { readonly: true });
  try {
    const objects = sqlite
      .prepare("SELECT type, name, tbl_name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' AND name <> '_prisma_migrations' ORDER BY type, name")
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
    const pushed = path.resolve("test/.tmp", `pushed-${process.pid}.sqlite`);
    execFileSync(path.resolve("node_modules/.bin/prisma"), ["db", "push", "--skip-generate"], {
      env: { ...process.env, DATABASE_URL: `file:${pushed}` },
      stdio: "pipe",
    });
    const migrated = shape(path.resolve("test/.tmp/template.sqlite"));
    expect(migrated.length).toBeGreaterThan(10);
    expect(migrated).toEqual(shape(pushed));
  });
});
