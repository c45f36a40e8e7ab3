import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openEmbedded, screenshotPath, startBrowserApp } from "../helpers/browser";
import { offlineSession, TEST_SHOP } from "../helpers/shopify";

// Issue 21 (brand kit), in the production build and real Chromium: the logo and accent colour a merchant sets in
// Settings › Brand show in the default templates' campaign preview, and without a logo (or for items without a
// picture, as Stripe carts often are) the email has no empty image box.
type BrowserApp = Awaited<ReturnType<typeof startBrowserApp>>;
let browser: Browser;
let server: BrowserApp["server"];
let stop: BrowserApp["stop"] | undefined;
let db: typeof import("~/db.server").db;
let campaignId: string;

const LOGO = "https://brand.example/reclaim-test-logo.png";
// A 1×1 PNG, served for LOGO so the preview's image really loads (nothing leaves the machine).
const PNG = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==", "base64");

beforeAll(async () => {
  ({ db } = await import("~/db.server"));
  const { sessionStorage } = await import("~/shopify.server");
  await sessionStorage.storeSession(offlineSession(TEST_SHOP));
  const shop = await db.shop.upsert({ where: { domain: TEST_SHOP }, create: { domain: TEST_SHOP, currency: "USD", name: "Brand Shop" }, update: {} });
  const { ensureDefaultCampaign } = await import("~/models/campaign.server");
  campaignId = (await ensureDefaultCampaign(db, shop.id)).id;
  // A Stripe cart whose item has no picture, to preview with.
  await db.recovery.create({
    data: {
      shopId: shop.id,
      source: "stripe",
      externalId: "cs_test_brand1",
      email: "brand-buyer@example.com",
      firstName: "Jo",
      consent: "opt_in",
      totalMinor: 4500,
      currency: "USD",
      abandonedAt: new Date(Date.now() - 3_600_000),
      sourceUpdatedAt: new Date(Date.now() - 3_600_000),
      lineItems: JSON.stringify([{ title: "Gift card", variantTitle: null, quantity: 1, imageUrl: null, unitPriceMinor: 4500, totalPriceMinor: 4500 }]),
    },
  });
  ({ browser, server, stop } = await startBrowserApp());
}, 300_000);

afterAll(async () => {
  await stop?.();
});

/** Every <img> in the preview: its src attribute, and whether it loaded. */
const previewImages = async (view: Awaited<ReturnType<typeof openEmbedded>>) => {
  const frame = view.page.frameLocator('iframe[title="Preview of email 1"]');
  await expect.poll(() => frame.locator("a", { hasText: "Return to your cart" }).count(), { timeout: 15_000 }).toBe(1);
  return frame.locator("img").evaluateAll((imgs) => imgs.map((i) => ({ src: i.getAttribute("src") ?? "", loaded: (i as HTMLImageElement).naturalWidth > 0 })));
};

describe("brand kit", () => {
  it("without a logo: no logo image and no empty image box, for the sample cart and for a Stripe cart without pictures", async () => {
    const view = await openEmbedded(browser, server.url);
    await view.page.context().route(LOGO, (route) => route.fulfill({ contentType: "image/png", body: PNG }));
    await view.goto(`/app/campaigns/${campaignId}`);
    // The sample cart: one item with a picture, one without; only the first gets an <img>.
    const sample = await previewImages(view);
    expect(sample.map((i) => i.src)).toEqual(["https://cdn.shopify.com/s/files/sample-sweater.jpg"]);
    expect(sample.every((i) => i.src.trim() !== "")).toBe(true);

    const panel = view.page.locator("[data-step-panel]:not([hidden])");
    const choose = panel.getByLabel("Preview with");
    const stripeOption = await choose.locator("option", { hasText: "brand-buyer@example.com" }).getAttribute("value");
    await choose.selectOption(stripeOption!);
    const frame = view.page.frameLocator('iframe[title="Preview of email 1"]');
    await expect.poll(() => frame.getByText("Gift card").count(), { timeout: 15_000 }).toBe(1);
    expect(await frame.locator("img").count()).toBe(0);
    expect(await frame.locator(".item-image").count()).toBe(0);
  });

  it("a logo and an accent colour saved in Settings show in the campaign preview: logo on top, button in the colour", async () => {
    const view = await openEmbedded(browser, server.url);
    await view.page.context().route(LOGO, (route) => route.fulfill({ contentType: "image/png", body: PNG }));
    await view.goto("/app/settings");
    await view.page.getByLabel("Logo address (https)").fill(LOGO);
    await view.page.getByLabel("Accent colour").fill("#1a73e8");
    await view.page.getByRole("button", { name: "Save brand" }).click();
    await expect.poll(() => view.page.getByText("Brand saved").isVisible(), { timeout: 10_000 }).toBe(true);

    await view.goto(`/app/campaigns/${campaignId}`);
    const images = await previewImages(view);
    expect(images[0]).toEqual({ src: LOGO, loaded: true });
    expect(images.every((i) => i.src.trim() !== "")).toBe(true);
    const frame = view.page.frameLocator('iframe[title="Preview of email 1"]');
    const buttonCell = frame.locator("a", { hasText: "Return to your cart" }).locator("xpath=ancestor::td[1]");
    expect(await buttonCell.evaluate((td) => getComputedStyle(td).backgroundColor)).toBe("rgb(26, 115, 232)");
    await view.page.screenshot({ path: screenshotPath("brand-kit-preview"), fullPage: true });
  });
});
