import { beforeEach, describe, expect, it } from "vitest";
import { db } from "~/db.server";
import { ingestSourceEvent } from "~/models/ingest.server";
import type { CheckoutObserved, PurchaseObserved } from "~/recovery/model";

const NOW = new Date("2026-11-20T12:00:00Z");
let shopId: string;

beforeEach(async () => {
  await db.shop.deleteMany();
  shopId = (await db.shop.create({ data: { domain: `s${Math.random().toString(36).slice(2)}.myshopify.com` } })).id;
});

function shopifyCheckout(overrides: Partial<CheckoutObserved> = {}): CheckoutObserved {
  return {
    kind: "checkout.observed",
    source: "shopify",
    externalId: "gid://shopify/AbandonedCheckout/1001",
    checkoutToken: "tok-1001",
    name: "#1001",
    email: null,
    firstName: null,
    consent: { state: "unknown", source: "shopify.customer.defaultEmailAddress" },
    lineItems: [{ title: "Mug", variantTitle: "Blue", quantity: 2, imageUrl: null, unitPriceMinor: 1250, totalPriceMinor: 2500 }],
    total: { amountMinor: 2500, currency: "EUR" },
    recoveryUrl: "https://shop.example/1/checkouts/ac/tok-1001/recover?key=k",
    recoveryUrlExpiresAt: null,
    abandonedAt: new Date("2026-11-20T09:00:00Z"),
    updatedAt: new Date("2026-11-20T09:05:00Z"),
    completedAt: null,
    ...overrides,
  };
}

const webhookCheckout = (overrides: Partial<CheckoutObserved> = {}) =>
  shopifyCheckout({
    externalId: "token:tok-1001",
    email: "Guest@Example.com",
    firstName: "Gia",
    consent: { state: "opt_in", source: "shopify.checkout.buyer_accepts_marketing" },
    lineItems: [],
    ...overrides,
  });

function stripeSession(overrides: Partial<CheckoutObserved> = {}): CheckoutObserved {
  return {
    kind: "checkout.observed",
    source: "stripe",
    externalId: "cs_test_expired_1",
    email: "guest@example.com",
    firstName: "Gia",
    consent: { state: "opt_in", source: "stripe.consent.promotions" },
    lineItems: null,
    total: { amountMinor: 4900, currency: "USD" },
    recoveryUrl: "https://buy.stripe.com/r/live_abc",
    recoveryUrlExpiresAt: new Date("2026-12-20T00:00:00Z"),
    abandonedAt: new Date("2026-11-20T08:00:00Z"),
    updatedAt: new Date("2026-11-20T08:00:00Z"),
    completedAt: null,
    ...overrides,
  };
}

describe("ingesting checkouts", () => {
  it("a webhook then a poll of the same checkout give one recovery, keeping the guest's email and consent", async () => {
    await ingestSourceEvent(db, shopId, webhookCheckout(), NOW);
    await ingestSourceEvent(db, shopId, shopifyCheckout({ updatedAt: new Date("2026-11-20T09:06:00Z") }), NOW);
    const rows = await db.recovery.findMany({ where: { shopId } });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      externalId: "gid://shopify/AbandonedCheckout/1001",
      email: "guest@example.com",
      consent: "opt_in",
      notContactableReason: null,
    });
    expect(JSON.parse(rows[0]!.lineItems)).toHaveLength(1);
  });

  it("a poll then a webhook converge on the same record", async () => {
    await ingestSourceEvent(db, shopId, shopifyCheckout(), NOW);
    await ingestSourceEvent(db, shopId, webhookCheckout({ updatedAt: new Date("2026-11-20T09:04:00Z") }), NOW);
    const rows = await db.recovery.findMany({ where: { shopId } });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ externalId: "gid://shopify/AbandonedCheckout/1001", email: "guest@example.com", consent: "opt_in" });
    expect(await db.contact.count({ where: { shopId } })).toBe(1);
  });

  it("the same observation twice changes nothing", async () => {
    const first = await ingestSourceEvent(db, shopId, webhookCheckout(), NOW);
    const row = await db.recovery.findFirstOrThrow({ where: { shopId } });
    const second = await ingestSourceEvent(db, shopId, webhookCheckout(), NOW);
    expect(first).toMatchObject({ created: true });
    expect(second).toMatchObject({ created: false, changed: false });
    expect(await db.recovery.findFirstOrThrow({ where: { shopId } })).toEqual(row);
  });

  it("an older observation arriving late does not overwrite newer totals", async () => {
    await ingestSourceEvent(db, shopId, shopifyCheckout({ total: { amountMinor: 9900, currency: "EUR" }, updatedAt: new Date("2026-11-20T10:00:00Z") }), NOW);
    await ingestSourceEvent(db, shopId, shopifyCheckout({ total: { amountMinor: 2500, currency: "EUR" } }), NOW);
    expect((await db.recovery.findFirstOrThrow({ where: { shopId } })).totalMinor).toBe(9900n);
  });

  it("a checkout without email is stored as not contactable, with the reason", async () => {
    await ingestSourceEvent(db, shopId, shopifyCheckout(), NOW);
    expect(await db.recovery.findFirstOrThrow({ where: { shopId } })).toMatchObject({ notContactableReason: "no_email", contactId: null });
  });

  it("completedAt records exactly one link conversion and stops the recovery's pending messages", async () => {
    const { recoveryId } = (await ingestSourceEvent(db, shopId, webhookCheckout(), NOW)) as { recoveryId: string };
    await scheduleMessage(recoveryId);
    const completed = webhookCheckout({ completedAt: new Date("2026-11-20T11:00:00Z"), updatedAt: new Date("2026-11-20T11:00:00Z") });
    await ingestSourceEvent(db, shopId, completed, NOW);
    await ingestSourceEvent(db, shopId, completed, NOW);
    const conversions = await db.conversion.findMany({ where: { recoveryId } });
    expect(conversions).toHaveLength(1);
    expect(conversions[0]).toMatchObject({ method: "link", matchedBy: "completedAt", amountMinor: 2500n, currency: "EUR" });
    // Completed before any email went out: "Bought without an email", not recovered (docs/decisions/082).
    expect(await db.recovery.findUniqueOrThrow({ where: { id: recoveryId } })).toMatchObject({ status: "purchased" });
    expect(await db.message.findFirstOrThrow({ where: { recoveryId } })).toMatchObject({ status: "cancelled", skipReason: "purchased" });
  });
});

describe("ingesting purchases", () => {
  it("a Stripe session completed before the expired one it recovers still ends recovered (recovered_from)", async () => {
    const purchase: PurchaseObserved = {
      kind: "purchase.observed",
      source: "stripe",
      externalId: "cs_test_completed_2",
      email: "guest@example.com",
      recoveredFrom: "cs_test_expired_1",
      amount: { amountMinor: 4900, currency: "USD" },
      occurredAt: new Date("2026-11-20T10:00:00Z"),
    };
    await ingestSourceEvent(db, shopId, purchase, NOW);
    await ingestSourceEvent(db, shopId, stripeSession(), NOW);
    const recovery = await db.recovery.findFirstOrThrow({ where: { shopId, externalId: "cs_test_expired_1" } });
    // Bought through its link, but before any Reclaim email: credited, labelled "Bought without an email" (082).
    expect(recovery.status).toBe("purchased");
    expect(await db.conversion.findMany({ where: { recoveryId: recovery.id } })).toEqual([
      expect.objectContaining({ method: "link", matchedBy: "recovered_from", externalId: "cs_test_completed_2" }),
    ]);
    // and replaying both changes nothing
    await ingestSourceEvent(db, shopId, purchase, NOW);
    await ingestSourceEvent(db, shopId, stripeSession(), NOW);
    expect(await db.conversion.count({ where: { shopId } })).toBe(1);
    expect(await db.purchase.count({ where: { shopId } })).toBe(1);
  });

  it("a purchase on Stripe stops the pending messages of the same contact's Shopify recovery", async () => {
    const { recoveryId } = (await ingestSourceEvent(db, shopId, webhookCheckout(), NOW)) as { recoveryId: string };
    await scheduleMessage(recoveryId);
    const result = await ingestSourceEvent(
      db,
      shopId,
      {
        kind: "purchase.observed",
        source: "stripe",
        externalId: "cs_other",
        email: "GUEST@example.com",
        amount: { amountMinor: 100, currency: "USD" },
        occurredAt: new Date("2026-11-20T10:00:00Z"),
      },
      NOW,
    );
    expect(result).toMatchObject({ stoppedMessages: 1 });
    expect(await db.message.findFirstOrThrow({ where: { recoveryId } })).toMatchObject({ status: "cancelled", skipReason: "purchased" });
    expect(await db.decisionLog.findFirstOrThrow({ where: { recoveryId } })).toMatchObject({
      outcome: "cancel",
      reason: "purchased",
      detail: "bought on Stripe",
    });
  });

  it("an order by a contact who clicked a recovery email within the window is credited by window, separately from link", async () => {
    const { recoveryId } = (await ingestSourceEvent(db, shopId, webhookCheckout(), NOW)) as { recoveryId: string };
    const message = await scheduleMessage(recoveryId, "sent");
    await db.click.create({ data: { shopId, messageId: message.id, recoveryId, clickedAt: new Date("2026-11-21T09:00:00Z") } });
    await ingestSourceEvent(
      db,
      shopId,
      {
        kind: "purchase.observed",
        source: "shopify",
        externalId: "gid://shopify/Order/9",
        email: "guest@example.com",
        amount: { amountMinor: 3100, currency: "EUR" },
        occurredAt: new Date("2026-11-23T09:00:00Z"),
      },
      NOW,
    );
    const conversions = await db.conversion.findMany({ where: { recoveryId } });
    expect(conversions).toEqual([expect.objectContaining({ method: "window", matchedBy: "order", amountMinor: 3100n, messageId: message.id })]);
  });

  it("an order outside the attribution window is not credited", async () => {
    const { recoveryId } = (await ingestSourceEvent(db, shopId, webhookCheckout(), NOW)) as { recoveryId: string };
    const message = await scheduleMessage(recoveryId, "sent");
    await db.click.create({ data: { shopId, messageId: message.id, recoveryId, clickedAt: new Date("2026-11-21T09:00:00Z") } });
    await ingestSourceEvent(
      db,
      shopId,
      {
        kind: "purchase.observed",
        source: "shopify",
        externalId: "gid://shopify/Order/10",
        email: "guest@example.com",
        amount: { amountMinor: 3100, currency: "EUR" },
        occurredAt: new Date("2026-11-27T09:00:01Z"),
      },
      NOW,
    );
    expect(await db.conversion.count({ where: { recoveryId } })).toBe(0);
  });

  it("an order with the checkout's token completes that checkout (link), even before the checkout is seen", async () => {
    await ingestSourceEvent(
      db,
      shopId,
      {
        kind: "purchase.observed",
        source: "shopify",
        externalId: "gid://shopify/Order/11",
        email: "guest@example.com",
        checkoutToken: "tok-1001",
        amount: { amountMinor: 2500, currency: "EUR" },
        occurredAt: new Date("2026-11-20T10:30:00Z"),
      },
      NOW,
    );
    await ingestSourceEvent(db, shopId, shopifyCheckout(), NOW);
    const recovery = await db.recovery.findFirstOrThrow({ where: { shopId } });
    expect(recovery.status).toBe("purchased"); // no Reclaim email before the order (docs/decisions/082)
    expect(await db.conversion.findFirstOrThrow({ where: { recoveryId: recovery.id } })).toMatchObject({ method: "link", matchedBy: "checkout_token" });
  });
});

describe("ingesting orders by cart token", () => {
  it("an order that carries only the cart token completes the checkout it came from (link, cart_token)", async () => {
    await ingestSourceEvent(db, shopId, webhookCheckout({ cartToken: "cart-77" }), NOW);
    await ingestSourceEvent(
      db,
      shopId,
      {
        kind: "purchase.observed",
        source: "shopify",
        externalId: "gid://shopify/Order/77",
        email: null,
        cartToken: "cart-77",
        amount: { amountMinor: 2500, currency: "EUR" },
        occurredAt: new Date("2026-11-20T10:45:00Z"),
      },
      NOW,
    );
    const recovery = await db.recovery.findFirstOrThrow({ where: { shopId } });
    expect(recovery).toMatchObject({ status: "purchased", cartToken: "cart-77" }); // no email before it (082)
    expect(await db.conversion.findFirstOrThrow({ where: { recoveryId: recovery.id } })).toMatchObject({ method: "link", matchedBy: "cart_token" });
  });
});

async function scheduleMessage(recoveryId: string, status = "scheduled") {
  const campaign = await db.campaign.create({
    data: { shopId, name: "Test", steps: { create: { position: 1, delayMinutes: 60, subject: "s", bodyTemplate: "b" } } },
    include: { steps: true },
  });
  return db.message.create({
    data: {
      shopId,
      recoveryId,
      campaignId: campaign.id,
      stepId: campaign.steps[0]!.id,
      position: 1,
      status,
      scheduledFor: NOW,
      sentAt: status === "sent" ? new Date("2026-11-20T10:00:00Z") : null,
    },
  });
}
