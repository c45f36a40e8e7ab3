import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openEmbedded, screenshotPath, startBrowserApp } from "../helpers/browser";
import { seedShop } from "../helpers/seed";
import { offlineSession, TEST_SHOP } from "../helpers/shopify";
import { jobTable } from "../helpers/jobs";

// Settings → Shopify Flow in the production build and real Chromium: a failed trigger delivery shows its error, and
// the merchant's Retry puts it back in the queue.
type BrowserApp = Awaited<ReturnType<typeof startBrowserApp>>;
let browser: Browser;
let server: BrowserApp["server"];
let stop: BrowserApp["stop"] | undefined;
let failedId: string;
let db: typeof import("~/db.server").db;

beforeAll(async () => {
  ({ db } = await import("~/db.server"));
  const { sessionStorage } = await import("~/shopify.server");
  await sessionStorage.storeSession(offlineSession(TEST_SHOP));
  const seeded = await seedShop(db, TEST_SHOP, { prefix: "alpha" });
  const [link, window] = await db.conversion.findMany({ where: { shopId: seeded.shop.id }, orderBy: { method: "asc" } });
  await db.flowTriggerDelivery.create({
    data: { shopId: seeded.shop.id, conversionId: link!.id, status: "sent", attempts: 1, sentAt: new Date(), payload: "{}" },
  });
  failedId = (
    await db.flowTriggerDelivery.create({
      data: {
        shopId: seeded.shop.id,
        conversionId: window!.id,
        status: "failed",
        attempts: 8,
        lastError: "Shopify Flow refused the trigger: Trigger is not enabled",
        payload: "{}",
      },
    })
  ).id;
  ({ server, browser, stop } = await startBrowserApp());
}, 180_000);

afterAll(async () => {
  await stop?.();
});

describe("Shopify Flow settings in Chromium", () => {
  it("shows the trigger's fields and each delivery's state; Retry queues a failed one again", async () => {
    const view = await openEmbedded(browser, server.url);
    await view.goto("/app/settings/flow");
    await expect.poll(() => view.page.getByText("What the trigger carries").isVisible()).toBe(true);
    expect(await view.page.getByText("Recovered amount").first().isVisible()).toBe(true);
    expect(await view.page.getByText("Last error: Shopify Flow refused the trigger: Trigger is not enabled").isVisible()).toBe(true);
    expect(await view.page.getByText("1 trigger could not be sent").isVisible()).toBe(true);
    await view.page.screenshot({ path: screenshotPath("settings-flow"), fullPage: true });

    await view.page.locator(`#delivery-${failedId}`).getByRole("button", { name: "Retry" }).click();
    await expect.poll(() => view.page.getByText("Queued: the trigger is being sent to Shopify Flow again.").isVisible()).toBe(true);
    expect(await db.flowTriggerDelivery.findUniqueOrThrow({ where: { id: failedId } })).toMatchObject({ status: "pending" });
    expect(await jobTable(db).count({ where: { name: "fire-flow-trigger", key: `flow-trigger:${failedId}`, status: "queued" } })).toBe(1);
    // The page reloads its data after the action: the delivery now waits for its attempt.
    await expect.poll(() => view.page.locator(`#delivery-${failedId}`).getByText("Retry now").isVisible()).toBe(true);
    expect(view.consoleErrors).toEqual([]);
  });
});
