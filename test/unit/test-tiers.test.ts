import { readdirSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import config from "../../vitest.config";

// `npm test` runs every tier and `npm run test:<tier>` one (vitest.config.ts): a test file no tier includes would never
// run anywhere, and one in two tiers would run twice in `npm test`.
const projects = (config.test?.projects ?? []) as { test: { name: string; include: string[]; exclude: string[] } }[];

function testFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((f) => /\.test\.tsx?$/.test(f) && !f.split(path.sep).includes("node_modules"))
    .map((f) => path.join(dir, f));
}

const tiersOf = (file: string) =>
  projects
    .filter((p) => p.test.include.some((g) => path.matchesGlob(file, g)) && !p.test.exclude.some((g) => path.matchesGlob(file, g)))
    .map((p) => p.test.name);

describe("test tiers", () => {
  it("are unit, integration and e2e", () => {
    expect(projects.map((p) => p.test.name)).toEqual(["unit", "integration", "e2e"]);
  });

  it("put every test file in exactly one tier", () => {
    const files = [...testFiles("app"), ...testFiles("test").filter((f) => !f.startsWith(path.join("test", ".tmp"))), ...testFiles("extensions")];
    expect(files.length).toBeGreaterThan(100);
    const wrong = files.map((file) => ({ file, tiers: tiersOf(file) })).filter((f) => f.tiers.length !== 1);
    expect(wrong).toEqual([]);
    expect(tiersOf("test/property/settings-forms.test.ts")).toEqual(["integration"]);
    expect(tiersOf("test/property/templates.test.ts")).toEqual(["unit"]);
    expect(tiersOf("test/e2e/dashboard.browser.test.ts")).toEqual(["e2e"]);
  });
});
