// A shop's Stripe events processed together (docs/decisions/091-stripe-processing-in-batches.md), through the real
// webhook route and job runner: many events queued at once are each processed once, in fewer jobs than events, with
// the same outcomes as one at a time; an event that fails does not hold up the others and is retried on its own.
import type { PrismaClient, Shop } from "@prisma/client";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { loadApp } from "../helpers/app-server";
import { completedSession, expiredSession, lineItem, stripeEvent } from "../../app/demo/fakes/stripe-api/objects";
import { dispute, newPaymentIntentId, refundedCharge } from "../../app/demo/fakes/stripe-api/payments";
import { FakeStripeApi } from "../../app/demo/fakes/stripe-api/server";
import { stripeWebhookRequest } from "../../app/demo/fakes/stripe-api/webhooks";
import { jobTable } from "../helpers/jobs";

const SECRET = "whsec_batchPlainSecret0123456789abcdefgh";
const KEYED_SECRET = "whsec_batchKeyedSecret0123456789abcdefg";
const API_KEY = "rk_test_51BatchProcessingKey0123456789abcdef";

const fake = new FakeStripeApi().addKey(API_KEY);
let app: Awaited<ReturnType<typeof loadApp>>;
let db: PrismaClient;
const shops: Record<"plain" | "keyed", { shop: Shop; connectionId: string; secret: string }> = {} as never;
let drain: () => Promise<number>;

beforeAll(async () => {
  process.env.STRIPE_API_BASE = await fake.start();
  app = await loadApp();
  db = (await import("~/db.server")).db;
  const { connectStripe } = await import("~/models/stripe-connection.server");
  const { checkApiKey } = await import("~/sources/stripe/api.server");
  const { JobRunner } = await import("../helpers/jobs");
  const { jobDefinitions } = await import("~/jobs/registry.server");
  drain = () => new JobRunner({ db, definitions: jobDefinitions }).drain();
  for (const [name, secret, apiKey] of [
    ["plain", SECRET, null],
    ["keyed", KEYED_SECRET, API_KEY],
  ] as const) {
    const shop = await db.shop.create({ data: { domain: `batch-${name}.myshopify.com` } });
    // A two-step campaign, so a recovery that can be contacted gets pending emails.
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
    const connected = await connectStripe(db, shop.id, { webhookSecret: secret, apiKey }, { checkKey: checkApiKey });
    if (!connected.ok) throw new Error(`could not connect ${name}`);
    shops[name] = { shop, connectionId: connected.connection.id, secret };
  }
});
afterAll(async () => {
  await app?.close();
  await fake.close();
});
beforeEach(() => {
  fake.requests.length = 0;
});

const deliver = async (to: keyof typeof shops, event: unknown) => {
  const response = await app.handle(stripeWebhookRequest(`/webhooks/stripe/${shops[to].connectionId}`, event, { secret: shops[to].secret }));
  expect(response.status).toBe(200);
};
const eventRow = (id: string) => db.inboundEvent.findFirstOrThrow({ where: { source: "stripe", externalId: id } });
const recoveryOf = (sessionId: string) => db.recovery.findFirstOrThrow({ where: { source: "stripe", externalId: sessionId }, include: { messages: true } });

describe("a shop's Stripe events queued together", () => {
  it("are all processed, each once, in far fewer jobs than events", async () => {
    const sessions = Array.from({ length: 50 }, (_, i) => expiredSession({ email: `batch.${i}@example.com`, promotions: "opt_in" }));
    const events = sessions.map((s) => stripeEvent("checkout.session.expired", s));
    for (const event of events) await deliver("plain", event);
    expect(await jobTable(db).count({ where: { name: "process-stripe-event", status: "queued", shopId: shops.plain.shop.id } })).toBe(50);

    const ran = await drain();
    // One job took the shop's queued events with it (without batching: one job per event, 50).
    expect(ran).toBeLessThanOrEqual(2);
    expect(await jobTable(db).count({ where: { name: "process-stripe-event", shopId: shops.plain.shop.id } })).toBe(0);
    for (const [i, session] of sessions.entries()) {
      const recovery = await recoveryOf(session.id as string);
      expect(recovery).toMatchObject({ email: `batch.${i}@example.com`, status: "open", notContactableReason: null });
      // Scheduled once: the campaign's two emails, not four.
      expect(recovery.messages.map((m) => [m.position, m.status]).sort()).toEqual([
        [1, "scheduled"],
        [2, "scheduled"],
      ]);
      expect(await eventRow(events[i]!.id as string)).toMatchObject({ processedAt: expect.any(Date), error: null, ignoredReason: null });
    }
    expect(await db.contact.count({ where: { shopId: shops.plain.shop.id, email: { startsWith: "batch." } } })).toBe(50);
    const connection = await db.stripeConnection.findUniqueOrThrow({ where: { id: shops.plain.connectionId } });
    expect(connection.lastEventAt).toEqual(new Date(Math.max(...events.map((e) => e.created as number)) * 1000));

    // A job run again for an event already processed (a retried job) changes nothing, in a batch with a new event.
    const { enqueueJob } = await import("~/jobs/queue.server");
    const first = await eventRow(events[0]!.id as string);
    const before = await recoveryOf(sessions[0]!.id as string);
    const fresh = expiredSession({ email: "batch.fresh@example.com", promotions: "opt_in" });
    await enqueueJob(db, "process-stripe-event", { inboundEventId: first.id }, { shopId: shops.plain.shop.id });
    await deliver("plain", stripeEvent("checkout.session.expired", fresh));
    await drain();
    expect(await recoveryOf(sessions[0]!.id as string)).toEqual(before);
    expect((await eventRow(events[0]!.id as string)).processedAt).toEqual(first.processedAt);
    expect((await recoveryOf(fresh.id as string)).messages).toHaveLength(2);
  });

  it("give the outcome of their order: an expired session then its completed session is bought, with no pending email", async () => {
    const expired = expiredSession({ email: "order.one@example.com", promotions: "opt_in" });
    const completed = completedSession({ email: "order.one@example.com", recoveredFrom: expired.id as string, amountTotal: 4200 });
    // And the other way round, in the same batch: the completion first, its expired session after.
    const expiredLate = expiredSession({ email: "order.two@example.com", promotions: "opt_in" });
    const completedFirst = completedSession({ email: "order.two@example.com", recoveredFrom: expiredLate.id as string, amountTotal: 3100 });
    await deliver("plain", stripeEvent("checkout.session.expired", expired));
    await deliver("plain", stripeEvent("checkout.session.completed", completedFirst));
    await deliver("plain", stripeEvent("checkout.session.completed", completed));
    await deliver("plain", stripeEvent("checkout.session.expired", expiredLate));
    expect(await drain()).toBe(1);

    for (const [session, purchase, amount] of [
      [expired, completed, 4200n],
      [expiredLate, completedFirst, 3100n],
    ] as const) {
      const recovery = await db.recovery.findFirstOrThrow({ where: { externalId: session.id as string }, include: { conversions: true, messages: true } });
      // Paid through its link before any email: "Bought without an email" (docs/decisions/082), credited once.
      expect(recovery.status).toBe("purchased");
      expect(recovery.conversions).toEqual([
        expect.objectContaining({ method: "link", matchedBy: "recovered_from", externalId: purchase.id, amountMinor: amount }),
      ]);
      expect(recovery.messages.filter((m) => m.status === "scheduled")).toEqual([]);
    }
  });

  it("store what they collected before a refund or a dispute acts on it: completed then refunded in one batch is reversed", async () => {
    // Each: the expired session, its completion through the recovery link (a purchase), then a reversal of that payment.
    const cases = [
      { email: "refund.one@example.com", amount: 5000, reason: "refunded" as const },
      { email: "dispute.one@example.com", amount: 7000, reason: "disputed" as const },
    ].map((c) => {
      const expired = expiredSession({ email: c.email, promotions: "opt_in", amountTotal: c.amount });
      const paymentIntent = newPaymentIntentId();
      const completed: Record<string, unknown> = {
        ...completedSession({ email: c.email, recoveredFrom: expired.id as string, amountTotal: c.amount }),
        payment_intent: paymentIntent,
      };
      const reversal =
        c.reason === "refunded"
          ? stripeEvent("charge.refunded", refundedCharge({ paymentIntent, amount: c.amount, amountRefunded: c.amount }))
          : stripeEvent("charge.dispute.created", dispute({ paymentIntent, amount: c.amount, status: "needs_response" }));
      return { ...c, expired, completed, reversal };
    });
    // A plain expired session between them, and one after: collected around the reversals.
    const between = expiredSession({ email: "between@example.com", promotions: "opt_in" });
    const after = expiredSession({ email: "after@example.com", promotions: "opt_in" });
    for (const c of cases) {
      await deliver("plain", stripeEvent("checkout.session.expired", c.expired));
      await deliver("plain", stripeEvent("checkout.session.completed", c.completed));
    }
    await deliver("plain", stripeEvent("checkout.session.expired", between));
    for (const c of cases) await deliver("plain", c.reversal);
    await deliver("plain", stripeEvent("checkout.session.expired", after));
    expect(await drain()).toBe(1);

    for (const c of cases) {
      const recovery = await db.recovery.findFirstOrThrow({ where: { externalId: c.expired.id as string }, include: { conversions: true } });
      expect(recovery.conversions).toEqual([
        expect.objectContaining({ matchedBy: "recovered_from", externalId: c.completed.id, amountMinor: BigInt(c.amount), reversedReason: c.reason }),
      ]);
      expect(recovery.conversions[0]!.reversedAt).not.toBeNull();
      expect(await eventRow(c.reversal.id as string)).toMatchObject({ processedAt: expect.any(Date), error: null, ignoredReason: null });
    }
    for (const session of [between, after]) expect((await recoveryOf(session.id as string)).messages).toHaveLength(2);
    expect(await jobTable(db).count({ where: { name: "process-stripe-event", shopId: shops.plain.shop.id } })).toBe(0);
  });

  it("go on past an event that fails: the others are processed, the failing one stays queued with its error and is retried alone", async () => {
    const sessions = Array.from({ length: 9 }, (_, i) => expiredSession({ email: `poison.${i}@example.com`, promotions: "opt_in" }));
    // A NUL character cannot be stored in a PostgreSQL text column: this event's writes fail every time.
    const poison = expiredSession({ email: "poison.bad@example.com", name: "Bad\u0000Name", promotions: "opt_in" });
    const events = [...sessions.slice(0, 4), poison, ...sessions.slice(4)].map((s) => stripeEvent("checkout.session.expired", s));
    for (const event of events) await deliver("plain", event);

    await drain();
    for (const session of sessions) expect((await recoveryOf(session.id as string)).messages).toHaveLength(2);
    const poisonRow = await eventRow(events[4]!.id as string);
    expect(poisonRow.processedAt).toBeNull();
    expect(await db.recovery.count({ where: { externalId: poison.id as string } })).toBe(0);
    // Its own job tried it (attempt counted, error kept for the operator) and will try again later.
    const job = await jobTable(db).findFirstOrThrow({ where: { name: "process-stripe-event", shopId: shops.plain.shop.id } });
    expect(job).toMatchObject({ status: "queued", attempts: 1, payload: JSON.stringify({ inboundEventId: poisonRow.id }) });
    expect(job.lastError).toMatch(/0x00|invalid byte sequence|null character/i);
    expect(job.runAt.getTime()).toBeGreaterThan(Date.now());
    await jobTable(db).deleteMany({ where: { name: "process-stripe-event", shopId: shops.plain.shop.id } });
  });

  it("of a connection with an API key fetch each session's line items (outside the batch's transaction)", async () => {
    const sessions = Array.from({ length: 5 }, (_, i) => expiredSession({ email: `keyed.${i}@example.com`, promotions: "opt_in" }));
    for (const s of sessions) fake.setLineItems(s.id as string, [lineItem({ description: `Item ${s.id as string}`, quantity: 1, unitAmount: 4200 })]);
    for (const s of sessions) await deliver("keyed", stripeEvent("checkout.session.expired", s));
    await drain();
    for (const s of sessions) {
      const recovery = await recoveryOf(s.id as string);
      expect(JSON.parse(recovery.lineItems)).toEqual([expect.objectContaining({ title: `Item ${s.id as string}`, quantity: 1 })]);
      expect(recovery.messages).toHaveLength(2);
    }
    expect(fake.requests.filter((r) => r.path.includes("/line_items"))).toHaveLength(5);
    expect(await jobTable(db).count({ where: { name: "process-stripe-event", shopId: shops.keyed.shop.id } })).toBe(0);
  });
});
