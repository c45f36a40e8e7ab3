/**
 * Key management for secrets at rest (app/security/encryption.server.ts).
 *   npm run keys:new               prints a fresh `<id>:<base64>` entry to put first in ENCRYPTION_KEYS
 *   npm run keys:rotate            re-encrypts every stored secret with the first key of ENCRYPTION_KEYS
 * Rotation without downtime: prepend the new key (old one stays second), deploy, run keys:rotate, then drop the old key.
 */
import { randomBytes } from "node:crypto";

const command = process.argv[2];

if (command === "new") {
  const id = `k${new Date().toISOString().slice(0, 10).replaceAll("-", "")}${randomBytes(2).toString("hex")}`;
  console.log(`${id}:${randomBytes(32).toString("base64")}`);
} else if (command === "rotate") {
  const { ensureDatabase } = await import("../app/database/ensure.server");
  const database = await ensureDatabase();
  const { db } = await import("../app/db.server");
  const { reencryptSecrets } = await import("../app/security/reencrypt.server");
  const count = await reencryptSecrets(db);
  console.log(`Re-encrypted ${count} record(s) with the current key.`);
  await db.$disconnect();
  await database.stop();
} else {
  console.error("usage: npm run keys:new | npm run keys:rotate");
  process.exit(2);
}
