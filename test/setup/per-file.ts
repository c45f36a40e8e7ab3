import { copyFileSync } from "node:fs";
import path from "node:path";
import { randomUUID } from "node:crypto";
import { TEST_ENV } from "./test-env";

// Runs before each test file, before it imports app modules: fixed test environment and a private database.
Object.assign(process.env, TEST_ENV);
const runDir = process.env.RECLAIM_TEST_RUN_DIR;
if (!runDir) throw new Error("RECLAIM_TEST_RUN_DIR is not set: run tests through vitest (test/setup/global-setup.ts)");
const file = path.join(runDir, `db-${process.pid}-${randomUUID().slice(0, 8)}.sqlite`);
copyFileSync(path.join(runDir, "template.sqlite"), file);
process.env.DATABASE_URL = `file:${file}`;
