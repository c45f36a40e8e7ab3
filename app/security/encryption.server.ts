import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { env } from "../env.server";

/**
 * Secrets at rest (Stripe keys and webhook secrets, SMTP passwords): AES-256-GCM with a key ring.
 * Stored form: `v1.<keyId>.<iv b64url>.<tag b64url>.<ciphertext b64url>`. The first key in ENCRYPTION_KEYS encrypts;
 * every key decrypts, so a new key can be put first, data re-encrypted at leisure (`npm run keys:rotate`), and the
 * old key dropped later: rotation without downtime.
 */
export interface KeyRing {
  current: { id: string; key: Buffer };
  all: Map<string, Buffer>;
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

export function encryptSecret(plaintext: string, keys: KeyRing = keyRing()): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", keys.current.key, iv);
  const ciphertext = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
  return ["v1", keys.current.id, iv.toString("base64url"), cipher.getAuthTag().toString("base64url"), ciphertext.toString("base64url")].join(".");
}

export function decryptSecret(stored: string, keys: KeyRing = keyRing()): string {
  const [version, keyId, iv, tag, ciphertext] = stored.split(".");
  if (version !== "v1" || !keyId || !iv || !tag || ciphertext === undefined) throw new Error("Unrecognised encrypted value");
  const key = keys.all.get(keyId);
  if (!key) throw new Error(`Encryption key "${keyId}" is not in ENCRYPTION_KEYS`);
  const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(iv, "base64url"));
  decipher.setAuthTag(Buffer.from(tag, "base64url"));
  return Buffer.concat([decipher.update(Buffer.from(ciphertext, "base64url")), decipher.final()]).toString("utf8");
}

/** Whether a stored value has encryptSecret's shape (`v1.<key id>.<iv>.<tag>.<ciphertext>`). */
export function isEncrypted(value: string): boolean {
  return /^v1\.[^.]+\.[\w-]+\.[\w-]+\.[\w-]*$/.test(value);
}

/** True when the value was encrypted with an older key and should be re-encrypted. */
export function needsReencryption(stored: string, keys: KeyRing = keyRing()): boolean {
  return stored.split(".")[1] !== keys.current.id;
}
