import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import type { PrismaClient } from "@prisma/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadApp } from "../helpers/app-server";
import { seedShop } from "../helpers/seed";
import { TEST_SHOP } from "../helpers/shopify";
import { startSmtpSink, type SmtpSink } from "../helpers/smtp";
import { registerTestSecret } from "../setup/secret-scan";
import { TEST_ENV } from "../setup/test-env";
import { encryptSecretV1 } from "../helpers/legacy-secret";

// The deployment mid-rotation: a new encryption key put first (the old one second), and a new link key signing while
// the old LINK_SIGNING_SECRET still verifies. Set before any app module loads.
const OLD_KEY = TEST_ENV.ENCRYPTION_KEYS;
const NEW_KEY = `k2:${randomBytes(32).toString("base64")}`;
const OLD_LINK_SECRET = TEST_ENV.LINK_SIGNING_SECRET;
const NEW_LINK_SECRET = randomBytes(32).toString("base64url");
registerTestSecret('ENCRYPTION_KEYS key "k2"', NEW_KEY.slice(3));
registerTestSecret("LINK_SIGNING_SECRETS[0]", NEW_LINK_SECRET);
process.env.ENCRYPTION_KEYS = `${NEW_KEY},${OLD_KEY}`;
process.env.LINK_SIGNING_SECRETS = NEW_LINK_SECRET;

const PLAIN = {
  smtpPassword: "smtp-rotation-password-1",
  webhookSecret: "whsec_rotationCurrentSecret0123456789ab",
  previousWebhookSecret: "whsec_rotationPreviousSecret012345678a",
  apiKey: "rk_test_51RotationRestrictedKey0123456789",
  accessToken: "shpat_rotation0123456789abcdef",
  refreshToken: "shprt_rotation0123456789abcdef",
};

let db: PrismaClient;
let enc: typeof import("~/security/encryption.server");
let shopId: string;
let connectionId: string;
let sink: SmtpSink;

beforeAll(async () => {
  db = (await import("~/db.server")).db;
  enc = await import("~/security/encryption.server");
  sink = await startSmtpSink({ auth: { user: "mailer", pass: PLAIN.smtpPassword } });
  // Written before the rotation began: encrypted with the old key alone, and in the format from before values were
  // bound to their place (v1: no associated data), which the rotation also rewrites (docs/decisions/079).
  const old = enc.parseKeyRing(OLD_KEY);
  const shop = await db.shop.create({
    data: {
      domain: TEST_SHOP,
      emailTransport: "smtp",
      smtpHost: "127.0.0.1",
      smtpPort: sink.port,
      smtpUser: "mailer",
      senderEmail: "hi@rotation.test",
      postalAddress: "1 Key Street",
      smtpPasswordEncrypted: encryptSecretV1(PLAIN.smtpPassword, old),
    },
  });
  shopId = shop.id;
  const connection = await db.stripeConnection.create({
    data: {
      shopId,
      webhookSecretEncrypted: encryptSecretV1(PLAIN.webhookSecret, old),
      previousWebhookSecretEncrypted: encryptSecretV1(PLAIN.previousWebhookSecret, old),
      previousSecretExpiresAt: new Date(Date.now() + 86_400_000),
      apiKeyEncrypted: encryptSecretV1(PLAIN.apiKey, old),
      apiKeyLast4: "6789",
      livemode: false,
    },
  });
  connectionId = connection.id;
  // An offline session stored before the rotation (Shopify access and refresh tokens, encrypted at rest).
  await db.session.create({
    data: {
      id: `offline_${TEST_SHOP}`,
      shop: TEST_SHOP,
      state: "",
      isOnline: false,
      scope: "read_orders",
      accessToken: encryptSecretV1(PLAIN.accessToken, old),
      refreshToken: encryptSecretV1(PLAIN.refreshToken, old),
    },
  });
});
afterAll(async () => {
  await sink?.close();
});

/** Where a value of encryptedValues() lives, for decrypting it. */
function placeOf(name: string): import("~/security/encryption.server").SecretPlace {
  const [model, column] = name.split(".") as [string, string];
  const rowId = model === "Shop" ? shopId : model === "StripeConnection" ? connectionId : `offline_${TEST_SHOP}`;
  return { model, column, rowId } as import("~/security/encryption.server").SecretPlace;
}

/** Every encrypted value in the database, by "Model.column". */
async function encryptedValues(): Promise<Record<string, string | null>> {
  const shop = await db.shop.findUniqueOrThrow({ where: { id: shopId } });
  const c = await db.stripeConnection.findUniqueOrThrow({ where: { id: connectionId } });
  const session = await db.session.findUniqueOrThrow({ where: { id: `offline_${TEST_SHOP}` } });
  return {
    "Shop.smtpPasswordEncrypted": shop.smtpPasswordEncrypted,
    "StripeConnection.webhookSecretEncrypted": c.webhookSecretEncrypted,
    "StripeConnection.previousWebhookSecretEncrypted": c.previousWebhookSecretEncrypted,
    "StripeConnection.apiKeyEncrypted": c.apiKeyEncrypted,
    "Session.accessToken": session.accessToken,
    "Session.refreshToken": session.refreshToken,
  };
}

function runKeysRotate(): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ["--import", "tsx", "scripts/keys.ts", "rotate"], { env: process.env, timeout: 60_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout, stderr }),
    );
  });
}

describe("ENCRYPTION_KEYS rotation without downtime", () => {
  it("lists every encrypted column of the schema for re-encryption", async () => {
    const { ENCRYPTED_COLUMNS } = await import("~/security/reencrypt.server");
    const schema = readFileSync(path.resolve("prisma/schema.prisma"), "utf8");
    const inSchema: Record<string, string[]> = {};
    for (const [, model, body] of schema.matchAll(/^model (\w+) \{([\s\S]*?)^\}/gm)) {
      const columns = [...body!.matchAll(/^\s+(\w+Encrypted)\s/gm)].map((m) => m[1]!);
      if (columns.length) inSchema[model!] = columns.sort();
    }
    // Shopify's session table keeps the library's column names; its tokens are encrypted all the same.
    inSchema.Session = ["accessToken", "refreshToken"];
    const listed = Object.fromEntries(Object.entries(ENCRYPTED_COLUMNS).map(([m, cols]) => [m, [...cols].sort()]));
    expect(listed).toEqual(inSchema);
    // …and this test seeds each of them, so the rotation below covers every one.
    expect(Object.keys(await encryptedValues()).sort()).toEqual(
      Object.entries(inSchema)
        .flatMap(([m, cols]) => cols.map((c) => `${m}.${c}`))
        .sort(),
    );
  });

  it("keeps reading secrets written under the old key once a new key is put first, and writes new ones with the new key", async () => {
    const { loadApiCredentials, loadVerificationSecrets } = await import("~/models/stripe-connection.server");
    for (const value of Object.values(await encryptedValues())) expect(value).toMatch(/^v1\.k1\./);

    expect(await loadVerificationSecrets(db, connectionId)).toEqual({ shopId, secrets: [PLAIN.webhookSecret, PLAIN.previousWebhookSecret] });
    expect(await loadApiCredentials(db, connectionId)).toEqual({ apiKey: PLAIN.apiKey, livemode: false });
    // The SMTP password decrypts too: the server only accepts the right one.
    const { sendTestEmail } = await import("~/email/settings.server");
    expect(await sendTestEmail(db, shopId, "owner@rotation.test")).toMatchObject({ ok: true });
    expect((await sink.waitFor(1))[0]!.user).toBe("mailer");

    expect(enc.encryptSecret("anything", placeOf("Shop.smtpPasswordEncrypted"))).toMatch(/^v2\.k2\./);
  });

  it("`npm run keys:rotate` moves every encrypted column to the new key and the bound format, after which the old key can be removed", async () => {
    const first = await runKeysRotate();
    expect(first).toMatchObject({ code: 0, stdout: "Re-encrypted 3 record(s) with the current key.\n" });
    const onlyNewKey = enc.parseKeyRing(NEW_KEY);
    const values = await encryptedValues();
    for (const value of Object.values(values)) expect(value).toMatch(/^v2\.k2\./);
    expect(Object.entries(values).map(([name, v]) => enc.decryptSecret(v!, placeOf(name), onlyNewKey))).toEqual([
      PLAIN.smtpPassword,
      PLAIN.webhookSecret,
      PLAIN.previousWebhookSecret,
      PLAIN.apiKey,
      PLAIN.accessToken,
      PLAIN.refreshToken,
    ]);
    // Each is bound to its own place now: read from any other column, none opens.
    const names = Object.keys(values);
    for (const [name, value] of Object.entries(values)) {
      for (const other of names.filter((n) => n !== name))
        expect(() => enc.decryptSecret(value!, placeOf(other), onlyNewKey)).toThrow(/cannot be decrypted for this row/);
    }
    // The old key alone can read none of it any more: it really is unused.
    expect(() =>
      enc.decryptSecret(values["StripeConnection.webhookSecretEncrypted"]!, placeOf("StripeConnection.webhookSecretEncrypted"), enc.parseKeyRing(OLD_KEY)),
    ).toThrow(/"k2" is not in ENCRYPTION_KEYS/);
    // Running it again finds nothing left to do.
    expect((await runKeysRotate()).stdout).toBe("Re-encrypted 0 record(s) with the current key.\n");
  });

  it("rewrites a value in the old format even when it is already under the current key", async () => {
    const { reencryptSecrets } = await import("~/security/reencrypt.server");
    await db.shop.update({ where: { id: shopId }, data: { smtpPasswordEncrypted: encryptSecretV1(PLAIN.smtpPassword, enc.parseKeyRing(NEW_KEY)) } });
    expect(await reencryptSecrets(db)).toBe(1);
    const stored = (await db.shop.findUniqueOrThrow({ where: { id: shopId } })).smtpPasswordEncrypted!;
    expect(stored).toMatch(/^v2\.k2\./);
    expect(enc.decryptSecret(stored, placeOf("Shop.smtpPasswordEncrypted"))).toBe(PLAIN.smtpPassword);
  });

  it("never overwrites a secret the merchant changes while the rotation runs", async () => {
    const { reencryptSecrets } = await import("~/security/reencrypt.server");
    const old = enc.parseKeyRing(OLD_KEY);
    await db.stripeConnection.update({
      where: { id: connectionId },
      data: { webhookSecretEncrypted: enc.encryptSecret(PLAIN.webhookSecret, placeOf("StripeConnection.webhookSecretEncrypted"), old) },
    });
    const merchantsNewSecret = "whsec_savedDuringTheRotation0123456789x";
    let interleaved = false;
    // The merchant saves a new signing secret between the rotation's read and its write.
    const racing = new Proxy(db, {
      get(target, prop, receiver) {
        if (prop !== "stripeConnection") return Reflect.get(target, prop, receiver);
        return new Proxy(target.stripeConnection, {
          get(delegate, method, r) {
            if (method !== "updateMany" || interleaved) return Reflect.get(delegate, method, r);
            return async (args: Parameters<typeof delegate.updateMany>[0]) => {
              interleaved = true;
              await db.stripeConnection.update({
                where: { id: connectionId },
                data: { webhookSecretEncrypted: enc.encryptSecret(merchantsNewSecret, placeOf("StripeConnection.webhookSecretEncrypted")) },
              });
              return delegate.updateMany(args);
            };
          },
        });
      },
    });
    expect(await reencryptSecrets(racing)).toBe(0); // the one stale row was left alone: the merchant's write already used k2
    expect(interleaved).toBe(true);
    const stored = (await db.stripeConnection.findUniqueOrThrow({ where: { id: connectionId } })).webhookSecretEncrypted;
    expect(enc.decryptSecret(stored, placeOf("StripeConnection.webhookSecretEncrypted"), enc.parseKeyRing(NEW_KEY))).toBe(merchantsNewSecret);
  });
});

describe("LINK_SIGNING_SECRETS rotation keeps sent links working", () => {
  let app: Awaited<ReturnType<typeof loadApp>>;
  let messageId: string;
  beforeAll(async () => {
    app = await loadApp();
    const seeded = await seedShop(db, "links-rotation.myshopify.com");
    messageId = (
      await db.message.findFirstOrThrow({ where: { shopId: seeded.shop.id, status: "sent", recovery: { source: "shopify", status: { not: "recovered" } } } })
    ).id;
  });
  afterAll(() => app?.close());

  it("signs new links with the first key, and still honours links signed with the key being rotated out", async () => {
    const { signLinkToken, verifyLinkToken } = await import("~/email/tokens");
    const { messageLinks } = await import("~/email/links.server");
    const fresh = new URL(messageLinks(messageId).clickUrl).searchParams.get("t");
    expect(verifyLinkToken("click", fresh, NEW_LINK_SECRET)).toBe(messageId);
    expect(verifyLinkToken("click", fresh, OLD_LINK_SECRET)).toBeNull();

    // A link from an email sent before the rotation, through the real routes.
    const click = await app.handle(new Request(`https://reclaim.test/email/click?t=${signLinkToken("click", messageId, OLD_LINK_SECRET)}`));
    expect(click.status).toBe(302);
    expect(click.headers.get("location")).toBe("https://example.com/recover");
    const unsubscribe = await app.handle(
      new Request(`https://reclaim.test/email/unsubscribe?t=${signLinkToken("unsubscribe", messageId, OLD_LINK_SECRET)}&_data=routes/email.unsubscribe`),
    );
    expect(unsubscribe.status).toBe(200);
    expect(await unsubscribe.json()).toMatchObject({ state: "confirm" });

    // Once the old key leaves the ring, its links stop working (and a forged key never worked).
    expect(verifyLinkToken("click", signLinkToken("click", messageId, OLD_LINK_SECRET), [NEW_LINK_SECRET])).toBeNull();
    const forged = await app.handle(new Request(`https://reclaim.test/email/click?t=${signLinkToken("click", messageId, "x".repeat(40))}`));
    expect(forged.status).toBe(400);
  });

  it("builds the ring from LINK_SIGNING_SECRETS first, then LINK_SIGNING_SECRET, and accepts the old variable alone", async () => {
    const { parseEnv } = await import("~/env.server");
    const a = "a".repeat(32);
    const b = "b".repeat(32);
    const c = "c".repeat(32);
    expect(parseEnv({ ...TEST_ENV, DATABASE_URL: process.env.DATABASE_URL, LINK_SIGNING_SECRET: a })).toMatchObject({
      LINK_SIGNING_SECRET: a,
      LINK_SIGNING_SECRETS: [a],
    });
    expect(parseEnv({ ...TEST_ENV, DATABASE_URL: process.env.DATABASE_URL, LINK_SIGNING_SECRET: c, LINK_SIGNING_SECRETS: `${a}, ${b}` })).toMatchObject({
      LINK_SIGNING_SECRET: a,
      LINK_SIGNING_SECRETS: [a, b, c],
    });
    expect(parseEnv({ ...TEST_ENV, DATABASE_URL: process.env.DATABASE_URL, LINK_SIGNING_SECRET: undefined, LINK_SIGNING_SECRETS: b })).toMatchObject({
      LINK_SIGNING_SECRET: b,
      LINK_SIGNING_SECRETS: [b],
    });
    expect(() => parseEnv({ ...TEST_ENV, DATABASE_URL: process.env.DATABASE_URL, LINK_SIGNING_SECRET: undefined })).toThrow("LINK_SIGNING_SECRET is missing");
    expect(() => parseEnv({ ...TEST_ENV, DATABASE_URL: process.env.DATABASE_URL, LINK_SIGNING_SECRETS: `${a},short` })).toThrow(
      "LINK_SIGNING_SECRETS must be a comma-separated list",
    );
  });
});
