import { readFileSync } from "node:fs";
import { parse } from "smol-toml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadApp } from "../helpers/app-server";
import { offlineSession, shopifyWebhookRequest, TEST_SHOP } from "../helpers/shopify";
import { jobTable } from "../helpers/jobs";

interface Subscription {
  topics?: string[];
  compliance_topics?: string[];
  uri: string;
}
const toml = parse(readFileSync("shopify.app.toml", "utf8")) as unknown as { webhooks: { api_version: string; subscriptions: Subscription[] } };
const subscriptions = toml.webhooks.subscriptions;

let app: Awaited<ReturnType<typeof loadApp>>;
let db: typeof import("~/db.server").db;
beforeAll(async () => {
  app = await loadApp();
  db = (await import("~/db.server")).db;
  const { sessionStorage } = await import("~/shopify.server");
  await sessionStorage.storeSession(offlineSession(TEST_SHOP));
  await db.shop.create({ data: { domain: TEST_SHOP } });
});
afterAll(() => app?.close());

const checkout = {
  token: "tok_123",
  email: "ann@example.com",
  created_at: "2026-11-20T10:00:00Z",
  updated_at: "2026-11-20T10:00:00Z",
  total_price: "10.00",
  currency: "USD",
  line_items: [],
};

describe("shopify.app.toml", () => {
  it("subscribes to every topic Reclaim needs, on the API version the app uses", () => {
    const topics = subscriptions.flatMap((s) => [...(s.topics ?? []), ...(s.compliance_topics ?? [])]).sort();
    expect(topics).toEqual(
      [
        "app/scopes_update",
        "app/uninstalled",
        "checkouts/create",
        "checkouts/update",
        "customers/data_request",
        "customers/redact",
        "customers_email_marketing_consent/update",
        "orders/cancelled",
        "orders/create",
        "shop/redact",
      ].sort(),
    );
    expect(toml.webhooks.api_version).toBe("2026-10");
  });

  it.each(subscriptions.flatMap((s) => [...(s.topics ?? []), ...(s.compliance_topics ?? [])].map((topic) => [s.uri, topic] as const)))(
    "%s is served by a route that accepts a signed %s delivery",
    async (uri, topic) => {
      const response = await app.handle(
        shopifyWebhookRequest(uri, topic, topic.startsWith("checkouts") ? checkout : { id: 1 }, { shop: "toml-routes.myshopify.com" }),
      );
      expect(response.status).toBe(200);
      expect(await db.inboundEvent.count({ where: { topic } })).toBeGreaterThanOrEqual(1);
    },
  );
});

describe("Shopify webhook deliveries", () => {
  it("refuses a delivery with a bad HMAC with 401 and writes nothing", async () => {
    const before = { events: await db.inboundEvent.count(), jobs: await jobTable(db).count() };
    const response = await app.handle(shopifyWebhookRequest("/webhooks/checkouts", "checkouts/create", checkout, { hmac: "bm90IGEgcmVhbCBobWFj" }));
    expect(response.status).toBe(401);
    expect(await db.inboundEvent.count()).toBe(before.events);
    expect(await jobTable(db).count()).toBe(before.jobs);
  });

  it("refuses a delivery signed with another app's secret", async () => {
    const response = await app.handle(shopifyWebhookRequest("/webhooks/orders/create", "orders/create", { id: 5 }, { secret: "another-apps-secret" }));
    expect(response.status).toBe(401);
  });

  it("records the same X-Shopify-Webhook-Id once, however often Shopify retries it", async () => {
    const webhookId = "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043";
    for (let i = 0; i < 3; i++) {
      const response = await app.handle(shopifyWebhookRequest("/webhooks/checkouts", "checkouts/update", checkout, { webhookId }));
      expect(response.status).toBe(200);
    }
    expect(await db.inboundEvent.count({ where: { externalId: webhookId } })).toBe(1);
    const event = await db.inboundEvent.findFirstOrThrow({ where: { externalId: webhookId } });
    expect(await jobTable(db).count({ where: { payload: { contains: event.id } } })).toBe(1);
  });

  it("records a delivery once even when Shopify's retries arrive at the same moment, among other deliveries", async () => {
    const webhookId = "5f0a1d2e-concurrent-retries";
    const responses = await Promise.all([
      ...Array.from({ length: 10 }, () => app.handle(shopifyWebhookRequest("/webhooks/checkouts", "checkouts/update", checkout, { webhookId }))),
      ...Array.from({ length: 10 }, (_, i) =>
        app.handle(shopifyWebhookRequest("/webhooks/checkouts", "checkouts/update", checkout, { webhookId: `other-${i}` })),
      ),
    ]);
    expect(responses.map((r) => r.status)).toEqual(Array(20).fill(200));
    expect(await db.inboundEvent.count({ where: { externalId: webhookId } })).toBe(1);
    const event = await db.inboundEvent.findFirstOrThrow({ where: { externalId: webhookId } });
    expect(await jobTable(db).count({ where: { payload: { contains: event.id } } })).toBe(1);
    expect(await db.inboundEvent.count({ where: { externalId: { startsWith: "other-" } } })).toBe(10);
    expect(await jobTable(db).count({ where: { name: "process-shopify-webhook", status: "queued" } })).toBeGreaterThanOrEqual(11);
  });

  it("processes a stored checkout delivery in a job, not in the request", async () => {
    const { JobRunner } = await import("../helpers/jobs");
    const { jobDefinitions } = await import("~/jobs/registry.server");
    const response = await app.handle(
      shopifyWebhookRequest("/webhooks/checkouts", "checkouts/create", {
        ...checkout,
        token: "tok_job",
        email: "Bea@Example.com",
        buyer_accepts_marketing: true,
      }),
    );
    expect(response.status).toBe(200);
    expect(await db.recovery.count({ where: { checkoutToken: "tok_job" } })).toBe(0);
    await new JobRunner({ db, definitions: jobDefinitions }).drain();
    const recovery = await db.recovery.findFirstOrThrow({ where: { checkoutToken: "tok_job" } });
    expect(recovery).toMatchObject({ source: "shopify", email: "bea@example.com", consent: "opt_in", totalMinor: 1000n, currency: "USD" });
  });

  it("app/uninstalled deletes the shop's sessions and stops its queued jobs, keeping its data", async () => {
    const shop = await db.shop.findUniqueOrThrow({ where: { domain: TEST_SHOP } });
    const { enqueueJob } = await import("~/jobs/queue.server");
    await enqueueJob(db, "shop-installed", { shopId: shop.id }, { shopId: shop.id, runAt: new Date(Date.now() + 3600_000) });
    const response = await app.handle(shopifyWebhookRequest("/webhooks/app/uninstalled", "app/uninstalled", { id: 1, domain: TEST_SHOP }));
    expect(response.status).toBe(200);
    expect(await db.session.count({ where: { shop: TEST_SHOP } })).toBe(0);
    // Only the processing of deliveries already stored stays queued (a later shop/redact must still be honoured).
    expect(
      await jobTable(db).count({ where: { shopId: shop.id, status: "queued", name: { notIn: ["process-shopify-webhook", "process-stripe-event"] } } }),
    ).toBe(0);
    expect((await db.shop.findUniqueOrThrow({ where: { id: shop.id } })).uninstalledAt).not.toBeNull();
    expect(await db.recovery.count({ where: { shopId: shop.id } })).toBeGreaterThan(0);
  });
});
