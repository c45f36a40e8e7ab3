// Purchases in a batch (ingestSourceEvents, docs/decisions/099): Stripe completed sessions (with and without
// recovered_from) and Shopify orders new to the store are stored through the purchase batch path, the rest one by one.
// Whatever the mix — a purchase before or after its checkout, the same buyer twice, a buyer who was emailed and clicked,
// a checkout and its purchase in one batch, a redelivered purchase — the merchant must see exactly what storing the same
// events one by one shows: the same purchases, credits (link or window, with the email they follow), statuses, emails
// stopped with their reasons, contacts' last purchase and Flow triggers.
import fc from "fast-check";
import type { PrismaClient } from "@prisma/client";
import { beforeAll, describe, expect, it } from "vitest";
import type { CheckoutObserved, PurchaseObserved, SourceEvent } from "~/recovery/model";

let db: PrismaClient;
let ingest: typeof import("~/models/ingest.server");
let batch: typeof import("~/models/ingest-purchase-batch.server");
let campaigns: typeof import("~/models/campaign.server");

beforeAll(async () => {
  db = (await import("~/db.server")).db;
  ingest = await import("~/models/ingest.server");
  batch = await import("~/models/ingest-purchase-batch.server");
  campaigns = await import("~/models/campaign.server");
});

const NOW = new Date("2026-11-20T12:00:00.000Z");
const hoursAgo = (h: number) => new Date(NOW.getTime() - h * 3_600_000);
const EMAILS = [null, "Ben@Example.com", ...Array.from({ length: 60 }, (_, i) => `buyer${i}@example.com`)];
interface Pool {
  emails: fc.Arbitrary<string | null>;
  checkouts: number;
}
// The history draws on a few buyers and checkouts, the batch on many: most of a batch's purchases are new (the batch
// path), some meet the history (a returning buyer, the checkout they complete) or each other (one by one).
const HISTORY: Pool = { emails: fc.constantFrom(...EMAILS.slice(0, 8)), checkouts: 12 };
const BATCH: Pool = { emails: fc.oneof(HISTORY.emails, fc.constantFrom(...EMAILS), fc.constantFrom(...EMAILS)), checkouts: 12 };

const checkout = (pool: Pool) =>
  fc
    .record({
      source: fc.constantFrom("shopify" as const, "stripe" as const),
      n: fc.integer({ min: 1, max: pool.checkouts }),
      email: pool.emails,
      startedHoursAgo: fc.integer({ min: 2, max: 90 }),
      cartToken: fc.option(fc.integer({ min: 1, max: pool.checkouts }), { freq: 2 }),
      completed: fc.integer({ min: 0, max: 6 }).map((n) => n === 0),
    })
    .map(({ source, n, email, startedHoursAgo, cartToken, completed }): CheckoutObserved => {
      const abandonedAt = hoursAgo(startedHoursAgo);
      return {
        kind: "checkout.observed",
        source,
        externalId: source === "shopify" ? `gid://shopify/AbandonedCheckout/${n}` : `cs_test_${n}`,
        checkoutToken: source === "shopify" ? `tok-${n}` : null,
        cartToken: source === "shopify" && cartToken ? `cart-${cartToken}` : null,
        name: source === "shopify" ? `#${1000 + n}` : null,
        email,
        firstName: email ? email.split("@")[0]! : null,
        consent: { state: "opt_in", source: "test" },
        lineItems: [],
        total: { amountMinor: 3100, currency: "EUR" },
        recoveryUrl: `https://shop.example/checkouts/${n}/recover`,
        recoveryUrlExpiresAt: null,
        abandonedAt,
        startedAt: source === "stripe" ? new Date(abandonedAt.getTime() - 3_600_000) : null,
        updatedAt: abandonedAt,
        completedAt: completed ? new Date(abandonedAt.getTime() + 1_800_000) : null,
      };
    });

/** A completed Stripe session: a plain one, or one through an expired session's recovery link (`recovered_from`). */
const stripePurchase = (pool: Pool) =>
  fc
    .record({
      n: fc.integer({ min: 1, max: 30 }),
      email: pool.emails,
      recoveredFrom: fc.option(fc.integer({ min: 1, max: pool.checkouts }), { freq: 2 }),
      hoursAgo: fc.integer({ min: 0, max: 80 }),
      amount: fc.integer({ min: 100, max: 9_000 }),
    })
    .map(({ n, email, recoveredFrom, hoursAgo: h, amount }): PurchaseObserved => ({
      kind: "purchase.observed",
      source: "stripe",
      externalId: `cs_test_paid_${n}`,
      email,
      shopifyCustomerId: null,
      checkoutToken: null,
      recoveredFrom: recoveredFrom ? `cs_test_${recoveredFrom}` : null,
      paymentIntentId: `pi_${n}`,
      amount: { amountMinor: amount, currency: "EUR" },
      occurredAt: hoursAgo(h),
    }));

/** A Shopify order, naming its checkout by token and/or cart, sometimes a customer; rarely a test or cancelled one. */
const shopifyOrder = (pool: Pool) =>
  fc
    .record({
      n: fc.integer({ min: 1, max: 30 }),
      email: pool.emails,
      token: fc.option(fc.integer({ min: 1, max: pool.checkouts }), { freq: 2 }),
      cartToken: fc.option(fc.integer({ min: 1, max: pool.checkouts }), { freq: 3 }),
      customer: fc.option(fc.integer({ min: 1, max: 3 }), { freq: 3 }),
      hoursAgo: fc.integer({ min: 0, max: 80 }),
      odd: fc.integer({ min: 0, max: 12 }),
    })
    .map(({ n, email, token, cartToken, customer, hoursAgo: h, odd }): PurchaseObserved => ({
      kind: "purchase.observed",
      source: "shopify",
      externalId: `gid://shopify/Order/${n}`,
      email,
      shopifyCustomerId: customer ? `gid://shopify/Customer/${customer}` : null,
      checkoutToken: token ? `tok-${token}` : null,
      cartToken: cartToken ? `cart-${cartToken}` : null,
      amount: { amountMinor: 4200, currency: "EUR" },
      occurredAt: hoursAgo(h),
      ...(odd === 1 ? { test: true } : odd === 2 ? { cancelledAt: hoursAgo(0) } : {}),
    }));

const event = (pool: Pool): fc.Arbitrary<SourceEvent> =>
  fc.oneof({ arbitrary: checkout(pool), weight: 3 }, { arbitrary: stripePurchase(pool), weight: 3 }, { arbitrary: shopifyOrder(pool), weight: 2 });

/** Emails sent and clicked in the history: which recoveries (by position among the shop's, oldest first) and when. */
const engagement = fc.array(fc.record({ pick: fc.nat(), sentHoursAgo: fc.integer({ min: 1, max: 100 }), clicked: fc.boolean() }), { maxLength: 6 });

/** Marks a scheduled message of the picked recovery sent (and clicked), the same way in every shop. */
type Engagement = { pick: number; sentHoursAgo: number; clicked: boolean }[];
async function engage(shopId: string, picks: Engagement) {
  const recoveries = await db.recovery.findMany({
    where: { shopId, status: { not: "merged" } },
    orderBy: [{ source: "asc" }, { externalId: "asc" }],
    select: { id: true },
  });
  if (recoveries.length === 0) return;
  for (const [i, { pick, sentHoursAgo, clicked }] of picks.entries()) {
    const recovery = recoveries[pick % recoveries.length]!;
    const message = await db.message.findFirst({ where: { recoveryId: recovery.id, status: "scheduled" }, orderBy: { position: "asc" } });
    if (!message) continue;
    // Distinct instants: a tie between two sends or clicks would be the database's pick, in either path.
    const sentAt = new Date(hoursAgo(sentHoursAgo).getTime() + i * 1000);
    await db.message.update({ where: { id: message.id }, data: { status: "sent", sentAt } });
    await db.recovery.update({ where: { id: recovery.id }, data: { status: "contacting" } });
    if (clicked) await db.click.create({ data: { shopId, messageId: message.id, recoveryId: recovery.id, clickedAt: new Date(sentAt.getTime() + 600_000) } });
  }
}

/** What the merchant sees of a shop, without row ids (the two shops' ids differ). */
async function snapshot(shopId: string) {
  const recoveries = await db.recovery.findMany({
    where: { shopId },
    include: { contact: true, messages: true, conversions: { include: { flowTriggerDelivery: true } }, decisions: true },
  });
  const name = new Map(recoveries.map((r) => [r.id, `${r.source}:${r.externalId}`]));
  const messageName = new Map(recoveries.flatMap((r) => r.messages.map((m) => [m.id, `${name.get(r.id)}#${m.position}`] as const)));
  const unId = (s: string) => s.replace(/c[a-z0-9]{20,}/g, (id) => name.get(id) ?? "?");
  const contacts = await db.contact.findMany({ where: { shopId }, orderBy: { email: "asc" } });
  const contactEmail = new Map(contacts.map((c) => [c.id, c.email]));
  const purchases = await db.purchase.findMany({ where: { shopId }, orderBy: [{ source: "asc" }, { externalId: "asc" }] });
  return {
    recoveries: recoveries
      .map((r) => ({
        key: `${r.source}:${r.externalId.startsWith("merged:") ? `merged(${name.get(r.mergedIntoId ?? "")})` : r.externalId}`,
        status: r.status,
        contact: r.contact?.email ?? null,
        email: r.email,
        completedAt: r.completedAt?.toISOString() ?? null,
        tokens: [r.checkoutToken, r.cartToken],
        messages: r.messages.map((m) => `${m.position} ${m.status} ${m.scheduledFor.toISOString()} ${m.skipReason ?? ""}`).sort(),
        conversions: r.conversions
          .map(
            (c) =>
              `${c.method} ${c.matchedBy} ${c.source}:${c.externalId} ${c.amountMinor} ${c.currency} ${c.convertedAt.toISOString()} ` +
              `after=${c.messageId ? messageName.get(c.messageId) : "none"} flow=${c.flowTriggerDelivery ? "yes" : "no"} ${c.reversedAt ? "reversed" : ""}`,
          )
          .sort(),
        decisions: r.decisions.map((d) => `${d.outcome} ${d.reason} ${d.messageId ? messageName.get(d.messageId) : ""} ${unId(d.detail ?? "")}`).sort(),
      }))
      .sort((a, b) => a.key.localeCompare(b.key) || a.status.localeCompare(b.status)),
    contacts: contacts.map((c) => ({
      email: c.email,
      firstName: c.firstName,
      shopifyCustomerId: c.shopifyCustomerId,
      lastPurchaseAt: c.lastPurchaseAt?.toISOString() ?? null,
    })),
    purchases: purchases.map((p) => ({
      ...p,
      id: undefined,
      shopId: undefined,
      createdAt: undefined,
      updatedAt: undefined,
      contactId: p.contactId ? contactEmail.get(p.contactId) : null,
    })),
    flowJobs: await db.flowTriggerDelivery.count({ where: { shopId } }),
  };
}

async function freshShop(label: string) {
  const shop = await db.shop.create({ data: { domain: `${label}-${Math.random().toString(36).slice(2)}.myshopify.com`, currency: "EUR" } });
  await campaigns.ensureDefaultCampaign(db, shop.id);
  return shop.id;
}

/** How many purchases the batch path was offered across a property's runs (so a property cannot pass vacuously). */
let offered = 0;

/** Stores `before` (then `engaged`) in two fresh shops, then `group` one by one in the first and together in the second. */
async function sameAsOneByOne(before: SourceEvent[], engaged: Engagement, group: SourceEvent[]) {
  const one = await freshShop("one");
  const many = await freshShop("many");
  for (const e of before) {
    await ingest.ingestSourceEvent(db, one, e, NOW);
    await ingest.ingestSourceEvent(db, many, e, NOW);
  }
  await engage(one, engaged);
  await engage(many, engaged);
  const alone = [];
  for (const e of group) alone.push(await ingest.ingestSourceEvent(db, one, e, NOW));
  offered += batch.lonePurchases(group).length;
  const together = await ingest.ingestSourceEvents(db, many, group, NOW);
  expect(await snapshot(many)).toEqual(await snapshot(one));
  // The same purchase results too, but for row ids (a checkout's are the checkout batch's business).
  const shape = (r: (typeof together)[number]) =>
    r.kind === "purchase"
      ? { ...r, purchaseId: undefined, convertedRecoveryIds: r.convertedRecoveryIds.length }
      : r.kind === "purchase_cancelled"
        ? { ...r, purchaseId: undefined, reversedConversionIds: r.reversedConversionIds.length }
        : r.kind === "purchase_ignored"
          ? r
          : r.kind;
  expect(together.map(shape)).toEqual(alone.map(shape));
}

describe("storing purchases in a batch", () => {
  it("shows the merchant exactly what storing them one by one shows", async () => {
    offered = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(event(HISTORY), { maxLength: 12 }), engagement, fc.array(event(BATCH), { minLength: 2, maxLength: 30 }), sameAsOneByOne),
      { numRuns: 40, seed: 99 },
    );
    expect(offered).toBeGreaterThan(100);
  }, 300_000);

  it("does so for returning buyers who were emailed and clicked: credits by link and by window, carts stopped", async () => {
    // Each buyer once in the batch, all of them with a history: most of the batch takes the batch path.
    const returning: Pool = { emails: fc.constantFrom(...EMAILS.slice(1, 11)), checkouts: 24 };
    offered = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(checkout(returning), { minLength: 6, maxLength: 20 }),
        fc.array(fc.record({ pick: fc.nat(), sentHoursAgo: fc.integer({ min: 1, max: 100 }), clicked: fc.boolean() }), { minLength: 2, maxLength: 10 }),
        fc.uniqueArray(fc.oneof(stripePurchase(returning), shopifyOrder(returning)), { minLength: 2, maxLength: 10, selector: (e) => e.email?.toLowerCase() }),
        sameAsOneByOne,
      ),
      { numRuns: 40, seed: 100 },
    );
    expect(offered).toBeGreaterThan(100);
  }, 300_000);

  it("does so for purchases that complete earlier checkouts through their link, emailed or not", async () => {
    // The checkouts' buyers and the purchasers mostly apart (a recovery link can be used by anyone it was forwarded
    // to), so most purchases that name a checkout take the batch path.
    const checkouts: Pool = { emails: fc.constantFrom(...EMAILS.slice(1, 9)), checkouts: 30 };
    const payers: Pool = { emails: fc.constantFrom(...EMAILS.slice(9)), checkouts: 30 };
    offered = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(checkout(checkouts), { minLength: 15, maxLength: 30 }),
        fc.array(fc.record({ pick: fc.nat(), sentHoursAgo: fc.integer({ min: 1, max: 100 }), clicked: fc.boolean() }), { minLength: 4, maxLength: 16 }),
        // With them, now and then, an event of a checkout's own buyer: their new checkout, their own purchase.
        fc.uniqueArray(
          fc.oneof(
            { arbitrary: stripePurchase(payers), weight: 3 },
            { arbitrary: shopifyOrder(payers), weight: 3 },
            { arbitrary: checkout(checkouts), weight: 1 },
            { arbitrary: fc.oneof(stripePurchase(checkouts), shopifyOrder(checkouts)), weight: 1 },
          ),
          { minLength: 2, maxLength: 14, selector: (e) => e.email?.toLowerCase() },
        ),
        sameAsOneByOne,
      ),
      { numRuns: 40, seed: 101 },
    );
    expect(offered).toBeGreaterThan(100);
  }, 300_000);

  it("does so when a purchase completes the checkout of a buyer with other events in the batch (the order matters)", async () => {
    // Ann's expired session (emailed), then in one batch: Ann's new session or her own purchase, and Bob's purchase
    // through Ann's recovery link. One by one, Ann's event stops her older session first (superseded, or "bought");
    // Bob's purchase then credits it. The batch must not credit it first.
    const session = (n: number, hours: number, email: string): CheckoutObserved => ({
      kind: "checkout.observed",
      source: "stripe",
      externalId: `cs_test_${n}`,
      checkoutToken: null,
      name: null,
      email,
      firstName: null,
      consent: { state: "opt_in", source: "test" },
      lineItems: [],
      total: { amountMinor: 3100, currency: "EUR" },
      recoveryUrl: `https://checkout.stripe.com/c/pay/cs_test_${n}`,
      recoveryUrlExpiresAt: null,
      abandonedAt: hoursAgo(hours),
      startedAt: hoursAgo(hours + 1),
      updatedAt: hoursAgo(hours),
      completedAt: null,
    });
    const paid = (n: number, email: string, recoveredFrom: string | null): PurchaseObserved => ({
      kind: "purchase.observed",
      source: "stripe",
      externalId: `cs_test_paid_${n}`,
      email,
      recoveredFrom,
      paymentIntentId: `pi_${n}`,
      amount: { amountMinor: 3100, currency: "EUR" },
      occurredAt: hoursAgo(1),
    });
    const history = [session(1, 10, "ann@example.com")];
    const bobThroughAnnsLink = paid(1, "bob@example.com", "cs_test_1");
    for (const annFirst of [session(2, 2, "ann@example.com"), paid(2, "ann@example.com", null)]) {
      await sameAsOneByOne(history, [{ pick: 0, sentHoursAgo: 5, clicked: true }], [annFirst, bobThroughAnnsLink]);
      await sameAsOneByOne(history, [], [annFirst, bobThroughAnnsLink]);
      await sameAsOneByOne(history, [], [bobThroughAnnsLink, annFirst]);
    }
    // A session that expires and is paid through its link in the same batch (the session first: both batched), among
    // other buyers' events; and the other way round (the purchase first: one by one).
    const carl = session(3, 3, "carl@example.com");
    const daveThroughCarlsLink = paid(3, "dave@example.com", "cs_test_3");
    const others = [session(4, 2, "erin@example.com"), paid(4, "fay@example.com", null)];
    await sameAsOneByOne(history, [], [carl, others[0]!, daveThroughCarlsLink, others[1]!]);
    await sameAsOneByOne(history, [], [daveThroughCarlsLink, others[0]!, carl, others[1]!]);
    expect(batch.purchasesOfEarlierSessions([carl, others[0]!, daveThroughCarlsLink, others[1]!])).toEqual(new Map([[2, 0]]));
  });

  it("stores a batch of new purchases in a handful of statements, whatever its size", async () => {
    const shopId = await freshShop("statements");
    // Expired sessions stored earlier, some of which the purchases complete through their recovery link.
    const expired = Array.from({ length: 300 }, (_, i): CheckoutObserved => ({
      kind: "checkout.observed",
      source: "stripe",
      externalId: `cs_test_expired_${i}`,
      checkoutToken: null,
      cartToken: null,
      name: null,
      email: `lost${i}@example.com`,
      firstName: null,
      consent: { state: "opt_in", source: "test" },
      lineItems: [],
      total: { amountMinor: 4200, currency: "EUR" },
      recoveryUrl: `https://checkout.stripe.com/c/pay/cs_test_expired_${i}`,
      recoveryUrlExpiresAt: null,
      abandonedAt: hoursAgo(3),
      startedAt: hoursAgo(4),
      updatedAt: hoursAgo(3),
      completedAt: null,
    }));
    await ingest.ingestSourceEvents(db, shopId, expired, NOW);
    const purchases = (from: number, count: number) =>
      Array.from({ length: count }, (_, i): PurchaseObserved => ({
        kind: "purchase.observed",
        source: "stripe",
        externalId: `cs_test_paid_${from + i}`,
        email: `payer${from + i}@example.com`,
        recoveredFrom: (from + i) % 3 === 0 ? `cs_test_expired_${from + i}` : null,
        paymentIntentId: `pi_${from + i}`,
        amount: { amountMinor: 4200, currency: "EUR" },
        occurredAt: hoursAgo(1),
      }));
    const statementsFor = async (events: PurchaseObserved[]) => {
      let count = 0;
      const counting = db.$extends({ query: { $allOperations: ({ args, query }) => (count++, query(args)) } }) as unknown as PrismaClient;
      await ingest.ingestSourceEvents(counting, shopId, events, NOW);
      return count;
    };
    const small = await statementsFor(purchases(0, 10));
    const large = await statementsFor(purchases(10, 240));
    expect(large).toBeLessThanOrEqual(small + 2);
    expect(small).toBeLessThan(20);
    expect(await db.purchase.count({ where: { shopId } })).toBe(250);
    // Each purchase through a link credited its session, which stopped its emails.
    expect(await db.conversion.count({ where: { shopId, method: "link" } })).toBe(84);
    expect(await db.recovery.count({ where: { shopId, status: "purchased" } })).toBe(84);
    const linked = { recovery: { conversions: { some: {} } } };
    expect(await db.message.count({ where: { shopId, ...linked, status: "scheduled" } })).toBe(0);
    expect(await db.message.count({ where: { shopId, ...linked, status: "cancelled", skipReason: "purchased" } })).toBeGreaterThan(0);
    expect(await db.contact.count({ where: { shopId, email: { startsWith: "payer" }, lastPurchaseAt: hoursAgo(1) } })).toBe(250);
  });
});
