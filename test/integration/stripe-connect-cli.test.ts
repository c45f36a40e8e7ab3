import { execFile } from "node:child_process";
import path from "node:path";
import type { PrismaClient, Shop } from "@prisma/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TEST_SHOP } from "../helpers/shopify";
import { FakeStripeApi } from "../../app/demo/fakes/stripe-api/server";

const SECRET = "whsec_cliConnectSecret0123456789abcdefgh";
const NEXT_SECRET = "whsec_cliRotatedSecret0123456789abcdefg";
const API_KEY = "rk_live_51CliRestrictedKey0123456789lmno";
const UNKNOWN_KEY = "rk_live_51CliUnknownKey0123456789zzzzzzz";

const fake = new FakeStripeApi().addKey(API_KEY);
let db: PrismaClient;
let shop: Shop;

beforeAll(async () => {
  process.env.STRIPE_API_BASE = await fake.start();
  db = (await import("~/db.server")).db;
  shop = await db.shop.create({ data: { domain: TEST_SHOP } });
});
afterAll(() => fake.close());

/** Runs `npm run stripe:connect -- …` as an operator would (same script, same environment variables). */
function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      path.resolve("node_modules/.bin/tsx"),
      ["scripts/stripe-connect.ts", ...args],
      { env: { ...process.env, LOG_LEVEL: "debug" }, timeout: 60_000 },
      (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout, stderr }),
    );
  });
}

describe("npm run stripe:connect", () => {
  it("prints the endpoint path the shop will have before it is connected (--endpoint-only)", async () => {
    const { proposedConnectionId } = await import("~/models/stripe-connection.server");
    const { code, stdout } = await cli("--shop", TEST_SHOP, "--endpoint-only");
    expect(code).toBe(0);
    expect(stdout).toBe(`/webhooks/stripe/${proposedConnectionId(shop.id)}\n`);
  });

  it.each([
    [["--shop", TEST_SHOP, "--webhook-secert", SECRET], 2, /error: Unknown option '--webhook-secert'/],
    [["--shop", TEST_SHOP], 2, /error: --webhook-secret is required/],
    [["--webhook-secret", SECRET], 2, /error: --shop is required/],
    [["--shop", TEST_SHOP, SECRET], 2, /error: unexpected argument/],
    [["--shop", "nobody.myshopify.com", "--webhook-secret", SECRET], 1, /error: no shop nobody\.myshopify\.com in this database/],
    [["--shop", "https://admin.shopify.com/store/x", "--webhook-secret", SECRET], 2, /error: --shop must be a myshopify\.com domain/],
    [["--shop", TEST_SHOP, "--webhook-secret", "sk_live_notasigningsecret0000"], 1, /error: --webhook-secret: This is an API key, not a signing secret/],
    [["--shop", TEST_SHOP, "--webhook-secret", SECRET, "--api-key", UNKNOWN_KEY], 1, /error: --api-key: Stripe did not accept this key/],
  ])("refuses %j with exit %i and a line naming the problem", async (args, exitCode, message) => {
    const { code, stdout, stderr } = await cli(...args);
    expect(code).toBe(exitCode);
    expect(stderr).toMatch(message);
    expect(stdout).toBe("");
    expect(await db.stripeConnection.count()).toBe(0);
    for (const secret of [SECRET, UNKNOWN_KEY]) expect(stderr).not.toContain(secret.slice(8));
  });

  it("connects, storing the secret and key encrypted, and prints the endpoint path", async () => {
    const { decryptSecret } = await import("~/security/encryption.server");
    const { code, stdout, stderr } = await cli("--shop", TEST_SHOP, "--webhook-secret", SECRET, "--api-key", API_KEY);
    expect(stderr).toContain(`Connected Stripe for ${TEST_SHOP}.`);
    expect(stderr).toContain("ending in lmno (live mode)");
    expect(code).toBe(0);
    const row = await db.stripeConnection.findFirstOrThrow({ where: { shopId: shop.id } });
    expect(stdout).toBe(`/webhooks/stripe/${row.id}\n`);
    expect(decryptSecret(row.webhookSecretEncrypted, { model: "StripeConnection", column: "webhookSecretEncrypted", rowId: row.id })).toBe(SECRET);
    expect(row.webhookSecretEncrypted).not.toContain(SECRET.slice(6));
    expect(decryptSecret(row.apiKeyEncrypted!, { model: "StripeConnection", column: "apiKeyEncrypted", rowId: row.id })).toBe(API_KEY);
    expect(`${stdout}${stderr}`).not.toContain(SECRET.slice(6));
    expect(`${stdout}${stderr}`).not.toContain(API_KEY.slice(8));
  });

  it("run again with a new secret, rotates: the previous one keeps verifying for 24 hours", async () => {
    const { code, stdout, stderr } = await cli("--shop", TEST_SHOP, "--webhook-secret", NEXT_SECRET);
    expect(code).toBe(0);
    expect(stderr).toContain("Updated Stripe");
    expect(stderr).toMatch(/previous signing secret keeps verifying until \d{4}-/);
    const rows = await db.stripeConnection.findMany({ where: { shopId: shop.id } });
    expect(rows).toHaveLength(1);
    expect(stdout).toBe(`/webhooks/stripe/${rows[0]!.id}\n`);
    const { loadVerificationSecrets } = await import("~/models/stripe-connection.server");
    expect((await loadVerificationSecrets(db, rows[0]!.id))?.secrets).toEqual([NEXT_SECRET, SECRET]);
  });
});
