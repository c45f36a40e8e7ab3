import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openEmbedded, screenshotPath, startBrowserApp } from "../helpers/browser";
import { seedShop } from "../helpers/seed";
import { offlineSession, TEST_SHOP } from "../helpers/shopify";
import { startSmtpSink, type SmtpSink } from "../helpers/smtp";

// Issue 21 (part A) in the production build and real Chromium: one recovered figure on every page (a purchase made
// without a Reclaim email counted nowhere), money typed in the shop currency's own units, and a test email that uses
// the settings on screen.
type BrowserApp = Awaited<ReturnType<typeof startBrowserApp>>;
let browser: Browser;
let server: BrowserApp["server"];
let stop: BrowserApp["stop"] | undefined;
let seeded: Awaited<ReturnType<typeof seedShop>>;
let db: typeof import("~/db.server").db;
let sink: SmtpSink;

beforeAll(async () => {
  ({ db } = await import("~/db.server"));
  const { sessionStorage } = await import("~/shopify.server");
  await sessionStorage.storeSession(offlineSession(TEST_SHOP));
  seeded = await seedShop(db, TEST_SHOP, { prefix: "trust" });
  // A Stripe cart paid through its link with no Reclaim email before it: kept, never counted (docs/decisions/082).
  // Its only email was skipped (frequency cap), so the campaign "touched" it without ever writing to the buyer: the old
  // Campaigns page counted this purchase and the list showed it as recovered.
  const never = seeded.stripeRecoveries[1]!;
  await db.message.create({
    data: {
      shopId: seeded.shop.id,
      recoveryId: never.id,
      campaignId: seeded.campaign.id,
      stepId: seeded.campaign.steps.find((s) => s.position === 1)!.id,
      position: 1,
      status: "skipped",
      skipReason: "frequency_cap",
      scheduledFor: new Date(Date.now() - 5 * 3_600_000),
    },
  });
  await db.conversion.create({
    data: {
      shopId: seeded.shop.id,
      recoveryId: never.id,
      messageId: null,
      method: "link",
      matchedBy: "recovered_from",
      source: "stripe",
      externalId: "cs_paid_no_email",
      amountMinor: 777_700,
      currency: "USD",
      convertedAt: new Date(Date.now() - 3_600_000),
    },
  });
  await db.recovery.update({ where: { id: never.id }, data: { status: "purchased", completedAt: new Date() } });
  // Email 1 shows its incentive, so the preview proves which discount it uses.
  await db.campaignStep.update({
    where: { campaignId_position: { campaignId: seeded.campaign.id, position: 1 } },
    data: {
      bodyTemplate: `<p>Hi</p>{% if incentive %}<p id="incentive">{{ incentive.description }} off with {{ incentive.code }}</p>{% endif %}<a href="{{ recovery_url }}">Finish</a>`,
    },
  });
  sink = await startSmtpSink();
  ({ server, browser, stop } = await startBrowserApp());
}, 300_000);

afterAll(async () => {
  await stop?.();
  await sink?.close();
});

const figureText = (s: string | null) => (s ?? "").replace(/\u00a0/g, " ");

describe("numbers a merchant can trust, in Chromium", () => {
  it("the Overview and Campaigns show the same recovered figure; a purchase without an email is not in it; nothing is clipped", async () => {
    const view = await openEmbedded(browser, server.url);
    await view.goto("/app");
    const stat = view.page.getByTestId("overview-recovered-link");
    await expect.poll(() => stat.isVisible()).toBe(true);
    const overview = figureText(await stat.textContent());
    expect(overview).toContain("$10.00");
    expect(overview).toContain("1 cart bought after a Reclaim email");
    expect(overview).toContain("of abandoned carts");
    expect(overview).not.toContain("7,777.00");

    for (const width of [1440, 1024]) {
      await view.page.setViewportSize({ width, height: 900 });
      const clipped = await view.page
        .locator("[data-stat] p")
        .evaluateAll((els) => els.filter((e) => e.scrollWidth > e.clientWidth + 1).map((e) => e.textContent));
      expect(clipped, `clipped at ${width} px`).toEqual([]);
      await view.page.screenshot({ path: screenshotPath(`overview-${width}`), fullPage: true });
    }

    await view.goto("/app/campaigns");
    const cell = view.page.getByTestId(`campaign-recovered-link-${seeded.campaign.id}`);
    await expect.poll(() => cell.isVisible()).toBe(true);
    expect(figureText(await cell.textContent())).toBe("1 · $10.00");
    await view.page.screenshot({ path: screenshotPath("campaigns"), fullPage: true });
    expect(view.consoleErrors).toEqual([]);
  });

  it("a fixed-amount discount typed as 5 is 5.00 in the shop's currency, in the field, the database and the preview", async () => {
    const view = await openEmbedded(browser, server.url);
    await view.goto(`/app/campaigns/${seeded.campaign.id}`);
    const panel = view.page.locator("[data-step-panel]:not([hidden])");
    await expect.poll(() => panel.getByLabel("Incentive").isVisible()).toBe(true);
    await panel.getByLabel("Incentive").selectOption("fixed_amount");
    await panel.getByLabel("Amount off (USD)").fill("5");
    await panel.getByLabel("Code expires after (days)").fill("7");
    // Before saving, the preview already follows the step's own discount.
    const preview = view.page.frameLocator('iframe[title="Preview of email 1"]');
    await expect
      .poll(
        () =>
          preview
            .locator("#incentive")
            .textContent()
            .catch(() => ""),
        { timeout: 10_000 },
      )
      .toContain("$5.00 off");
    await panel.getByRole("button", { name: "Save email 1" }).click();
    await expect.poll(() => panel.getByText("Email 1 saved.").isVisible(), { timeout: 10_000 }).toBe(true);
    const step = await db.campaignStep.findUniqueOrThrow({ where: { campaignId_position: { campaignId: seeded.campaign.id, position: 1 } } });
    expect(step).toMatchObject({ incentiveType: "fixed_amount", incentiveValue: 500 });

    await view.goto(`/app/campaigns/${seeded.campaign.id}`);
    await expect.poll(() => panel.getByLabel("Amount off (USD)").inputValue()).toBe("5.00");
    await expect
      .poll(
        () =>
          preview
            .locator("#incentive")
            .textContent()
            .catch(() => ""),
        { timeout: 10_000 },
      )
      .toContain("$5.00 off");
    await view.page.screenshot({ path: screenshotPath("campaign-editor"), fullPage: true });
    expect(view.consoleErrors).toEqual([]);
  });

  it("Send test email uses the settings on screen, unsaved: the sink gets it, and a bogus port on screen fails in words", async () => {
    await db.shop.update({
      where: { id: seeded.shop.id },
      data: { emailTransport: "smtp", smtpHost: "127.0.0.1", smtpPort: 9, senderEmail: "shop@trust.example", postalAddress: "1 Main St" },
    });
    const view = await openEmbedded(browser, server.url);
    await view.goto("/app/settings");
    await expect.poll(() => view.page.getByLabel("SMTP port").isVisible()).toBe(true);
    await view.page.getByLabel("SMTP port").fill(String(sink.port));
    await view.page.getByLabel("Sender email").fill("hello@gmail.com");
    // The free-mail warning shows as it is typed.
    await expect.poll(() => view.page.getByText(/fail gmail\.com's DMARC check/).isVisible()).toBe(true);
    await view.page.getByLabel("Send a test email to").fill("merchant@trust.example");
    await view.page.getByRole("button", { name: "Send test email" }).click();
    const [mail] = await sink.waitFor(1, 15_000).catch(async (error) => {
      throw new Error(`${error}; the page says: ${await view.page.locator("#email-sending-form").innerText()}`);
    });
    expect(mail!.rcptTo).toEqual(["merchant@trust.example"]);
    expect(mail!.mailFrom).toBe("hello@gmail.com");
    await expect.poll(() => view.page.getByText(/Test email sent to merchant@trust\.example with the settings on screen/).isVisible()).toBe(true);
    // Nothing was saved by the test.
    expect(await db.shop.findUniqueOrThrow({ where: { id: seeded.shop.id } })).toMatchObject({ smtpPort: 9, senderEmail: "shop@trust.example" });

    await view.page.getByLabel("SMTP port").fill("2");
    await view.page.getByRole("button", { name: "Send test email" }).click();
    await expect
      .poll(() => view.page.getByText("Could not connect to 127.0.0.1 on port 2: connection refused. Check the host and port").first().isVisible(), {
        timeout: 15_000,
      })
      .toBe(true);
    expect(sink.received).toHaveLength(1);
    // "Log only" is not offered to a merchant (the server runs as production).
    expect(await view.page.getByLabel("Transport").locator("option").allTextContents()).toEqual(["SMTP"]);
    await view.page.screenshot({ path: screenshotPath("settings-email"), fullPage: true });
  });
});
