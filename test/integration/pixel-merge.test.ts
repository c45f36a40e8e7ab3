// Checkout-pixel events are merged per (shop, checkout) (docs/decisions/051, 079): a burst for one checkout is one row
// updated in place with one processing job, and processing the merged row gives the recovery that processing every
// event on its own gave (the reference below is exactly what the job did before: ingest each event in turn).
import type { PrismaClient, Recovery, Shop } from "@prisma/client";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { collectorRequest } from "../helpers/pixel";
import { jobTable } from "../helpers/jobs";
import type { CheckoutPixelObserved } from "~/recovery/model";

let db: PrismaClient;
let receive: typeof import("~/sources/pixel/receive.server");
let collectorKeyFor: (domain: string) => string;
let runJobs: () => Promise<number>;
let ingest: typeof import("~/models/ingest.server").ingestSourceEvent;
let toObservation: typeof import("~/sources/pixel/payload").toPixelObservation;

beforeAll(async () => {
  db = (await import("~/db.server")).db;
  receive = await import("~/sources/pixel/receive.server");
  ({ collectorKeyFor } = await import("~/sources/pixel/collector-key.server"));
  ({ ingestSourceEvent: ingest } = await import("~/models/ingest.server"));
  ({ toPixelObservation: toObservation } = await import("~/sources/pixel/payload"));
  const { JobRunner } = await import("../helpers/jobs");
  const { jobDefinitions } = await import("~/jobs/registry.server");
  const pixelJob = jobDefinitions.filter((d) => d.name === "process-pixel-event");
  runJobs = () => new JobRunner({ db, definitions: pixelJob, clock: { now: () => new Date(Date.now() + 86_400_000) } }).drain();
});

interface PixelEvent {
  id: string;
  name: "checkout_started" | "checkout_contact_info_submitted" | "checkout_completed";
  at: Date;
  email: string | null;
  accepts: boolean | null;
  total: number;
  items: { title: string; quantity: number; price: number }[];
}

let shops = 0;
async function newShop(label: string): Promise<Shop> {
  return db.shop.create({ data: { domain: `${label}-${Date.now().toString(36)}-${++shops}.myshopify.com` } });
}

/** The request body the pixel sends (extensions/reclaim-checkout-pixel), for one event. */
function body(shop: Shop, token: string, e: PixelEvent) {
  return {
    event: { id: e.id, name: e.name, at: e.at.toISOString() },
    checkout: {
      token,
      email: e.email,
      buyerAcceptsEmailMarketing: e.accepts,
      currencyCode: "USD",
      totalPrice: { amount: e.total, currencyCode: "USD" },
      subtotalPrice: null,
      lineItemCount: e.items.reduce((n, i) => n + i.quantity, 0),
      lineItems: e.items.map((i) => ({
        title: i.title,
        variantTitle: null,
        quantity: i.quantity,
        unitPrice: { amount: i.price, currencyCode: "USD" },
        linePrice: { amount: i.price * i.quantity, currencyCode: "USD" },
        imageUrl: null,
      })),
    },
  };
}

/** Through the real collector, at `now` (its rate limits and cap count arrival times). */
async function post(shop: Shop, token: string, e: PixelEvent, now: Date) {
  const request = collectorRequest(JSON.stringify({ v: 1, shop: shop.domain, key: collectorKeyFor(shop.domain), ...body(shop, token, e) }));
  const response = await receive.receivePixelEvent(request, `198.18.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}`, now);
  return { status: response.status, body: (await response.json()) as { status?: string; error?: string } };
}

/** What processing did before events were merged: every event, mapped at its arrival and ingested in turn. */
async function ingestOneByOne(shop: Shop, token: string, events: { event: PixelEvent; receivedAt: Date }[]) {
  for (const { event, receivedAt } of events) {
    const observation = toObservation(body(shop, token, event), receivedAt);
    if (!observation.ok) throw new Error(observation.reason);
    await ingest(db, shop.id, observation.value as CheckoutPixelObserved, new Date(Date.now() + 86_400_000));
  }
}

/** A recovery as the merchant sees it (ids and bookkeeping times aside). */
function comparable(r: Recovery | null) {
  if (!r) return null;
  return {
    email: r.email,
    consent: r.consent,
    consentFrom: JSON.parse(r.consentEvidence).source ?? null,
    lineItems: JSON.parse(r.lineItems),
    totalMinor: r.totalMinor,
    currency: r.currency,
    abandonedAt: r.abandonedAt.toISOString(),
    sourceUpdatedAt: r.sourceUpdatedAt.toISOString(),
    pixelOnly: r.pixelOnly,
    pixelCompletedAt: r.pixelCompletedAt?.toISOString() ?? null,
    notContactableReason: r.notContactableReason,
    status: r.status,
    contactId: r.contactId,
  };
}
const recoveryOf = (shop: Shop, token: string) => db.recovery.findFirst({ where: { shopId: shop.id, checkoutToken: token } });
const pixelJobs = (shop: Shop, status?: "queued" | "running" | "failed") =>
  jobTable(db).count({ where: { shopId: shop.id, name: "process-pixel-event", ...(status ? { status } : {}) } });

describe("a burst of events for one checkout", () => {
  it("1,000 events → one row updated in place and one queued job; processing gives the recovery that processing each event gave", async () => {
    const merged = await newShop("burst");
    const reference = await newShop("burst-reference");
    const token = `burst${Date.now().toString(36)}`;
    const base = Date.now() - 60 * 60_000;
    // A buyer's browser going back and forth: the email, the box, the cart and the total change; times out of order.
    const events: PixelEvent[] = Array.from({ length: 1_000 }, (_, i) => ({
      id: `burst-${i}`,
      name: i === 999 ? "checkout_completed" : i % 3 === 0 ? "checkout_started" : "checkout_contact_info_submitted",
      at: new Date(base + ((i * 7919) % 1_000) * 1_000), // a permutation of 1,000 distinct seconds
      email: `buyer.${(i * 31) % 17}@example.com`,
      accepts: i % 5 === 0,
      total: 10 + ((i * 13) % 50),
      items: [{ title: `Item ${(i * 11) % 7}`, quantity: 1 + (i % 3), price: 5 }],
    }));
    // The first arrives alone; the rest in concurrent waves, as a storefront sends them. Arrival times step 100 ms (the
    // shop's rate limit refills 20 a second).
    const t0 = Date.now();
    const arrival = (i: number) => new Date(t0 + i * 100);
    expect(await post(merged, token, events[0]!, arrival(0))).toEqual({ status: 202, body: { status: "accepted" } });
    for (let start = 1; start < events.length; start += 50) {
      const wave = events.slice(start, start + 50);
      const answers = await Promise.all(wave.map((e, j) => post(merged, token, e, arrival(start + j))));
      expect(answers.map((a) => a.status)).toEqual(wave.map(() => 202));
    }

    const rows = await db.pixelCheckout.findMany({ where: { shopId: merged.id } });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ checkoutToken: token, eventCount: 1_000, processedCount: 0, firstSeenAt: arrival(0) });
    expect(rows[0]!.lastSeenAt.getTime()).toBeGreaterThanOrEqual(arrival(950).getTime());
    expect(await pixelJobs(merged)).toBe(1);
    expect(await db.inboundEvent.count({ where: { receiver: merged.domain } })).toBe(0);

    expect(await runJobs()).toBe(1);
    await ingestOneByOne(
      reference,
      token,
      events.map((event, i) => ({ event, receivedAt: arrival(i) })),
    );
    const got = comparable(await recoveryOf(merged, token));
    expect(got).not.toBeNull();
    expect(got).toEqual(comparable(await recoveryOf(reference, token)));
    expect(got).toMatchObject({ pixelOnly: true, abandonedAt: new Date(base).toISOString(), pixelCompletedAt: expect.any(String) });
    expect(await db.pixelCheckout.findFirstOrThrow({ where: { shopId: merged.id } })).toMatchObject({
      processedCount: 1_000,
      processedAt: expect.any(Date),
      error: null,
    });
    expect(await pixelJobs(merged, "queued")).toBe(0);
  });

  it("a redelivered event id is a duplicate: not counted, no job", async () => {
    const shop = await newShop("redelivered");
    const token = `dup${Date.now().toString(36)}`;
    const e: PixelEvent = {
      id: "same-id",
      name: "checkout_contact_info_submitted",
      at: new Date(Date.now() - 60_000),
      email: "dup@example.com",
      accepts: true,
      total: 20,
      items: [{ title: "Mug", quantity: 1, price: 20 }],
    };
    expect((await post(shop, token, e, new Date())).body.status).toBe("accepted");
    await runJobs();
    const answers = await Promise.all([1, 2, 3].map(() => post(shop, token, e, new Date())));
    expect(answers.map((a) => a.body.status)).toEqual(["duplicate", "duplicate", "duplicate"]);
    expect(await db.pixelCheckout.findFirstOrThrow({ where: { shopId: shop.id } })).toMatchObject({ eventCount: 1, processedCount: 1 });
    expect(await pixelJobs(shop, "queued")).toBe(0);
  });

  it("an event merged while its checkout is being processed is applied too: a job is queued behind the running one", async () => {
    const shop = await newShop("while-running");
    const token = `run${Date.now().toString(36)}`;
    const first: PixelEvent = {
      id: "r-1",
      name: "checkout_contact_info_submitted",
      at: new Date(Date.now() - 120_000),
      email: "first@example.com",
      accepts: null,
      total: 20,
      items: [{ title: "Mug", quantity: 1, price: 20 }],
    };
    const second: PixelEvent = { ...first, id: "r-2", at: new Date(Date.now() - 60_000), email: "second@example.com", total: 30 };
    await post(shop, token, first, new Date());
    const job = await jobTable(db).findFirstOrThrow({ where: { shopId: shop.id, name: "process-pixel-event" } });
    // The job is claimed (running, as graphile-worker marks it) when the second event arrives.
    await db.$executeRawUnsafe(`UPDATE graphile_worker._private_jobs SET locked_at = now(), locked_by = 'elsewhere' WHERE id::text = $1`, job.id);
    await post(shop, token, second, new Date());
    expect(await pixelJobs(shop, "queued")).toBe(1);
    expect((await jobTable(db).findUniqueOrThrow({ where: { id: job.id } })).key).toBeNull();
    // The running one finishes (graphile-worker deletes a finished job).
    await jobTable(db).deleteMany({ where: { id: job.id } });
    await runJobs();
    expect(await recoveryOf(shop, token)).toMatchObject({ email: "second@example.com", totalMinor: 3000n });
  });
});

describe("a shop's pixel checkouts queued together (docs/decisions/096)", () => {
  it("are applied in one job, each as one by one would, and their jobs removed", async () => {
    const shop = await newShop("batch");
    const checkouts = Array.from({ length: 12 }, (_, i) => {
      const token = `batch${i}${Date.now().toString(36)}`;
      const started: PixelEvent = {
        id: `b-${i}-1`,
        name: "checkout_contact_info_submitted",
        at: new Date(Date.now() - 300_000 + i * 1000),
        email: `pixel.batch.${i}@example.com`,
        accepts: i % 2 === 0,
        total: 10 + i,
        items: [{ title: `Item ${i}`, quantity: 1, price: 10 + i }],
      };
      // Every third checkout also completes: its completion is applied after its checkout, in the same batch.
      const events =
        i % 3 === 0 ? [started, { ...started, id: `b-${i}-2`, name: "checkout_completed" as const, at: new Date(started.at.getTime() + 60_000) }] : [started];
      return { token, events };
    });
    const receivedAt = new Date();
    for (const c of checkouts) for (const e of c.events) expect((await post(shop, c.token, e, receivedAt)).status).toBe(202);
    expect(await pixelJobs(shop, "queued")).toBe(12);

    expect(await runJobs()).toBe(1);
    expect(await pixelJobs(shop)).toBe(0);
    // The same recoveries, in a second shop, ingested one event at a time.
    const reference = await newShop("batch-reference");
    for (const c of checkouts)
      await ingestOneByOne(
        reference,
        c.token,
        c.events.map((event) => ({ event, receivedAt })),
      );
    for (const c of checkouts) {
      const got = comparable(await recoveryOf(shop, c.token));
      const want = comparable(await recoveryOf(reference, c.token));
      expect(got).toEqual({ ...want!, contactId: got!.contactId });
      expect(got).not.toBeNull();
    }
    expect(await db.pixelCheckout.count({ where: { shopId: shop.id, processedAt: null } })).toBe(0);
  });
});

describe("new checkouts per shop per day are capped; known checkouts still merge", () => {
  it("beyond the cap a new checkout is refused with 429 and nothing stored; an event for a known one is accepted", async () => {
    const CAP = 50;
    receive.pixelCap.perDay = CAP;
    try {
      const shop = await newShop("cap");
      const neighbour = await newShop("cap-neighbour");
      const recent = new Date(Date.now() - 60 * 60_000);
      const old = new Date(Date.now() - 25 * 60 * 60_000);
      await db.pixelCheckout.createMany({
        data: Array.from({ length: CAP + 20 }, (_, i) => ({
          shopId: shop.id,
          checkoutToken: `seed-${i}`,
          lastEvent: "checkout_started",
          firstSeenAt: i < CAP - 1 ? recent : old,
          lastSeenAt: i < CAP - 1 ? recent : old,
        })),
      });
      const e = (id: string): PixelEvent => ({
        id,
        name: "checkout_contact_info_submitted",
        at: new Date(Date.now() - 60_000),
        email: "capped@example.com",
        accepts: true,
        total: 20,
        items: [{ title: "Mug", quantity: 1, price: 20 }],
      });
      expect((await post(shop, "last-new-one", e("c-1"), new Date())).status).toBe(202);
      const rows = await db.pixelCheckout.count({ where: { shopId: shop.id } });
      const jobs = await pixelJobs(shop);
      const refused = await post(shop, "one-too-many", e("c-2"), new Date());
      expect(refused.status).toBe(429);
      expect(refused.body.error).toMatch(/new checkouts in the last 24 hours/);
      expect(await db.pixelCheckout.count({ where: { shopId: shop.id } })).toBe(rows);
      expect(await pixelJobs(shop)).toBe(jobs);
      // A checkout it already has still merges (no new row), and another shop is unaffected.
      expect((await post(shop, "seed-0", e("c-3"), new Date())).status).toBe(202);
      expect(await db.pixelCheckout.count({ where: { shopId: shop.id } })).toBe(rows);
      expect((await post(neighbour, "neighbour-new", e("c-4"), new Date())).status).toBe(202);
    } finally {
      receive.pixelCap.perDay = receive.PIXEL_DAILY_CAP;
    }
  });
});

describe("merged processing equals processing each event, for any sequence of events", () => {
  const at = fc.integer({ min: 0, max: 3_000 }); // seconds into the last hour
  const event = fc.record({
    name: fc.constantFrom("checkout_started" as const, "checkout_contact_info_submitted" as const),
    at,
    email: fc.option(fc.constantFrom("ann@example.com", "Ann@Example.com ", "bo@example.org", "not-an-email"), { nil: null }),
    accepts: fc.option(fc.boolean(), { nil: null }),
    total: fc.integer({ min: 0, max: 500 }),
    items: fc.array(
      fc.record({ title: fc.constantFrom("Mug", "Tote", "Socks"), quantity: fc.integer({ min: 1, max: 3 }), price: fc.integer({ min: 1, max: 90 }) }),
      { maxLength: 3 },
    ),
  });

  it("gives the same recovery, whether processed once at the end or part-way through", async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(event, { minLength: 1, maxLength: 8 }),
        fc.option(at, { nil: null }),
        fc.nat(),
        async (drafts, completionAt, processAfterSeed) => {
          run++;
          const base = Date.now() - 60 * 60_000;
          // Distinct times (ingest compares them), a completion at most once and after a checkout event with an email
          // (one reported earlier is kept by the merged row, where ingest dropped it: see the ADR).
          const seen = new Set<number>();
          const events: PixelEvent[] = drafts.map((d, i) => {
            let s = d.at;
            while (seen.has(s)) s++;
            seen.add(s);
            return { id: `p${run}-${i}`, name: d.name, at: new Date(base + s * 1000), email: d.email, accepts: d.accepts, total: d.total, items: d.items };
          });
          const firstWithEmail = events.findIndex((e) => e.email && e.email.includes("@"));
          if (completionAt !== null && firstWithEmail >= 0) {
            let s = completionAt;
            while (seen.has(s)) s++;
            events.splice(firstWithEmail + 1, 0, {
              id: `p${run}-done`,
              name: "checkout_completed",
              at: new Date(base + s * 1000),
              email: null,
              accepts: null,
              total: 0,
              items: [],
            });
          }
          const merged = await newShop(`prop${run}`);
          const reference = await newShop(`prop${run}-ref`);
          const token = `prop${run}x${Date.now().toString(36)}`;
          const processAfter = processAfterSeed % (events.length + 1);
          const arrivals = events.map((_, i) => new Date(Date.now() + i * 1000));
          for (const [i, e] of events.entries()) {
            expect((await post(merged, token, e, arrivals[i]!)).status).toBe(202);
            if (i + 1 === processAfter) await runJobs();
          }
          await runJobs();
          await ingestOneByOne(
            reference,
            token,
            events.map((event, i) => ({ event, receivedAt: arrivals[i]! })),
          );
          expect(comparable(await recoveryOf(merged, token))).toEqual(comparable(await recoveryOf(reference, token)));
          expect(await db.pixelCheckout.count({ where: { shopId: merged.id } })).toBe(1);
        },
      ),
      { numRuns: 40 },
    );
  });

  it("a completion reported before the buyer's email is remembered and applied once the checkout is known (one event each used to drop it)", async () => {
    const shop = await newShop("completion-first");
    const token = `cf${Date.now().toString(36)}`;
    const t = Date.now() - 10 * 60_000;
    await post(shop, token, { id: "cf-1", name: "checkout_completed", at: new Date(t + 60_000), email: null, accepts: null, total: 0, items: [] }, new Date());
    await runJobs();
    expect(await recoveryOf(shop, token)).toBeNull();
    await post(
      shop,
      token,
      {
        id: "cf-2",
        name: "checkout_contact_info_submitted",
        at: new Date(t),
        email: "late@example.com",
        accepts: true,
        total: 20,
        items: [{ title: "Mug", quantity: 1, price: 20 }],
      },
      new Date(),
    );
    await runJobs();
    expect(await recoveryOf(shop, token)).toMatchObject({ pixelOnly: true, email: "late@example.com", pixelCompletedAt: new Date(t + 60_000) });
  });
});
