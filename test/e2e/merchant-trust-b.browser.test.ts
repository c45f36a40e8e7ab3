import axe from "axe-core";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openEmbedded, screenshotPath, startBrowserApp } from "../helpers/browser";
import { seedShop } from "../helpers/seed";
import { offlineSession, TEST_SHOP } from "../helpers/shopify";

// Issue 21 (part B) in the production build and real Chromium, as a merchant (and a keyboard or screen-reader user)
// meets it: readable timeline and the email as sent, a recovery that won't be emailed, search, confirmations, the
// health strip, titles and an axe scan of every admin page.
type BrowserApp = Awaited<ReturnType<typeof startBrowserApp>>;
let browser: Browser;
let server: BrowserApp["server"];
let stop: BrowserApp["stop"] | undefined;
let seeded: Awaited<ReturnType<typeof seedShop>>;
let db: typeof import("~/db.server").db;
let sentMessageId: string;
let complianceId: string;

beforeAll(async () => {
  ({ db } = await import("~/db.server"));
  const { sessionStorage } = await import("~/shopify.server");
  await sessionStorage.storeSession(offlineSession(TEST_SHOP));
  seeded = await seedShop(db, TEST_SHOP, { prefix: "alpha" });
  // A first name to search by, and a Stripe cart whose session id is all the source gives as a name.
  await db.recovery.update({ where: { id: seeded.shopifyRecoveries[1]!.id }, data: { firstName: "Philippa" } });
  await db.recovery.update({
    where: { id: seeded.stripeRecoveries[1]!.id },
    data: {
      firstName: "Sam",
      lineItems: JSON.stringify([{ title: "Annual plan", variantTitle: null, quantity: 1, imageUrl: null, unitPriceMinor: 6000, totalPriceMinor: 6000 }]),
    },
  });
  sentMessageId = (await db.message.findFirstOrThrow({ where: { recoveryId: seeded.shopifyRecoveries[1]!.id, status: "sent" } })).id;
  const { connectStripe } = await import("~/models/stripe-connection.server");
  const connected = await connectStripe(db, seeded.shop.id, { webhookSecret: `whsec_${"b".repeat(32)}` });
  if (!connected.ok) throw new Error("could not connect Stripe");
  // The campaign is off and an email failed an hour ago: the health strip must say both.
  await db.campaign.update({ where: { id: seeded.campaign.id }, data: { enabled: false } });
  await db.message.create({
    data: {
      shopId: seeded.shop.id,
      recoveryId: seeded.shopifyRecoveries[0]!.id,
      campaignId: seeded.campaign.id,
      stepId: seeded.campaign.steps[2]!.id,
      position: 3,
      status: "failed",
      scheduledFor: new Date(Date.now() - 3_600_000),
      lastError: "The mail server refused it: 550 sender not allowed",
    },
  });
  complianceId = (
    await db.complianceRequest.create({
      data: {
        shopId: seeded.shop.id,
        topic: "customers/data_request",
        inboundEventId: "alpha-inbound-dr",
        customerId: "7001",
        email: "alpha-buyer1@example.com",
        status: "done",
        export: JSON.stringify({ recoveries: [] }),
      },
    })
  ).id;
  ({ server, browser, stop } = await startBrowserApp());
}, 180_000);

afterAll(async () => {
  await stop?.();
});

/** Serious and critical axe violations on the page as it is now, each as "rule: target (summary)". */
async function axeViolations(page: Page): Promise<string[]> {
  await page.addScriptTag({ content: axe.source });
  const result = await page.evaluate(() => (window as unknown as { axe: typeof axe }).axe.run(document, { resultTypes: ["violations"] }));
  return result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .flatMap((v) => v.nodes.map((n) => `${v.id}: ${n.target.join(" ")} (${n.failureSummary?.split("\n")[1]?.trim() ?? v.help})`));
}

describe("every admin page", () => {
  const pages = () =>
    [
      ["/app", "Overview · Reclaim"],
      ["/app/recoveries", "Recoveries · Reclaim"],
      [`/app/recoveries/${seeded.shopifyRecoveries[1]!.id}`, "#1001 · Recoveries · Reclaim"],
      [`/app/recoveries/${seeded.shopifyRecoveries[1]!.id}/emails/${sentMessageId}`, "Email 1 as sent · Reclaim"],
      ["/app/campaigns", "Campaigns · Reclaim"],
      [`/app/campaigns/${seeded.campaign.id}`, "Default · Campaigns · Reclaim"],
      ["/app/settings", "Settings · Reclaim"],
      ["/app/settings/stripe", "Stripe · Settings · Reclaim"],
      ["/app/settings/pixel", "Checkout pixel · Settings · Reclaim"],
      ["/app/settings/privacy", "Privacy · Settings · Reclaim"],
      ["/app/settings/flow", "Shopify Flow · Settings · Reclaim"],
    ] as const;

  it("has its own document title and no serious or critical axe violation", async () => {
    expect(complianceId).toBeTruthy();
    const found: Record<string, string[]> = {};
    for (const [path, title] of pages()) {
      const view = await openEmbedded(browser, server.url);
      await view.goto(path);
      expect(await view.page.title(), path).toBe(title);
      const violations = await axeViolations(view.page);
      if (violations.length) found[path] = violations;
      await view.page.context().close();
    }
    expect(found).toEqual({});
  });
});

describe("badges", () => {
  it("a toned badge reads as its own words, with no tone name run into them", async () => {
    const view = await openEmbedded(browser, server.url);
    await view.goto("/app/settings");
    const badge = view.page.locator(".Polaris-Badge", { hasText: "no failures" });
    await expect.poll(() => badge.isVisible()).toBe(true);
    expect(await badge.textContent()).toBe("no failures");
  });
});

describe("recoveries list", () => {
  it("a keyboard alone opens a recovery: Tab to its row, Enter, the detail page opens", async () => {
    const view = await openEmbedded(browser, server.url);
    await view.goto("/app/recoveries");
    const target = seeded.shopifyRecoveries[2]!;
    let focused = "";
    for (let i = 0; i < 80 && !focused.endsWith(`/app/recoveries/${target.id}`); i++) {
      await view.page.keyboard.press("Tab");
      focused = await view.page.evaluate(() => (document.activeElement as HTMLAnchorElement | null)?.getAttribute("href") ?? "");
    }
    expect(focused).toContain(`/app/recoveries/${target.id}`);
    await view.page.keyboard.press("Enter");
    await expect.poll(() => view.page.url(), { timeout: 10_000 }).toContain(`/app/recoveries/${target.id}`);
    await expect.poll(() => view.page.getByRole("heading", { name: "Timeline" }).isVisible()).toBe(true);
    expect(view.consoleErrors).toEqual([]);
  });

  it("searches by first name, by checkout number and by the middle of an email; names Stripe carts and says when no email will go", async () => {
    const view = await openEmbedded(browser, server.url);
    await view.goto("/app/recoveries");
    const rows = view.page.locator(".Polaris-IndexTable__TableRow");
    await expect.poll(() => rows.count()).toBe(6);
    // Stripe carts read as who and what, never as a session id.
    await expect.poll(() => view.page.getByRole("link", { name: "Sam — Annual plan" }).isVisible()).toBe(true);
    expect(await view.page.getByText(/cs_test_/).count()).toBe(0);
    // The opted-out buyer (seeded without consent): no "next email", but why.
    const noConsent = rows.filter({ hasText: "alpha-buyer3@example.com" });
    await expect.poll(() => noConsent.getByText("Won't be emailed: the buyer has not agreed to marketing emails").isVisible()).toBe(true);
    await view.page.screenshot({ path: screenshotPath("recoveries-list-b"), fullPage: true });
    // Badges read as what they say, not as their colour run into the text ("SuccessShopify").
    expect(await rows.first().locator(".Polaris-Badge").first().textContent()).toBe("Source: Shopify");

    const search = view.page.getByPlaceholder("Search by email, name, checkout or order number");
    for (const [q, expected] of [
      ["philippa", "#1001"],
      ["1002", "#1002"],
      ["buyer0@exa", "#1000"],
    ] as const) {
      await search.fill(q);
      await expect.poll(() => rows.count(), { timeout: 10_000 }).toBe(1);
      await expect.poll(() => rows.first().innerText()).toContain(expected);
    }
    expect(view.consoleErrors).toEqual([]);
  });
});

describe("one recovery", () => {
  it("the timeline shows the subject sent, in a sentence, and opens the email as sent with its links off", async () => {
    const view = await openEmbedded(browser, server.url);
    await view.goto(`/app/recoveries/${seeded.shopifyRecoveries[1]!.id}`);
    await expect.poll(() => view.page.getByText(/Email 1 sent on .* — subject: “You left something behind, alpha”/).isVisible()).toBe(true);
    await expect.poll(() => view.page.getByText(/^Email 2 scheduled for /).isVisible()).toBe(true);
    await view.page.screenshot({ path: screenshotPath("recovery-timeline-b"), fullPage: true });
    await view.page.getByRole("link", { name: "View this email" }).click();
    await expect.poll(() => view.page.url(), { timeout: 10_000 }).toContain(`/emails/${sentMessageId}`);
    await expect.poll(() => view.page.getByText("You left something behind, alpha").isVisible()).toBe(true);
    const frame = view.page.frameLocator("iframe[title='Email 1 as sent']");
    await expect.poll(() => frame.getByText("Return to your cart").isVisible()).toBe(true);
    expect(await frame.getByText("Return to your cart").getAttribute("href")).toBe("#");
    await view.page.screenshot({ path: screenshotPath("sent-email"), fullPage: true });
    expect(view.consoleErrors).toEqual([]);
  });

  it("a recovery that will never be emailed says why, shows no email as scheduled and offers no send button", async () => {
    const recovery = seeded.shopifyRecoveries[3]!; // consent unknown under the explicit policy
    await db.message.create({
      data: {
        shopId: seeded.shop.id,
        recoveryId: recovery.id,
        campaignId: seeded.campaign.id,
        stepId: seeded.campaign.steps[1]!.id,
        position: 2,
        status: "scheduled",
        scheduledFor: new Date(Date.now() + 3_600_000),
      },
    });
    const view = await openEmbedded(browser, server.url);
    await view.goto(`/app/recoveries/${recovery.id}`);
    await expect.poll(() => view.page.getByText("Won't be emailed: the buyer has not agreed to marketing emails").first().isVisible()).toBe(true);
    expect(await view.page.getByText("Email 2 won't be sent: the buyer has not agreed to marketing emails").isVisible()).toBe(true);
    expect(await view.page.getByText(/scheduled/i).count()).toBe(0);
    expect(await view.page.getByRole("button", { name: /Send the next email now/ }).count()).toBe(0);
    await view.page.screenshot({ path: screenshotPath("recovery-wont-be-emailed"), fullPage: true });
    expect(view.consoleErrors).toEqual([]);
  });

  it("Stop emails asks first: Keep emails changes nothing, Stop emails cancels", async () => {
    const recovery = seeded.shopifyRecoveries[1]!;
    const view = await openEmbedded(browser, server.url);
    await view.goto(`/app/recoveries/${recovery.id}`);
    await view.page.getByRole("button", { name: "Stop emails for this cart…" }).click();
    const dialog = view.page.getByRole("dialog");
    await expect.poll(() => dialog.getByText("this buyer gets no further email about this cart").isVisible()).toBe(true);
    await dialog.getByRole("button", { name: "Keep emails" }).click();
    await expect.poll(() => view.page.getByRole("dialog").count()).toBe(0);
    expect(await db.message.count({ where: { recoveryId: recovery.id, status: "scheduled" } })).toBe(1);

    await view.page.getByRole("button", { name: "Stop emails for this cart…" }).click();
    await view.page.getByRole("dialog").getByRole("button", { name: "Stop emails" }).click();
    await expect.poll(() => view.page.getByText("Stopped: 1 pending email(s) cancelled.").isVisible(), { timeout: 10_000 }).toBe(true);
    expect(await db.message.count({ where: { recoveryId: recovery.id, status: "scheduled" } })).toBe(0);
    await expect.poll(() => view.page.getByText("Email 2 cancelled: you stopped emails for this cart").isVisible()).toBe(true);
    expect(view.consoleErrors).toEqual([]);
  });
});

describe("Stripe settings", () => {
  it("Disconnect Stripe asks first; cancelling keeps the connection, confirming disconnects", async () => {
    const view = await openEmbedded(browser, server.url);
    await view.goto("/app/settings/stripe");
    await view.page.getByRole("button", { name: "Disconnect Stripe…" }).click();
    const dialog = view.page.getByRole("dialog");
    await expect.poll(() => dialog.getByText(/no longer recovered/).isVisible()).toBe(true);
    await view.page.screenshot({ path: screenshotPath("stripe-disconnect-confirm"), fullPage: true });
    await dialog.getByRole("button", { name: "Keep Stripe connected" }).click();
    await expect.poll(() => view.page.getByRole("dialog").count()).toBe(0);
    expect(await db.stripeConnection.count({ where: { shopId: seeded.shop.id } })).toBe(1);

    await view.page.getByRole("button", { name: "Disconnect Stripe…" }).click();
    await view.page.getByRole("dialog").getByRole("button", { name: "Disconnect Stripe" }).click();
    await expect.poll(() => view.page.getByText("Stripe is disconnected").isVisible(), { timeout: 10_000 }).toBe(true);
    expect(await db.stripeConnection.count({ where: { shopId: seeded.shop.id } })).toBe(0);
    expect(view.consoleErrors).toEqual([]);
  });
});

describe("Overview", () => {
  it("the health strip says the campaign is off and an email failed, each with its action", async () => {
    const view = await openEmbedded(browser, server.url);
    await view.goto("/app");
    const strip = view.page.getByRole("region", { name: "Health" });
    await expect.poll(() => strip.getByText("Your recovery campaign is off").isVisible()).toBe(true);
    expect(await strip.getByText("1 email failed in the last 24 hours").isVisible()).toBe(true);
    expect(await strip.getByText(/550 sender not allowed/).isVisible()).toBe(true);
    expect(await strip.getByRole("link", { name: "Open campaigns" }).getAttribute("href")).toContain("/app/campaigns");
    await view.page.screenshot({ path: screenshotPath("overview-health"), fullPage: true });
    expect(view.consoleErrors).toEqual([]);
  });
});
