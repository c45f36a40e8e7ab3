// A deployment with the Stripe source switched off (STRIPE_SOURCE_ENABLED=false, the Shopify App Store listing; ADR 077):
// Stripe's deliveries are refused with a clear answer and nothing is stored; events stored before the switch are closed
// without effect; Stripe purchases are not reported to Shopify Flow.
import type { PrismaClient } from "@prisma/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadApp } from "../helpers/app-server";
import { expiredSession, stripeEvent } from "../../app/demo/fakes/stripe-api/objects";
import { stripeWebhookRequest } from "../../app/demo/fakes/stripe-api/webhooks";
import { jobTable } from "../helpers/jobs";

const SECRET = "whsec_sourceOffSecret0123456789abcdefghij";
let app: Awaited<ReturnType<typeof loadApp>>;
let db: PrismaClient;
let connectionId: string;
let shopId: string;

beforeAll(async () => {
  process.env.STRIPE_SOURCE_ENABLED = "false"; // before any app module reads the environment
  app = await loadApp();
  db = (await import("~/db.server")).db;
  const { connectStripe } = await import("~/models/stripe-connection.server");
  const shop = await db.shop.create({ data: { domain: "stripe-off.myshopify.com" } });
  shopId = shop.id;
  const connected = await connectStripe(db, shop.id, { webhookSecret: SECRET });
  if (!connected.ok) throw new Error("could not connect");
  connectionId = connected.connection.id;
});
afterAll(async () => {
  await app?.close();
  delete process.env.STRIPE_SOURCE_ENABLED;
});

describe("STRIPE_SOURCE_ENABLED=false", () => {
  it("refuses a validly signed Stripe webhook with 410 and says why, storing nothing", async () => {
    const event = stripeEvent("checkout.session.expired", expiredSession({ email: "off@example.com", promotions: "opt_in" }));
    const response = await app.handle(stripeWebhookRequest(`/webhooks/stripe/${connectionId}`, event, { secret: SECRET }));
    expect(response.status).toBe(410);
    expect(await response.text()).toMatch(
      /Stripe recovery is turned off on this Reclaim deployment \(STRIPE_SOURCE_ENABLED=false\); this event was not stored/,
    );
    expect(await db.inboundEvent.count()).toBe(0);
    expect(await jobTable(db).count()).toBe(0);
    expect(await db.recovery.count()).toBe(0);
  });

  it("closes an event stored before the switch without making a recovery", async () => {
    const { recordInboundEvent } = await import("~/models/inbound-event.server");
    const { JobRunner } = await import("../helpers/jobs");
    const { jobDefinitions } = await import("~/jobs/registry.server");
    const event = stripeEvent("checkout.session.expired", expiredSession({ email: "before@example.com", promotions: "opt_in" }));
    await recordInboundEvent(
      db,
      { source: "stripe", receiver: connectionId, externalId: event.id, topic: event.type, payload: JSON.stringify(event), shopId },
      { name: "process-stripe-event" },
    );
    await new JobRunner({ db, definitions: jobDefinitions }).drain();
    expect(await db.inboundEvent.findFirstOrThrow({ where: { externalId: event.id } })).toMatchObject({
      processedAt: expect.any(Date),
      error: "the Stripe source is turned off on this deployment (STRIPE_SOURCE_ENABLED=false)",
    });
    expect(await db.recovery.count()).toBe(0);
  });

  it("reports no Stripe purchase to Shopify Flow", async () => {
    const { recordFlowTrigger } = await import("~/models/flow-trigger.server");
    const delivered = await db.$transaction((tx) =>
      recordFlowTrigger(
        tx,
        { id: "c1", shopId, recoveryId: "r1", messageId: "m1", source: "stripe", amountMinor: 100n, currency: "USD", method: "link" } as never,
        new Date(),
      ),
    );
    expect(delivered).toBeNull();
    expect(await db.flowTriggerDelivery.count()).toBe(0);
  });
});
