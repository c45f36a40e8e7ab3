import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openEmbedded, screenshotPath, startBrowserApp } from "../helpers/browser";
import { seedShop } from "../helpers/seed";
import { offlineSession, TEST_SHOP } from "../helpers/shopify";

// The real production build, served by the real server, in real Chromium, against a seeded PostgreSQL database.
type BrowserApp = Awaited<ReturnType<typeof startBrowserApp>>;
let browser: Browser;
let server: BrowserApp["server"];
let stop: BrowserApp["stop"] | undefined;
let seeded: Awaited<ReturnType<typeof seedShop>>;

beforeAll(async () => {
  const { db } = await import("~/db.server");
  const { sessionStorage } = await import("~/shopify.server");
  await sessionStorage.storeSession(offlineSession(TEST_SHOP));
  seeded = await seedShop(db, TEST_SHOP, { prefix: "alpha" });
  ({ server, browser, stop } = await startBrowserApp());
}, 180_000);

afterAll(async () => {
  await stop?.();
});

describe("dashboard in Chromium", () => {
  it("the overview renders with its figures and chart, and no console errors", async () => {
    const view = await openEmbedded(browser, server.url);
    await view.goto("/app");
    await expect.poll(() => view.page.getByText("Recovered by link").first().isVisible()).toBe(true);
    expect(await view.page.locator(".reclaim-chart-bar").count()).toBeGreaterThan(0);
    await view.page.screenshot({ path: screenshotPath("overview"), fullPage: true });
    expect(view.consoleErrors).toEqual([]);
  });

  it("changing a recoveries filter changes the rows", async () => {
    const view = await openEmbedded(browser, server.url);
    await view.goto("/app/recoveries");
    const rows = view.page.locator(".Polaris-IndexTable__TableRow");
    await expect.poll(() => rows.count()).toBe(6);
    await view.page.screenshot({ path: screenshotPath("recoveries"), fullPage: true });
    await view.page.getByLabel("Source").selectOption("stripe");
    await expect.poll(() => rows.count(), { timeout: 10_000 }).toBe(2);
    await expect.poll(() => view.page.url()).toContain("source=stripe");
    expect(view.consoleErrors).toEqual([]);
  });

  it("the Source filter works from the keyboard alone, there and back", async () => {
    const view = await openEmbedded(browser, server.url);
    await view.goto("/app/recoveries");
    const rows = view.page.locator(".Polaris-IndexTable__TableRow");
    await expect.poll(() => rows.count()).toBe(6);
    const source = view.page.getByLabel("Source");
    await source.focus();
    await view.page.keyboard.press("ArrowDown"); // All → Shopify
    await expect.poll(() => view.page.url(), { timeout: 10_000 }).toContain("source=shopify");
    await expect.poll(() => rows.count(), { timeout: 10_000 }).toBe(4);
    await source.focus();
    await view.page.keyboard.press("ArrowUp"); // Shopify → All
    await expect.poll(() => view.page.url(), { timeout: 10_000 }).not.toContain("source=");
    await expect.poll(() => rows.count(), { timeout: 10_000 }).toBe(6);
    expect(view.consoleErrors).toEqual([]);
  });

  it("a recovery opens with its timeline, and Stop works from the page", async () => {
    const view = await openEmbedded(browser, server.url);
    await view.goto(`/app/recoveries/${seeded.shopifyRecoveries[1]!.id}`);
    await expect.poll(() => view.page.getByText("Timeline").isVisible()).toBe(true);
    await view.page.screenshot({ path: screenshotPath("recovery-detail"), fullPage: true });
    // Stopping asks first (issue 21): nothing is cancelled until the merchant confirms in the dialog.
    await view.page.getByRole("button", { name: "Stop emails for this cart…" }).click();
    await view.page.getByRole("dialog").getByRole("button", { name: "Stop emails" }).click();
    await expect.poll(() => view.page.getByText(/pending email\(s\) cancelled/).isVisible(), { timeout: 10_000 }).toBe(true);
    expect(view.consoleErrors).toEqual([]);
    // What the merchant asked for happened: the cart's scheduled email is cancelled in the database, not only in words.
    const { db } = await import("~/db.server");
    const messages = await db.message.findMany({ where: { recoveryId: seeded.shopifyRecoveries[1]!.id, position: 2 }, select: { status: true } });
    expect(messages).toEqual([{ status: "cancelled" }]);
  });

  it("a campaign edit persists after reload, and the live preview renders", async () => {
    const view = await openEmbedded(browser, server.url);
    await view.goto(`/app/campaigns/${seeded.campaign.id}`);
    const subject = view.page.getByLabel("Subject").first();
    await expect.poll(() => subject.isVisible()).toBe(true);
    await subject.fill("Still thinking it over, {{ customer.first_name | default: 'friend' }}?");
    await view.page.getByRole("button", { name: "Save email 1" }).click();
    await expect.poll(() => view.page.getByText("Email 1 saved.").isVisible(), { timeout: 10_000 }).toBe(true);
    await expect.poll(() => view.page.locator("iframe[title='Preview of email 1']").count(), { timeout: 10_000 }).toBe(1);
    await view.page.screenshot({ path: screenshotPath("campaign-editor"), fullPage: true });
    await view.goto(`/app/campaigns/${seeded.campaign.id}`);
    await expect
      .poll(() => view.page.getByLabel("Subject").first().inputValue())
      .toBe("Still thinking it over, {{ customer.first_name | default: 'friend' }}?");
    expect(view.consoleErrors).toEqual([]);
  });

  it("the campaigns list, settings and Stripe settings pages render with no console errors", async () => {
    const view = await openEmbedded(browser, server.url);
    await view.goto("/app/campaigns");
    await expect.poll(() => view.page.getByText("Default", { exact: true }).isVisible()).toBe(true);
    await view.page.screenshot({ path: screenshotPath("campaigns"), fullPage: true });
    await view.goto("/app/settings");
    await expect.poll(() => view.page.getByText("Recovery policy").first().isVisible()).toBe(true);
    await view.page.screenshot({ path: screenshotPath("settings"), fullPage: true });
    await view.goto("/app/settings/stripe");
    await expect.poll(() => view.page.getByText("checkout.session.expired").first().isVisible()).toBe(true);
    await view.page.screenshot({ path: screenshotPath("settings-stripe"), fullPage: true });
    expect(view.consoleErrors).toEqual([]);
  });
});
