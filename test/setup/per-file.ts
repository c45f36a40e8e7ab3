import { randomUUID } from "node:crypto";
import { createTestDatabase } from "../helpers/postgres";
import { appendConsoleLog, logFileFor } from "./secret-scan";
import { TEST_ENV } from "./test-env";

// Runs before each test file, before it imports app modules: fixed test environment and a private database.
Object.assign(process.env, TEST_ENV);
const runDir = process.env.RECLAIM_TEST_RUN_DIR;
if (!runDir) throw new Error("RECLAIM_TEST_RUN_DIR is not set: run tests through vitest (test/setup/global-setup.ts)");
const id = `${process.pid}-${randomUUID().slice(0, 8)}`;
// A database of this file's own, copied from the run's migrated template (test/setup/global-setup.ts).
process.env.DATABASE_URL = await createTestDatabase("f");

// Every app log line of this file (and of the processes it starts, which inherit LOG_FILE) goes to the run's log
// folder, which the summary reporter scans for secrets after the last file (test/setup/secret-scan.ts).
process.env.LOG_FILE = logFileFor(runDir, `app-${id}.log`);
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
