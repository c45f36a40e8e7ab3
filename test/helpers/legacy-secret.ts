import { createCipheriv, randomBytes } from "node:crypto";
import type { KeyRing } from "~/security/encryption.server";

/**
 * A secret as Reclaim stored it before values were bound to their place (format v1: AES-256-GCM, no associated data),
 * for tests that check such values still open and that `npm run keys:rotate` rewrites them (docs/decisions/079).
 */
export function encryptSecretV1(plaintext: string, ring: KeyRing): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", ring.current.key, iv);
  const ciphertext = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
  return ["v1", ring.current.id, iv.toString("base64url"), cipher.getAuthTag().toString("base64url"), ciphertext.toString("base64url")].join(".");
}
