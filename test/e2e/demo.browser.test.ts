import { readdirSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";
import pg from "pg";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { demoDatabaseUrl } from "../../app/demo/data-dir";
import { launchBrowser, screenshotPath } from "../helpers/browser";
import { startDemo, type DemoProcess } from "../helpers/demo-process";

/** The emails' unsubscribe link text in every shipped language (app/i18n/catalogues/<language>/emails.json). */
const catalogues = path.resolve(path.dirname(new URL(import.meta.url).pathname), "../../app/i18n/catalogues");
const UNSUBSCRIBE_LINK = new RegExp(
  readdirSync(catalogues)
    .map(
      (language) =>
        (JSON.parse(readFileSync(path.join(catalogues, language, "emails.json"), "utf8")) as { footer: { unsubscribe: string } }).footer.unsubscribe,
    )
    .map((text) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
    .join("|"),
);

// The demo as someone evaluating Reclaim sees it: Chromium opens the URL the demo prints, with no request interception
// — the demo serves everything the pages load, on loopback, with no network.

const RUN_DIR = process.env.RECLAIM_TEST_RUN_DIR!;
const BUILD_DIR = path.join(RUN_DIR, "demo-build"); // shared with test/integration/demo.test.ts
const DATA_DIR = path.join(RUN_DIR, `demo-browser-${process.pid}`);

let demo: DemoProcess;
let browser: Browser;
let context: BrowserContext;
const consoleErrors: string[] = [];

/** Runs one query on the demo's own PostgreSQL (while it runs) and returns its first row. */
async function queryOne<T extends pg.QueryResultRow>(sql: string, params: unknown[]): Promise<T | undefined> {
  const d = new pg.Client({ connectionString: await demoDatabaseUrl(DATA_DIR), options: "-c TimeZone=UTC" });
  try {
    await d.connect();
    return (await d.query<T>(sql, params)).rows[0];
  } finally {
    await d.end().catch(() => {});
  }
}

async function newPage(): Promise<Page> {
  const page = await context.newPage();
  page.on("console", (m) => {
    if (m.type() === "error") consoleErrors.push(`${m.text()} (${m.location().url})`);
  });
  page.on("pageerror", (e) => consoleErrors.push(String(e)));
  return page;
}

/** The overview's per-source table as the frame shows it: label → [Shopify, Stripe, Total]. */
async function overviewRows(page: Page): Promise<Record<string, string[]>> {
  // The carts table (the first one); failed subscription payments have their own table below, with rows of the same names.
  const rows = page.frameLocator("#app-frame").locator("table.Polaris-DataTable__Table").first().locator("tbody tr");
  const out: Record<string, string[]> = {};
  for (const row of await rows.all()) {
    const cells = (await row.locator("th, td").allInnerTexts()).map((t) => t.trim());
    out[cells[0]!] = cells.slice(1);
  }
  return out;
}

/** The currency of the recovery an email was about. */
async function currencyOfMessage(messageId: string | null): Promise<string | null> {
  if (!messageId) return null;
  const row = await queryOne<{ currency: string }>(
    `SELECT r."currency" AS "currency" FROM "Message" m JOIN "Recovery" r ON r."id" = m."recoveryId" WHERE m."id" = $1`,
    [messageId],
  );
  return row?.currency ?? null;
}

const count = (text: string | undefined) => Number((text ?? "0").split("·")[0]!.replace(/[^0-9]/g, "") || 0);

beforeAll(async () => {
  rmSync(DATA_DIR, { recursive: true, force: true });
  // No demo shopper: the purchases in this file are the test's own clicks.
  demo = await startDemo({ dataDir: DATA_DIR, buildDir: BUILD_DIR, args: ["--speed", "720", "--pace", "1", "--no-shopper"] });
  browser = await launchBrowser();
  // Headless Chromium names itself HeadlessChrome, which the Shopify library answers as a bot (410); a person's
  // browser does not, so the page presents an ordinary Chrome user agent (test/helpers/browser.ts does the same).
  const userAgent = (await browser.newBrowserCDPSession().then((s) => s.send("Browser.getVersion"))).userAgent.replace("HeadlessChrome", "Chrome");
  context = await browser.newContext({ viewport: { width: 1400, height: 1000 }, userAgent });
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await demo?.stop("SIGINT");
});

describe("the demo in Chromium, as printed, with no interception", () => {
  it("shows the real Polaris overview filling up with both sources, inside the demo admin", async () => {
    const page = await newPage();
    await page.goto(`${demo.url}/`);
    const frame = page.frameLocator("#app-frame");
    await expect.poll(() => frame.getByRole("heading", { name: "Overview", level: 1 }).isVisible(), { timeout: 60_000 }).toBe(true);
    // The admin refreshes the overview while the demo runs: figures for both sources appear without reloading.
    await expect
      .poll(
        async () => {
          const rows = await overviewRows(page);
          return count(rows["Abandoned checkouts"]?.[0]) > 0 && count(rows["Abandoned checkouts"]?.[1]) > 0 && count(rows["Emails sent"]?.[2]) > 0;
        },
        { timeout: 120_000, interval: 2000 },
      )
      .toBe(true);
    // The app's menu is shown by the admin, as Shopify's sidebar shows it.
    await expect.poll(() => page.locator("#app-menu a").allInnerTexts()).toEqual(["Overview", "Recoveries", "Campaigns", "Settings"]);
    await page.screenshot({ path: screenshotPath("demo-dashboard"), fullPage: true });
    expect(consoleErrors).toEqual([]);
    await page.close();
  }, 200_000);

  it("the overview links to the inbox, which lists the captured emails and renders them", async () => {
    const page = await newPage();
    await page.goto(`${demo.url}/`);
    await page.frameLocator("#app-frame").getByRole("link", { name: "Open the demo inbox" }).click();
    await page.waitForURL(`${demo.url}/inbox`);
    await expect.poll(() => page.locator("tbody tr").count(), { timeout: 30_000 }).toBeGreaterThan(0);
    await page.screenshot({ path: screenshotPath("demo-inbox"), fullPage: true });
    await page.locator("tbody tr a").first().click();
    const body = page.frameLocator('iframe[title="Email body"]');
    // The footer's unsubscribe link, in the buyer's language: the demo's buyers have English, German and Japanese
    // locales, and which email arrives first depends on timing.
    await expect.poll(() => body.getByText(UNSUBSCRIBE_LINK).first().isVisible(), { timeout: 15_000 }).toBe(true);
    await page.screenshot({ path: screenshotPath("demo-email"), fullPage: true });
    expect(consoleErrors).toEqual([]);
    await page.close();
  }, 60_000);

  it("an app page loaded without a session token goes through the library's bounce page and comes back signed in", async () => {
    const page = await newPage();
    await page.goto(`${demo.url}/`);
    await expect.poll(() => page.frameLocator("#app-frame").getByRole("heading", { name: "Overview", level: 1 }).isVisible(), { timeout: 60_000 }).toBe(true);
    const seen: string[] = [];
    page.on("framenavigated", (f) => {
      if (f !== page.mainFrame()) seen.push(new URL(f.url()).pathname);
    });
    // What a reload after the token expired looks like: the app's URL with no id_token.
    const frame = page.frames().find((f) => f !== page.mainFrame())!;
    const appUrl = new URL(frame.url());
    appUrl.pathname = "/app/campaigns";
    appUrl.searchParams.delete("id_token");
    await frame.goto(appUrl.toString());
    await expect.poll(() => page.frameLocator("#app-frame").getByRole("heading", { name: "Campaigns", level: 1 }).isVisible(), { timeout: 30_000 }).toBe(true);
    expect(seen).toContain("/auth/session-token");
    expect(consoleErrors).toEqual([]);
    await page.close();
  }, 120_000);

  for (const source of ["Stripe", "Shopify"] as const) {
    it(`a ${source} recovery link goes through the click redirect to the checkout, and the purchase comes back as a conversion`, async () => {
      const page = await newPage();
      // An email from this source whose cart is still open (Shopify buyers sometimes come back on their own).
      let messageId: string | null = null;
      await expect
        .poll(
          async () => {
            await page.goto(`${demo.url}/inbox`);
            const rows = page.locator("tbody tr", { has: page.locator(".badge", { hasText: source }) });
            for (const row of (await rows.all()).slice(0, 5)) {
              await row.locator("a").first().click();
              // The email's recovery link, by where it goes (the click redirect) rather than its words: the demo's buyers
              // check out in several languages (issue 19), so the button may say 「購入手続きに戻る」 or „Zurück zum Warenkorb“.
              const button = page.frameLocator('iframe[title="Email body"]').locator('a[href*="/email/click"]').first();
              const href = await button.getAttribute("href", { timeout: 15_000 });
              messageId = /[?&]t=([^.&]+)/.exec(decodeURIComponent(href ?? ""))?.[1] ?? null;
              // The overview shows one currency at a time (the shop's, USD); a tenth of the demo's carts are in another.
              if ((await currencyOfMessage(messageId)) !== "USD") {
                await page.goto(`${demo.url}/inbox`);
                continue;
              }
              await button.click();
              await page.waitForLoadState("load");
              if (await page.getByRole("button", { name: /Complete purchase|^Pay / }).isVisible()) return true;
              await page.goto(`${demo.url}/inbox`);
            }
            return false;
          },
          { timeout: 90_000, interval: 3000 },
        )
        .toBe(true);
      expect(messageId).toBeTruthy();
      // The browser went through the app's click redirect: the click is recorded against that email.
      const clicks = async () => Number((await queryOne<{ n: string }>(`SELECT COUNT(*) AS "n" FROM "Click" WHERE "messageId" = $1`, [messageId]))!.n);
      expect(await clicks()).toBeGreaterThan(0);
      expect(page.url()).toContain(source === "Stripe" ? "/stripe/r/" : "/store/");
      await page.screenshot({ path: screenshotPath(`demo-checkout-${source.toLowerCase()}`), fullPage: true });
      await page.getByRole("button", { name: /Complete purchase|^Pay / }).click();
      await expect.poll(() => page.getByRole("heading", { name: /Payment received|Thank you for your order/ }).isVisible(), { timeout: 15_000 }).toBe(true);

      // The purchase flows back: Stripe's checkout.session.completed with recovered_from, or Shopify's completedAt seen
      // by the next poll — a conversion credited to that email, by link.
      const conversion = () =>
        queryOne<{ method: string; source: string }>(
          `SELECT v."method" AS "method", r."source" AS "source" FROM "Conversion" v JOIN "Recovery" r ON r."id" = v."recoveryId" WHERE r."id" = (SELECT "recoveryId" FROM "Message" WHERE "id" = $1)`,
          [messageId],
        );
      await expect.poll(conversion, { timeout: 60_000, interval: 1000 }).toEqual({ method: "link", source: source.toLowerCase() });

      // And the merchant sees it on the overview.
      await page.goto(`${demo.url}/`);
      const column = source === "Shopify" ? 0 : 1;
      await expect.poll(async () => count((await overviewRows(page))["Recovered by link"]?.[column]), { timeout: 30_000, interval: 2000 }).toBeGreaterThan(0);
      await page.screenshot({ path: screenshotPath(`demo-dashboard-after-${source.toLowerCase()}-purchase`), fullPage: true });
      expect(consoleErrors).toEqual([]);
      await page.close();
    }, 200_000);
  }
});
