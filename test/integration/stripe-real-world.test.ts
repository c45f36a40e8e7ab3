// Stripe events the way Stripe really sends them (issue "Stripe, as merchants really use it", part A; ADR 076): a buyer
// who paid in another session, test and live mode on one endpoint, setup-mode sessions, refunds and disputes after a
// recovery, thin events, and client_reference_id from a public Payment Link URL. Payloads come from Stripe's own fixtures
// (test/fixtures/stripe/), are signed with the SDK's helper, and go through the real webhook route and processing job.
import type { PrismaClient, Shop } from "@prisma/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadApp } from "../helpers/app-server";
import { embeddedRequest, offlineSession, signSessionToken, TEST_SHOP } from "../helpers/shopify";
import { completedSession, expiredSession, stripeEvent } from "../../app/demo/fakes/stripe-api/objects";
import { dispute, newPaymentIntentId, refundedCharge, thinEventNotification } from "../../app/demo/fakes/stripe-api/payments";
import { stripeWebhookRequest } from "../../app/demo/fakes/stripe-api/webhooks";

const SECRET = "whsec_realWorldStripeSecret0123456789abcd";

let app: Awaited<ReturnType<typeof loadApp>>;
let db: PrismaClient;
let drain: (at?: Date) => Promise<number>;

beforeAll(async () => {
  app = await loadApp();
  db = (await import("~/db.server")).db;
  const { JobRunner } = await import("../helpers/jobs");
  const { jobDefinitions } = await import("~/jobs/registry.server");
  drain = (at?: Date) => new JobRunner({ db, definitions: jobDefinitions, ...(at ? { clock: { now: () => at } } : {}) }).drain();
});
afterAll(async () => {
  await app?.close();
});

/** A shop connected to Stripe (only a signing secret), with a two-step campaign. */
async function connectedShop(domain: string, existing?: Shop) {
  const { connectStripe } = await import("~/models/stripe-connection.server");
  const shop = existing ?? (await db.shop.create({ data: { domain } }));
  const connected = await connectStripe(db, shop.id, { webhookSecret: SECRET });
  if (!connected.ok) throw new Error("could not connect");
  await db.campaign.create({
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
  });
  const deliver = async (event: unknown, body?: string) => {
    const response = await app.handle(
      stripeWebhookRequest(`/webhooks/stripe/${connected.connection.id}`, event, { secret: SECRET, ...(body ? { body } : {}) }),
    );
    return { status: response.status, text: await response.text() };
  };
  return { shop, connectionId: connected.connection.id, deliver };
}

const secondsAgo = (s: number) => Math.floor(Date.now() / 1000) - s;
const HOUR = 3600;

describe("a buyer who paid in another session is not told they left their cart", () => {
  // Session A started 25 h ago and expires now (Stripe's default 24 h). The buyer came back 10 minutes after starting A,
  // opened session B and paid. A's expiry is later than B's payment; A's start is not.
  function scenario(email: string) {
    const a = expiredSession({ email, amountTotal: 5000, promotions: "opt_in", created: secondsAgo(25 * HOUR) });
    const b = completedSession({ email, amountTotal: 5000, created: secondsAgo(25 * HOUR - 600) });
    return {
      a,
      aExpired: stripeEvent("checkout.session.expired", a, { created: secondsAgo(60) }),
      bCompleted: stripeEvent("checkout.session.completed", b, { created: secondsAgo(25 * HOUR - 900) }),
    };
  }

  async function expectNoEmail(shopId: string, sessionId: string) {
    const recovery = await db.recovery.findFirstOrThrow({ where: { shopId, externalId: sessionId }, include: { messages: true, decisions: true } });
    // startedAt is the session's `created`; abandonedAt stays the expiry the dashboard shows.
    expect(recovery.startedAt!.getTime()).toBeLessThan(recovery.abandonedAt.getTime());
    expect(recovery.messages.filter((m) => ["scheduled", "claimed", "sending", "sent"].includes(m.status))).toEqual([]);
    expect(recovery.decisions.map((d) => d.reason)).toContain("purchased");
    expect(recovery.decisions.find((d) => d.reason === "purchased")!.detail).toMatch(/Stripe/);
    return recovery;
  }

  it("B completed before A's expiry arrives: A is never scheduled, and a send would still be skipped", async () => {
    const { shop, deliver } = await connectedShop("paid-elsewhere-1.myshopify.com");
    const s = scenario("pat@example.com");
    expect((await deliver(s.bCompleted)).status).toBe(200);
    await drain();
    expect((await deliver(s.aExpired)).status).toBe(200);
    await drain();
    const recovery = await expectNoEmail(shop.id, s.a.id);
    expect(recovery.decisions.find((d) => d.reason === "purchased")).toMatchObject({ outcome: "skip" });

    // At send time too (a message scheduled before this fix, say): the send row's history finds B's purchase, measured
    // from A's start, and decide() skips it as purchased.
    const campaign = await db.campaign.findFirstOrThrow({ where: { shopId: shop.id }, include: { steps: true } });
    const message = await db.message.create({
      data: { shopId: shop.id, recoveryId: recovery.id, campaignId: campaign.id, stepId: campaign.steps[0]!.id, position: 1, scheduledFor: new Date() },
    });
    const { loadMessageForSend } = await import("~/models/message-send-row.server");
    const { decide } = await import("~/recovery/decide");
    const row = (await loadMessageForSend(db, message.id))!;
    expect(row.history.purchaseSinceAbandonment).toMatchObject({ source: "stripe" });
    const decision = decide({
      now: new Date(),
      recovery: { ...row.recovery, source: "stripe", consent: "opt_in", consentEvidence: null },
      contact: row.contact,
      policy: { consentPolicy: "explicit", frequencyCapHours: 0, quietHours: null, timeZone: "UTC", setupProblem: null },
      history: { ...row.history, purchaseSinceAbandonment: null }, // the contact's lastPurchaseAt alone must suffice too
    });
    expect(decision).toMatchObject({ outcome: "skip", reason: "purchased" });
  });

  it("A's expiry stored before B's completion arrives: A's scheduled emails are cancelled as purchased", async () => {
    const { shop, deliver } = await connectedShop("paid-elsewhere-2.myshopify.com");
    const s = scenario("quin@example.com");
    await deliver(s.aExpired);
    await drain();
    const before = await db.message.findMany({ where: { recovery: { externalId: s.a.id } } });
    expect(before.map((m) => m.status)).toEqual(["scheduled", "scheduled"]); // emails were on their way
    await deliver(s.bCompleted);
    await drain();
    const recovery = await expectNoEmail(shop.id, s.a.id);
    expect(recovery.messages.map((m) => [m.status, m.skipReason])).toEqual([
      ["cancelled", "purchased"],
      ["cancelled", "purchased"],
    ]);
    expect(recovery.decisions.filter((d) => d.reason === "purchased").every((d) => d.outcome === "cancel" && d.detail === "bought on Stripe")).toBe(true);
  });
});

describe("live and test mode on one connection", () => {
  let shop: Shop;
  beforeAll(async () => {
    const { sessionStorage } = await import("~/shopify.server");
    await sessionStorage.storeSession(offlineSession(TEST_SHOP));
    await app.handle(embeddedRequest("/app")); // first visit creates the shop
    shop = await db.shop.findUniqueOrThrow({ where: { domain: TEST_SHOP } });
  });

  it("learns live mode from the first event; test-mode and connected-account events are stored, ignored, and counted on the page", async () => {
    const { connectionId, deliver } = await connectedShop(TEST_SHOP, shop);
    const live = expiredSession({ email: "liv@example.com", livemode: true });
    expect((await deliver(stripeEvent("checkout.session.expired", live))).status).toBe(200);
    await drain();
    expect(await db.stripeConnection.findUniqueOrThrow({ where: { id: connectionId } })).toMatchObject({ mode: "live", modeSource: "first_event" });

    // The same endpoint then gets test-mode events (a Connect platform's live endpoint does; so does a misrouted CLI).
    const testExpired = expiredSession({ email: "tess@example.com", livemode: false });
    const testCompleted = completedSession({ email: "liv@example.com", livemode: false, recoveredFrom: live.id });
    for (const e of [
      stripeEvent("checkout.session.expired", testExpired),
      stripeEvent("checkout.session.completed", testCompleted),
      stripeEvent("checkout.session.expired", expiredSession({ livemode: false })),
    ]) {
      expect((await deliver(e)).status).toBe(200);
    }
    // A live event from a connected account, on a connection that is not a Connect platform.
    const connected = {
      ...stripeEvent("checkout.session.expired", expiredSession({ email: "acct@example.com", livemode: true })),
      account: "acct_1PgafTB7WZ01zgkW",
    };
    expect((await deliver(connected)).status).toBe(200);
    await drain();

    const rows = await db.inboundEvent.findMany({ where: { receiver: connectionId }, orderBy: { receivedAt: "asc" } });
    expect(rows.map((r) => r.ignoredReason)).toEqual([null, "test_mode", "test_mode", "test_mode", "connected_account"]);
    expect(rows.every((r) => r.processedAt !== null && r.error === null)).toBe(true);
    // No recovery, purchase or credit from them; the live recovery is untouched.
    expect(await db.recovery.count({ where: { shopId: shop.id } })).toBe(1);
    expect(await db.purchase.count({ where: { shopId: shop.id } })).toBe(0);
    expect(await db.conversion.count({ where: { shopId: shop.id } })).toBe(0);
    expect((await db.recovery.findFirstOrThrow({ where: { externalId: live.id } })).status).toBe("open");

    const response = await app.handle(embeddedRequest("/app/settings/stripe", signSessionToken({ shop: TEST_SHOP }), TEST_SHOP));
    const html = await response.text();
    expect(response.status).toBe(200);
    expect(html).toMatch(/3 test-mode events ignored since \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC/);
    expect(html).toContain("1 event from connected accounts ignored");
    expect(html).toContain("Live mode");
    // Which API version and payload style to choose, and the refund/dispute events to select.
    expect(html).toContain("2026-10-28.endive");
    expect(html).toContain("Snapshot");
    for (const type of ["charge.refunded", "charge.dispute.created", "charge.dispute.closed"]) expect(html).toContain(type);
  });
});

describe("Checkout Session modes", () => {
  it("a setup-mode session never becomes a recovery and its completion is not a purchase; subscription sessions are labelled", async () => {
    const { shop, deliver } = await connectedShop("modes.myshopify.com");
    const setupExpired: Record<string, any> = { ...expiredSession({ email: "sam@example.com" }), mode: "setup", amount_total: null, currency: null };
    const setupCompleted: Record<string, any> = { ...completedSession({ email: "sam@example.com" }), mode: "setup", amount_total: null, currency: null };
    const subscription: Record<string, any> = { ...expiredSession({ email: "sub@example.com", amountTotal: 1900 }), mode: "subscription" };
    for (const e of [
      stripeEvent("checkout.session.expired", setupExpired),
      stripeEvent("checkout.session.completed", setupCompleted),
      stripeEvent("checkout.session.expired", subscription),
    ]) {
      expect((await deliver(e)).status).toBe(200);
    }
    await drain();
    expect(await db.recovery.findFirst({ where: { externalId: setupExpired.id } })).toBeNull();
    expect(await db.purchase.count({ where: { shopId: shop.id } })).toBe(0);
    expect((await db.contact.findFirst({ where: { shopId: shop.id, email: "sam@example.com" } }))?.lastPurchaseAt ?? null).toBeNull();
    const ignored = await db.inboundEvent.findMany({ where: { topic: { startsWith: "checkout.session." }, ignoredReason: "setup_mode" } });
    expect(ignored.length).toBe(2);
    expect(await db.recovery.findFirstOrThrow({ where: { externalId: subscription.id } })).toMatchObject({ checkoutMode: "subscription", totalMinor: 1900n });
  });
});

describe("recovered revenue follows refunds, disputes and failed payments", () => {
  /** An expired session whose first email went out, then completed through its recovery link with this payment_intent. */
  async function recovered(ctx: Awaited<ReturnType<typeof connectedShop>>, email: string, amount: number) {
    const original = expiredSession({ email, amountTotal: amount, created: secondsAgo(5 * HOUR) });
    await ctx.deliver(stripeEvent("checkout.session.expired", original, { created: secondsAgo(4 * HOUR) }));
    await drain();
    const recovery = await db.recovery.findFirstOrThrow({ where: { externalId: original.id } });
    const first = await db.message.findFirstOrThrow({ where: { recoveryId: recovery.id, position: 1 } });
    await db.message.update({ where: { id: first.id }, data: { status: "sent", sentAt: new Date(Date.now() - 3 * HOUR * 1000) } });
    const paymentIntent = newPaymentIntentId();
    const completed: Record<string, any> = { ...completedSession({ email, amountTotal: amount, recoveredFrom: original.id }), payment_intent: paymentIntent };
    await ctx.deliver(stripeEvent("checkout.session.completed", completed, { created: secondsAgo(2 * HOUR) }));
    await drain();
    return { recovery, paymentIntent, completed };
  }

  async function overview(shopId: string) {
    const { loadOverview } = await import("~/models/dashboard.server");
    const today = new Date();
    const o = await loadOverview(db, {
      shopId,
      from: new Date(today.getTime() - 86_400_000),
      to: today,
      currency: "USD",
      consentPolicy: "explicit",
      now: today,
    });
    return o.total.recoveredByLink;
  }

  it("a partial refund lowers recovered revenue, a full refund reverses it, and the timeline says so", async () => {
    const ctx = await connectedShop("refunds.myshopify.com");
    const { recovery, paymentIntent } = await recovered(ctx, "ray@example.com", 5000);
    expect(await overview(ctx.shop.id)).toEqual({ count: 1, revenueMinor: 5000 });

    expect((await ctx.deliver(stripeEvent("charge.refunded", refundedCharge({ paymentIntent, amount: 5000, amountRefunded: 1500 })))).status).toBe(200);
    await drain();
    expect(await overview(ctx.shop.id)).toEqual({ count: 1, revenueMinor: 3500 });
    // Redelivered (or an older event of the same charge): Stripe's amount is cumulative, nothing is subtracted twice.
    await ctx.deliver(stripeEvent("charge.refunded", refundedCharge({ paymentIntent, amount: 5000, amountRefunded: 1500 })));
    await drain();
    expect(await overview(ctx.shop.id)).toEqual({ count: 1, revenueMinor: 3500 });

    await ctx.deliver(stripeEvent("charge.refunded", refundedCharge({ paymentIntent, amount: 5000, amountRefunded: 5000 })));
    await drain();
    expect(await overview(ctx.shop.id)).toEqual({ count: 0, revenueMinor: 0 });
    const conversion = await db.conversion.findFirstOrThrow({ where: { recoveryId: recovery.id } });
    expect(conversion).toMatchObject({ refundedMinor: 5000n, reversedReason: "refunded" });
    expect(conversion.reversedAt).not.toBeNull();
    const decisions = await db.decisionLog.findMany({
      where: { recoveryId: recovery.id, reason: { in: ["partially_refunded", "refunded"] } },
      orderBy: { decidedAt: "asc" },
    });
    expect(decisions.map((d) => d.reason)).toEqual(["partially_refunded", "refunded"]);
    expect(decisions[0]!.detail).toMatch(/\$15\.00 refunded so far, \$35\.00 of \$50\.00 still counts/);
    expect((await db.recovery.findUniqueOrThrow({ where: { id: recovery.id } })).status).not.toBe("recovered");
  });

  it("a dispute reverses recovered revenue while open, and a dispute won restores it", async () => {
    const ctx = await connectedShop("disputes.myshopify.com");
    const { recovery, paymentIntent } = await recovered(ctx, "dee@example.com", 8000);
    expect(await overview(ctx.shop.id)).toEqual({ count: 1, revenueMinor: 8000 });
    await ctx.deliver(stripeEvent("charge.dispute.created", dispute({ paymentIntent, amount: 8000, status: "needs_response" })));
    await drain();
    expect(await overview(ctx.shop.id)).toEqual({ count: 0, revenueMinor: 0 });
    expect(await db.conversion.findFirstOrThrow({ where: { recoveryId: recovery.id } })).toMatchObject({ reversedReason: "disputed" });

    await ctx.deliver(stripeEvent("charge.dispute.closed", dispute({ paymentIntent, amount: 8000, status: "won" })));
    await drain();
    expect(await overview(ctx.shop.id)).toEqual({ count: 1, revenueMinor: 8000 });
    expect((await db.recovery.findUniqueOrThrow({ where: { id: recovery.id } })).status).toBe("recovered");
    const reasons = (await db.decisionLog.findMany({ where: { recoveryId: recovery.id }, orderBy: { decidedAt: "asc" } })).map((d) => d.reason);
    expect(reasons).toEqual(expect.arrayContaining(["disputed", "dispute_won"]));
  });

  it("a delayed payment that fails reverses what its completed session credited", async () => {
    const ctx = await connectedShop("async-failed.myshopify.com");
    const { completed } = await recovered(ctx, "ash@example.com", 2500);
    expect(await overview(ctx.shop.id)).toEqual({ count: 1, revenueMinor: 2500 });
    await ctx.deliver(stripeEvent("checkout.session.async_payment_failed", { ...completed, payment_status: "unpaid" }));
    await drain();
    expect(await overview(ctx.shop.id)).toEqual({ count: 0, revenueMinor: 0 });
    expect((await db.purchase.findFirstOrThrow({ where: { externalId: completed.id } })).cancelledAt).not.toBeNull();
  });
});

describe("thin events and API versions", () => {
  it("acknowledges a thin event (no data.object) with 2xx and records it as ignored; snapshots keep their api_version", async () => {
    const { connectionId, deliver } = await connectedShop("thin.myshopify.com");
    const session = completedSession({ email: "thin@example.com" });
    const thin = thinEventNotification("v1.checkout.session.completed", {
      id: session.id,
      type: "checkout.session",
      url: `/v1/checkout/sessions/${session.id}`,
    });
    const answer = await deliver(thin);
    expect(answer.status).toBe(200);
    expect(answer.text).toBe("stored");
    // A snapshot-style envelope that lost its data.object is acknowledged the same way.
    const bare: Record<string, unknown> = { ...stripeEvent("checkout.session.completed", session) };
    delete bare.data;
    expect((await deliver(bare)).status).toBe(200);
    const snapshot = stripeEvent("checkout.session.expired", expiredSession({ email: "snap@example.com" }));
    await deliver(snapshot);
    await drain();
    const rows = await db.inboundEvent.findMany({ where: { receiver: connectionId }, orderBy: { receivedAt: "asc" } });
    expect(rows.map((r) => [r.externalId, r.ignoredReason, r.apiVersion, r.error])).toEqual([
      [thin.id, "thin_event", null, null],
      [bare.id, "thin_event", "2026-10-28.endive", null],
      [snapshot.id, null, "2026-10-28.endive", null],
    ]);
    expect(rows.every((r) => r.processedAt)).toBe(true);
    expect(await db.purchase.count({ where: { externalId: session.id } })).toBe(0);
  });
});

describe("client_reference_id is a hint, never an identity", () => {
  it("does not override the Shopify customer id Shopify gave a contact, nor give one to a new contact", async () => {
    const { shop, deliver } = await connectedShop("client-ref.myshopify.com");
    const contact = await db.contact.create({ data: { shopId: shop.id, email: "kim@example.com", shopifyCustomerId: "gid://shopify/Customer/111" } });
    // Anyone can append ?client_reference_id=… to a public Payment Link.
    const session = expiredSession({ email: "kim@example.com", clientReferenceId: "shopify_customer_999" });
    await deliver(stripeEvent("checkout.session.expired", session));
    await deliver(stripeEvent("checkout.session.completed", completedSession({ email: "Kim@example.com", clientReferenceId: "shopify_customer_999" })));
    await deliver(stripeEvent("checkout.session.completed", completedSession({ email: "new@example.com", clientReferenceId: "gid://shopify/Customer/555" })));
    await drain();
    expect((await db.contact.findUniqueOrThrow({ where: { id: contact.id } })).shopifyCustomerId).toBe("gid://shopify/Customer/111");
    expect((await db.contact.findFirstOrThrow({ where: { shopId: shop.id, email: "new@example.com" } })).shopifyCustomerId).toBeNull();
    const metadata = JSON.parse((await db.recovery.findFirstOrThrow({ where: { externalId: session.id } })).sourceMetadata);
    expect(metadata).toMatchObject({ client_reference_id: "shopify_customer_999" });
  });
});
