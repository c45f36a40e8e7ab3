import { copyFileSync } from "node:fs";
import path from "node:path";
import { randomUUID } from "node:crypto";
import { TEST_ENV } from "./test-env";

// Runs before each test file, before it imports app modules: fixed test environment and a private database.
Object.assign(process.env, TEST_ENV);
const file = path.resolve("test/.tmp", `db-${process.pid}-${randomUUID().slice(0, 8)}.sqlite`);
copyFileSync(path.resolve("test/.tmp/template.sqlite"), file);
process.env.DATABASE_URL = `file:${file}`;
