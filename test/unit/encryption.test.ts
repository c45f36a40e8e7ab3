import { createDecipheriv, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  decryptSecret,
  encryptSecret,
  isEncrypted,
  needsReencryption,
  parseKeyRing,
  UnreadableSecretError,
  type SecretPlace,
} from "~/security/encryption.server";
import { TEST_ENV } from "../setup/test-env";
import { encryptSecretV1 } from "../helpers/legacy-secret";

const key = () => randomBytes(32).toString("base64");
const smtp = (rowId: string): SecretPlace => ({ model: "Shop", column: "smtpPasswordEncrypted", rowId });
const stripe = (column: "webhookSecretEncrypted" | "previousWebhookSecretEncrypted" | "apiKeyEncrypted", rowId: string): SecretPlace => ({
  model: "StripeConnection",
  column,
  rowId,
});

describe("secrets at rest", () => {
  it("round-trips and never stores the plaintext", () => {
    const stored = encryptSecret("whsec_abc123", stripe("webhookSecretEncrypted", "conn-a"));
    expect(stored).toMatch(/^v2\.k1\./);
    expect(stored).not.toContain("whsec_abc123");
    expect(decryptSecret(stored, stripe("webhookSecretEncrypted", "conn-a"))).toBe("whsec_abc123");
    expect(encryptSecret("same", smtp("a"))).not.toBe(encryptSecret("same", smtp("a"))); // fresh IV each time
  });

  it("refuses a tampered value", () => {
    const stored = encryptSecret("rk_test_secret", stripe("apiKeyEncrypted", "conn-a"));
    const parts = stored.split(".");
    parts[4] = Buffer.from("tampered").toString("base64url");
    expect(() => decryptSecret(parts.join("."), stripe("apiKeyEncrypted", "conn-a"))).toThrow(UnreadableSecretError);
  });

  it("rotates without downtime: a new first key encrypts, the old one still decrypts until re-encrypted", () => {
    const oldRing = parseKeyRing(`old:${key()}`);
    const oldKey = [...oldRing.all.entries()][0]!;
    const rotated = parseKeyRing(`new:${key()},old:${oldKey[1].toString("base64")}`);
    const before = encryptSecret("smtp-password", smtp("shop-1"), oldRing);
    expect(decryptSecret(before, smtp("shop-1"), rotated)).toBe("smtp-password");
    expect(needsReencryption(before, rotated)).toBe(true);
    const after = encryptSecret(decryptSecret(before, smtp("shop-1"), rotated), smtp("shop-1"), rotated);
    expect(needsReencryption(after, rotated)).toBe(false);
    expect(() => decryptSecret(after, smtp("shop-1"), oldRing)).toThrow(/"new" is not in ENCRYPTION_KEYS/);
  });
});

describe("each value is bound to its place (associated data)", () => {
  it("a value copied into another shop's row, another row or another column does not decrypt", () => {
    const password = encryptSecret("smtp-password-of-shop-a", smtp("shop-a"));
    expect(() => decryptSecret(password, smtp("shop-b"))).toThrow(UnreadableSecretError);
    expect(() => decryptSecret(password, smtp("shop-b"))).toThrow(
      "The stored Shop.smtpPasswordEncrypted cannot be decrypted for this row: it was sealed for another place, or altered",
    );

    const secret = encryptSecret("whsec_ofConnectionA", stripe("webhookSecretEncrypted", "conn-a"));
    expect(() => decryptSecret(secret, stripe("webhookSecretEncrypted", "conn-b"))).toThrow(UnreadableSecretError);
    // Within one row, too: the current signing secret is not the previous one, nor the API key.
    expect(() => decryptSecret(secret, stripe("previousWebhookSecretEncrypted", "conn-a"))).toThrow(UnreadableSecretError);
    expect(() => decryptSecret(secret, stripe("apiKeyEncrypted", "conn-a"))).toThrow(UnreadableSecretError);
    expect(() => decryptSecret(secret, smtp("conn-a"))).toThrow(UnreadableSecretError);
    expect(decryptSecret(secret, stripe("webhookSecretEncrypted", "conn-a"))).toBe("whsec_ofConnectionA");
  });

  it("the place is authenticated under the key itself: the value opens only with exactly that associated data", () => {
    const ring = parseKeyRing(TEST_ENV.ENCRYPTION_KEYS);
    const stored = encryptSecret("bound", smtp("shop-x"), ring);
    const [, , iv, tag, ciphertext] = stored.split(".");
    const open = (aad: string | null) => {
      const decipher = createDecipheriv("aes-256-gcm", ring.current.key, Buffer.from(iv!, "base64url"), { authTagLength: 16 });
      decipher.setAuthTag(Buffer.from(tag!, "base64url"));
      if (aad !== null) decipher.setAAD(Buffer.from(aad));
      return Buffer.concat([decipher.update(Buffer.from(ciphertext!, "base64url")), decipher.final()]).toString("utf8");
    };
    expect(open("Shop.smtpPasswordEncrypted:shop-x")).toBe("bound");
    expect(() => open(null)).toThrow();
    expect(() => open("Shop.smtpPasswordEncrypted:shop-y")).toThrow();
  });

  it("a row id is required: a value cannot be sealed for no place", () => {
    expect(() => encryptSecret("x", smtp(""))).toThrow(/needs its row id/);
  });
});

describe("a fixed 16-byte tag", () => {
  it("refuses a value whose tag was shortened (GCM would otherwise accept a truncated tag)", () => {
    const ring = parseKeyRing(TEST_ENV.ENCRYPTION_KEYS);
    for (const version of ["v2", "v1"] as const) {
      const stored = version === "v2" ? encryptSecret("short-tag", smtp("s")) : encryptSecretV1("short-tag", ring);
      const parts = stored.split(".");
      const tag = Buffer.from(parts[3]!, "base64url");
      expect(tag).toHaveLength(16);
      for (const bytes of [4, 8, 12, 15]) {
        const shortened = [...parts.slice(0, 3), tag.subarray(0, bytes).toString("base64url"), parts[4]].join(".");
        expect(() => decryptSecret(shortened, smtp("s"))).toThrow(/malformed IV or tag/);
      }
    }
  });

  it("refuses an IV of another length, and anything that is not the stored format", () => {
    const parts = encryptSecret("iv", smtp("s")).split(".");
    parts[2] = randomBytes(16).toString("base64url");
    expect(() => decryptSecret(parts.join("."), smtp("s"))).toThrow(/malformed IV or tag/);
    for (const junk of ["", "plain text", "v3.k1.a.b.c", "v2.k1.a.b.c.d"]) expect(() => decryptSecret(junk, smtp("s"))).toThrow(UnreadableSecretError);
  });
});

describe("values stored before (format v1, no associated data)", () => {
  it("still decrypt, wherever they were read from, and are due for rewriting even under the current key", () => {
    const ring = parseKeyRing(TEST_ENV.ENCRYPTION_KEYS);
    const legacy = encryptSecretV1("whsec_storedLastYear", ring);
    expect(legacy).toMatch(/^v1\.k1\./);
    expect(isEncrypted(legacy)).toBe(true);
    expect(decryptSecret(legacy, stripe("webhookSecretEncrypted", "conn-a"))).toBe("whsec_storedLastYear");
    expect(needsReencryption(legacy)).toBe(true);
    const rewritten = encryptSecret(decryptSecret(legacy, stripe("webhookSecretEncrypted", "conn-a")), stripe("webhookSecretEncrypted", "conn-a"));
    expect(needsReencryption(rewritten)).toBe(false);
    expect(isEncrypted(rewritten)).toBe(true);
  });
});
