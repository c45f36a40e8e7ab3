/**
 * Signed link tokens for the click redirect and the unsubscribe endpoint: `<message id>.<MAC>`, where the MAC is
 * HMAC-SHA256(LINK_SIGNING_SECRET, "<purpose>:<message id>") cut to 128 bits. Message ids are random (cuid), so
 * tokens can't be enumerated, and without the secret they can't be forged; a click token is not an unsubscribe
 * token (the purpose is signed). Verification compares in constant time, against every key of the ring (the first
 * signs; older ones keep the links of emails already sent working through a rotation).
 */
import { createHmac, timingSafeEqual } from "node:crypto";

export type LinkPurpose = "click" | "unsubscribe";

const MAC_BYTES = 16;
const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

function mac(purpose: LinkPurpose, id: string, secret: string): Buffer {
  return createHmac("sha256", secret).update(`reclaim:v1:${purpose}:${id}`).digest().subarray(0, MAC_BYTES);
}

export function signLinkToken(purpose: LinkPurpose, id: string, secret: string): string {
  if (!ID_PATTERN.test(id)) throw new RangeError("link token ids are short url-safe strings");
  return `${id}.${mac(purpose, id, secret).toString("base64url")}`;
}

/**
 * The id a valid token carries, or null for anything forged, truncated, for another purpose or malformed. `secrets` is
 * the key ring: a token signed with any of them is valid.
 */
export function verifyLinkToken(purpose: LinkPurpose, token: string | null | undefined, secrets: string | readonly string[]): string | null {
  if (!token || token.length > 200) return null;
  const dot = token.lastIndexOf(".");
  if (dot <= 0) return null;
  const id = token.slice(0, dot);
  if (!ID_PATTERN.test(id)) return null;
  // Compare the text, not decoded bytes: base64url has several spellings of the same last bits.
  const given = Buffer.from(token.slice(dot + 1), "utf8");
  let valid = false;
  for (const secret of typeof secrets === "string" ? [secrets] : secrets) {
    const expected = Buffer.from(mac(purpose, id, secret).toString("base64url"), "utf8");
    // Every key is tried (no early exit), so the time taken does not tell which key matched.
    if (given.length === expected.length && timingSafeEqual(given, expected)) valid = true;
  }
  return valid ? id : null;
}
