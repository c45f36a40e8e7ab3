// Uninstall stops everything the shop has running and keeps its data; a reinstall before shop/redact resumes: the sync
// from its watermark, the same campaign, and the emails that came due meanwhile, one at a time and in their spacing.
// Driven through the signed app/uninstalled webhook, an embedded admin request, the job runner and a real SMTP server.
import type { Shop } from "@prisma/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadApp } from "../helpers/app-server";
import { H, MIN, shopifyCheckout, startPipeline, stripeSession, type Pipeline } from "../helpers/pipeline";
import { embeddedRequest, offlineSession, OTHER_SHOP, shopifyWebhookRequest, TEST_SHOP } from "../helpers/shopify";
import { jobTable } from "../helpers/jobs";

// The story starts 30 hours ago, so the reinstall (an admin request, at real time) is 30 hours in.
const T0 = new Date(Math.floor((Date.now() - 30 * H) / MIN) * MIN);
const at = (hours: number) => new Date(T0.getTime() + hours * H);

let app: Awaited<ReturnType<typeof loadApp>>;
let p: Pipeline;
let shop: Shop;

beforeAll(async () => {
  app = await loadApp();
  p = await startPipeline({ start: T0 });
});
afterAll(async () => {
  await p?.close();
  await app?.close();
});

const mailTo = (email: string) => p.sink.received.filter((m) => m.rcptTo.includes(email));
const KEPT_ON_UNINSTALL = ["process-shopify-webhook", "process-stripe-event"];
const shopJobs = (shopId: string, where: Record<string, unknown> = {}) =>
  jobTable(p.db).findMany({ where: { shopId, name: { notIn: KEPT_ON_UNINSTALL }, ...where }, orderBy: { createdAt: "asc" } });

describe("uninstall and reinstall", () => {
  let recoveryA: string;
  let recoveryB: string;
  let uninstalledAt: Date;
  let watermarkAtUninstall: Date;
  let campaignBefore: unknown;

  it("a running shop: sync chain, a recovery emailed at step 1", async () => {
    shop = await p.newShop({ domain: TEST_SHOP });
    // Install state as the install job leaves it: the sync row (backfill done) and the first poll queued.
    await p.db.sourceSync.create({ data: { shopId: shop.id, source: "shopify", watermark: T0, backfillStatus: "done" } });
    const { requestShopifySync } = await import("~/sources/shopify/sync-request.server");
    await requestShopifySync(p.db, shop.id, T0);
    recoveryA = ((await p.ingest(shop, shopifyCheckout(T0, { email: "ada@example.com" }))) as { recoveryId: string }).recoveryId;
    await p.runAt(T0);
    await p.runAt(at(1));
    expect(mailTo("ada@example.com")).toHaveLength(1);
    expect(await shopJobs(shop.id, { name: "sync-shopify-checkouts", status: "queued" })).toHaveLength(1);
    watermarkAtUninstall = (await p.db.sourceSync.findFirstOrThrow({ where: { shopId: shop.id } })).watermark!;
    expect(watermarkAtUninstall.getTime()).toBeGreaterThan(T0.getTime());
    campaignBefore = await p.db.campaign.findMany({ where: { shopId: shop.id }, include: { steps: true } });
  });

  it("app/uninstalled: sessions go, every job of the shop is cancelled, and data stays", async () => {
    p.clock.set(at(2));
    // A send already queued for later (the sweep queues each due email as a job) is among what stops.
    const { enqueueDueSendJobs } = await import("~/models/message-sweep.server");
    expect((await enqueueDueSendJobs(p.db, at(24.5))).enqueued).toBe(1);
    const response = await app.handle(shopifyWebhookRequest("/webhooks/app/uninstalled", "app/uninstalled", { id: 1, domain: TEST_SHOP }, { shop: TEST_SHOP }));
    expect(response.status).toBe(200);
    const stored = await p.db.shop.findUniqueOrThrow({ where: { id: shop.id } });
    expect(stored.uninstalledAt).not.toBeNull();
    uninstalledAt = stored.uninstalledAt!;
    expect(await p.db.session.count({ where: { shop: TEST_SHOP } })).toBe(0);
    expect(await shopJobs(shop.id, { status: { in: ["queued", "running"] } })).toEqual([]);
    // Cancelled: removed from the shop's queues (graphile-worker keeps no cancelled rows); both were queued before.
    expect(await shopJobs(shop.id, { name: "sync-shopify-checkouts" })).toEqual([]);
    expect(await shopJobs(shop.id, { name: "send-shop-messages", runAt: at(24) })).toEqual([]);
    expect(await p.db.recovery.count({ where: { shopId: shop.id } })).toBe(1);
    expect(await p.db.message.count({ where: { recoveryId: recoveryA, status: "scheduled" } })).toBe(2);
  });

  it("while uninstalled: nothing is sent and no job of the shop runs or queues itself, though Stripe data still arrives", async () => {
    // A Stripe session expiring meanwhile is still recorded (data is kept until shop/redact) and scheduled: its first two
    // steps (1 h and 24 h) both come due before the reinstall.
    recoveryB = ((await p.ingest(shop, stripeSession(at(4), { email: "bo@example.com" }))) as { recoveryId: string }).recoveryId;
    const jobsBefore = (await jobTable(p.db).findMany({ where: { shopId: shop.id }, select: { id: true } })).map((j) => j.id);
    for (const h of [5, 24, 25, 29]) await p.runAt(at(h));
    expect(mailTo("ada@example.com")).toHaveLength(1);
    expect(mailTo("bo@example.com")).toHaveLength(0);
    // The emails wait, scheduled (not skipped): the sweep does not pick up an uninstalled shop.
    expect(
      (await p.db.message.findMany({ where: { recoveryId: { in: [recoveryA, recoveryB] } }, orderBy: { scheduledFor: "asc" } })).map((m) => m.status),
    ).toEqual(["sent", "scheduled", "scheduled", "scheduled", "scheduled", "scheduled"]);
    const newJobs = (await shopJobs(shop.id)).filter((j) => !jobsBefore.includes(j.id));
    expect(newJobs).toEqual([]);
  });

  it("a sync in flight when the app is uninstalled does not queue its next run", async () => {
    const other = await p.newShop({ domain: OTHER_SHOP });
    await p.db.sourceSync.create({ data: { shopId: other.id, source: "shopify", watermark: at(29), backfillStatus: "done" } });
    const { requestShopifySync } = await import("~/sources/shopify/sync-request.server");
    const { markShopUninstalled } = await import("~/models/shop.server");
    const { setAbstractFetchFunc } = await import("@shopify/shopify-api/runtime");
    const fakeFetch = p.admin.fetchFor();
    let uninstalledMidRun = false;
    setAbstractFetchFunc(async (input, init) => {
      // The merchant uninstalls while the poll's request to Shopify is on its way.
      if (!uninstalledMidRun && String(input instanceof Request ? input.url : input).includes(OTHER_SHOP)) {
        uninstalledMidRun = true;
        await markShopUninstalled(OTHER_SHOP);
      }
      return fakeFetch(input as RequestInfo, init);
    });
    try {
      await requestShopifySync(p.db, other.id, at(29));
      await p.runAt(at(29));
    } finally {
      setAbstractFetchFunc(fakeFetch);
    }
    expect(uninstalledMidRun).toBe(true);
    expect(await shopJobs(other.id, { status: { in: ["queued", "running"] } })).toEqual([]);
    await p.runAt(at(29.5));
    expect(await shopJobs(other.id, { status: { in: ["queued", "running"] } })).toEqual([]);
  });

  it("a retried app/uninstalled from before a reinstall does not uninstall the new installation", async () => {
    const { markShopUninstalled, onShopAuthenticated } = await import("~/models/shop.server");
    const domain = "retry-after-reinstall.myshopify.com";
    await onShopAuthenticated(domain, "read_orders", at(1));
    await markShopUninstalled(domain, { now: at(2), triggeredAt: at(2) });
    await onShopAuthenticated(domain, "read_orders", at(3));
    expect(await markShopUninstalled(domain, { now: at(4), triggeredAt: at(2) })).toBe("stale");
    expect((await p.db.shop.findUniqueOrThrow({ where: { domain } })).uninstalledAt).toBeNull();
  });

  it("reinstall before shop/redact: the campaign resumes now, one email per recovery, the later steps keep their spacing", async () => {
    const before = await p.db.message.findMany({
      where: { recoveryId: { in: [recoveryA, recoveryB] }, status: "scheduled" },
      orderBy: { scheduledFor: "asc" },
    });
    // Token exchange stores a new offline session; the first admin request brings the shop back.
    const { sessionStorage } = await import("~/shopify.server");
    await sessionStorage.storeSession(offlineSession(TEST_SHOP));
    const documentsBefore = p.admin.documents(TEST_SHOP).length;
    const requestedAt = Date.now();
    expect((await app.handle(embeddedRequest("/app"))).status).toBe(200);
    const reinstalled = await p.db.shop.findUniqueOrThrow({ where: { id: shop.id } });
    expect(reinstalled.uninstalledAt).toBeNull();
    expect(reinstalled.installedAt.getTime()).toBeGreaterThanOrEqual(requestedAt - 1000);

    // Each recovery's next email is due now (the reinstall), and the ones after it moved by the same amount.
    const after = await p.db.message.findMany({ where: { id: { in: before.map((m) => m.id) } } });
    const now = reinstalled.installedAt.getTime();
    for (const recoveryId of [recoveryA, recoveryB]) {
      const old = before.filter((m) => m.recoveryId === recoveryId);
      const moved = old.map((m) => after.find((a) => a.id === m.id)!);
      const shift = now - old[0]!.scheduledFor.getTime();
      expect(shift).toBeGreaterThan(0);
      expect(moved.map((m) => m.scheduledFor.getTime())).toEqual(old.map((m) => m.scheduledFor.getTime() + shift));
      expect(moved.every((m) => m.status === "scheduled")).toBe(true);
    }
    expect(await p.db.decisionLog.count({ where: { recoveryId: { in: [recoveryA, recoveryB] }, reason: "reinstalled" } })).toBe(2);

    // The install job runs again: same campaign (no second default), the sync continues from its watermark.
    p.clock.set(new Date(Date.now() + MIN));
    await p.drain();
    expect(await p.db.campaign.findMany({ where: { shopId: shop.id }, include: { steps: true } })).toEqual(campaignBefore);
    const sync = await p.db.sourceSync.findFirstOrThrow({ where: { shopId: shop.id } });
    expect(sync.backfillStatus).toBe("done");
    const polls = p.admin
      .documents(TEST_SHOP)
      .slice(documentsBefore)
      .filter((d) => /abandonedCheckouts/.test(d.query));
    expect(polls.length).toBeGreaterThan(0);
    const since = new Date(watermarkAtUninstall.getTime() - 2 * MIN).toISOString().replace(/\.\d{3}Z$/, "Z");
    expect(polls[0]!.variables).toMatchObject({ query: expect.stringContaining(`updated_at:>='${since}'`) });
    expect(await shopJobs(shop.id, { name: "sync-shopify-checkouts", status: "queued" })).toHaveLength(1);

    // One email per recovery went out: Ada's step 2 and Bo's step 1, not Bo's steps 1 and 2 at once.
    expect(mailTo("ada@example.com")).toHaveLength(2);
    expect(mailTo("bo@example.com")).toHaveLength(1);
    expect(uninstalledAt.getTime()).toBeLessThan(now);
  });
});
