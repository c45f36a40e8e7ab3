import type { PrismaClient, Shop } from "@prisma/client";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { loadApp } from "../helpers/app-server";
import { OTHER_SHOP, TEST_SHOP } from "../helpers/shopify";
import { completedSession, expiredSession, lineItem, stripeEvent } from "../../app/demo/fakes/stripe-api/objects";
import { FakeStripeApi } from "../../app/demo/fakes/stripe-api/server";
import { stripeWebhookRequest, type DeliveryOptions } from "../../app/demo/fakes/stripe-api/webhooks";
import { jobTable } from "../helpers/jobs";

// Two shops: one connected with only a signing secret, one with a restricted API key too (line items come from the fake).
const SECRET = "whsec_reclaimTestSecret0123456789abcdef";
const KEYED_SECRET = "whsec_keyedShopSecret0123456789abcdefgh";
const API_KEY = "rk_test_51ReclaimRestrictedKey0123456789abcd";

const fake = new FakeStripeApi().addKey(API_KEY);
let app: Awaited<ReturnType<typeof loadApp>>;
let db: PrismaClient;
let shop: Shop;
let keyedShop: Shop;
let connectionId: string;
let keyedConnectionId: string;
let drain: (at?: Date) => Promise<number>;

beforeAll(async () => {
  process.env.STRIPE_API_BASE = await fake.start(); // before any app module reads the environment
  app = await loadApp();
  db = (await import("~/db.server")).db;
  const { connectStripe } = await import("~/models/stripe-connection.server");
  const { checkApiKey } = await import("~/sources/stripe/api.server");
  const { JobRunner } = await import("../helpers/jobs");
  const { jobDefinitions } = await import("~/jobs/registry.server");
  drain = (at?: Date) => new JobRunner({ db, definitions: jobDefinitions, ...(at ? { clock: { now: () => at } } : {}) }).drain();

  shop = await db.shop.create({ data: { domain: TEST_SHOP } });
  keyedShop = await db.shop.create({ data: { domain: OTHER_SHOP } });
  const plain = await connectStripe(db, shop.id, { webhookSecret: SECRET });
  const keyed = await connectStripe(db, keyedShop.id, { webhookSecret: KEYED_SECRET, apiKey: API_KEY }, { checkKey: checkApiKey });
  if (!plain.ok || !keyed.ok) throw new Error("could not connect the test shops");
  connectionId = plain.connection.id;
  keyedConnectionId = keyed.connection.id;
});
afterAll(async () => {
  await app?.close();
  await fake.close();
});
beforeEach(() => {
  fake.requests.length = 0;
});

const deliver = (event: unknown, options: Partial<DeliveryOptions> & { to?: string } = {}) =>
  app.handle(stripeWebhookRequest(`/webhooks/stripe/${options.to ?? connectionId}`, event, { secret: SECRET, ...options }));

const counts = async () => ({ events: await db.inboundEvent.count(), jobs: await jobTable(db).count() });

describe("POST /webhooks/stripe/<connectionId>", () => {
  it("stores a valid event, answers 200 before any processing, and its job makes the recovery", async () => {
    const session = expiredSession({
      email: "Ann@Example.com",
      amountTotal: 4200,
      currency: "usd",
      promotions: "opt_in",
      clientReferenceId: "cart_17",
      metadata: { campaign: "fall" },
    });
    const event = stripeEvent("checkout.session.expired", session);
    const response = await deliver(event);
    expect(response.status).toBe(200);
    const stored = await db.inboundEvent.findUniqueOrThrow({
      where: { source_receiver_externalId: { source: "stripe", receiver: connectionId, externalId: event.id } },
    });
    expect(stored).toMatchObject({ topic: "checkout.session.expired", processedAt: null });
    expect(await db.recovery.count({ where: { externalId: session.id } })).toBe(0); // not processed in the request

    await drain();
    const recovery = await db.recovery.findFirstOrThrow({ where: { shopId: shop.id, source: "stripe", externalId: session.id } });
    expect(recovery).toMatchObject({
      email: "ann@example.com",
      consent: "opt_in",
      totalMinor: 4200n,
      currency: "USD",
      recoveryUrl: session.after_expiration.recovery.url,
      recoveryUrlExpiresAt: new Date(session.after_expiration.recovery.expires_at * 1000),
      status: "open",
      notContactableReason: null,
    });
    expect(JSON.parse(recovery.consentEvidence)).toMatchObject({ state: "opt_in", source: "stripe.consent.promotions" });
    // No API key on this connection: no line items, and the reason is kept with the recovery.
    expect(JSON.parse(recovery.lineItems)).toEqual([]);
    expect(JSON.parse(recovery.sourceMetadata)).toMatchObject({
      client_reference_id: "cart_17",
      metadata: { campaign: "fall" },
      line_items_unavailable: "no Stripe API key connected",
    });
    expect(fake.requests).toEqual([]);
    expect((await db.inboundEvent.findUniqueOrThrow({ where: { id: stored.id } })).processedAt).not.toBeNull();
    expect((await db.stripeConnection.findUniqueOrThrow({ where: { id: connectionId } })).lastEventAt).toEqual(new Date(event.created * 1000));
  });

  it("fetches line items with the connection's restricted key", async () => {
    const session = expiredSession({ email: "bo@example.com", amountTotal: 3698 });
    fake.setLineItems(session.id, [
      lineItem({ description: "T-shirt", quantity: 2, unitAmount: 1099 }),
      lineItem({ description: "Cap", quantity: 1, unitAmount: 1500 }),
    ]);
    const response = await deliver(stripeEvent("checkout.session.expired", session), { to: keyedConnectionId, secret: KEYED_SECRET });
    expect(response.status).toBe(200);
    await drain();
    const recovery = await db.recovery.findFirstOrThrow({ where: { shopId: keyedShop.id, externalId: session.id } });
    expect(JSON.parse(recovery.lineItems)).toEqual([
      { title: "T-shirt", variantTitle: null, quantity: 2, imageUrl: null, unitPriceMinor: 1099, totalPriceMinor: 2198 },
      { title: "Cap", variantTitle: null, quantity: 1, imageUrl: null, unitPriceMinor: 1500, totalPriceMinor: 1500 },
    ]);
    expect(JSON.parse(recovery.sourceMetadata).line_items_unavailable).toBeUndefined();
    expect(fake.requests).toEqual([
      expect.objectContaining({
        method: "GET",
        path: `/v1/checkout/sessions/${session.id}/line_items`,
        apiKey: API_KEY,
        query: expect.objectContaining({ limit: "100" }),
      }),
    ]);
  });

  it("makes the recovery at once when Stripe is down, and a follow-up job gets the line items once it is back (ADR 077)", async () => {
    const session = expiredSession({ email: "cy@example.com" });
    fake.setLineItems(session.id, [lineItem({ description: "Mug", quantity: 1, unitAmount: 900 })]);
    fake.failNext(500, 500); // the SDK's one retry fails too
    await deliver(stripeEvent("checkout.session.expired", session), { to: keyedConnectionId, secret: KEYED_SECRET });
    await drain();
    expect(await jobTable(db).count({ where: { name: "process-stripe-event", status: "queued" } })).toBe(0);
    const first = await db.recovery.findFirstOrThrow({ where: { externalId: session.id } });
    expect(JSON.parse(first.lineItems)).toEqual([]);
    expect(JSON.parse(first.sourceMetadata).line_items_unavailable).toBe("Stripe did not answer (HTTP 500); Reclaim is fetching them again");
    await drain(new Date(Date.now() + 3600_000));
    const recovery = await db.recovery.findFirstOrThrow({ where: { externalId: session.id } });
    expect(JSON.parse(recovery.lineItems)).toHaveLength(1);
  });

  it("records why there are no line items when Stripe refuses the stored key", async () => {
    const { encryptSecret } = await import("~/security/encryption.server");
    const revoked = "rk_test_51RevokedKeyRevokedKey0123456789zz";
    await db.stripeConnection.update({
      where: { id: keyedConnectionId },
      data: { apiKeyEncrypted: encryptSecret(revoked, { model: "StripeConnection", column: "apiKeyEncrypted", rowId: keyedConnectionId }) },
    });
    try {
      const session = expiredSession({ email: "di@example.com" });
      await deliver(stripeEvent("checkout.session.expired", session), { to: keyedConnectionId, secret: KEYED_SECRET });
      await drain();
      const recovery = await db.recovery.findFirstOrThrow({ where: { externalId: session.id } });
      expect(JSON.parse(recovery.sourceMetadata).line_items_unavailable).toBe("Stripe rejected the connected API key");
    } finally {
      await db.stripeConnection.update({
        where: { id: keyedConnectionId },
        data: { apiKeyEncrypted: encryptSecret(API_KEY, { model: "StripeConnection", column: "apiKeyEncrypted", rowId: keyedConnectionId }) },
      });
    }
  });

  it("stores a session with neither email nor recovery link as not contactable, with the reason", async () => {
    const session = expiredSession({ email: null, recovery: false });
    await deliver(stripeEvent("checkout.session.expired", session));
    await drain();
    const recovery = await db.recovery.findFirstOrThrow({ where: { externalId: session.id } });
    expect(recovery.notContactableReason).toBe("no_email");
    const linkless = expiredSession({ email: "eve@example.com", recovery: false });
    await deliver(stripeEvent("checkout.session.expired", linkless));
    await drain();
    expect((await db.recovery.findFirstOrThrow({ where: { externalId: linkless.id } })).notContactableReason).toBe("no_recovery_link");
  });

  describe("refuses with 400, a short reason and nothing stored", () => {
    const event = () => stripeEvent("checkout.session.expired", expiredSession());
    it.each([
      ["a bad signature", () => deliver(event(), { header: `t=${Math.floor(Date.now() / 1000)},v1=${"0".repeat(64)}` }), /signature does not match/],
      ["a signature made with another secret", () => deliver(event(), { secret: "whsec_notThisEndpointsSecret0123456789" }), /signature does not match/],
      ["a stale timestamp (over 300 s)", () => deliver(event(), { timestamp: Math.floor(Date.now() / 1000) - 301 }), /more than 300 s old/],
      ["a missing signature", () => deliver(event(), { header: null }), /missing Stripe-Signature/],
      ["a malformed (signed) body", () => deliver(null, { body: '{"id":"evt_x","object":"event",' }), /not valid JSON/],
      ["a signed body that is not an event", () => deliver(null, { body: '{"id":"evt_x"}' }), /not a Stripe event/],
      ["an unknown connection", () => deliver(event(), { to: "cunknownconnection000000000" }), /unknown connection/],
      ["a path that cannot be a connection id", () => deliver(event(), { to: "..%2F..%2Fetc" }), /unknown connection/],
    ])("%s", async (_label, send, reason) => {
      const before = await counts();
      const response = await send();
      expect(response.status).toBe(400);
      expect(await response.text()).toMatch(reason);
      expect(await counts()).toEqual(before);
    });
  });

  it("stores a redelivered event once, with one job, and processing it twice changes nothing", async () => {
    const session = expiredSession({ email: "fay@example.com" });
    const event = stripeEvent("checkout.session.expired", session);
    const first = await deliver(event);
    const again = await deliver(event); // Stripe re-signs every attempt
    expect([first.status, again.status]).toEqual([200, 200]);
    expect(await again.text()).toBe("duplicate");
    const rows = await db.inboundEvent.findMany({ where: { externalId: event.id } });
    expect(rows).toHaveLength(1);
    expect(await jobTable(db).count({ where: { payload: { contains: rows[0]!.id } } })).toBe(1);
    await drain();
    const before = await db.recovery.findFirstOrThrow({ where: { externalId: session.id } });
    await deliver(event);
    await drain();
    expect(await db.recovery.findFirstOrThrow({ where: { externalId: session.id } })).toEqual(before);
  });

  it("credits a conversion via recovered_from when the buyer completes through the recovery link", async () => {
    const original = expiredSession({ email: "gus@example.com", amountTotal: 5000 });
    await deliver(stripeEvent("checkout.session.expired", original));
    await drain();
    const completed = completedSession({ email: "gus@example.com", recoveredFrom: original.id, amountTotal: 4500 });
    await deliver(stripeEvent("checkout.session.completed", completed));
    await deliver(stripeEvent("checkout.session.async_payment_succeeded", completed)); // same session: no second credit
    await drain();
    const recovery = await db.recovery.findFirstOrThrow({ where: { externalId: original.id }, include: { conversions: true } });
    // Paid through its link before any Reclaim email: credited, "Bought without an email" (docs/decisions/082).
    expect(recovery.status).toBe("purchased");
    expect(recovery.conversions).toEqual([
      expect.objectContaining({ method: "link", matchedBy: "recovered_from", source: "stripe", externalId: completed.id, amountMinor: 4500n, currency: "USD" }),
    ]);
  });

  it("ends recovered when the completed event arrives before the expired one it recovers", async () => {
    const original = expiredSession({ email: "hal@example.com" });
    const completed = completedSession({ email: "hal@example.com", recoveredFrom: original.id, amountTotal: 4200 });
    await deliver(stripeEvent("checkout.session.completed", completed));
    await drain();
    await deliver(stripeEvent("checkout.session.expired", original));
    await drain();
    const recovery = await db.recovery.findFirstOrThrow({ where: { externalId: original.id }, include: { conversions: true } });
    // Paid through its link before any Reclaim email: credited, "Bought without an email" (docs/decisions/082).
    expect(recovery.status).toBe("purchased");
    expect(recovery.conversions).toEqual([expect.objectContaining({ method: "link", matchedBy: "recovered_from", externalId: completed.id })]);
  });

  it("a purchase on Stripe stops the pending messages of the same contact's Shopify recovery", async () => {
    const abandonedAt = new Date(Date.now() - 3 * 3600_000);
    const contact = await db.contact.create({ data: { shopId: shop.id, email: "ivy@example.com" } });
    const recovery = await db.recovery.create({
      data: {
        shopId: shop.id,
        source: "shopify",
        externalId: "gid://shopify/AbandonedCheckout/991",
        contactId: contact.id,
        email: "ivy@example.com",
        consent: "opt_in",
        totalMinor: 3000,
        currency: "USD",
        recoveryUrl: "https://reclaim-test.myshopify.com/checkouts/991/recover",
        abandonedAt,
        sourceUpdatedAt: abandonedAt,
        status: "contacting",
      },
    });
    const campaign = await db.campaign.create({
      data: {
        shopId: shop.id,
        name: "Default",
        steps: {
          create: [
            { position: 1, delayMinutes: 60, subject: "You left something", bodyTemplate: "…" },
            { position: 2, delayMinutes: 1440, subject: "Still there?", bodyTemplate: "…" },
          ],
        },
      },
      include: { steps: true },
    });
    for (const step of campaign.steps) {
      await db.message.create({
        data: {
          shopId: shop.id,
          recoveryId: recovery.id,
          campaignId: campaign.id,
          stepId: step.id,
          position: step.position,
          scheduledFor: new Date(abandonedAt.getTime() + step.delayMinutes * 60_000),
        },
      });
    }

    // Bought on Stripe (no recovered_from: a separate purchase), typed with different case.
    await deliver(stripeEvent("checkout.session.completed", completedSession({ email: "IVY@example.com", amountTotal: 3000 })));
    await drain();

    const messages = await db.message.findMany({ where: { recoveryId: recovery.id } });
    expect(messages.map((m) => [m.status, m.skipReason])).toEqual([
      ["cancelled", "purchased"],
      ["cancelled", "purchased"],
    ]);
    const decisions = await db.decisionLog.findMany({ where: { recoveryId: recovery.id } });
    expect(decisions).toHaveLength(2);
    expect(decisions.every((d) => d.outcome === "cancel" && d.detail === "bought on Stripe")).toBe(true);
    expect((await db.contact.findUniqueOrThrow({ where: { id: contact.id } })).lastPurchaseAt).not.toBeNull();
  });

  it("records async_payment_failed without counting a purchase", async () => {
    const session = completedSession({ email: "jo@example.com", paymentStatus: "unpaid" });
    const event = stripeEvent("checkout.session.async_payment_failed", session);
    expect((await deliver(event)).status).toBe(200);
    await drain();
    const stored = await db.inboundEvent.findFirstOrThrow({ where: { externalId: event.id } });
    expect(stored.processedAt).not.toBeNull();
    expect(stored.error).toBeNull();
    // Kept as a purchase that does not count (so a late `completed` is not counted either; docs/decisions/076).
    expect(await db.purchase.count({ where: { externalId: session.id, cancelledAt: null } })).toBe(0);
  });

  it("acknowledges and records event types it does not handle", async () => {
    const event = stripeEvent("payment_intent.created", { id: "pi_1PgafyB7WZ01zgkWSjxsAJo3", object: "payment_intent" });
    const response = await deliver(event);
    expect(response.status).toBe(200);
    await drain();
    const stored = await db.inboundEvent.findFirstOrThrow({ where: { externalId: event.id } });
    expect(stored).toMatchObject({ topic: "payment_intent.created", error: null });
    expect(stored.processedAt).not.toBeNull();
  });

  it("keeps a handled event whose object is unusable, says why, and does not retry it", async () => {
    const event = stripeEvent("checkout.session.expired", { id: "not_a_session", object: "plan" });
    expect((await deliver(event)).status).toBe(200);
    await drain();
    const stored = await db.inboundEvent.findFirstOrThrow({ where: { externalId: event.id } });
    expect(stored.error).toMatch(/Checkout Session/);
    // Its job succeeded (not retried, not failed): graphile-worker removed it.
    expect(await jobTable(db).count({ where: { payload: { contains: stored.id } } })).toBe(0);
  });
});

describe("signing secret rotation", () => {
  // Fresh connections, rotated before their first delivery: the endpoint caches a connection's secrets for a few
  // seconds, and this file changes them from outside the app's module instance (the page does it from inside).
  async function rotatedConnection(domain: string, rotatedAt: Date) {
    const { connectStripe, rotateWebhookSecret } = await import("~/models/stripe-connection.server");
    const other = await db.shop.create({ data: { domain } });
    const connected = await connectStripe(db, other.id, { webhookSecret: SECRET }, { now: rotatedAt });
    if (!connected.ok) throw new Error("connect failed");
    const rotated = await rotateWebhookSecret(db, other.id, connected.connection.id, NEW, { now: rotatedAt });
    if (!rotated.ok) throw new Error("rotate failed");
    return rotated.connection;
  }
  const NEW = "whsec_rotatedSecret0123456789abcdefghij";

  it("verifies both the previous and the new secret during a rotation", async () => {
    const connection = await rotatedConnection("rotating.myshopify.com", new Date());
    expect(connection.previousSecretExpiresAt!.getTime()).toBeGreaterThan(Date.now() + 23.9 * 3600_000);
    const byOld = await deliver(stripeEvent("checkout.session.expired", expiredSession()), { to: connection.id, secret: SECRET });
    const byNew = await deliver(stripeEvent("checkout.session.expired", expiredSession()), { to: connection.id, secret: NEW });
    expect([byOld.status, byNew.status]).toEqual([200, 200]);
  });

  it("verifies only the new secret once the 24 h overlap is over", async () => {
    const connection = await rotatedConnection("rotated.myshopify.com", new Date(Date.now() - 25 * 3600_000));
    const byOld = await deliver(stripeEvent("checkout.session.expired", expiredSession()), { to: connection.id, secret: SECRET });
    expect(byOld.status).toBe(400);
    expect(await byOld.text()).toMatch(/signature does not match/);
    expect((await deliver(stripeEvent("checkout.session.expired", expiredSession()), { to: connection.id, secret: NEW })).status).toBe(200);
  });
});
