import { readFile } from "node:fs/promises";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openEmbedded, screenshotPath, startBrowserApp } from "../helpers/browser";
import { offlineSession, TEST_SHOP } from "../helpers/shopify";

// Settings → Privacy in the production build, in Chromium, inside the App Bridge stand-in: the export is fetched with the
// session token App Bridge adds (a plain link would carry none) and saved as a file.
type BrowserApp = Awaited<ReturnType<typeof startBrowserApp>>;
let browser: Browser;
let server: BrowserApp["server"];
let stop: BrowserApp["stop"] | undefined;
const exportDocument = { format: "reclaim.customer-data/1", shop: TEST_SHOP, contacts: [{ email: "ivy@example.com" }] };

beforeAll(async () => {
  const { db } = await import("~/db.server");
  const { sessionStorage } = await import("~/shopify.server");
  await sessionStorage.storeSession(offlineSession(TEST_SHOP));
  const shop = await db.shop.create({ data: { domain: TEST_SHOP, name: "Privacy test" } });
  const event = (topic: string, id: string) =>
    db.inboundEvent.create({ data: { source: "shopify", receiver: TEST_SHOP, externalId: id, topic, payload: "{}", processedAt: new Date() } });
  await db.complianceRequest.create({
    data: {
      shopId: shop.id,
      topic: "customers/data_request",
      inboundEventId: (await event("customers/data_request", "w1")).id,
      customerId: "7012345678901",
      email: "ivy@example.com",
      status: "done",
      export: JSON.stringify(exportDocument),
      receivedAt: new Date("2027-02-01T10:00:00Z"),
      completedAt: new Date("2027-02-01T10:00:01Z"),
      summary: JSON.stringify({ contacts: 1, recoveries: 1, messages: 2, emailsSent: 1, clicks: 0, conversions: 0, purchases: 0, webhookDeliveries: 1 }),
    },
  });
  await db.complianceRequest.create({
    data: {
      shopId: shop.id,
      topic: "customers/redact",
      inboundEventId: (await event("customers/redact", "w2")).id,
      customerId: "7012345678902",
      email: "sha256:00",
      status: "done",
      receivedAt: new Date("2027-02-02T10:00:00Z"),
      completedAt: new Date("2027-02-02T10:00:01Z"),
      summary: JSON.stringify({
        recoveries: 1,
        messages: 3,
        clicks: 1,
        purchases: 0,
        contacts: 1,
        webhookBodies: 2,
        messagesCancelled: 1,
        keptSuppressions: [],
      }),
    },
  });
  ({ server, browser, stop } = await startBrowserApp());
}, 180_000);

afterAll(async () => {
  await stop?.();
});

describe("Settings → Privacy in Chromium", () => {
  it("lists the requests with what was done, and downloads a data request's export as a JSON file", async () => {
    const view = await openEmbedded(browser, server.url);
    await view.goto("/app/settings/privacy");
    await expect.poll(() => view.page.getByText("Customer data erasure").first().isVisible()).toBe(true);
    await expect.poll(() => view.page.getByText("1 pending email was cancelled.", { exact: false }).isVisible()).toBe(true);
    await view.page.screenshot({ path: screenshotPath("settings-privacy"), fullPage: true });

    const [download] = await Promise.all([
      view.page.waitForEvent("download"),
      view.page.getByRole("button", { name: /Download the data of customer 7012345678901/ }).click(),
    ]);
    expect(download.suggestedFilename()).toBe("reclaim-customer-7012345678901-2027-02-01.json");
    expect(JSON.parse(await readFile((await download.path())!, "utf8"))).toEqual(exportDocument);
    // Only the data request has a file to download.
    expect(await view.page.getByRole("button", { name: /Download/ }).count()).toBe(1);
    expect(view.consoleErrors).toEqual([]);
  });
});
