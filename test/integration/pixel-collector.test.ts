// The checkout pixel's collector (POST /pixel/events) through the real Remix app: what it refuses (and that it then
// stores nothing), its limits, duplicates and out-of-order events, and the point of it all — a checkout visible in
// Reclaim as soon as the buyer gives an email, which the poll (fake Admin API) or a signed checkouts webhook then
// confirms on the same record. Bodies are produced by the real pixel code (test/helpers/pixel.ts).
import type { Shop } from "@prisma/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkoutWebhookPayload, type ShopStore } from "../../app/demo/fakes/shopify-admin";
import { loadApp } from "../helpers/app-server";
import { collectorRequest, pixelBody, pixelCheckout, pixelLine } from "../helpers/pixel";
import { bearerRequest, embeddedRequest, shopifyWebhookRequest, signSessionToken } from "../helpers/shopify";
import { gid, startHarness, type Harness } from "./shopify-sync-harness";
import { collectorKeyFor } from "~/sources/pixel/collector-key.server";
import { CLIENT_LIMIT, MAX_PIXEL_BODY_BYTES, PIXEL_DAILY_CAP, pixelCap, receivePixelEvent, SHOP_LIMIT } from "~/sources/pixel/receive.server";
import { jobTable } from "../helpers/jobs";

let app: Awaited<ReturnType<typeof loadApp>>;
let h: Harness;
beforeAll(async () => {
  app = await loadApp();
  // After loadApp: loading the app's Shopify module installs the library's real fetch, which the harness replaces.
  h = await startHarness(Date.now());
});
afterAll(async () => {
  await h?.close();
  await app?.close();
});

const settingsFor = (domain: string) => ({ shopDomain: domain, collectorKey: collectorKeyFor(domain) });
let tokens = 0;
const newToken = () => `ptok${Date.now().toString(36)}${++tokens}`;

async function post(body: string, options: Parameters<typeof collectorRequest>[1] = {}) {
  const response = await app.handle(collectorRequest(body, options));
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? (JSON.parse(text) as { status?: string; error?: string }) : null };
}

/** Runs the jobs the collector queued (at the real time it queued them). */
async function processQueued() {
  h.clock = Math.max(h.clock, Date.now());
  await h.runDueJobs();
}

async function shopWithSync(name: string): Promise<{ shop: Shop; store: ShopStore; domain: string }> {
  const { store, shop } = await h.addShop(`${name}-${Date.now().toString(36)}.myshopify.com`);
  // Caught up: the next poll reads only what changes from now on.
  await h.db.sourceSync.create({
    data: { shopId: shop.id, source: "shopify", watermark: new Date(Math.min(h.clock, Date.now()) - 10 * 60_000), backfillStatus: "done" },
  });
  return { shop, store, domain: store.shop.domain };
}

/** Shopify's checkouts/update for a stored checkout, through the real route and its processing job. */
async function deliverCheckoutWebhook(store: ShopStore, checkout: Parameters<typeof checkoutWebhookPayload>[1], domain: string) {
  const response = await app.handle(
    shopifyWebhookRequest("/webhooks/checkouts", "checkouts/update", checkoutWebhookPayload(store, checkout), { shop: domain }),
  );
  expect(response.status).toBe(200);
  h.clock = Math.max(h.clock, Date.now());
  await h.runDueJobs();
}

async function poll(shopId: string) {
  h.clock = Math.max(h.clock, Date.now()) + 6 * 60_000;
  const { requestShopifySync } = await import("~/sources/shopify/sync-request.server");
  await requestShopifySync(h.db, shopId, h.now());
  await h.syncUntilIdle(shopId);
}

/** Events the collector accepted for the shop: merged per checkout (docs/decisions/079), so counted on the merged rows. */
const pixelEvents = async (domain: string) =>
  (await h.db.pixelCheckout.aggregate({ where: { shop: { domain } }, _sum: { eventCount: true } }))._sum.eventCount ?? 0;

describe("what the collector refuses, storing nothing", () => {
  let domain: string;
  let shop: Shop;
  let valid: string;
  beforeAll(async () => {
    ({ domain, shop } = await shopWithSync("refusals"));
    valid = pixelBody(settingsFor(domain), "checkout_contact_info_submitted", pixelCheckout({ token: newToken() }))!;
  });

  const nothingStored = async () => {
    expect(await pixelEvents(domain)).toBe(0);
    expect(await h.db.recovery.count({ where: { shopId: shop.id } })).toBe(0);
    expect(await jobTable(h.db).count({ where: { name: "process-pixel-event", shopId: shop.id } })).toBe(0);
  };

  it("answers a CORS preflight, and sends CORS headers with every answer (the pixel runs on the shop's origin)", async () => {
    const preflight = await app.handle(
      collectorRequest("", { method: "OPTIONS", headers: { origin: "https://acme.example", "access-control-request-method": "POST" } }),
    );
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-origin")).toBe("*");
    expect(preflight.headers.get("access-control-allow-methods")).toContain("POST");
    const refused = await post("{");
    expect(refused.headers.get("access-control-allow-origin")).toBe("*");
    expect((await app.handle(collectorRequest("", { method: "GET" }))).status).toBe(405);
  });

  const mutate = (change: (body: Record<string, any>) => void) => {
    const body = JSON.parse(valid);
    change(body);
    return JSON.stringify(body);
  };
  it.each([
    ["not JSON", () => "checkout_started token=abc", /malformed JSON/],
    ["no checkout token", () => mutate((b) => delete b.checkout.token), /checkout\.token/],
    ["an event the pixel does not send", () => mutate((b) => (b.event.name = "page_viewed")), /event\.name/],
    ["more line items than the pixel sends", () => mutate((b) => (b.checkout.lineItems = Array(51).fill(b.checkout.lineItems[0]))), /checkout\.lineItems/],
    ["a negative price", () => mutate((b) => (b.checkout.totalPrice.amount = -5)), /checkout\.totalPrice\.amount/],
    ["an email that is not text", () => mutate((b) => (b.checkout.email = { $gt: "" })), /checkout\.email/],
    ["a made-up currency", () => mutate((b) => (b.checkout.totalPrice.currencyCode = "dollars")), /currencyCode/],
    ["a token with spaces", () => mutate((b) => (b.checkout.token = "a b")), /checkout\.token/],
    ["an event dated two days ago", () => mutate((b) => (b.event.at = new Date(Date.now() - 48 * 3_600_000).toISOString())), /event\.at/],
    ["deeply nested JSON", () => `${"[".repeat(40)}${"]".repeat(40)}`, /nested deeper/],
    ["a shop that is not a myshopify domain", () => mutate((b) => (b.shop = "evil.example")), /shop/],
  ])("%s → 400 with the reason", async (_label, body, reason) => {
    const answer = await post(body());
    expect(answer.status).toBe(400);
    expect(answer.body?.error).toMatch(reason);
    await nothingStored();
  });

  it("an oversized body → 413, whether declared or streamed", async () => {
    const big = mutate((b) => (b.checkout.lineItems[0].title = "x".repeat(MAX_PIXEL_BODY_BYTES)));
    expect((await post(big)).status).toBe(413);
    const chunks = [big.slice(0, 9000), big.slice(9000)];
    const stream = new ReadableStream({
      pull(c) {
        const next = chunks.shift();
        if (next) c.enqueue(new TextEncoder().encode(next));
        else c.close();
      },
    });
    const streamed = await app.handle(
      new Request(collectorRequest("").url, { method: "POST", body: stream, duplex: "half", headers: { "x-forwarded-for": "198.18.0.1" } } as RequestInit),
    );
    expect(streamed.status).toBe(413);
    await nothingStored();
  });

  it("a key that is not this shop's → 403 (events cannot be filed under another shop without reading its pages)", async () => {
    const otherShopsKey = pixelBody(
      { shopDomain: domain, collectorKey: collectorKeyFor("other-shop.myshopify.com") },
      "checkout_started",
      pixelCheckout({ token: newToken() }),
    )!;
    const answer = await post(otherShopsKey);
    expect(answer.status).toBe(403);
    await nothingStored();
  });

  it("a shop Reclaim does not know → 404, and nothing is stored anywhere", async () => {
    const before = { events: await h.db.inboundEvent.count(), checkouts: await h.db.pixelCheckout.count() };
    const answer = await post(pixelBody(settingsFor("never-installed.myshopify.com"), "checkout_started", pixelCheckout({ token: newToken() }))!);
    expect(answer.status).toBe(404);
    expect({ events: await h.db.inboundEvent.count(), checkouts: await h.db.pixelCheckout.count() }).toEqual(before);
  });

  it("an uninstalled shop → 404", async () => {
    const { shop: gone, domain: goneDomain } = await shopWithSync("uninstalled");
    await h.db.shop.update({ where: { id: gone.id }, data: { uninstalledAt: new Date() } });
    expect((await post(pixelBody(settingsFor(goneDomain), "checkout_started", pixelCheckout({ token: newToken() }))!)).status).toBe(404);
    expect(await pixelEvents(goneDomain)).toBe(0);
  });
});

describe("rate limits", () => {
  it(`one client: ${CLIENT_LIMIT.capacity} events at once, then 429 with Retry-After; other clients are unaffected`, async () => {
    const { domain } = await shopWithSync("client-limit");
    const client = "192.0.2.77";
    const statuses: number[] = [];
    let refused: Awaited<ReturnType<typeof post>> | null = null;
    for (let i = 0; i < CLIENT_LIMIT.capacity + 5 && !refused; i++) {
      const answer = await post(pixelBody(settingsFor(domain), "checkout_started", pixelCheckout({ token: newToken() }))!, { client });
      statuses.push(answer.status);
      if (answer.status === 429) refused = answer;
    }
    expect(statuses.slice(0, CLIENT_LIMIT.capacity)).toEqual(Array(CLIENT_LIMIT.capacity).fill(202));
    expect(refused?.body?.error).toMatch(/client/);
    expect(Number(refused?.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(await pixelEvents(domain)).toBe(statuses.filter((s) => s === 202).length);
    expect((await post(pixelBody(settingsFor(domain), "checkout_started", pixelCheckout({ token: newToken() }))!, { client: "192.0.2.78" })).status).toBe(202);
  });

  it(`one shop: a burst of ${SHOP_LIMIT.capacity} from many clients, then 429; other shops are unaffected`, async () => {
    const { shop, domain } = await shopWithSync("shop-limit");
    const { domain: neighbour } = await shopWithSync("shop-limit-neighbour");
    const startedAt = Date.now();
    const answers: Awaited<ReturnType<typeof post>>[] = [];
    // Batches of concurrent requests, as a busy storefront sends them, until the shop's bucket runs dry.
    while (!answers.some((a) => a.status === 429) && answers.length < SHOP_LIMIT.capacity * 3) {
      answers.push(
        ...(await Promise.all(
          Array.from({ length: 100 }, () => post(pixelBody(settingsFor(domain), "checkout_started", pixelCheckout({ token: newToken() }))!)),
        )),
      );
    }
    const accepted = answers.filter((a) => a.status === 202).length;
    const refused = answers.filter((a) => a.status !== 202);
    const refillAllowance = Math.ceil(((Date.now() - startedAt) / 1000) * SHOP_LIMIT.refillPerSecond) + 1;
    expect(accepted).toBeGreaterThanOrEqual(SHOP_LIMIT.capacity);
    expect(accepted).toBeLessThanOrEqual(SHOP_LIMIT.capacity + refillAllowance);
    expect(refused.length).toBeGreaterThan(0);
    for (const r of refused) {
      expect(r.status).toBe(429);
      expect(r.body?.error).toMatch(/shop/);
      expect(Number(r.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    }
    expect(await pixelEvents(domain)).toBe(accepted);
    expect((await post(pixelBody(settingsFor(neighbour), "checkout_started", pixelCheckout({ token: newToken() }))!)).status).toBe(202);
    // Not this file's subject: leave the flood's processing jobs out of the later tests' runs.
    await jobTable(h.db).deleteMany({ where: { shopId: shop.id, name: "process-pixel-event" } });
  });
});

describe("daily cap on new checkouts (the collector key is public)", () => {
  // The real cap is 50,000; storing that many rows here would take half a minute, so the test lowers it — in this
  // file's copy of the collector module, which it calls directly (the app under `app.handle` is a separate module graph).
  const CAP = 300;
  beforeAll(() => {
    expect(PIXEL_DAILY_CAP).toBe(50_000);
    pixelCap.perDay = CAP;
  });
  afterAll(() => {
    pixelCap.perDay = PIXEL_DAILY_CAP;
  });

  it("a shop's pixel reports at most the cap of new checkouts in 24 hours; beyond that 429 with a reason and nothing stored", async () => {
    const { shop, domain } = await shopWithSync("daily-cap");
    const { domain: neighbour } = await shopWithSync("daily-cap-neighbour");
    // Seeded directly: cap − 1 checkouts first seen today, and older ones that no longer count.
    const recent = new Date(Date.now() - 60 * 60_000);
    const old = new Date(Date.now() - 25 * 60 * 60_000);
    const row = (i: number, seenAt: Date) => ({
      shopId: shop.id,
      checkoutToken: `seed-${i}`,
      lastEvent: "checkout_started",
      firstSeenAt: seenAt,
      lastSeenAt: seenAt,
      processedCount: 1,
    });
    await h.db.pixelCheckout.createMany({ data: Array.from({ length: CAP + 100 }, (_, i) => row(i, i < CAP - 1 ? recent : old)) });
    const send = async (client: string) => {
      const response = await receivePixelEvent(
        collectorRequest(pixelBody(settingsFor(domain), "checkout_started", pixelCheckout({ token: newToken() }))!, { client }),
        client,
      );
      return { status: response.status, headers: response.headers, body: (await response.json()) as { error?: string } };
    };

    expect((await send("192.0.2.90")).status).toBe(202); // the last one under the cap
    const stored = await pixelEvents(domain);
    const jobs = await jobTable(h.db).count({ where: { shopId: shop.id, name: "process-pixel-event" } });
    const refused = await send("192.0.2.91");
    expect(refused.status).toBe(429);
    expect(refused.body?.error).toMatch(/24 hours/);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(await pixelEvents(domain)).toBe(stored);
    expect(await jobTable(h.db).count({ where: { shopId: shop.id, name: "process-pixel-event" } })).toBe(jobs);
    // Another shop is unaffected.
    const other = await receivePixelEvent(
      collectorRequest(pixelBody(settingsFor(neighbour), "checkout_started", pixelCheckout({ token: newToken() }))!, { client: "192.0.2.92" }),
      "192.0.2.92",
    );
    expect(other.status).toBe(202);
    await jobTable(h.db).deleteMany({ where: { shopId: shop.id, name: "process-pixel-event" } });
    await h.db.pixelCheckout.deleteMany({ where: { shopId: shop.id, checkoutToken: { startsWith: "seed-" } } });
  });
});

describe("duplicates and out-of-order events change nothing", () => {
  it("the same event, sent three times and at once, is stored and applied once", async () => {
    const { domain, shop } = await shopWithSync("duplicates");
    const body = pixelBody(settingsFor(domain), "checkout_contact_info_submitted", pixelCheckout({ token: newToken(), email: "dup@example.com" }), {
      id: "evt-dup-1",
    })!;
    const first = await post(body);
    const again = await Promise.all([post(body), post(body), post(body)]);
    expect(first.body?.status).toBe("accepted");
    expect(again.map((a) => [a.status, a.body?.status])).toEqual(Array(3).fill([202, "duplicate"]));
    expect(await pixelEvents(domain)).toBe(1);
    expect(await jobTable(h.db).count({ where: { name: "process-pixel-event", shopId: shop.id } })).toBe(1);
    await processQueued();
    const rows = await h.db.recovery.findMany({ where: { shopId: shop.id } });
    expect(rows).toHaveLength(1);

    // The same checkout reported again under new event ids (the buyer reloads checkout): nothing changes.
    const before = rows[0]!;
    const { token } = JSON.parse(body).checkout;
    for (let i = 0; i < 2; i++)
      await post(
        pixelBody(settingsFor(domain), "checkout_contact_info_submitted", pixelCheckout({ token, email: "dup@example.com" }), {
          at: new Date(JSON.parse(body).event.at),
        })!,
      );
    await processQueued();
    const after = await h.db.recovery.findMany({ where: { shopId: shop.id } });
    expect(after).toHaveLength(1);
    expect(after[0]!.updatedAt.getTime()).toBe(before.updatedAt.getTime());
  });

  it("an older event arriving after a newer one does not roll the checkout back", async () => {
    const { domain, shop } = await shopWithSync("out-of-order");
    const token = newToken();
    const t1 = new Date(Date.now() - 10 * 60_000);
    const t2 = new Date(Date.now() - 2 * 60_000);
    const newer = pixelBody(
      settingsFor(domain),
      "checkout_contact_info_submitted",
      pixelCheckout({ token, email: "second@example.com", totalPrice: { amount: 120, currencyCode: "USD" }, lineItems: [pixelLine("Boots", 1, 120)] }),
      { at: t2 },
    )!;
    const older = pixelBody(
      settingsFor(domain),
      "checkout_started",
      pixelCheckout({ token, email: "first@example.com", totalPrice: { amount: 80, currencyCode: "USD" }, lineItems: [pixelLine("Socks", 4, 20)] }),
      { at: t1 },
    )!;
    await post(newer);
    await processQueued();
    await post(older);
    await processQueued();
    const row = await h.db.recovery.findFirstOrThrow({ where: { shopId: shop.id, checkoutToken: token } });
    expect(row).toMatchObject({ email: "second@example.com", totalMinor: 12000n, pixelOnly: true });
    expect(JSON.parse(row.lineItems).map((l: { title: string }) => l.title)).toEqual(["Boots"]);
    // The older event still dates the abandonment: the checkout started at t1.
    expect(row.abandonedAt.toISOString()).toBe(t1.toISOString());

    // A completion stays recorded when an older "started" arrives after it.
    await post(pixelBody(settingsFor(domain), "checkout_completed", pixelCheckout({ token, email: "second@example.com" }), { at: new Date() })!);
    await processQueued();
    const completedAt = (await h.db.recovery.findFirstOrThrow({ where: { id: row.id } })).pixelCompletedAt;
    expect(completedAt).not.toBeNull();
    await post(pixelBody(settingsFor(domain), "checkout_started", pixelCheckout({ token, email: "second@example.com" }), { at: t1 })!);
    await processQueued();
    expect((await h.db.recovery.findFirstOrThrow({ where: { id: row.id } })).pixelCompletedAt).toEqual(completedAt);
  });
});

describe("seen at contact capture, then confirmed by Shopify on the same record", () => {
  async function listRows(domain: string) {
    const url = "/app/recoveries?_data=routes%2Fapp.recoveries._index";
    const response = await app.handle(bearerRequest(url, {}, signSessionToken({ shop: domain })));
    expect(response.status).toBe(200);
    return ((await response.json()) as { rows: { id: string; email: string | null; pixelOnly: boolean; externalId: string }[] }).rows;
  }

  it("the pixel's event shows the checkout before Shopify's webhook; the webhook confirms the same row, and the poll joins it with Shopify's data", async () => {
    const { shop, store, domain } = await shopWithSync("visible-early");
    const { ensureDefaultCampaign } = await import("~/models/campaign.server");
    await ensureDefaultCampaign(h.db, shop.id);
    const startedAt = new Date(Math.floor(Date.now() / 1000) * 1000 - 3 * 60_000);
    const checkout = store.upsertCheckout({
      token: newToken(),
      createdAt: startedAt.toISOString(),
      updatedAt: startedAt.toISOString(),
      customer: {
        id: 880001,
        firstName: "Noor",
        lastName: "K",
        email: "noor@example.com",
        phone: null,
        marketingState: "SUBSCRIBED",
        marketingOptInLevel: "SINGLE_OPT_IN",
        marketingUpdatedAt: startedAt.toISOString(),
        locale: "en",
        createdAt: startedAt.toISOString(),
        updatedAt: startedAt.toISOString(),
        tags: [],
      },
      email: "noor@example.com",
    });
    // The buyer typed their email with capitals and did not tick the box in this session; Shopify knows them as subscribed.
    await post(
      pixelBody(
        settingsFor(domain),
        "checkout_contact_info_submitted",
        pixelCheckout({ token: checkout.token, email: "Noor@Example.com", buyerAcceptsEmailMarketing: false }),
        { at: new Date(startedAt.getTime() + 60_000) },
      )!,
    );
    await processQueued();

    const seen = await h.db.recovery.findFirstOrThrow({ where: { shopId: shop.id } });
    expect(seen).toMatchObject({
      externalId: `token:${checkout.token}`,
      pixelOnly: true,
      email: "noor@example.com",
      recoveryUrl: null,
      contactId: null,
      consent: "unknown",
    });
    expect(await h.db.message.count({ where: { recoveryId: seen.id } })).toBe(0);
    expect(await listRows(domain)).toEqual([expect.objectContaining({ id: seen.id, email: "noor@example.com", pixelOnly: true })]);
    for (const path of ["/app/recoveries", `/app/recoveries/${seen.id}`]) {
      const page = await app.handle(embeddedRequest(path, signSessionToken({ shop: domain }), domain));
      expect(await page.text()).toContain("Unconfirmed (seen at checkout)");
    }

    // The pixel knows the checkout `token`, the poll only the cart token in the recovery URL: the checkouts webhook,
    // which carries both, is what ties them together (docs/decisions/074).
    await deliverCheckoutWebhook(store, checkout, domain);
    await poll(shop.id);
    const rows = await h.db.recovery.findMany({ where: { shopId: shop.id } });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      id: seen.id,
      externalId: gid(checkout.id),
      pixelOnly: false,
      email: "noor@example.com",
      consent: "opt_in",
      recoveryUrl: store.recoveryUrl(checkout),
      notContactableReason: null,
    });
    expect(JSON.parse(rows[0]!.consentEvidence).source).toBe("shopify.customer.defaultEmailAddress");
    // Shopify's creation time dates the abandonment, so the campaign's schedule is Shopify's too.
    expect(rows[0]!.abandonedAt.toISOString()).toBe(startedAt.toISOString());
    const messages = await h.db.message.findMany({ where: { recoveryId: seen.id }, orderBy: { position: "asc" } });
    expect(messages.map((m) => m.scheduledFor.getTime() - startedAt.getTime())).toEqual([1, 24, 72].map((hours) => hours * 3_600_000));
    expect(await listRows(domain)).toEqual([expect.objectContaining({ id: seen.id, pixelOnly: false, externalId: gid(checkout.id) })]);
    expect(await (await app.handle(embeddedRequest("/app/recoveries", signSessionToken({ shop: domain }), domain))).text()).not.toContain(
      "Unconfirmed (seen at checkout)",
    );

    // Later pixel data does not touch a confirmed checkout.
    await post(pixelBody(settingsFor(domain), "checkout_contact_info_submitted", pixelCheckout({ token: checkout.token, email: "someone.else@example.com" }))!);
    await processQueued();
    expect(await h.db.recovery.findFirstOrThrow({ where: { id: seen.id } })).toMatchObject({
      email: "noor@example.com",
      consent: "opt_in",
      totalMinor: rows[0]!.totalMinor,
    });
  });

  it("a guest: the poll (no email in GraphQL, no checkout token) cannot confirm the pixel's record; the webhook joins all three into one", async () => {
    const { shop, store, domain } = await shopWithSync("guest");
    const at = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000);
    const checkout = store.upsertCheckout({
      token: newToken(),
      customer: null,
      email: "guest.typed@example.org",
      buyerAcceptsMarketing: true,
      createdAt: at.toISOString(),
      updatedAt: at.toISOString(),
    });
    await post(
      pixelBody(settingsFor(domain), "checkout_contact_info_submitted", pixelCheckout({ token: checkout.token, email: "guest.typed@example.org" }), { at })!,
    );
    await processQueued();
    await poll(shop.id);
    const polled = await h.db.recovery.findFirstOrThrow({ where: { shopId: shop.id, pixelOnly: false } });
    expect(polled).toMatchObject({ externalId: gid(checkout.id), email: null, notContactableReason: "no_email", cartToken: checkout.cartToken });
    // Until then the pixel's record stays unconfirmed beside it (never emailed, not counted).
    expect(await h.db.recovery.count({ where: { shopId: shop.id, pixelOnly: true } })).toBe(1);

    await deliverCheckoutWebhook(store, checkout, domain);
    const live = await h.db.recovery.findMany({ where: { shopId: shop.id, status: { not: "merged" } } });
    expect(live).toHaveLength(1);
    expect(live[0]).toMatchObject({
      id: polled.id,
      externalId: gid(checkout.id),
      email: "guest.typed@example.org",
      consent: "opt_in",
      notContactableReason: null,
      pixelOnly: false,
    });
    expect(await h.db.recovery.count({ where: { shopId: shop.id, status: "merged", mergedIntoId: polled.id } })).toBe(1);
  });

  it("an order that arrives before Shopify lists the checkout: the confirmation keeps the order's completion and credit", async () => {
    const { shop, store, domain } = await shopWithSync("order-first");
    const at = new Date(Math.floor(Date.now() / 1000) * 1000 - 2 * 60_000);
    const checkout = store.upsertCheckout({
      token: newToken(),
      customer: null,
      email: "quick.buyer@example.org",
      createdAt: at.toISOString(),
      updatedAt: at.toISOString(),
    });
    await post(
      pixelBody(settingsFor(domain), "checkout_contact_info_submitted", pixelCheckout({ token: checkout.token, email: "quick.buyer@example.org" }), { at })!,
    );
    await processQueued();
    const { ingestSourceEvent } = await import("~/models/ingest.server");
    const orderedAt = new Date(at.getTime() + 60_000);
    // An order carries the checkout token and the cart token (as real orders/create bodies do): it teaches the pixel's
    // record the cart token, which is how the poll then finds it.
    await ingestSourceEvent(
      h.db,
      shop.id,
      {
        kind: "purchase.observed",
        source: "shopify",
        externalId: "gid://shopify/Order/9100",
        email: "quick.buyer@example.org",
        checkoutToken: checkout.token,
        cartToken: checkout.cartToken,
        amount: { amountMinor: 10050, currency: "USD" },
        occurredAt: orderedAt,
      },
      h.now(),
    );
    // Shopify's list still shows the checkout as abandoned (its completion not there yet) when the poll reads it.

    await poll(shop.id);
    const rows = await h.db.recovery.findMany({ where: { shopId: shop.id } });
    expect(rows).toHaveLength(1);
    // Bought before any Reclaim email: credited and kept, "Bought without an email" (docs/decisions/082).
    expect(rows[0]).toMatchObject({ pixelOnly: false, status: "purchased", completedAt: orderedAt });
    expect(await h.db.conversion.count({ where: { recoveryId: rows[0]!.id } })).toBe(1);
    expect(await h.db.message.count({ where: { recoveryId: rows[0]!.id } })).toBe(0);
  });

  it("a completion for a checkout Reclaim has never seen stores nothing", async () => {
    const { shop, domain } = await shopWithSync("unknown-completion");
    const answer = await post(pixelBody(settingsFor(domain), "checkout_completed", pixelCheckout({ token: newToken() }))!);
    expect(answer.status).toBe(202);
    await processQueued();
    expect(await h.db.recovery.count({ where: { shopId: shop.id } })).toBe(0);
    expect(await h.db.purchase.count({ where: { shopId: shop.id } })).toBe(0);
  });

  it("a checkout event without an email yet (nothing to recover) creates nothing", async () => {
    const { shop, domain } = await shopWithSync("no-email-yet");
    // The pixel itself sends nothing then; a hand-made request is accepted and ignored.
    const body = JSON.parse(pixelBody(settingsFor(domain), "checkout_started", pixelCheckout({ token: newToken() }))!);
    body.checkout.email = null;
    expect((await post(JSON.stringify(body))).status).toBe(202);
    await processQueued();
    expect(await h.db.recovery.count({ where: { shopId: shop.id } })).toBe(0);
  });
});
