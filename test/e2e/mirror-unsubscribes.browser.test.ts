import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openEmbedded, screenshotPath, startBrowserApp } from "../helpers/browser";
import { offlineSession, TEST_SHOP } from "../helpers/shopify";

// Settings → Privacy "Mirror unsubscribes to Shopify" in the production build, in Chromium, inside the App Bridge
// stand-in: "Turn on" asks Shopify for the optional scope with App Bridge's Scopes API, `shopify.scopes.request(
// ["write_customers"])` (stubbed here: the merchant declines), and the page then shows what the server holds as granted.
type BrowserApp = Awaited<ReturnType<typeof startBrowserApp>>;
let browser: Browser;
let server: BrowserApp["server"];
let stop: BrowserApp["stop"] | undefined;
let db: typeof import("~/db.server").db;

declare global {
  interface Window {
    __scopeCalls: { method: string; scopes: string[] }[];
  }
}

beforeAll(async () => {
  db = (await import("~/db.server")).db;
  const { sessionStorage } = await import("~/shopify.server");
  await sessionStorage.storeSession(offlineSession(TEST_SHOP));
  await db.shop.create({ data: { domain: TEST_SHOP, name: "Mirror test", grantedScopes: offlineSession(TEST_SHOP).scope! } });
  ({ server, browser, stop } = await startBrowserApp());
}, 300_000);

afterAll(async () => {
  await stop?.();
});

describe("Settings → Privacy: Mirror unsubscribes to Shopify, in Chromium", () => {
  it("'Turn on' calls shopify.scopes.request(['write_customers']); declined, the page shows 'Requested, not granted'", async () => {
    const view = await openEmbedded(browser, server.url);
    await view.goto("/app/settings/privacy");
    await expect.poll(() => view.page.getByText("Mirror unsubscribes to Shopify").isVisible()).toBe(true);
    // App Bridge's Scopes API, as the real one answers when the merchant declines the permission dialog.
    await view.page.evaluate(() => {
      window.__scopeCalls = [];
      const detail = {
        granted: ["read_orders", "read_customers", "write_discounts"],
        required: ["read_orders", "read_customers", "write_discounts"],
        optional: ["write_customers"],
      };
      Object.assign(window.shopify, {
        scopes: {
          query: async () => detail,
          request: async (scopes: string[]) => {
            window.__scopeCalls.push({ method: "request", scopes });
            return { result: "declined-all", detail };
          },
          revoke: async (scopes: string[]) => {
            window.__scopeCalls.push({ method: "revoke", scopes });
            return { detail };
          },
        },
      });
    });

    await view.page.getByRole("button", { name: "Turn on" }).click();
    // Each click goes through the app's action and a reload of the page's data: seconds on a loaded CI machine.
    await expect.poll(() => view.page.evaluate(() => window.__scopeCalls), { timeout: 15_000 }).toEqual([{ method: "request", scopes: ["write_customers"] }]);
    await expect.poll(() => view.page.getByText("Requested, not granted").isVisible(), { timeout: 15_000 }).toBe(true);
    await expect.poll(() => view.page.getByRole("button", { name: "Ask for the permission again" }).isVisible(), { timeout: 15_000 }).toBe(true);
    expect(await db.shop.findUniqueOrThrow({ where: { domain: TEST_SHOP } })).toMatchObject({ mirrorUnsubscribes: true });
    await view.page.screenshot({ path: screenshotPath("settings-privacy-mirror-requested"), fullPage: true });

    await view.page.getByRole("button", { name: "Turn off" }).click();
    await expect.poll(() => view.page.getByRole("button", { name: "Turn on" }).isVisible(), { timeout: 15_000 }).toBe(true);
    expect((await db.shop.findUniqueOrThrow({ where: { domain: TEST_SHOP } })).mirrorUnsubscribes).toBe(false);
    expect(view.consoleErrors).toEqual([]);
  });
});
