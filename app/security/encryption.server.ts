import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { env } from "../env.server";

/**
 * Secrets at rest (Stripe keys and webhook secrets, SMTP passwords, Shopify tokens): AES-256-GCM with a key ring.
 *
 * Stored form: `v2.<keyId>.<iv b64url>.<tag b64url>.<ciphertext b64url>`, a random 96-bit IV, a 128-bit tag, and as
 * associated data the value's place, `<Model>.<column>:<row id>` (e.g. `Shop.smtpPasswordEncrypted:clx…`). The place
 * is not stored: the reader supplies it from where it found the value, so a value copied into another row (another
 * shop's) or another column does not decrypt (docs/decisions/079). Decryption accepts only a 16-byte tag and a
 * 12-byte IV (`authTagLength`), never a shortened tag.
 *
 * `v1` (the same without associated data, written before) is still read, and `npm run keys:rotate` rewrites it as v2.
 * The first key in ENCRYPTION_KEYS encrypts; every key decrypts, so a new key can be put first, data re-encrypted at
 * leisure (`npm run keys:rotate`), and the old key dropped later: rotation without downtime (ADR 043).
 */
export interface KeyRing {
  current: { id: string; key: Buffer };
  all: Map<string, Buffer>;
}

/** Every place a secret is stored, by model and column (app/security/reencrypt.server.ts rewrites exactly these). */
export type SecretPlace =
  | { model: "Shop"; column: "smtpPasswordEncrypted"; rowId: string }
  | { model: "StripeConnection"; column: "webhookSecretEncrypted" | "previousWebhookSecretEncrypted" | "apiKeyEncrypted"; rowId: string }
  | { model: "Session"; column: "accessToken" | "refreshToken"; rowId: string };

/** The associated data that binds a value to its place. */
export function placeLabel(place: SecretPlace): string {
  if (!place.rowId) throw new Error(`An encrypted ${place.model}.${place.column} needs its row id`);
  return `${place.model}.${place.column}:${place.rowId}`;
}

/** A stored secret that cannot be read here: not sealed for this place, altered, or under a key no longer in the ring. */
export class UnreadableSecretError extends Error {
  name = "UnreadableSecretError";
  /** Read by the SMTP error classifier: nothing was sent (app/email/transport.server.ts). */
  readonly code = "ESECRET";
}

export function parseKeyRing(spec: string): KeyRing {
  const entries = spec.split(",").map((entry) => {
    const [id, b64] = entry.trim().split(":");
    return { id: id!, key: Buffer.from(b64!, "base64") };
  });
  return { current: entries[0]!, all: new Map(entries.map((e) => [e.id, e.key])) };
}

let ring: KeyRing | null = null;
const keyRing = () => (ring ??= parseKeyRing(env.ENCRYPTION_KEYS));

const IV_BYTES = 12;
const TAG_BYTES = 16;

export function encryptSecret(plaintext: string, place: SecretPlace, keys: KeyRing = keyRing()): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv("aes-256-gcm", keys.current.key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(placeLabel(place), "utf8"));
  const ciphertext = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
  return ["v2", keys.current.id, iv.toString("base64url"), cipher.getAuthTag().toString("base64url"), ciphertext.toString("base64url")].join(".");
}

export function decryptSecret(stored: string, place: SecretPlace, keys: KeyRing = keyRing()): string {
  const [version, keyId, ivText, tagText, ciphertext, extra] = stored.split(".");
  const where = `${place.model}.${place.column}`;
  if ((version !== "v1" && version !== "v2") || !keyId || !ivText || !tagText || ciphertext === undefined || extra !== undefined) {
    throw new UnreadableSecretError(`The stored ${where} is not an encrypted value Reclaim recognises`);
  }
  const key = keys.all.get(keyId);
  if (!key) throw new UnreadableSecretError(`Encryption key "${keyId}" is not in ENCRYPTION_KEYS`);
  const iv = Buffer.from(ivText, "base64url");
  const tag = Buffer.from(tagText, "base64url");
  if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) throw new UnreadableSecretError(`The stored ${where} has a malformed IV or tag`);
  const decipher = createDecipheriv("aes-256-gcm", key, iv, { authTagLength: TAG_BYTES });
  decipher.setAuthTag(tag);
  if (version === "v2") decipher.setAAD(Buffer.from(placeLabel(place), "utf8"));
  try {
    return Buffer.concat([decipher.update(Buffer.from(ciphertext, "base64url")), decipher.final()]).toString("utf8");
  } catch {
    throw new UnreadableSecretError(`The stored ${where} cannot be decrypted for this row: it was sealed for another place, or altered`);
  }
}

/** Whether a stored value has encryptSecret's shape (`v1|v2.<key id>.<iv>.<tag>.<ciphertext>`). */
export function isEncrypted(value: string): boolean {
  return /^v[12]\.[^.]+\.[\w-]+\.[\w-]+\.[\w-]*$/.test(value);
}

/** True when the value should be rewritten: encrypted with an older key, or in the format without its place (v1). */
export function needsReencryption(stored: string, keys: KeyRing = keyRing()): boolean {
  const [version, keyId] = stored.split(".");
  return version !== "v2" || keyId !== keys.current.id;
}
