import type { PrismaClient, Shop } from "@prisma/client";
import { beforeAll, describe, expect, it } from "vitest";
import { OTHER_SHOP, TEST_SHOP } from "../helpers/shopify";

type Model = typeof import("~/models/stripe-connection.server");
const SECRET = "whsec_modelTestSecret0123456789abcdefghi";
const NEXT = "whsec_modelTestNextSecret0123456789abcd";
const keyOk = async () => ({ ok: true as const });

let db: PrismaClient;
let model: Model;
let shop: Shop;
let other: Shop;

beforeAll(async () => {
  db = (await import("~/db.server")).db;
  model = await import("~/models/stripe-connection.server");
  shop = await db.shop.create({ data: { domain: TEST_SHOP } });
  other = await db.shop.create({ data: { domain: OTHER_SHOP } });
});

describe("Stripe connection model", () => {
  it("gives each shop a stable, distinct endpoint before it connects, and uses it when it does", async () => {
    const before = await model.endpointPathFor(db, shop.id);
    expect(before).toBe(await model.endpointPathFor(db, shop.id));
    expect(before).not.toBe(await model.endpointPathFor(db, other.id));
    expect(before).toMatch(/^\/webhooks\/stripe\/c[a-z0-9]{24}$/);
    const result = await model.connectStripe(db, shop.id, { webhookSecret: SECRET });
    expect(result.ok && result.connection.endpointPath).toBe(before);
  });

  it("keeps secrets encrypted at rest and returns no secret in its view", async () => {
    await model.setApiKey(db, shop.id, model.proposedConnectionId(shop.id), "rk_live_51ModelKey0123456789abcdefgh", { checkKey: keyOk });
    const row = await db.stripeConnection.findFirstOrThrow({ where: { shopId: shop.id } });
    expect(JSON.stringify(row)).not.toContain("modelTestSecret");
    expect(JSON.stringify(row)).not.toContain("ModelKey");
    const view = await model.getStripeConnection(db, shop.id);
    expect(JSON.stringify(view)).not.toMatch(/whsec_|rk_live_|v1\./);
    expect(view).toMatchObject({ apiKeyLast4: "efgh", apiKeyMode: "live" });
    expect(await model.loadApiCredentials(db, row.id)).toEqual({ apiKey: "rk_live_51ModelKey0123456789abcdefgh", livemode: true });
  });

  it("connecting again with a new secret is a rotation, not a second connection", async () => {
    const now = new Date();
    const result = await model.connectStripe(db, shop.id, { webhookSecret: NEXT }, { now });
    expect(result.ok && result.created).toBe(false);
    expect(await db.stripeConnection.count({ where: { shopId: shop.id } })).toBe(1);
    expect((await model.loadVerificationSecrets(db, model.proposedConnectionId(shop.id), now))?.secrets).toEqual([NEXT, SECRET]);
    const after = new Date(now.getTime() + model.ROTATION_OVERLAP_MS + 1);
    expect((await model.loadVerificationSecrets(db, model.proposedConnectionId(shop.id), after))?.secrets).toEqual([NEXT]);
  });

  it("caches verification secrets for a few seconds, and forgets them at once when they change here", async () => {
    const id = model.proposedConnectionId(shop.id);
    const t0 = new Date(Date.now() + 60_000);
    await model.endRotation(db, shop.id, id);
    expect((await model.loadVerificationSecrets(db, id, t0))?.secrets).toEqual([NEXT]);
    // Changed behind the model's back (another process): seen once the cache entry is older than SECRET_CACHE_MS.
    const { encryptSecret } = await import("~/security/encryption.server");
    await db.stripeConnection.update({
      where: { id },
      data: { webhookSecretEncrypted: encryptSecret(SECRET, { model: "StripeConnection", column: "webhookSecretEncrypted", rowId: id }) },
    });
    expect((await model.loadVerificationSecrets(db, id, new Date(t0.getTime() + 1000)))?.secrets).toEqual([NEXT]);
    expect((await model.loadVerificationSecrets(db, id, new Date(t0.getTime() + model.SECRET_CACHE_MS)))?.secrets).toEqual([SECRET]);
    // Changed through the model: seen on the next request.
    await model.rotateWebhookSecret(db, shop.id, id, NEXT);
    expect((await model.loadVerificationSecrets(db, id, new Date(t0.getTime() + model.SECRET_CACHE_MS + 1)))?.secrets[0]).toBe(NEXT);
    expect(await model.disconnectStripe(db, shop.id, id)).toBe(true);
    expect(await model.loadVerificationSecrets(db, id)).toBeNull();
  });

  it("never changes another shop's connection", async () => {
    const mine = await model.connectStripe(db, other.id, { webhookSecret: SECRET });
    if (!mine.ok) throw new Error("connect failed");
    const before = await db.stripeConnection.findUniqueOrThrow({ where: { id: mine.connection.id } });
    expect((await model.rotateWebhookSecret(db, shop.id, mine.connection.id, NEXT)).ok).toBe(false);
    expect((await model.setApiKey(db, shop.id, mine.connection.id, null)).ok).toBe(false);
    expect((await model.endRotation(db, shop.id, mine.connection.id)).ok).toBe(false);
    expect(await model.disconnectStripe(db, shop.id, mine.connection.id)).toBe(false);
    expect(await db.stripeConnection.findUniqueOrThrow({ where: { id: mine.connection.id } })).toEqual(before);
  });

  it("refuses a secret that is not a signing secret, and a key Stripe refuses, saving nothing", async () => {
    const fresh = await db.shop.create({ data: { domain: "fresh-store.myshopify.com" } });
    const refused = async () => ({ ok: false as const, retryable: false, problem: "Stripe did not accept this key (it may have been deleted or rolled)." });
    expect(await model.connectStripe(db, fresh.id, { webhookSecret: "whsec_" })).toMatchObject({ ok: false, errors: { webhookSecret: expect.any(String) } });
    expect(
      await model.connectStripe(db, fresh.id, { webhookSecret: SECRET, apiKey: "rk_test_51Whatever0123456789abcdefgh" }, { checkKey: refused }),
    ).toMatchObject({
      ok: false,
      errors: { apiKey: expect.stringContaining("did not accept") },
    });
    expect(await db.stripeConnection.count({ where: { shopId: fresh.id } })).toBe(0);
  });
});
