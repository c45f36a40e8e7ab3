// A page of the Shopify sync and a batch of webhook events are stored through the batch path (ingestSourceEvents,
// docs/decisions/097): new checkouts in a handful of statements, the rest one by one. Whatever the mix — returning
// buyers, checkouts completed when first seen, purchases that came first, a checkout stored before, the same checkout
// twice in one batch — the merchant must see exactly what storing the same events one by one shows: the same
// recoveries and statuses, the same scheduled emails, credits, contacts and decision-log lines.
import fc from "fast-check";
import type { PrismaClient } from "@prisma/client";
import { beforeAll, describe, expect, it } from "vitest";
import type { CheckoutObserved, PurchaseObserved, SourceEvent } from "~/recovery/model";

let db: PrismaClient;
let ingest: typeof import("~/models/ingest.server");
let campaigns: typeof import("~/models/campaign.server");

beforeAll(async () => {
  db = (await import("~/db.server")).db;
  ingest = await import("~/models/ingest.server");
  campaigns = await import("~/models/campaign.server");
});

const NOW = new Date("2026-11-20T12:00:00.000Z");
const hoursAgo = (h: number) => new Date(NOW.getTime() - h * 3_600_000);
// The history draws on a few buyers and checkouts, the batch on many: most of a batch is new (the batch path), some of
// it meets the history (a returning buyer, a checkout stored before) or itself (one by one).
const EMAILS = [null, "Ben@Example.com", ...Array.from({ length: 100 }, (_, i) => `buyer${i}@example.com`)];
const HISTORY = { emails: fc.constantFrom(...EMAILS.slice(0, 6)), checkouts: 10 };
const BATCH = { emails: fc.oneof(HISTORY.emails, fc.constantFrom(...EMAILS), fc.constantFrom(...EMAILS)), checkouts: 80 };

const checkout = (pool: typeof BATCH) =>
  fc
    .record({
      source: fc.constantFrom("shopify" as const, "stripe" as const),
      n: fc.integer({ min: 1, max: pool.checkouts }),
      email: pool.emails,
      optIn: fc.boolean(),
      startedHoursAgo: fc.integer({ min: 1, max: 60 }),
      completedAfterHours: fc.option(fc.integer({ min: 0, max: 3 }), { freq: 3 }),
      withLink: fc.integer({ min: 0, max: 4 }).map((n) => n > 0),
      cartToken: fc.option(fc.integer({ min: 1, max: pool.checkouts }), { freq: 2 }),
      total: fc.integer({ min: 500, max: 30_000 }),
    })
    .map(({ source, n, email, optIn, startedHoursAgo, completedAfterHours, withLink, cartToken, total }): CheckoutObserved => {
      const abandonedAt = hoursAgo(startedHoursAgo);
      const completedAt = completedAfterHours === null ? null : new Date(Math.min(NOW.getTime(), abandonedAt.getTime() + completedAfterHours * 3_600_000));
      return {
        kind: "checkout.observed",
        source,
        externalId: source === "shopify" ? `gid://shopify/AbandonedCheckout/${n}` : `cs_test_${n}`,
        checkoutToken: source === "shopify" ? `tok-${n}` : null,
        cartToken: source === "shopify" && cartToken ? `cart-${cartToken}` : null,
        name: source === "shopify" ? `#${1000 + n}` : null,
        email,
        firstName: email ? email.split("@")[0]! : null,
        consent: { state: optIn ? "opt_in" : "unknown", source: "test" },
        lineItems: [{ title: "Mug", variantTitle: null, quantity: 1, imageUrl: null, unitPriceMinor: total, totalPriceMinor: total }],
        total: { amountMinor: total, currency: "EUR" },
        recoveryUrl: withLink ? `https://shop.example/checkouts/${n}/recover` : null,
        recoveryUrlExpiresAt: null,
        abandonedAt,
        startedAt: source === "stripe" ? new Date(abandonedAt.getTime() - 3_600_000) : null,
        updatedAt: completedAt ?? abandonedAt,
        completedAt,
      };
    });

const purchase = (pool: typeof BATCH) =>
  fc
    .record({
      n: fc.integer({ min: 1, max: 20 }),
      email: pool.emails,
      token: fc.option(fc.integer({ min: 1, max: pool.checkouts }), { freq: 2 }),
      hoursAgo: fc.integer({ min: 0, max: 70 }),
    })
    .map(({ n, email, token, hoursAgo: h }): PurchaseObserved => ({
      kind: "purchase.observed",
      source: "shopify",
      externalId: `gid://shopify/Order/${n}`,
      email,
      checkoutToken: token ? `tok-${token}` : null,
      amount: { amountMinor: 4200, currency: "EUR" },
      occurredAt: hoursAgo(h),
    }));

const event = (pool: typeof BATCH): fc.Arbitrary<SourceEvent> => fc.oneof({ arbitrary: checkout(pool), weight: 5 }, { arbitrary: purchase(pool), weight: 1 });

/** What the merchant sees of a shop, without row ids (the two shops' ids differ). */
async function snapshot(shopId: string) {
  const recoveries = await db.recovery.findMany({
    where: { shopId },
    include: { contact: true, messages: true, conversions: true, decisions: true },
  });
  const name = new Map(recoveries.map((r) => [r.id, `${r.source}:${r.externalId}`]));
  const unId = (s: string) => s.replace(/c[a-z0-9]{20,}/g, (id) => name.get(id) ?? "?");
  const contacts = await db.contact.findMany({ where: { shopId }, orderBy: { email: "asc" } });
  return {
    recoveries: recoveries
      .map((r) => ({
        key: `${r.source}:${r.externalId.startsWith("merged:") ? `merged(${name.get(r.mergedIntoId ?? "")})` : r.externalId}`,
        status: r.status,
        contact: r.contact?.email ?? null,
        email: r.email,
        notContactable: r.notContactableReason,
        completedAt: r.completedAt?.toISOString() ?? null,
        consent: r.consent,
        tokens: [r.checkoutToken, r.cartToken],
        messages: r.messages.map((m) => `${m.position} ${m.status} ${m.scheduledFor.toISOString()} ${m.skipReason ?? ""}`).sort(),
        conversions: r.conversions
          .map((c) => `${c.method} ${c.matchedBy} ${c.amountMinor} ${c.convertedAt.toISOString()} ${c.reversedAt ? "reversed" : ""}`)
          .sort(),
        decisions: r.decisions.map((d) => `${d.outcome} ${d.reason} ${unId(d.detail ?? "")}`).sort(),
      }))
      .sort((a, b) => a.key.localeCompare(b.key) || a.status.localeCompare(b.status)),
    contacts: contacts.map((c) => ({ email: c.email, firstName: c.firstName, lastPurchaseAt: c.lastPurchaseAt?.toISOString() ?? null })),
    purchases: (await db.purchase.findMany({ where: { shopId }, select: { externalId: true, contactId: true } })).length,
  };
}

async function freshShop(label: string) {
  const shop = await db.shop.create({ data: { domain: `${label}-${Math.random().toString(36).slice(2)}.myshopify.com`, currency: "EUR" } });
  await campaigns.ensureDefaultCampaign(db, shop.id);
  return shop.id;
}

/** Stores `before` in two fresh shops, then `batch` one by one in the first and together in the second. */
async function sameAsOneByOne(before: SourceEvent[], batch: SourceEvent[]) {
  const one = await freshShop("one");
  const many = await freshShop("many");
  for (const e of before) {
    await ingest.ingestSourceEvent(db, one, e, NOW);
    await ingest.ingestSourceEvent(db, many, e, NOW);
  }
  for (const e of batch) await ingest.ingestSourceEvent(db, one, e, NOW);
  const results = await ingest.ingestSourceEvents(db, many, batch, NOW);
  expect(results).toHaveLength(batch.length);
  expect(await snapshot(many)).toEqual(await snapshot(one));
}

describe("storing events in a batch", () => {
  it("shows the merchant exactly what storing them one by one shows", async () => {
    await fc.assert(fc.asyncProperty(fc.array(event(HISTORY), { maxLength: 8 }), fc.array(event(BATCH), { minLength: 2, maxLength: 30 }), sameAsOneByOne), {
      numRuns: 30,
      seed: 14,
    });
  }, 240_000);

  it("does so for returning buyers too: superseded, superseding, bought since, completed when first seen", async () => {
    // Each buyer once in the batch (so all of it takes the batch path), all of them with a history.
    const returning = { emails: fc.constantFrom(...EMAILS.slice(1, 13)), checkouts: 40 };
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof({ arbitrary: checkout(returning), weight: 2 }, { arbitrary: purchase(returning), weight: 1 }), { minLength: 4, maxLength: 14 }),
        fc.uniqueArray(checkout(returning), { minLength: 2, maxLength: 12, selector: (e) => e.email?.toLowerCase() }),
        sameAsOneByOne,
      ),
      { numRuns: 40, seed: 15 },
    );
  }, 240_000);

  it("stores a page of new checkouts in a handful of statements, whatever its size", async () => {
    const shopId = await freshShop("statements");
    const page = (from: number, count: number) =>
      Array.from({ length: count }, (_, i): CheckoutObserved => {
        const n = from + i;
        return {
          kind: "checkout.observed",
          source: "shopify",
          externalId: `gid://shopify/AbandonedCheckout/${n}`,
          checkoutToken: `tok-${n}`,
          cartToken: `cart-${n}`,
          name: `#${n}`,
          email: `buyer${n}@example.com`,
          firstName: "Buyer",
          consent: { state: "opt_in", source: "test" },
          lineItems: [],
          total: { amountMinor: 4200, currency: "EUR" },
          recoveryUrl: `https://shop.example/checkouts/${n}/recover`,
          recoveryUrlExpiresAt: null,
          abandonedAt: hoursAgo(1),
          updatedAt: hoursAgo(1),
          completedAt: n % 4 === 0 ? hoursAgo(0.5) : null,
        };
      });
    const statementsFor = async (events: CheckoutObserved[]) => {
      let count = 0;
      const counting = db.$extends({ query: { $allOperations: ({ args, query }) => (count++, query(args)) } }) as unknown as PrismaClient;
      await ingest.ingestSourceEvents(counting, shopId, events, NOW);
      return count;
    };
    const first = page(1, 10);
    const second = page(1000, 250);
    const small = await statementsFor(first);
    const large = await statementsFor(second);
    expect(large).toBeLessThanOrEqual(small + 2);
    // Every checkout stored, and every one still open got the default campaign's emails.
    const open = [...first, ...second].filter((c) => c.completedAt === null).length;
    const steps = await db.campaignStep.count({ where: { campaign: { shopId, isDefault: true } } });
    expect(await db.recovery.count({ where: { shopId } })).toBe(260);
    expect(await db.recovery.count({ where: { shopId, status: "purchased" } })).toBe(260 - open);
    expect(await db.message.count({ where: { shopId } })).toBe(open * steps);
  });
});
