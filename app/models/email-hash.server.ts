import { createHash } from "node:crypto";

/**
 * What Reclaim keeps of a redacted customer's address: a SHA-256 of the normalised email, salted with the shop id (the
 * same person in two shops gets two unrelated hashes). It can answer "is this address the redacted one?" and nothing
 * else; docs/decisions/040-privacy-requests.md says why it is not keyed with a secret.
 */
export function emailHash(shopId: string, email: string): string {
  return `sha256:${createHash("sha256").update(`reclaim-privacy-v1\u0000${shopId}\u0000${email.trim().toLowerCase()}`).digest("hex")}`;
}

export const isEmailHash = (value: string | null | undefined) => Boolean(value?.startsWith("sha256:"));
