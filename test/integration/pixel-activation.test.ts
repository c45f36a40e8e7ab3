// Turning the checkout pixel on per shop: the install flow (shop-installed → activate-web-pixel job → webPixelCreate
// against the fake Admin API, documents validated against the real 2026-10 schema), missing scopes (known or refused by
// Shopify), Shopify being down (retried by the runner), an existing pixel (webPixelUpdate), and Settings → Checkout
// pixel with its "Activate again". The settings Reclaim writes are then accepted by the collector.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeShopifyAdmin, type FakeShopifyAdmin } from "../../app/demo/fakes/shopify-admin";
import { loadApp } from "../helpers/app-server";
import { FakeClock } from "../helpers/fake-clock";
import { collectorRequest, pixelBody, pixelCheckout } from "../helpers/pixel";
import { bearerRequest, embeddedRequest, offlineSession, shopifyWebhookRequest, signSessionToken } from "../helpers/shopify";
import { TEST_ENV } from "../setup/test-env";
import { jobTable } from "../helpers/jobs";

const WITH_PIXEL_SCOPES = "read_orders,read_customers,write_discounts,write_pixels,read_customer_events";
const WITHOUT_PIXEL_SCOPES = "read_orders,read_customers,write_discounts";

let app: Awaited<ReturnType<typeof loadApp>>;
let fake: FakeShopifyAdmin;
let db: typeof import("~/db.server").db;
const clock = new FakeClock(Date.now());

beforeAll(async () => {
  app = await loadApp();
  fake = await startFakeShopifyAdmin();
  const { setAbstractFetchFunc } = await import("@shopify/shopify-api/runtime");
  setAbstractFetchFunc(fake.fetchFor()); // after loadApp (the app's Shopify module installs the real fetch on load)
  db = (await import("~/db.server")).db;
});
afterAll(async () => {
  await fake?.close();
  await app?.close();
});

let shops = 0;
/** A shop known to the fake and to the app's session storage, granted `scope`. */
async function connectedShop(name: string, scope = WITH_PIXEL_SCOPES) {
  const domain = `${name}-${++shops}.myshopify.com`;
  fake.addShop({ domain, accessToken: "shpat_test_offline_token", scope });
  const { sessionStorage } = await import("~/shopify.server");
  await sessionStorage.storeSession(offlineSession(domain, scope as typeof TEST_ENV.SCOPES));
  return domain;
}

/** Runs due jobs like the app's runner, except the Shopify sync (not this file's subject; it would poll the fake). */
async function runJobs() {
  const { JobRunner } = await import("../helpers/jobs");
  const { jobDefinitions } = await import("~/jobs/registry.server");
  const { SHOPIFY_SYNC_JOB } = await import("~/sources/shopify/sync-request.server");
  // Jobs are queued at the real time (also while this drain runs): the runner's clock stays a minute ahead of it.
  if (clock.now().getTime() < Date.now() + 30_000) clock.set(new Date(Date.now() + 60_000));
  await new JobRunner({ db, definitions: jobDefinitions.filter((d) => d.name !== SHOPIFY_SYNC_JOB), clock, random: () => 0.5 }).drain();
}

async function install(domain: string, scope: string) {
  const { onShopAuthenticated } = await import("~/models/shop.server");
  const shop = await onShopAuthenticated(domain, scope);
  await runJobs();
  return db.shop.findUniqueOrThrow({ where: { id: shop.id } });
}

const pixelCalls = (domain: string) =>
  fake
    .documents(domain)
    .filter((d) => /webPixel(Create|Update)/.test(d.query))
    .map((d) => /^\s*(?:#graphql\s*)?mutation\s+(\w+)/.exec(d.query)?.[1]);

describe("activation on install", () => {
  it("the install flow turns the pixel on with this shop's settings, and the collector accepts what the pixel then sends", async () => {
    const domain = await connectedShop("install");
    const shop = await install(domain, WITH_PIXEL_SCOPES);
    const [pixel] = fake.store(domain).webPixels;
    expect(fake.store(domain).webPixels).toHaveLength(1);
    expect(shop).toMatchObject({ webPixelStatus: "active", webPixelId: pixel!.id, webPixelError: null });
    expect(shop.webPixelUpdatedAt).not.toBeNull();
    const settings = JSON.parse(pixel!.settings as string);
    expect(settings).toEqual({ collectorUrl: `${TEST_ENV.SHOPIFY_APP_URL}/pixel/events`, shopDomain: domain, collectorKey: expect.any(String) });
    expect(fake.documents(domain).filter((d) => d.outcome !== "ok")).toEqual([]);

    // The pixel, configured with exactly these settings, is heard.
    const body = pixelBody(settings, "checkout_contact_info_submitted", pixelCheckout({ token: "install-tok-1", email: "first.buyer@example.com" }))!;
    const response = await app.handle(collectorRequest(body));
    expect(response.status).toBe(202);
  });

  it("scopes known to be missing: 'missing_scopes' with what to do, and no call Shopify would refuse", async () => {
    const domain = await connectedShop("no-scopes", WITHOUT_PIXEL_SCOPES);
    const shop = await install(domain, WITHOUT_PIXEL_SCOPES);
    expect(shop.webPixelStatus).toBe("missing_scopes");
    expect(shop.webPixelError).toMatch(/"write_pixels" and "read_customer_events" permissions/);
    expect(shop.webPixelError).toMatch(/Activate again/);
    expect(pixelCalls(domain)).toEqual([]);
    expect(fake.store(domain).webPixels).toEqual([]);
    // Final, not retried: the merchant has to act.
    // (It succeeded on its first attempt: graphile-worker removed it, and nothing is queued again or failed.)
    expect(await jobTable(db).count({ where: { name: "activate-web-pixel", shopId: shop.id } })).toBe(0);
  });

  it("scopes granted later (app/scopes_update): the pixel turns on without the merchant pressing anything", async () => {
    const domain = await connectedShop("granted-later", WITHOUT_PIXEL_SCOPES);
    expect((await install(domain, WITHOUT_PIXEL_SCOPES)).webPixelStatus).toBe("missing_scopes");
    fake.setScopes(domain, WITH_PIXEL_SCOPES);
    const update = {
      id: 1,
      shop_id: "gid://shopify/Shop/1",
      previous: WITHOUT_PIXEL_SCOPES.split(","),
      current: WITH_PIXEL_SCOPES.split(","),
      updated_at: new Date().toISOString(),
    };
    const response = await app.handle(shopifyWebhookRequest("/webhooks/app/scopes_update", "app/scopes_update", update, { shop: domain }));
    expect(response.status).toBe(200);
    await runJobs(); // processes the webhook, which queues the activation
    await runJobs();
    const shop = await db.shop.findUniqueOrThrow({ where: { domain } });
    expect(shop).toMatchObject({ webPixelStatus: "active", webPixelError: null, grantedScopes: WITH_PIXEL_SCOPES });
    expect(fake.store(domain).webPixels).toHaveLength(1);
  });

  it("Shopify refuses for lack of scopes (Reclaim's record was stale): 'missing_scopes' too", async () => {
    const domain = await connectedShop("denied", WITHOUT_PIXEL_SCOPES);
    const shop = await install(domain, WITH_PIXEL_SCOPES);
    expect(pixelCalls(domain)).toEqual(["ReclaimWebPixelCreate"]);
    expect(shop.webPixelStatus).toBe("missing_scopes");
    expect(fake.store(domain).webPixels).toEqual([]);
  });

  it("Shopify down: 'failed, retrying' on the settings page, then active on the runner's next attempt", async () => {
    const domain = await connectedShop("flaky");
    // Aimed at the activation itself (the install also reads the shop's details from the same API).
    fake.failNext({ status: 503, count: 1, shop: domain, endpoint: "graphql", matching: "webPixelCreate" });
    let shop = await install(domain, WITH_PIXEL_SCOPES);
    expect(shop).toMatchObject({ webPixelStatus: "failed" });
    expect(shop.webPixelError).toMatch(/tries again automatically/);
    const job = await jobTable(db).findFirstOrThrow({ where: { name: "activate-web-pixel", shopId: shop.id } });
    expect(job).toMatchObject({ status: "queued", attempts: 1 });

    clock.set(new Date(job.runAt.getTime() + 1000));
    await runJobs();
    shop = await db.shop.findUniqueOrThrow({ where: { id: shop.id } });
    expect(shop).toMatchObject({ webPixelStatus: "active", webPixelError: null });
    expect(fake.store(domain).webPixels).toHaveLength(1);
  });

  it("a shop that already has Reclaim's pixel (TAKEN) gets it updated, never a second one", async () => {
    const domain = await connectedShop("taken");
    fake.store(domain).webPixels.push({
      id: "gid://shopify/WebPixel/777",
      settings: JSON.stringify({ collectorUrl: "https://old.example/pixel/events", shopDomain: domain, collectorKey: "stale" }),
      at: new Date().toISOString(),
    });
    const shop = await install(domain, WITH_PIXEL_SCOPES);
    expect(pixelCalls(domain)).toEqual(["ReclaimWebPixelCreate", "ReclaimWebPixelUpdate"]);
    expect(shop).toMatchObject({ webPixelStatus: "active", webPixelId: "gid://shopify/WebPixel/777" });
    expect(fake.store(domain).webPixels).toHaveLength(1);
    expect(JSON.parse(fake.store(domain).webPixels[0]!.settings as string).collectorUrl).toBe(`${TEST_ENV.SHOPIFY_APP_URL}/pixel/events`);
  });
});

describe("Settings → Checkout pixel", () => {
  const route = "routes/app.settings.pixel";
  const page = async (domain: string, init: RequestInit = {}) => {
    const response = await app.handle(bearerRequest(`/app/settings/pixel?_data=${encodeURIComponent(route)}`, init, signSessionToken({ shop: domain })));
    return { status: response.status, body: (await response.json()) as Record<string, any> };
  };
  const activateAgain = (domain: string, intent = "activate") => page(domain, { method: "POST", body: new URLSearchParams({ intent }) });

  it("shows the state, the last event received, the checkouts waiting for confirmation, and 'Activate again' updates the same pixel", async () => {
    const domain = await connectedShop("settings");
    const shop = await install(domain, WITH_PIXEL_SCOPES);
    const first = await page(domain);
    let body = first.body;
    expect(first.status).toBe(200);
    expect(body).toMatchObject({ status: "active", error: null, lastEvent: null, unconfirmed: 0, holdHours: 2 });

    const settings = JSON.parse(fake.store(domain).webPixels[0]!.settings as string);
    await app.handle(
      collectorRequest(pixelBody(settings, "checkout_contact_info_submitted", pixelCheckout({ token: "settings-tok", email: "waiting@example.com" }))!),
    );
    await runJobs();
    ({ body } = await page(domain));
    expect(body.lastEvent).toMatchObject({ name: "contact details entered" });
    expect(body.unconfirmed).toBe(1);

    const again = await activateAgain(domain);
    expect(again).toMatchObject({ status: 200, body: { ok: true, message: "The checkout pixel is active." } });
    expect(pixelCalls(domain).at(-1)).toBe("ReclaimWebPixelUpdate");
    expect(fake.store(domain).webPixels).toHaveLength(1);
    expect((await db.shop.findUniqueOrThrow({ where: { id: shop.id } })).webPixelId).toBe(fake.store(domain).webPixels[0]!.id);
  });

  it("renders the page: status, what the pixel does and never does, and the button", async () => {
    const domain = await connectedShop("settings-html");
    await install(domain, WITH_PIXEL_SCOPES);
    const response = await app.handle(embeddedRequest("/app/settings/pixel", signSessionToken({ shop: domain }), domain));
    expect(response.status).toBe(200);
    const html = await response.text();
    for (const text of ["Checkout pixel", "Active", "What it never does", "Never causes an email on its own", "Activate again", "No event received yet"])
      expect(html).toContain(text);
  });

  it("without the scopes, the page says which permissions to approve", async () => {
    const domain = await connectedShop("settings-no-scopes", WITHOUT_PIXEL_SCOPES);
    const again = await activateAgain(domain);
    expect(again.body).toMatchObject({ ok: false });
    expect(again.body.message).toMatch(/write_pixels/);
    const { body } = await page(domain);
    expect(body).toMatchObject({ status: "missing_scopes" });
    expect(body.error).toMatch(/read_customer_events/);
  });

  it("an unknown action is refused with 400 and changes nothing", async () => {
    const domain = await connectedShop("settings-bad-intent");
    await install(domain, WITH_PIXEL_SCOPES);
    const before = pixelCalls(domain).length;
    expect((await activateAgain(domain, "delete-everything")).status).toBe(400);
    expect(pixelCalls(domain).length).toBe(before);
  });
});
