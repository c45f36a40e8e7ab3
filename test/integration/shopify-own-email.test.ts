// Shopify's own abandoned-checkout email (docs/decisions/075-shopify-own-email.md), through the real pipeline: the sweep,
// the send job with decide(), the fake Shopify Admin API answering abandonmentByAbandonedCheckoutId from its store, a
// fake clock and the local SMTP sink.
import type { Shop } from "@prisma/client";
import { parse, validate } from "graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadAdminSchema } from "../../app/demo/fakes/shopify-admin/schema";
import type { AbandonmentEmailState } from "../../app/demo/fakes/shopify-admin/store";
import { H, MIN, shopifyCheckout, startPipeline, type Pipeline } from "../helpers/pipeline";
import { jobTable } from "../helpers/jobs";

const T0 = new Date("2027-03-01T09:00:00Z");
let p: Pipeline;

beforeAll(async () => {
  p = await startPipeline({ start: T0 });
});
afterAll(async () => {
  await p?.close();
});

const mailsTo = (email: string) => p.sink.received.filter((m) => m.rcptTo[0] === email);
const lookups = (shop: Shop) => p.admin.documents(shop.domain).filter((d) => d.query.includes("abandonmentByAbandonedCheckoutId"));
const at = (start: Date, ms: number) => new Date(start.getTime() + ms);

let n = 0;
/** A checkout in the fake Shopify store (with Shopify's own email in `state`), and Reclaim's recovery of it (by its gid, or by token only). */
async function abandoned(shop: Shop, state: AbandonmentEmailState | null, options: { sentAt?: Date; tokenOnly?: boolean } = {}) {
  const store = p.admin.store(shop.domain);
  const start = p.clock.now();
  const email = `buyer-${++n}@example.com`;
  const c = store.upsertCheckout({ email, buyerAcceptsMarketing: true, createdAt: start.toISOString(), updatedAt: start.toISOString() });
  if (state) store.setEmailState(c.id, state, options.sentAt ?? null);
  const gid = `gid://shopify/AbandonedCheckout/${c.id}`;
  const event = shopifyCheckout(start, { externalId: options.tokenOnly ? `token:${c.token}` : gid, checkoutToken: c.token, email });
  await p.ingest(shop, event);
  const recovery = await p.db.recovery.findFirstOrThrow({ where: { shopId: shop.id, email } });
  return { c, gid, email, start, recovery, event, store };
}

const messagesOf = (recoveryId: string) => p.db.message.findMany({ where: { recoveryId }, orderBy: { position: "asc" } });
const logOf = (recoveryId: string) => p.db.decisionLog.findMany({ where: { recoveryId }, orderBy: [{ decidedAt: "asc" }, { id: "asc" }] });

describe("defer to Shopify (the default)", () => {
  it("SENT: no Reclaim email for that checkout, the whole campaign is held, and the log says why", async () => {
    const shop = await p.newShop();
    expect(shop.shopifyEmailPolicy).toBe("defer");
    const sentAt = at(p.clock.now(), 40 * MIN);
    const { recovery, email, start } = await abandoned(shop, "sent", { sentAt });

    await p.runAt(at(start, H));
    expect(mailsTo(email)).toHaveLength(0);
    const [first, ...rest] = await messagesOf(recovery.id);
    expect(first).toMatchObject({ status: "skipped", skipReason: "shopify_email" });
    expect(rest.every((m) => m.status === "cancelled" && m.skipReason === "shopify_email")).toBe(true);
    const skip = (await logOf(recovery.id)).find((d) => d.messageId === first!.id && d.outcome === "skip")!;
    expect(skip.detail).toBe(
      `Shopify's own abandoned-checkout email was sent on ${sentAt.toISOString().slice(0, 16).replace("T", " ")} UTC: Reclaim holds its campaign for this checkout (Settings › Shopify's own abandoned-checkout email)`,
    );
    expect(await p.db.recovery.findUniqueOrThrow({ where: { id: recovery.id } })).toMatchObject({
      shopifyEmailState: "SENT",
      shopifyEmailSentAt: sentAt,
      shopifyEmailHeldAt: at(start, H),
    });

    // Nothing later either, and Shopify was asked once: the answer is kept on the recovery.
    await p.runAt(at(start, 80 * H));
    expect(mailsTo(email)).toHaveLength(0);
    expect(lookups(shop)).toHaveLength(1);
    // The document that reached the fake was valid against the real 2026-10 schema, and paid for like any other.
    expect(lookups(shop)[0]).toMatchObject({ outcome: "ok", requestedQueryCost: 1, actualQueryCost: 1 });
    expect(validate(loadAdminSchema(), parse(lookups(shop)[0]!.query))).toEqual([]);
  });

  it("SCHEDULED: held the same way", async () => {
    const shop = await p.newShop();
    const { recovery, email, start } = await abandoned(shop, "scheduled");
    await p.runAt(at(start, H));
    expect(mailsTo(email)).toHaveLength(0);
    const [first] = await messagesOf(recovery.id);
    expect(first).toMatchObject({ status: "skipped", skipReason: "shopify_email" });
    const skip = (await logOf(recovery.id)).find((d) => d.outcome === "skip")!;
    expect(skip.detail).toMatch(/^Shopify's own abandoned-checkout email is scheduled for this checkout: Reclaim holds its campaign/);
    expect(await p.db.recovery.findUniqueOrThrow({ where: { id: recovery.id } })).toMatchObject({
      shopifyEmailState: "SCHEDULED",
      shopifyEmailHeldAt: at(start, H),
    });
    await p.runAt(at(start, 80 * H));
    expect(mailsTo(email)).toHaveLength(0);
  });

  it("NOT_SENT: emailed normally; the next step asks again, and holds once Shopify has emailed in between", async () => {
    const shop = await p.newShop();
    const { recovery, email, start, c, store } = await abandoned(shop, "not_sent");
    await p.runAt(at(start, H));
    expect(mailsTo(email)).toHaveLength(1);
    const sent = (await logOf(recovery.id)).find((d) => d.outcome === "send")!;
    expect(sent.detail).toMatch(/Shopify's own abandoned-checkout email: not sent/);
    expect(await p.db.recovery.findUniqueOrThrow({ where: { id: recovery.id } })).toMatchObject({ shopifyEmailState: "NOT_SENT", shopifyEmailHeldAt: null });

    // Shopify's automation emails the buyer before Reclaim's second step: Reclaim stops there.
    store.setEmailState(c.id, "sent", at(start, 10 * H));
    await p.runAt(at(start, 24 * H));
    await p.runAt(at(start, 72 * H));
    expect(mailsTo(email)).toHaveLength(1);
    expect((await messagesOf(recovery.id)).map((m) => m.status)).toEqual(["sent", "skipped", "cancelled"]);
    expect(lookups(shop)).toHaveLength(2);
  });

  it("a checkout Shopify has no abandonment for is emailed (Shopify won't email it)", async () => {
    const shop = await p.newShop();
    const start = p.clock.now();
    const event = shopifyCheckout(start, { externalId: "gid://shopify/AbandonedCheckout/424242" });
    await p.ingest(shop, event);
    await p.runAt(at(start, H));
    expect(mailsTo(event.email!.toLowerCase())).toHaveLength(1);
    expect(await p.db.recovery.findFirstOrThrow({ where: { shopId: shop.id } })).toMatchObject({ shopifyEmailState: "NONE" });
  });
});

describe("send anyway", () => {
  it("emails a checkout whose Shopify email was sent, without asking Shopify", async () => {
    const shop = await p.newShop({ shopifyEmailPolicy: "send_anyway" });
    const { email, start, recovery } = await abandoned(shop, "sent", { sentAt: p.clock.now() });
    await p.runAt(at(start, H));
    expect(mailsTo(email)).toHaveLength(1);
    expect(lookups(shop)).toHaveLength(0);
    expect(await p.db.recovery.findUniqueOrThrow({ where: { id: recovery.id } })).toMatchObject({ shopifyEmailState: null, shopifyEmailHeldAt: null });
  });
});

describe("Shopify unreachable", () => {
  it("503: nothing is sent now, the message is retried later and sent once", async () => {
    const shop = await p.newShop();
    const { email, start, recovery } = await abandoned(shop, "not_sent");
    p.admin.failNext({ status: 503, shop: shop.domain, count: 1 });
    await p.runAt(at(start, H));
    expect(mailsTo(email)).toHaveLength(0);
    const [first] = await messagesOf(recovery.id);
    expect(first).toMatchObject({ status: "scheduled", attempts: 1 });
    expect(first!.lastError).toMatch(/Shopify's own abandoned-checkout email could not be checked yet: Shopify answered HTTP 503/);
    expect(first!.scheduledFor.getTime()).toBe(at(start, H + 5 * MIN).getTime());

    await p.runAt(first!.scheduledFor);
    await p.runAt(at(start, 2 * H));
    expect(mailsTo(email)).toHaveLength(1);
    expect((await logOf(recovery.id)).filter((d) => d.outcome === "send")).toHaveLength(1);
    expect((await messagesOf(recovery.id))[0]).toMatchObject({ status: "sent" });
  });

  it("THROTTLED: nothing is sent now, retried later, sent once", async () => {
    const shop = await p.newShop();
    const { email, start, recovery } = await abandoned(shop, "not_sent");
    p.admin.throttleNext(shop.domain, 1);
    await p.runAt(at(start, H));
    expect(mailsTo(email)).toHaveLength(0);
    const [first] = await messagesOf(recovery.id);
    expect(first).toMatchObject({ status: "scheduled" });
    expect(first!.lastError).toMatch(/THROTTLED/);
    expect(lookups(shop).map((d) => d.outcome)).toEqual(["throttled"]);
    await p.runAt(first!.scheduledFor);
    expect(mailsTo(email)).toHaveLength(1);
    expect(lookups(shop).map((d) => d.outcome)).toEqual(["throttled", "ok"]);
  });

  it("down for every retry: that step is skipped (never sent blindly, never failed forever); the next step asks again", async () => {
    const shop = await p.newShop();
    const { email, start, recovery } = await abandoned(shop, "not_sent");
    p.admin.failNext({ status: 503, shop: shop.domain, count: 1000 });
    p.clock.set(at(start, H));
    for (let i = 0; i < 10; i++) {
      const [first] = await messagesOf(recovery.id);
      if (first!.status !== "scheduled") break;
      await p.runAt(first!.scheduledFor > p.clock.now() ? first!.scheduledFor : p.clock.now());
    }
    const [first] = await messagesOf(recovery.id);
    expect(first).toMatchObject({ status: "skipped", skipReason: "shopify_email_unverified", attempts: 5 });
    expect(mailsTo(email)).toHaveLength(0);
    const skip = (await logOf(recovery.id)).find((d) => d.outcome === "skip")!;
    expect(skip.detail).toMatch(/^Could not check whether Shopify's own abandoned-checkout email went out \(Shopify answered HTTP 503; tried 5 times\)/);
    expect(await jobTable(p.db).count({ where: { shopId: shop.id, status: "failed" } })).toBe(0);

    // Shopify is back by the second step: it is checked and sent.
    p.admin.clearFaults();
    await p.runAt(at(start, 24 * H));
    expect(mailsTo(email)).toHaveLength(1);
    expect((await messagesOf(recovery.id)).map((m) => m.status)).toEqual(["skipped", "sent", "scheduled"]);
  });
});

describe("a checkout seen only through its webhook (no AbandonedCheckout gid yet)", () => {
  it("waits for the next poll, then checks by the gid the poll brought", async () => {
    const shop = await p.newShop();
    const { email, start, recovery, event, gid } = await abandoned(shop, "sent", { sentAt: p.clock.now(), tokenOnly: true });
    expect(recovery.externalId).toMatch(/^token:/);
    await p.runAt(at(start, H));
    expect(mailsTo(email)).toHaveLength(0);
    const [first] = await messagesOf(recovery.id);
    expect(first).toMatchObject({ status: "scheduled" });
    expect(first!.scheduledFor.getTime()).toBe(at(start, H + (shop.syncIntervalMinutes + 1) * MIN).getTime());
    const hold = (await logOf(recovery.id)).find((d) => d.outcome === "hold")!;
    expect(hold).toMatchObject({ reason: "shopify_checkout_pending" });
    expect(lookups(shop)).toHaveLength(0);

    // The poll stores the same checkout by its gid.
    await p.ingest(shop, { ...event, externalId: gid, updatedAt: at(start, H + 2 * MIN) });
    expect((await p.db.recovery.findUniqueOrThrow({ where: { id: recovery.id } })).externalId).toBe(gid);
    await p.runAt(first!.scheduledFor);
    expect(mailsTo(email)).toHaveLength(0);
    expect((await messagesOf(recovery.id))[0]).toMatchObject({ status: "skipped", skipReason: "shopify_email" });
    expect(lookups(shop)).toHaveLength(1);
  });

  it("bounded: after three waits with no gid, that step is skipped with the reason; nothing is sent blindly", async () => {
    const shop = await p.newShop();
    const { email, start, recovery } = await abandoned(shop, "not_sent", { tokenOnly: true });
    p.clock.set(at(start, H));
    for (let i = 0; i < 6; i++) {
      const [first] = await messagesOf(recovery.id);
      if (first!.status !== "scheduled") break;
      await p.runAt(first!.scheduledFor);
    }
    const [first] = await messagesOf(recovery.id);
    expect(first).toMatchObject({ status: "skipped", skipReason: "shopify_email_unverified" });
    expect((await logOf(recovery.id)).filter((d) => d.reason === "shopify_checkout_pending")).toHaveLength(3);
    expect(mailsTo(email)).toHaveLength(0);
  });
});

describe("the overview", () => {
  it("counts the carts held because Shopify emailed them, in the period", async () => {
    const { loadOverview } = await import("~/models/dashboard.server");
    const shop = await p.newShop();
    const start = p.clock.now();
    await abandoned(shop, "sent", { sentAt: start });
    await abandoned(shop, "scheduled");
    await abandoned(shop, "not_sent");
    await p.runAt(at(start, H));
    const q = { shopId: shop.id, currency: "USD", consentPolicy: "explicit", now: p.clock.now() };
    expect((await loadOverview(p.db, { ...q, from: start, to: at(start, H) })).heldForShopifyEmail).toBe(2);
    expect((await loadOverview(p.db, { ...q, from: at(start, 3 * 24 * H), to: at(start, 4 * 24 * H) })).heldForShopifyEmail).toBe(0);
  });

  it("shows the count on the page, with a link to the setting", async () => {
    const { startAdminApp } = await import("../helpers/admin-app");
    const { seedShop } = await import("../helpers/seed");
    const { embeddedRequest, TEST_SHOP } = await import("../helpers/shopify");
    const admin = await startAdminApp([TEST_SHOP]);
    try {
      const seeded = await seedShop(admin.db, TEST_SHOP, { prefix: "own-email" });
      const recovery = await admin.db.recovery.findFirstOrThrow({ where: { shopId: seeded.shop.id, source: "shopify" } });
      await admin.db.recovery.update({ where: { id: recovery.id }, data: { shopifyEmailState: "SENT", shopifyEmailHeldAt: new Date() } });
      const { body } = await admin.data("/app", "routes/app._index");
      expect(body.overview.heldForShopifyEmail).toBe(1);
      // React separates interpolated text with <!-- --> on the server.
      const html = (await (await admin.app.handle(embeddedRequest("/app"))).text()).replace(/<!-- -->/g, "");
      expect(html).toContain("Left to Shopify&#x27;s own email");
      expect(html).toMatch(/1 cart was held in this period because/);
      expect(html).toContain('href="/app/settings#shopify-email"');
    } finally {
      await admin.close();
    }
  });
});
