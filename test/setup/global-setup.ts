import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import path from "node:path";

const ROOT = path.resolve("test/.tmp");

/**
 * Applies the committed migrations once to a template database; each test file copies it (test/setup/per-file.ts).
 * Every run gets its own folder, so two test runs at once (two terminals, an editor, CI) never share files.
 */
export default function setup() {
  mkdirSync(ROOT, { recursive: true });
  // Leftovers of runs that died without tearing down (older than a day).
  for (const name of readdirSync(ROOT)) {
    const full = path.join(ROOT, name);
    if (Date.now() - statSync(full).mtimeMs > 86_400_000) rmSync(full, { recursive: true, force: true });
  }
  const runDir = path.join(ROOT, `run-${process.pid}-${Date.now()}`);
  mkdirSync(runDir, { recursive: true });
  const template = path.join(runDir, "template.sqlite");
  execFileSync(path.resolve("node_modules/.bin/prisma"), ["migrate", "deploy"], {
    env: { ...process.env, DATABASE_URL: `file:${template}`, CHECKPOINT_DISABLE: "1" },
    stdio: "pipe",
  });
  // Test workers are started after this and inherit the variable.
  process.env.RECLAIM_TEST_RUN_DIR = runDir;
  return () => rmSync(runDir, { recursive: true, force: true });
}
