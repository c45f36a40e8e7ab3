import { setAbstractFetchFunc } from "@shopify/shopify-api/runtime";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadApp } from "../helpers/app-server";
import { embeddedRequest, offlineSession, OTHER_SHOP, signSessionToken, TEST_SHOP } from "../helpers/shopify";
import { jobTable } from "../helpers/jobs";

let app: Awaited<ReturnType<typeof loadApp>>;
const outbound: string[] = [];
beforeAll(async () => {
  app = await loadApp();
  // Every outbound call the Shopify library tries to make is recorded and refused: these tests must need none.
  // (Set after the app loads: the library's node adapter installs the real fetch when it is imported.)
  setAbstractFetchFunc(async (input) => {
    outbound.push(String(input instanceof Request ? input.url : input));
    throw new Error("network disabled in tests");
  });
  const { sessionStorage } = await import("~/shopify.server");
  await sessionStorage.storeSession(offlineSession(TEST_SHOP));
});
afterAll(() => app?.close());

describe("embedded admin authentication (token exchange)", () => {
  it("renders the Polaris overview server-side for a valid session token, with no network call", async () => {
    outbound.length = 0;
    const response = await app.handle(embeddedRequest("/app"));
    const html = await response.text();
    expect(response.status).toBe(200);
    expect(html).toContain("Polaris-Page"); // Polaris markup rendered on the server
    // A new shop sees the first-run guidance.
    expect(html).toContain("No abandoned carts yet");
    // App Bridge is loaded and given the app's client id.
    expect(html).toMatch(/cdn\.shopify\.com\/shopifycloud\/app-bridge\.js/);
    expect(html).toContain('data-api-key="test-api-key"');
    // The admin may frame the page, nobody else.
    expect(response.headers.get("content-security-policy")).toContain(`frame-ancestors https://${TEST_SHOP}`);
    expect(outbound).toEqual([]);
  });

  it("creates the shop on its first authenticated visit and queues its install work once", async () => {
    const { db } = await import("~/db.server");
    const shop = await db.shop.findUniqueOrThrow({ where: { domain: TEST_SHOP } });
    await app.handle(embeddedRequest("/app"));
    expect(await jobTable(db).count({ where: { name: "shop-installed", shopId: shop.id } })).toBe(1);
  });

  it.each([
    ["forged (signed with another secret)", signSessionToken({ secret: "not-the-app-secret" })],
    ["expired", signSessionToken({ expiresIn: -120 })],
    ["for another app (wrong audience)", signSessionToken({ aud: "someone-elses-app" })],
  ])("refuses a %s session token", async (_label, token) => {
    outbound.length = 0;
    const response = await app.handle(embeddedRequest("/app", token));
    const html = await response.text();
    expect([302, 401]).toContain(response.status);
    expect(html).not.toContain("No abandoned carts yet");
    expect(outbound).toEqual([]);
  });

  it("does not log a shop in with a valid token for a shop that has no stored session (it must exchange the token first)", async () => {
    outbound.length = 0;
    const response = await app.handle(embeddedRequest("/app", signSessionToken({ shop: OTHER_SHOP }), OTHER_SHOP));
    expect(response.status, String(outbound)).not.toBe(200);
    // The library tried token exchange with Shopify, which the test refused: no page without a real offline token.
    expect(outbound.some((url) => url.startsWith(`https://${OTHER_SHOP}/admin/oauth/access_token`))).toBe(true);
  });
});
