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
  const { db } = await import("../app/db.server");
  const { decryptSecret, encryptSecret, needsReencryption } = await import("../app/security/encryption.server");
  const reencrypt = (value: string | null) => (value && needsReencryption(value) ? encryptSecret(decryptSecret(value)) : value);
  let count = 0;
  for (const c of await db.stripeConnection.findMany()) {
    const data = {
      webhookSecretEncrypted: reencrypt(c.webhookSecretEncrypted)!,
      previousWebhookSecretEncrypted: reencrypt(c.previousWebhookSecretEncrypted),
      apiKeyEncrypted: reencrypt(c.apiKeyEncrypted),
    };
    if (JSON.stringify(data) !== JSON.stringify({ webhookSecretEncrypted: c.webhookSecretEncrypted, previousWebhookSecretEncrypted: c.previousWebhookSecretEncrypted, apiKeyEncrypted: c.apiKeyEncrypted })) {
      await db.stripeConnection.update({ where: { id: c.id }, data });
      count++;
    }
  }
  for (const s of await db.shop.findMany({ where: { smtpPasswordEncrypted: { not: null } } })) {
    const next = reencrypt(s.smtpPasswordEncrypted);
    if (next !== s.smtpPasswordEncrypted) {
      await db.shop.update({ where: { id: s.id }, data: { smtpPasswordEncrypted: next } });
      count++;
    }
  }
  console.log(`Re-encrypted ${count} record(s) with the current key.`);
  await db.$disconnect();
} else {
  console.error("usage: npm run keys:new | npm run keys:rotate");
  process.exit(2);
}
