// A batch of Stripe events runs a refund or dispute before the events collected ahead of it when none of them can meet
// it (docs/decisions/099), instead of storing them first. Whatever the stream — sessions expiring, completing (through a
// recovery link or not), refunds full and partial, disputes opened and closed, of payments stored before or in the same
// batch — a shop whose events were processed together must show what a shop that processed them one at a time shows.
import fc from "fast-check";
import type { PrismaClient } from "@prisma/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadApp } from "../helpers/app-server";
import { completedSession, expiredSession, stripeEvent } from "../../app/demo/fakes/stripe-api/objects";
import { dispute, refundedCharge } from "../../app/demo/fakes/stripe-api/payments";
import { stripeWebhookRequest } from "../../app/demo/fakes/stripe-api/webhooks";

const SECRET = "whsec_reversalOrderSecret0123456789abcd";
let app: Awaited<ReturnType<typeof loadApp>>;
let db: PrismaClient;
let drain: () => Promise<number>;

beforeAll(async () => {
  app = await loadApp();
  db = (await import("~/db.server")).db;
  const { JobRunner } = await import("../helpers/jobs");
  const { jobDefinitions } = await import("~/jobs/registry.server");
  drain = () => new JobRunner({ db, definitions: jobDefinitions }).drain();
});
afterAll(async () => {
  await app?.close();
});

async function connectedShop(label: string) {
  const { connectStripe } = await import("~/models/stripe-connection.server");
  const { checkApiKey } = await import("~/sources/stripe/api.server");
  const shop = await db.shop.create({ data: { domain: `${label}-${Math.random().toString(36).slice(2)}.myshopify.com` } });
  await db.campaign.create({
    data: {
      shopId: shop.id,
      name: "Default",
      steps: { create: [{ position: 1, delayMinutes: 60, subject: "You left something", bodyTemplate: "…" }] },
    },
  });
  const connected = await connectStripe(db, shop.id, { webhookSecret: SECRET, apiKey: null }, { checkKey: checkApiKey });
  if (!connected.ok) throw new Error("could not connect");
  return { shopId: shop.id, connectionId: connected.connection.id };
}

// Recent, so that no email is due yet (a late start's shift would depend on when each shop processed the event).
const T0 = Math.floor(Date.now() / 1000) - 600;
type Step =
  | { kind: "expired"; n: number; buyer: number }
  | { kind: "completed"; n: number; buyer: number; from: number | null }
  | { kind: "refunded"; n: number; full: boolean }
  | { kind: "dispute"; n: number; phase: "created" | "won" | "lost" };

/** The Stripe event of a step, the same for every shop (ids derived from the step, times from its position). */
function eventOf(step: Step, at: number): Record<string, unknown> {
  const created = T0 + at;
  const email = (buyer: number) => `buyer${buyer}@example.com`;
  const id = `${step.kind}_${at}`;
  switch (step.kind) {
    case "expired":
      return stripeEvent(
        "checkout.session.expired",
        expiredSession({ id: `cs_test_e${step.n}`, email: email(step.buyer), promotions: "opt_in", amountTotal: 3000, created: created - 1800 }),
        { id: `evt_${id}`, created },
      );
    case "completed":
      return stripeEvent(
        "checkout.session.completed",
        {
          ...completedSession({
            id: `cs_test_p${step.n}`,
            email: email(step.buyer),
            amountTotal: 3000,
            recoveredFrom: step.from ? `cs_test_e${step.from}` : null,
            created: created - 600,
          }),
          payment_intent: `pi_p${step.n}`,
        },
        { id: `evt_${id}`, created },
      );
    case "refunded":
      return stripeEvent(
        "charge.refunded",
        { ...refundedCharge({ paymentIntent: `pi_p${step.n}`, amount: 3000, amountRefunded: step.full ? 3000 : 1000 }), id: `ch_${id}` },
        { id: `evt_${id}`, created },
      );
    case "dispute":
      return stripeEvent(
        step.phase === "created" ? "charge.dispute.created" : "charge.dispute.closed",
        { ...dispute({ paymentIntent: `pi_p${step.n}`, amount: 3000, status: step.phase === "created" ? "needs_response" : step.phase }), id: `dp_${id}` },
        { id: `evt_${id}`, created },
      );
  }
}

const step: fc.Arbitrary<Step> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant("expired" as const), n: fc.integer({ min: 1, max: 12 }), buyer: fc.integer({ min: 1, max: 6 }) }), weight: 4 },
  {
    arbitrary: fc.record({
      kind: fc.constant("completed" as const),
      n: fc.integer({ min: 1, max: 12 }),
      buyer: fc.integer({ min: 1, max: 8 }),
      from: fc.option(fc.integer({ min: 1, max: 12 }), { freq: 2 }),
    }),
    weight: 3,
  },
  { arbitrary: fc.record({ kind: fc.constant("refunded" as const), n: fc.integer({ min: 1, max: 12 }), full: fc.boolean() }), weight: 2 },
  {
    arbitrary: fc.record({
      kind: fc.constant("dispute" as const),
      n: fc.integer({ min: 1, max: 12 }),
      phase: fc.constantFrom("created" as const, "won" as const, "lost" as const),
    }),
    weight: 1,
  },
);

async function snapshot(shopId: string) {
  const recoveries = await db.recovery.findMany({ where: { shopId }, include: { contact: true, messages: true, conversions: true, decisions: true } });
  return {
    recoveries: recoveries
      .map((r) => ({
        key: r.externalId,
        status: r.status,
        contact: r.contact?.email ?? null,
        completedAt: r.completedAt?.toISOString() ?? null,
        messages: r.messages.map((m) => `${m.position} ${m.status} ${m.skipReason ?? ""}`).sort(),
        conversions: r.conversions
          .map(
            (c) =>
              `${c.method} ${c.matchedBy} ${c.externalId} ${c.amountMinor} refunded=${c.refundedMinor} ${c.reversedAt ? `reversed ${c.reversedReason}` : ""}`,
          )
          .sort(),
        decisions: r.decisions.map((d) => `${d.outcome} ${d.reason} ${d.detail ?? ""}`).sort(),
      }))
      .sort((a, b) => a.key.localeCompare(b.key)),
    contacts: (await db.contact.findMany({ where: { shopId }, orderBy: { email: "asc" } })).map((c) => [c.email, c.lastPurchaseAt?.toISOString() ?? null]),
    purchases: (await db.purchase.findMany({ where: { shopId }, orderBy: { externalId: "asc" } })).map((p) => [
      p.externalId,
      p.paymentIntentId,
      p.recoveredFrom,
    ]),
    events: (await db.inboundEvent.findMany({ where: { receiver: { in: await connectionIds(shopId) } }, orderBy: { externalId: "asc" } })).map((e) => [
      e.externalId,
      e.processedAt !== null,
      e.error,
      e.ignoredReason,
    ]),
  };
}
const connectionIds = async (shopId: string) => (await db.stripeConnection.findMany({ where: { shopId }, select: { id: true } })).map((c) => c.id);

/** Processes `history` one event at a time in two fresh shops, then `group` one at a time in one and together in the other. */
async function sameAsOneAtATime(history: Step[], group: Step[]) {
  const one = await connectedShop("one");
  const many = await connectedShop("many");
  const deliver = async (to: { connectionId: string }, event: Record<string, unknown>) => {
    const response = await app.handle(stripeWebhookRequest(`/webhooks/stripe/${to.connectionId}`, event, { secret: SECRET }));
    expect(response.status).toBe(200);
  };
  for (const [i, s] of history.entries()) {
    await deliver(one, eventOf(s, i));
    await deliver(many, eventOf(s, i));
    await drain();
  }
  for (const [i, s] of group.entries()) {
    await deliver(one, eventOf(s, history.length + i));
    await drain();
  }
  for (const [i, s] of group.entries()) await deliver(many, eventOf(s, history.length + i));
  expect(await drain()).toBe(1);
  expect(await snapshot(many.shopId)).toEqual(await snapshot(one.shopId));
}

describe("a refund or dispute in a batch of Stripe events", () => {
  it("leaves the shop as processing the events one at a time leaves it", async () => {
    await fc.assert(fc.asyncProperty(fc.array(step, { maxLength: 10 }), fc.array(step, { minLength: 2, maxLength: 24 }), sameAsOneAtATime), {
      numRuns: 25,
      seed: 99,
    });
  }, 300_000);

  it("waits for a collected event that it meets: the payment completed it, or the checkout its payment names", async () => {
    // Paid in the same batch, then refunded: the refund must see the purchase.
    await sameAsOneAtATime(
      [{ kind: "expired", n: 1, buyer: 1 }],
      [
        { kind: "completed", n: 1, buyer: 2, from: 1 },
        { kind: "refunded", n: 1, full: true },
      ],
    );
    // Paid through a recovery link before the expired session arrived; the session arrives (and is credited with that
    // payment) in the same batch as the payment's refund: the refund must reverse that credit.
    await sameAsOneAtATime(
      [{ kind: "completed", n: 2, buyer: 3, from: 5 }],
      [
        { kind: "expired", n: 5, buyer: 4 },
        { kind: "refunded", n: 2, full: true },
        { kind: "expired", n: 6, buyer: 5 },
      ],
    );
    // Unrelated: the refund of an earlier payment runs before the collected sessions, with the same outcome.
    await sameAsOneAtATime(
      [
        { kind: "expired", n: 7, buyer: 1 },
        { kind: "completed", n: 3, buyer: 1, from: 7 },
      ],
      [
        { kind: "expired", n: 8, buyer: 2 },
        { kind: "refunded", n: 3, full: false },
        { kind: "dispute", n: 3, phase: "created" },
        { kind: "expired", n: 9, buyer: 1 },
      ],
    );
  }, 60_000);
});
