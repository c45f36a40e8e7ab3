import type { PrismaClient } from "@prisma/client";
import { decryptSecret, encryptSecret, isEncrypted, needsReencryption, type KeyRing, type SecretPlace } from "./encryption.server";

/**
 * Every column that holds a secret encrypted with encryptSecret, by model. `npm run keys:rotate` re-encrypts exactly
 * these; test/integration/key-rotation.test.ts fails if the schema gains an `…Encrypted` column not listed here.
 */
export const ENCRYPTED_COLUMNS = {
  Shop: ["smtpPasswordEncrypted"],
  StripeConnection: ["webhookSecretEncrypted", "previousWebhookSecretEncrypted", "apiKeyEncrypted"],
  /** Shopify's session table keeps the library's column names (app/security/encrypted-session-storage.server.ts). */
  Session: ["accessToken", "refreshToken"],
} as const;

type Row = Record<string, string | null> & { id: string };

/**
 * Re-encrypts, with the ring's current (first) key and bound to its place (format v2, docs/decisions/079), every stored
 * secret that was encrypted with another key of the ring or in the older format without its place (v1). Safe while the
 * app runs: each row is written only if its encrypted values are still the ones read
 * (compare-and-set), so a secret the merchant changes meanwhile is never overwritten with the old one; such a row is
 * read again. Returns how many rows were rewritten. Once it returns, older keys can leave ENCRYPTION_KEYS.
 */
export async function reencryptSecrets(db: PrismaClient, ring?: KeyRing): Promise<number> {
  let rewritten = 0;
  const next = (value: string | null, place: SecretPlace) =>
    value && isEncrypted(value) && needsReencryption(value, ring) ? encryptSecret(decryptSecret(value, place, ring), place, ring) : value;

  async function each(
    model: keyof typeof ENCRYPTED_COLUMNS,
    ids: () => Promise<string[]>,
    read: (id: string) => Promise<Row | null>,
    write: (id: string, expected: Row, data: Row) => Promise<number>,
  ) {
    const columns = ENCRYPTED_COLUMNS[model];
    for (const id of await ids()) {
      for (let attempt = 0; attempt < 5; attempt++) {
        const row = await read(id);
        if (!row) break; // deleted meanwhile
        const data = Object.fromEntries(columns.map((c) => [c, next(row[c] ?? null, { model, column: c, rowId: id } as SecretPlace)])) as Row;
        if (columns.every((c) => data[c] === row[c])) break;
        if ((await write(id, row, data)) === 1) {
          rewritten++;
          break;
        }
      }
    }
  }

  const stripeSelect = { id: true, webhookSecretEncrypted: true, previousWebhookSecretEncrypted: true, apiKeyEncrypted: true } as const;
  await each(
    "StripeConnection",
    async () => (await db.stripeConnection.findMany({ select: { id: true } })).map((r) => r.id),
    (id) => db.stripeConnection.findUnique({ where: { id }, select: stripeSelect }) as Promise<Row | null>,
    async (id, expected, data) =>
      (
        await db.stripeConnection.updateMany({
          where: {
            id,
            webhookSecretEncrypted: expected.webhookSecretEncrypted!,
            previousWebhookSecretEncrypted: expected.previousWebhookSecretEncrypted,
            apiKeyEncrypted: expected.apiKeyEncrypted,
          },
          data: {
            webhookSecretEncrypted: data.webhookSecretEncrypted!,
            previousWebhookSecretEncrypted: data.previousWebhookSecretEncrypted,
            apiKeyEncrypted: data.apiKeyEncrypted,
          },
        })
      ).count,
  );
  await each(
    "Shop",
    async () => (await db.shop.findMany({ where: { smtpPasswordEncrypted: { not: null } }, select: { id: true } })).map((r) => r.id),
    (id) => db.shop.findUnique({ where: { id }, select: { id: true, smtpPasswordEncrypted: true } }) as Promise<Row | null>,
    async (id, expected, data) =>
      (
        await db.shop.updateMany({
          where: { id, smtpPasswordEncrypted: expected.smtpPasswordEncrypted },
          data: { smtpPasswordEncrypted: data.smtpPasswordEncrypted },
        })
      ).count,
  );
  await each(
    "Session",
    async () => (await db.session.findMany({ select: { id: true } })).map((r) => r.id),
    (id) => db.session.findUnique({ where: { id }, select: { id: true, accessToken: true, refreshToken: true } }) as Promise<Row | null>,
    async (id, expected, data) =>
      (
        await db.session.updateMany({
          where: { id, accessToken: expected.accessToken!, refreshToken: expected.refreshToken },
          data: { accessToken: data.accessToken!, refreshToken: data.refreshToken },
        })
      ).count,
  );
  return rewritten;
}
