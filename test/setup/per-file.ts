import { randomUUID } from "node:crypto";
import { appendFileSync } from "node:fs";
import fc from "fast-check";
import { afterEach } from "vitest";
import { createTestDatabase } from "../helpers/postgres";
import { appendConsoleLog, logFileFor } from "./secret-scan";
import { TEST_ENV } from "./test-env";

// Runs before each test file, before it imports app modules: fixed test environment and a private database.
Object.assign(process.env, TEST_ENV);
const runDir = process.env.RECLAIM_TEST_RUN_DIR;
if (!runDir) throw new Error("RECLAIM_TEST_RUN_DIR is not set: run tests through vitest (test/setup/global-setup.ts)");
const id = `${process.pid}-${randomUUID().slice(0, 8)}`;
// A database of this file's own, copied from the run's migrated template (test/setup/global-setup.ts). The unit tier
// has none: its DATABASE_URL names a closed loopback port (the environment still parses), so a unit test that reaches
// for PostgreSQL fails at once with "connection refused" — it belongs in test/integration.
process.env.DATABASE_URL =
  process.env.RECLAIM_TEST_TIER === "unit" ? "postgresql://unit-tier:no-database@127.0.0.1:9/unit_tests_have_no_database" : await createTestDatabase("f");

// Every app log line of this file (and of the processes it starts, which inherit LOG_FILE) goes to the run's log
// folder, which the summary reporter scans for secrets after the last file (test/setup/secret-scan.ts).
process.env.LOG_FILE = logFileFor(runDir, `app-${id}.log`);
// One line per file, so the scan always has something to read: a scan that read nothing fails (scanVerdict).
appendFileSync(process.env.LOG_FILE, `${JSON.stringify({ time: new Date().toISOString(), level: "info", message: "test file started", pid: process.pid })}\n`);
// The app's JSON log lines are in LOG_FILE already; keep them off the terminal. Anything else written straight to
// stdout/stderr is kept for the scan too, and still shown.
for (const stream of [process.stdout, process.stderr]) {
  const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
  stream.write = ((chunk: unknown, ...rest: unknown[]) => {
    const text = typeof chunk === "string" ? chunk : Buffer.isBuffer(chunk) ? chunk.toString("utf8") : String(chunk);
    if (text.startsWith('{"time":"')) return true;
    appendConsoleLog(runDir, text);
    return write(chunk, ...rest);
  }) as typeof stream.write;
}

// Property tests (fast-check) run from one seed per file, printed with any failure — a timeout included, which
// fast-check itself cannot report — so the run can be replayed: FC_SEED=<seed> npx vitest run <file>. A counterexample
// found this way becomes a named regression test next to the property (e.g. test/unit/shopify-to-source-event.test.ts).
const fcSeed = Number.parseInt(process.env.FC_SEED ?? "", 10);
const seed = Number.isSafeInteger(fcSeed) ? fcSeed : Math.floor(Math.random() * 2 ** 31);
fc.configureGlobal({ seed });
afterEach((context) => {
  if (context.task.result?.state === "fail") console.error(`fast-check seed for this file: ${seed} (replay with FC_SEED=${seed})`);
});
