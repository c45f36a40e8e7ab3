// Encrypted secrets are bound to their place (docs/decisions/079): a ciphertext copied into another shop's row — by a
// bug, a bad restore, a hand-made UPDATE — is refused where it lands, in the real paths that read it: an SMTP send,
// a Stripe webhook's signature check, the Stripe API key, Shopify's offline token. The shop it belongs to is unaffected.
import type { PrismaClient, Shop } from "@prisma/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadApp } from "../helpers/app-server";
import { offlineSession } from "../helpers/shopify";
import { startSmtpSink, type SmtpSink } from "../helpers/smtp";
import { expiredSession, stripeEvent } from "../../app/demo/fakes/stripe-api/objects";
import { stripeWebhookRequest } from "../../app/demo/fakes/stripe-api/webhooks";

const PASSWORD_A = "smtp-password-of-shop-a";
const SECRET_A = "whsec_shopASigningSecret0123456789abcdef";
const SECRET_B = "whsec_shopBSigningSecret0123456789abcdef";
const API_KEY_A = "rk_test_51ShopARestrictedKey0123456789abcd";

let app: Awaited<ReturnType<typeof loadApp>>;
let db: PrismaClient;
let sink: SmtpSink;
let shopA: Shop;
let shopB: Shop;

beforeAll(async () => {
  app = await loadApp();
  db = (await import("~/db.server")).db;
  sink = await startSmtpSink({ auth: { user: "mailer", pass: PASSWORD_A } });
  const { saveEmailSettings } = await import("~/email/settings.server");
  for (const domain of ["binding-a.myshopify.com", "binding-b.myshopify.com"]) {
    const shop = await db.shop.create({ data: { domain } });
    const saved = await saveEmailSettings(db, shop.id, {
      emailTransport: "smtp",
      smtpHost: "127.0.0.1",
      smtpPort: sink.port,
      smtpSecure: false,
      smtpUser: "mailer",
      smtpPassword: domain.startsWith("binding-a") ? PASSWORD_A : "smtp-password-of-shop-b",
      senderEmail: "hello@binding.test",
      postalAddress: "1 Bound Street",
    });
    expect(saved.ok).toBe(true);
  }
  shopA = await db.shop.findUniqueOrThrow({ where: { domain: "binding-a.myshopify.com" } });
  shopB = await db.shop.findUniqueOrThrow({ where: { domain: "binding-b.myshopify.com" } });
});
afterAll(async () => {
  const { closeTransports } = await import("~/email/transport.server");
  closeTransports();
  await sink?.close();
  await app?.close();
});

describe("an encrypted value copied to another shop's row is refused", () => {
  it("SMTP password: shop B cannot send with shop A's password; shop A still can", async () => {
    const { sendTestEmail } = await import("~/email/settings.server");
    expect(shopA.smtpPasswordEncrypted).toMatch(/^v2\.k1\./);
    await db.shop.update({ where: { id: shopB.id }, data: { smtpPasswordEncrypted: shopA.smtpPasswordEncrypted } });

    expect(await sendTestEmail(db, shopB.id, "owner@binding.test")).toEqual({
      ok: false,
      error: "The stored SMTP password cannot be read for this shop: enter it again in Settings → Email",
    });
    expect(sink.received).toHaveLength(0);
    expect(await sendTestEmail(db, shopA.id, "owner@binding.test")).toMatchObject({ ok: true });
    expect((await sink.waitFor(1))[0]!.user).toBe("mailer");
  });

  it("Stripe signing secret: shop B's endpoint refuses events (400, nothing stored); shop A's keeps verifying", async () => {
    const { connectStripe } = await import("~/models/stripe-connection.server");
    const a = await connectStripe(db, shopA.id, { webhookSecret: SECRET_A }, { checkKey: async () => ({ ok: true }) });
    const b = await connectStripe(db, shopB.id, { webhookSecret: SECRET_B });
    if (!a.ok || !b.ok) throw new Error("could not connect the shops");
    const rowA = await db.stripeConnection.findUniqueOrThrow({ where: { id: a.connection.id } });
    await db.stripeConnection.update({ where: { id: b.connection.id }, data: { webhookSecretEncrypted: rowA.webhookSecretEncrypted } });

    const before = await db.inboundEvent.count();
    const event = stripeEvent("checkout.session.expired", expiredSession({ email: "buyer@binding.test" }));
    // Signed with the secret the copied value holds: it must not verify at B's endpoint…
    const atB = await app.handle(stripeWebhookRequest(`/webhooks/stripe/${b.connection.id}`, event, { secret: SECRET_A }));
    expect(atB.status).toBe(400);
    // …nor does B's own secret any more (its value was overwritten): nothing verifies until B saves its secret again.
    expect((await app.handle(stripeWebhookRequest(`/webhooks/stripe/${b.connection.id}`, event, { secret: SECRET_B }))).status).toBe(400);
    expect(await db.inboundEvent.count()).toBe(before);
    // A's endpoint is unaffected.
    expect((await app.handle(stripeWebhookRequest(`/webhooks/stripe/${a.connection.id}`, event, { secret: SECRET_A }))).status).toBe(200);

    // Saving B's secret again replaces the unreadable value; B verifies again.
    const reconnected = await connectStripe(db, shopB.id, { webhookSecret: SECRET_B });
    expect(reconnected.ok).toBe(true);
    const { loadVerificationSecrets, SECRET_CACHE_MS } = await import("~/models/stripe-connection.server");
    expect((await loadVerificationSecrets(db, b.connection.id, new Date(Date.now() + SECRET_CACHE_MS)))?.secrets).toEqual([SECRET_B]);
  });

  it("Stripe API key: shop A's key copied into shop B's row does not decrypt for B", async () => {
    const { loadApiCredentials, setApiKey } = await import("~/models/stripe-connection.server");
    const { UnreadableSecretError } = await import("~/security/encryption.server");
    const connA = await db.stripeConnection.findFirstOrThrow({ where: { shopId: shopA.id } });
    const connB = await db.stripeConnection.findFirstOrThrow({ where: { shopId: shopB.id } });
    expect((await setApiKey(db, shopA.id, connA.id, API_KEY_A, { checkKey: async () => ({ ok: true }) })).ok).toBe(true);
    const keyA = (await db.stripeConnection.findUniqueOrThrow({ where: { id: connA.id } })).apiKeyEncrypted;
    await db.stripeConnection.update({ where: { id: connB.id }, data: { apiKeyEncrypted: keyA } });
    await expect(loadApiCredentials(db, connB.id)).rejects.toBeInstanceOf(UnreadableSecretError);
    expect(await loadApiCredentials(db, connA.id)).toEqual({ apiKey: API_KEY_A, livemode: false });
  });

  it("Shopify offline token: shop A's token copied into shop B's session does not open", async () => {
    const { sessionStorage } = await import("~/shopify.server");
    await sessionStorage.storeSession(offlineSession(shopA.domain));
    await sessionStorage.storeSession(offlineSession(shopB.domain));
    const rowA = await db.session.findUniqueOrThrow({ where: { id: `offline_${shopA.domain}` } });
    expect(rowA.accessToken).toMatch(/^v2\./);
    await db.session.update({ where: { id: `offline_${shopB.domain}` }, data: { accessToken: rowA.accessToken } });
    await expect(sessionStorage.loadSession(`offline_${shopB.domain}`)).rejects.toThrow(/cannot be decrypted for this row/);
    expect((await sessionStorage.loadSession(`offline_${shopA.domain}`))?.accessToken).toBe(offlineSession(shopA.domain).accessToken);
  });
});
