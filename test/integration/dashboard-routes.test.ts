import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startAdminApp } from "../helpers/admin-app";
import { seedShop } from "../helpers/seed";
import { embeddedRequest, OTHER_SHOP, signSessionToken, TEST_SHOP } from "../helpers/shopify";
import { jobTable } from "../helpers/jobs";

let admin: Awaited<ReturnType<typeof startAdminApp>>;
let db: typeof admin.db;
let seeded: Awaited<ReturnType<typeof seedShop>>;
let other: Awaited<ReturnType<typeof seedShop>>;
const otherToken = () => signSessionToken({ shop: OTHER_SHOP });
const data = (path: string, routeId: string, token?: string) => admin.data(path, routeId, token);
const post = (path: string, routeId: string, form: Record<string, string>, token?: string) => admin.post(path, routeId, form, token);

beforeAll(async () => {
  admin = await startAdminApp();
  db = admin.db;
  seeded = await seedShop(db, TEST_SHOP, { prefix: "alpha" });
  other = await seedShop(db, OTHER_SHOP, { prefix: "beta", currency: "EUR" });
});
afterAll(() => admin?.close());
// Stop and Send now change the seeded recovery's scheduled Email 2: every test starts from it as seeded (any order).
beforeEach(async () => {
  await db.message.updateMany({
    where: { recoveryId: seeded.shopifyRecoveries[1]!.id, position: 2 },
    data: { status: "scheduled", scheduledFor: new Date(Date.now() + 3_600_000), skipReason: null },
  });
});

describe("overview", () => {
  it("shows abandoned, contactable, sent, clicks and link vs window recoveries, split by source", async () => {
    const { status, body } = await data("/app", "routes/app._index");
    expect(status).toBe(200);
    const { overview } = body;
    expect(overview.currency).toBe("USD");
    expect(overview.bySource.shopify).toMatchObject({
      abandoned: 4,
      abandonedValueMinor: 1000 + 2000 + 3000 + 4000,
      contactable: 2,
      emailsSent: 2,
      clicks: 1,
      notContactable: { no_email: 1, no_consent: 1, no_recovery_link: 0, unsubscribed: 0, link_expired: 0 },
      recoveredByLink: { count: 1, revenueMinor: 1000 },
      recoveredByWindow: { count: 0, revenueMinor: 0 },
    });
    expect(overview.bySource.stripe).toMatchObject({
      abandoned: 2,
      contactable: 2,
      emailsSent: 1,
      clicks: 1,
      recoveredByLink: { count: 0 },
      recoveredByWindow: { count: 1, revenueMinor: 5500 },
    });
    expect(overview.recoveryRate).toBeCloseTo(1 / 6);
    expect(overview.daily.length).toBeGreaterThanOrEqual(30);
    expect(overview.daily.reduce((n: number, d: { abandonedShopify: number; abandonedStripe: number }) => n + d.abandonedShopify + d.abandonedStripe, 0)).toBe(
      6,
    );
  });

  it("renders the figures formatted for the shop, with the chart drawn on the server", async () => {
    const html = await (await admin.app.handle(embeddedRequest("/app"))).text();
    expect(html).toContain("Recovered by link");
    expect(html).toContain("$10.00"); // link revenue
    expect(html).toContain("$55.00"); // window revenue, reported apart
    expect(html).toMatch(/reclaim-chart-bar/);
    expect(html).toContain("No marketing consent");
  });

  it("a token for another shop sees only that shop's numbers", async () => {
    const { body } = await data("/app", "routes/app._index", otherToken());
    expect(body.overview.currency).toBe("EUR");
    expect(body.overview.total.abandoned).toBe(6);
    expect(JSON.stringify(body)).not.toContain("alpha-buyer");
  });

  it("Sync now queues one sync for the shop, however often it is pressed", async () => {
    for (let i = 0; i < 2; i++) expect((await post("/app", "routes/app._index", { intent: "sync" })).status).toBe(200);
    expect(await jobTable(db).count({ where: { name: "sync-shopify-checkouts", shopId: seeded.shop.id, status: "queued" } })).toBe(1);
    expect(await jobTable(db).count({ where: { name: "sync-shopify-checkouts", shopId: other.shop.id } })).toBe(0);
  });

  it("refuses an unknown action with 400", async () => {
    expect((await post("/app", "routes/app._index", { intent: "drop-tables" })).status).toBe(400);
  });
});

describe("recoveries list", () => {
  const list = (query = "", token?: string) => data(`/app/recoveries${query}`, "routes/app.recoveries._index", token);

  it("lists the shop's recoveries, newest first", async () => {
    const { body } = await list();
    expect(body.rows).toHaveLength(6);
    const times = body.rows.map((r: { abandonedAt: string }) => r.abandonedAt);
    expect([...times].sort().reverse()).toEqual(times);
    expect(body.rows.every((r: { email: string | null }) => r.email === null || r.email.startsWith("alpha-"))).toBe(true);
  });

  it.each([
    ["?source=stripe", 2],
    ["?source=shopify&hasEmail=no", 1],
    ["?hasConsent=no", 1],
    ["?status=recovered", 1],
    ["?q=ALPHA-buyer1", 1],
    ["?min=30&max=50", 3],
  ])("filters %s", async (query, expected) => {
    expect((await list(query)).body.rows).toHaveLength(expected);
  });

  it("reports a bad filter next to its field and ignores only that filter", async () => {
    const { status, body } = await list("?min=ten&source=stripe");
    expect(status).toBe(200);
    expect(body.errors.min).toBe("Enter an amount like 25 or 25.50");
    expect(body.rows).toHaveLength(2);
  });

  it("a token for another shop never lists this shop's recoveries", async () => {
    const { body } = await list("?q=alpha", otherToken());
    expect(body.rows).toHaveLength(0);
  });

  it("pages with cursors: every recovery exactly once forwards, and back again", async () => {
    const { listRecoveries } = await import("~/models/recovery-list.server");
    const seen: string[] = [];
    let after: string | null = null;
    const pages = [];
    do {
      const page = await listRecoveries(db, { shopId: seeded.shop.id, filters: {}, after, pageSize: 4 });
      pages.push(page);
      seen.push(...page.rows.map((r) => r.id));
      after = page.nextCursor;
    } while (after);
    expect(pages).toHaveLength(2);
    expect(new Set(seen).size).toBe(6);
    const back = await listRecoveries(db, { shopId: seeded.shop.id, filters: {}, before: pages[1]!.previousCursor, pageSize: 4 });
    expect(back.rows.map((r) => r.id)).toEqual(pages[0]!.rows.map((r) => r.id));
  });
});

describe("recovery detail", () => {
  it("shows the cart, the contact, the consent evidence and a timeline", async () => {
    const id = seeded.shopifyRecoveries[0]!.id;
    const { body } = await data(`/app/recoveries/${id}`, "routes/app.recoveries.$id");
    expect(body.recovery.lineItems[0].title).toBe("Product 0");
    expect(body.recovery.timeline.map((e: { kind: string }) => e.kind)).toEqual(["abandoned", "message", "click", "conversion"]);
    expect(body.recovery.timeline.at(-1).label).toContain("by link");
  });

  it("answers 404, never data, for another shop's recovery", async () => {
    const id = seeded.shopifyRecoveries[0]!.id;
    const { status, body } = await data(`/app/recoveries/${id}`, "routes/app.recoveries.$id", otherToken());
    expect(status).toBe(404);
    expect(String(body)).not.toContain("alpha-buyer");
  });

  it("another shop cannot stop this shop's emails", async () => {
    const id = seeded.shopifyRecoveries[1]!.id;
    expect((await post(`/app/recoveries/${id}`, "routes/app.recoveries.$id", { intent: "stop" }, otherToken())).status).toBe(404);
    expect(await db.message.count({ where: { recoveryId: id, status: "scheduled" } })).toBe(1);
  });

  it("Send the next email now brings it forward and runs the sweep now; the checks still apply at send time", async () => {
    const id = seeded.shopifyRecoveries[1]!.id;
    const before = Date.now();
    const { status, body } = await post(`/app/recoveries/${id}`, "routes/app.recoveries.$id", { intent: "send-now" });
    expect(status).toBe(200);
    expect(body.ok).toBe(true);
    const message = await db.message.findFirstOrThrow({ where: { recoveryId: id, status: "scheduled" } });
    expect(message.scheduledFor.getTime()).toBeLessThanOrEqual(Date.now());
    expect(message.scheduledFor.getTime()).toBeGreaterThanOrEqual(before - 1000);
    const sweep = await jobTable(db).findFirstOrThrow({ where: { name: "send-due-messages", status: "queued" } });
    expect(sweep.runAt.getTime()).toBeLessThanOrEqual(Date.now());
  });

  it("Send now answers 409 when nothing is scheduled", async () => {
    const id = seeded.shopifyRecoveries[0]!.id; // recovered: nothing scheduled
    const { status, body } = await post(`/app/recoveries/${id}`, "routes/app.recoveries.$id", { intent: "send-now" });
    expect(status).toBe(409);
    expect(body.message).toBe("There is no scheduled email left to send.");
  });

  it("Stop cancels the scheduled emails and the timeline says why", async () => {
    const id = seeded.shopifyRecoveries[1]!.id;
    const { status, body } = await post(`/app/recoveries/${id}`, "routes/app.recoveries.$id", { intent: "stop" });
    expect(status).toBe(200);
    expect(body.message).toContain("1 pending email(s) cancelled");
    expect(await db.message.count({ where: { recoveryId: id, status: "scheduled" } })).toBe(0);
    const detail = await data(`/app/recoveries/${id}`, "routes/app.recoveries.$id");
    expect(detail.body.recovery.timeline.some((e: { label: string }) => e.label === "Email 2 cancelled: you stopped emails for this cart")).toBe(true);
  });
});
