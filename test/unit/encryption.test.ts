import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { decryptSecret, encryptSecret, needsReencryption, parseKeyRing } from "~/security/encryption.server";

const key = () => randomBytes(32).toString("base64");

describe("secrets at rest", () => {
  it("round-trips and never stores the plaintext", () => {
    const stored = encryptSecret("whsec_abc123");
    expect(stored).not.toContain("whsec_abc123");
    expect(decryptSecret(stored)).toBe("whsec_abc123");
    expect(encryptSecret("same")).not.toBe(encryptSecret("same")); // fresh IV each time
  });

  it("refuses a tampered value", () => {
    const stored = encryptSecret("rk_test_secret");
    const parts = stored.split(".");
    parts[4] = Buffer.from("tampered").toString("base64url");
    expect(() => decryptSecret(parts.join("."))).toThrow();
  });

  it("rotates without downtime: a new first key encrypts, the old one still decrypts until re-encrypted", () => {
    const oldRing = parseKeyRing(`old:${key()}`);
    const oldKey = [...oldRing.all.entries()][0]!;
    const rotated = parseKeyRing(`new:${key()},old:${oldKey[1].toString("base64")}`);
    const before = encryptSecret("smtp-password", oldRing);
    expect(decryptSecret(before, rotated)).toBe("smtp-password");
    expect(needsReencryption(before, rotated)).toBe(true);
    const after = encryptSecret(decryptSecret(before, rotated), rotated);
    expect(needsReencryption(after, rotated)).toBe(false);
    expect(() => decryptSecret(after, oldRing)).toThrow(/"new" is not in ENCRYPTION_KEYS/);
  });
});
