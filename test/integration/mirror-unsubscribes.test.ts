// Settings → Privacy "Mirror unsubscribes to Shopify" (docs/decisions/077): the state the page shows (off / on /
// requested, not granted / granted, turned off), what the settings action accepts as proof of the grant (only Shopify's
// word: the session's scopes, the app/scopes_update webhook, or the Admin API's `app { installation { accessScopes } }`,
// asked of the fake Admin API here), and the unsubscribe path and mirror job honouring both the setting and the grant.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeShopifyAdmin, type FakeShopifyAdmin } from "../../app/demo/fakes/shopify-admin";
import { startAdminApp } from "../helpers/admin-app";
import { FakeClock } from "../helpers/fake-clock";
import { embeddedRequest, offlineSession, shopifyWebhookRequest, signSessionToken } from "../helpers/shopify";
import type { TEST_ENV } from "../setup/test-env";
import { jobTable } from "../helpers/jobs";

const ROUTE = "routes/app.settings.privacy";
const BASE = "read_orders,read_customers,write_discounts";
const WITH_WRITE_CUSTOMERS = `${BASE},write_customers`;

let admin: Awaited<ReturnType<typeof startAdminApp>>;
let db: typeof admin.db;
let fake: FakeShopifyAdmin;

beforeAll(async () => {
  admin = await startAdminApp();
  db = admin.db;
  fake = await startFakeShopifyAdmin();
  const { setAbstractFetchFunc } = await import("@shopify/shopify-api/runtime");
  setAbstractFetchFunc(fake.fetchFor()); // after startAdminApp, which refuses the network
});
afterAll(async () => {
  await fake?.close();
  await admin?.close();
});

let shops = 0;
/**
 * An installed shop: its row, its offline session and the fake's record, all granted `scope` (Shopify's truth is the
 * fake's; the session is what token exchange stored).
 */
async function installedShop(name: string, scope = BASE, data: { mirrorUnsubscribes?: boolean } = {}) {
  const domain = `${name}-${++shops}.myshopify.com`;
  fake.addShop({ domain, accessToken: "shpat_test_offline_token", scope });
  const { sessionStorage } = await import("~/shopify.server");
  await sessionStorage.storeSession(offlineSession(domain, scope as typeof TEST_ENV.SCOPES));
  const shop = await db.shop.create({ data: { domain, name, grantedScopes: scope, ...data } });
  return { ...shop, token: () => signSessionToken({ shop: domain }) };
}

type TestShop = Awaited<ReturnType<typeof installedShop>>;
const stateOf = async (shop: TestShop) => {
  const { status, body } = await admin.data("/app/settings/privacy", ROUTE, shop.token());
  expect(status).toBe(200);
  return body.mirror.state as string;
};
const post = (shop: TestShop, form: Record<string, string>) => admin.post("/app/settings/privacy", ROUTE, form, shop.token());
const scopeQueries = (shop: TestShop) => fake.documents(shop.domain).filter((d) => /installation\s*\{\s*accessScopes/.test(d.query));

const clock = new FakeClock(Date.now());
/** Runs due jobs as the app's runner does, except the Shopify sync (it would poll the fake). */
async function runJobs() {
  const { JobRunner } = await import("../helpers/jobs");
  const { jobDefinitions } = await import("~/jobs/registry.server");
  const { SHOPIFY_SYNC_JOB } = await import("~/sources/shopify/sync-request.server");
  clock.set(new Date(Date.now() + 60_000));
  await new JobRunner({ db, definitions: jobDefinitions.filter((d) => d.name !== SHOPIFY_SYNC_JOB), clock, random: () => 0.5 }).drain();
}

async function scopesUpdate(shop: TestShop, previous: string, current: string) {
  const update = { id: 1, shop_id: "gid://shopify/Shop/1", previous: previous.split(","), current: current.split(","), updated_at: new Date().toISOString() };
  const response = await admin.app.handle(
    shopifyWebhookRequest("/webhooks/app/scopes_update", "app/scopes_update", update, {
      shop: shop.domain,
      webhookId: `scopes-${shop.domain}-${current.length}-${Date.now()}`,
    }),
  );
  expect(response.status).toBe(200);
  await runJobs();
}

describe("Settings → Privacy: the state shown", () => {
  it("a new shop is off; the page explains what the setting does and what the permission is", async () => {
    const shop = await installedShop("fresh");
    expect(await stateOf(shop)).toBe("off");
    const html = (await (await admin.app.handle(embeddedRequest("/app/settings/privacy", shop.token(), shop.domain))).text()).replace(/&#x27;|&quot;/g, "'");
    expect(html).toContain("Mirror unsubscribes to Shopify");
    expect(html).toContain("When a buyer unsubscribes from a Reclaim email, Reclaim also marks them as unsubscribed from email marketing in Shopify");
    expect(html).toContain("write_customers");
    expect(html).toContain("Turn on");
    // The privacy requests are still there.
    expect(html).toContain("Privacy requests");
  });

  it.each([
    [false, BASE, "off"],
    [true, WITH_WRITE_CUSTOMERS, "on"],
    [true, BASE, "requested"],
    [false, WITH_WRITE_CUSTOMERS, "granted_off"],
  ])("setting %s with scopes %s is shown as %s", async (on, scope, state) => {
    const shop = await installedShop("state", scope, { mirrorUnsubscribes: on });
    expect(await stateOf(shop)).toBe(state);
  });

  it("the shown grant follows the session's scopes, not a stale shop row", async () => {
    // The Shop row says granted, but the session (what Shopify last told token exchange / the webhook) does not.
    const shop = await installedShop("stale", BASE, { mirrorUnsubscribes: true });
    await db.shop.update({ where: { id: shop.id }, data: { grantedScopes: WITH_WRITE_CUSTOMERS } });
    expect(await stateOf(shop)).toBe("requested");
  });
});

describe("Settings → Privacy: turning it on and off", () => {
  it("turned on and declined in Shopify's dialog: requested, not granted (Shopify is not asked again)", async () => {
    const shop = await installedShop("declined");
    const { status, body } = await post(shop, { intent: "enable", requestResult: "declined-all" });
    expect(status).toBe(200);
    expect(body).toMatchObject({ ok: false, state: "requested" });
    expect(body.message).toMatch(/has not granted Reclaim the permission/);
    expect(await db.shop.findUniqueOrThrow({ where: { id: shop.id } })).toMatchObject({ mirrorUnsubscribes: true, grantedScopes: BASE });
    expect(scopeQueries(shop)).toEqual([]);
    expect(await stateOf(shop)).toBe("requested");
  });

  it("refuses to claim 'on' when the browser says granted but Shopify does not", async () => {
    const shop = await installedShop("claims");
    // A forged post: App Bridge's answer says granted, and the form carries scopes. Shopify (the fake) disagrees.
    const { body } = await post(shop, {
      intent: "enable",
      requestResult: "granted-all",
      scopes: "write_customers",
      grantedScopes: WITH_WRITE_CUSTOMERS,
      state: "on",
    });
    expect(body).toMatchObject({ ok: false, state: "requested" });
    expect(scopeQueries(shop)).toHaveLength(1); // the server asked Shopify
    expect((await db.shop.findUniqueOrThrow({ where: { id: shop.id } })).grantedScopes).toBe(BASE);
    expect(await stateOf(shop)).toBe("requested");
  });

  it("granted in Shopify's dialog: the server checks with Shopify, records the grant on the shop and its session, and it is on", async () => {
    const shop = await installedShop("granted");
    fake.setScopes(shop.domain, WITH_WRITE_CUSTOMERS); // the merchant approved in Shopify's dialog
    const { status, body } = await post(shop, { intent: "enable", requestResult: "granted-all" });
    expect(status).toBe(200);
    expect(body).toMatchObject({ ok: true, state: "on" });
    expect((await db.shop.findUniqueOrThrow({ where: { id: shop.id } })).grantedScopes.split(",")).toContain("write_customers");
    expect((await db.session.findFirstOrThrow({ where: { shop: shop.domain } })).scope?.split(",")).toContain("write_customers");
    // The next request copies the session's scopes onto the shop again: still on.
    expect(await stateOf(shop)).toBe("on");
  });

  it("Shopify not answering the check: not on, and says so", async () => {
    const shop = await installedShop("down");
    fake.setScopes(shop.domain, WITH_WRITE_CUSTOMERS);
    fake.failNext({ status: 503, count: 5, shop: shop.domain, endpoint: "graphql" });
    const { status, body } = await post(shop, { intent: "enable", requestResult: "granted-all" });
    expect(status).toBe(200);
    expect(body).toMatchObject({ ok: false, state: "requested" });
    expect(body.message).toMatch(/not confirmed the permission yet/);
  });

  it("turning it off stops mirroring and shows 'granted, turned off'; on again needs no new request", async () => {
    const shop = await installedShop("toggle", WITH_WRITE_CUSTOMERS, { mirrorUnsubscribes: true });
    expect((await post(shop, { intent: "disable" })).body).toMatchObject({ ok: true, state: "granted_off" });
    expect(await stateOf(shop)).toBe("granted_off");
    expect((await post(shop, { intent: "enable", requestResult: "already-granted" })).body).toMatchObject({ ok: true, state: "on" });
    expect(scopeQueries(shop)).toEqual([]);
  });

  it("after the permission is removed in the browser, 'recheck' reads Shopify's answer", async () => {
    const shop = await installedShop("revoke", WITH_WRITE_CUSTOMERS);
    expect(await stateOf(shop)).toBe("granted_off");
    fake.setScopes(shop.domain, BASE); // shopify.scopes.revoke(["write_customers"]) in the browser
    expect((await post(shop, { intent: "recheck" })).body).toMatchObject({ ok: true, state: "off" });
    expect(await stateOf(shop)).toBe("off");
  });

  it("an unknown intent is refused and changes nothing", async () => {
    const shop = await installedShop("unknown");
    expect((await post(shop, { intent: "grant" })).status).toBe(400);
    expect((await db.shop.findUniqueOrThrow({ where: { id: shop.id } })).mirrorUnsubscribes).toBe(false);
  });
});

describe("app/scopes_update changes the shown state", () => {
  it("write_customers removed in Shopify: on becomes 'requested, not granted'; granted again: on", async () => {
    const shop = await installedShop("webhook", WITH_WRITE_CUSTOMERS, { mirrorUnsubscribes: true });
    expect(await stateOf(shop)).toBe("on");
    await scopesUpdate(shop, WITH_WRITE_CUSTOMERS, BASE);
    expect((await db.shop.findUniqueOrThrow({ where: { id: shop.id } })).grantedScopes).toBe(BASE);
    expect(await stateOf(shop)).toBe("requested");
    const html = (await (await admin.app.handle(embeddedRequest("/app/settings/privacy", shop.token(), shop.domain))).text()).replace(/&#x27;|&quot;/g, "'");
    expect(html).toContain("Requested, not granted");
    expect(html).toContain("removed later");

    await scopesUpdate(shop, BASE, WITH_WRITE_CUSTOMERS);
    expect(await stateOf(shop)).toBe("on");
  });
});

describe("the unsubscribe path and the mirror job", () => {
  let customers = 0;
  async function unsubscribe(shop: TestShop) {
    const id = 7_100_000 + ++customers;
    const email = `buyer${id}@example.com`;
    const at = new Date().toISOString();
    fake.store(shop.domain).upsertCustomer({
      id,
      firstName: "Robin",
      lastName: null,
      email,
      phone: null,
      marketingState: "SUBSCRIBED",
      marketingOptInLevel: "SINGLE_OPT_IN",
      marketingUpdatedAt: at,
      locale: "en",
      createdAt: at,
      updatedAt: at,
      tags: [],
    });
    const contact = await db.contact.create({ data: { shopId: shop.id, email, shopifyCustomerId: `gid://shopify/Customer/${id}` } });
    const { unsubscribeContact } = await import("~/models/contact.server");
    await unsubscribeContact(db, contact, new Date(), { via: "test", mirrorToShopify: true });
    return contact;
  }
  const mirrorJobs = (shop: TestShop) => jobTable(db).count({ where: { name: "mirror-unsubscribe-to-shopify", shopId: shop.id } });

  it("setting on and write_customers granted: the unsubscribe is mirrored to Shopify", async () => {
    const shop = await installedShop("mirror-on", WITH_WRITE_CUSTOMERS, { mirrorUnsubscribes: true });
    const contact = await unsubscribe(shop);
    expect(await mirrorJobs(shop)).toBe(1);
    await runJobs();
    const updates = fake.store(shop.domain).consentUpdates;
    expect(updates).toHaveLength(1);
    expect(updates[0]!.input).toMatchObject({ customerId: contact.shopifyCustomerId, emailMarketingConsent: { marketingState: "UNSUBSCRIBED" } });
    expect(fake.store(shop.domain).getCustomer(contact.shopifyCustomerId!)?.marketingState).toBe("UNSUBSCRIBED");
  });

  it.each([
    ["off, though granted", WITH_WRITE_CUSTOMERS, false],
    ["on, but not granted", BASE, true],
  ])("setting %s: nothing is queued or mirrored", async (_label, scope, on) => {
    const shop = await installedShop("mirror-not", scope, { mirrorUnsubscribes: on });
    fake.setScopes(shop.domain, WITH_WRITE_CUSTOMERS); // even if Shopify would accept the call
    await unsubscribe(shop);
    expect(await mirrorJobs(shop)).toBe(0);
    await runJobs();
    expect(fake.store(shop.domain).consentUpdates).toEqual([]);
  });

  it("queued while on, then turned off (or revoked) before it runs: the job writes nothing", async () => {
    const off = await installedShop("mirror-late-off", WITH_WRITE_CUSTOMERS, { mirrorUnsubscribes: true });
    const revoked = await installedShop("mirror-late-revoked", WITH_WRITE_CUSTOMERS, { mirrorUnsubscribes: true });
    await unsubscribe(off);
    await unsubscribe(revoked);
    expect((await post(off, { intent: "disable" })).body.state).toBe("granted_off");
    // What the app/scopes_update job records (run here without draining the queued mirror jobs first).
    const { recordGrantedScopes } = await import("~/models/mirror-unsubscribes.server");
    await recordGrantedScopes(db, revoked, BASE.split(","));
    fake.setScopes(revoked.domain, WITH_WRITE_CUSTOMERS); // even if Shopify would still accept the call
    expect(await jobTable(db).count({ where: { name: "mirror-unsubscribe-to-shopify", shopId: { in: [off.id, revoked.id] }, status: "queued" } })).toBe(2);
    await runJobs();
    expect(fake.store(off.domain).consentUpdates).toEqual([]);
    expect(fake.store(revoked.domain).consentUpdates).toEqual([]);
    // Both jobs succeeded (doing nothing): graphile-worker removed them; none failed or waits for a retry.
    expect(
      await jobTable(db).findMany({ where: { name: "mirror-unsubscribe-to-shopify", shopId: { in: [off.id, revoked.id] } }, select: { status: true } }),
    ).toEqual([]);
  });
});
