// Issue 19: the admin in Japanese and German, every page, with no English left. Each page is rendered in English first
// and then in the other language with the same data; a text the two renders share is English the translation missed,
// unless it is the shop's own data (names, products, emails, codes) or a name that is the same in every language
// (Shopify, Stripe, event types). Screenshots of every page in each language are kept (test-results/screenshots/).
import type { Browser } from "playwright-core";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openEmbedded, screenshotPath, startBrowserApp, type EmbeddedPage } from "../helpers/browser";
import { seedShop } from "../helpers/seed";
import { offlineSession, TEST_SHOP } from "../helpers/shopify";

type BrowserApp = Awaited<ReturnType<typeof startBrowserApp>>;
let browser: Browser;
let server: BrowserApp["server"];
let stop: BrowserApp["stop"] | undefined;
let pages: { name: string; path: string }[];
let shopData: Set<string>;

/** Words that are the same in English, Japanese and German admins: brands, protocols, and Polaris' own abbreviations. */
const SAME_IN_EVERY_LANGUAGE =
  /\b(Shopify( Flow| Payments| Email| Admin)?|Stripe( Billing| Checkout)?|Reclaim|Polaris|SMTP|DKIM|SPF|DMARC|TLS|STARTTLS|SSL|API|HTML|CSV|JSON|URL|ID|UTC|GMT|USD|EUR|JPY|Liquid|Web Pixels?|Microsoft 365|Google Workspace|Gmail|Outlook|Yahoo|iCloud|Amazon SES|SendGrid|Mailgun|Postmark|Resend|Brevo|OK)\b/g;

/**
 * The Flow trigger's name, handle and field keys: Shopify Flow shows them as the extension declares them (the keys are
 * the payload's, so they cannot change with the admin's language).
 */
const FLOW_NAMES = new Set(
  [...readFileSync("extensions/reclaim-checkout-recovered/shopify.extension.toml", "utf8").matchAll(/^(?:name|handle|key) = "([^"]+)"/gm)].map((m) => m[1]!),
);

/** What German shares with English by right (the same word in both languages). */
const SAME_IN_GERMAN = new Set([
  "Snapshot",
  "Status",
  "Name",
  "Details",
  "Filter",
  "Link",
  "Links",
  "Checkout",
  "Checkouts",
  "Start",
  "E-Mail",
  "Test",
  "Code",
  "Webhook",
  "Webhooks",
  "Pixel",
  "Host",
  "Port",
  "Logo",
  "Format",
  "Text",
  "Tag",
  "Service",
  "Support",
  "Event",
  "Events",
  "Account",
  "Marketing",
  "Shop",
  "Opt-in",
  "Opt-out",
  "Export",
  "Version",
  "Demo",
  "Browser",
  "Domain",
  "Server",
]);

beforeAll(async () => {
  const { db } = await import("~/db.server");
  const { sessionStorage } = await import("~/shopify.server");
  await sessionStorage.storeSession(offlineSession(TEST_SHOP));
  const seeded = await seedShop(db, TEST_SHOP, { prefix: "tokyo" });
  const shopId = seeded.shop.id;

  // A shop with Stripe and payment recovery on, and one failed subscription payment, so the payment pages are checked too.
  const { connectStripe } = await import("~/models/stripe-connection.server");
  const { savePaymentRecoverySettings, ingestInvoiceFailure } = await import("~/models/payment-recovery.server");
  const connected = await connectStripe(db, shopId, { webhookSecret: "whsec_localizedAdminSecret0123456789abcd" });
  if (!connected.ok) throw new Error("could not connect Stripe");
  await savePaymentRecoverySettings(db, shopId, connected.connection.id, {
    paymentRecovery: true,
    stripeEmailsFailedPayments: false,
    stripeEmailsActionRequired: false,
  });
  const now = new Date();
  await ingestInvoiceFailure(
    db,
    shopId,
    {
      reason: "payment_failed",
      invoiceId: "in_localized_admin_1",
      subscriptionId: "sub_localized_admin_1",
      customerId: "cus_localized_admin_1",
      email: "tokyo-subscriber@example.com",
      fullName: "Hana Sato",
      amountDue: { amountMinor: 2400, currency: "USD" },
      lineItems: [{ title: "Coffee club", variantTitle: null, quantity: 1, imageUrl: null, unitPriceMinor: 2400, totalPriceMinor: 2400 }],
      hostedInvoiceUrl: "https://invoice.stripe.com/i/acct_test/in_localized_admin_1",
      attemptCount: 1,
      nextPaymentAttemptAt: new Date(now.getTime() + 3 * 86_400_000),
      billingReason: "subscription_cycle",
      invoiceNumber: "TOKYO-0001",
      at: now,
    },
    now,
  );
  const payment = await db.recovery.findFirstOrThrow({ where: { shopId, kind: "payment" }, select: { id: true } });
  const campaign = await db.campaign.findFirstOrThrow({ where: { shopId, kind: "cart" }, select: { id: true } });

  pages = [
    { name: "overview", path: "/app" },
    { name: "recoveries", path: "/app/recoveries" },
    { name: "recovery", path: `/app/recoveries/${seeded.shopifyRecoveries[0]!.id}` },
    { name: "payment-recovery", path: `/app/recoveries/${payment.id}` },
    { name: "campaigns", path: "/app/campaigns" },
    { name: "campaign", path: `/app/campaigns/${campaign.id}` },
    { name: "settings", path: "/app/settings" },
    { name: "settings-stripe", path: "/app/settings/stripe" },
    { name: "settings-pixel", path: "/app/settings/pixel" },
    { name: "settings-flow", path: "/app/settings/flow" },
    { name: "settings-privacy", path: "/app/settings/privacy" },
  ];

  // The shop's own data is the same whatever the admin's language.
  const [shop, recoveries, campaigns, steps, contacts] = await Promise.all([
    db.shop.findUniqueOrThrow({ where: { id: shopId } }),
    db.recovery.findMany({ where: { shopId } }),
    db.campaign.findMany({ where: { shopId } }),
    db.campaignStep.findMany({ where: { campaign: { shopId } } }),
    db.contact.findMany({ where: { shopId } }),
  ]);
  shopData = new Set(
    [
      shop.name,
      shop.domain,
      // A failed payment's name ("Invoice <number>") is said in the admin's language, so it is not data.
      ...recoveries.flatMap((r) => [
        r.kind === "payment" ? null : r.name,
        r.email,
        r.firstName,
        r.fullName,
        ...JSON.parse(r.lineItems).map((li: { title: string }) => li.title),
      ]),
      ...campaigns.map((c) => c.name),
      ...steps.map((s) => s.subject),
      ...contacts.map((c) => c.email),
    ].filter((v): v is string => Boolean(v)),
  );
  ({ server, browser, stop } = await startBrowserApp());
}, 240_000);

afterAll(async () => {
  await stop?.();
});

/** Every text a person can read or hear on the page: text nodes of rendered elements, and aria-label / placeholder / title. */
async function readableTexts(view: EmbeddedPage): Promise<string[]> {
  return view.page.evaluate(() => {
    const out: string[] = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const parent = node.parentElement;
      // Code samples, parameters and template variables (<code>, <pre>) are code in every language.
      if (!parent || parent.closest("script,style,noscript,template,code,pre,kbd,samp")) continue;
      if (!parent.checkVisibility()) continue;
      const text = node.textContent?.replace(/\s+/g, " ").trim();
      if (text) out.push(text);
    }
    for (const el of document.body.querySelectorAll("[aria-label],[placeholder],[title]")) {
      if (!(el as HTMLElement).checkVisibility()) continue;
      for (const attribute of ["aria-label", "placeholder", "title"]) {
        const value = el.getAttribute(attribute)?.trim();
        if (value) out.push(value);
      }
    }
    return out;
  });
}

/** A text with an English word left once the shop's data, brands, e-mail addresses, URLs, codes and numbers are taken out. */
function englishLeftIn(text: string, language: "ja" | "de"): string | null {
  if (shopData.has(text) || FLOW_NAMES.has(text)) return null;
  let rest = text;
  for (const data of shopData) if (data.length > 3) rest = rest.split(data).join(" ");
  rest = rest
    .replace(/\S+@\S+/g, " ")
    .replace(/https?:\/\/\S+|\b[\w-]+(\.[\w-]+)+\.(com|io|test|net|org)\b\S*/g, " ")
    .replace(/\b[a-z]+(_[a-z]+)*(\.[a-z_]+)+\b/g, " ") // event and field names: invoice.payment_failed, customer.locale
    .replace(/\b(cs|in|sub|cus|pi|acct|whsec|sk|rk|pk|we)_\w+/g, " ")
    .replace(SAME_IN_EVERY_LANGUAGE, " ");
  const words = rest.match(/[A-Za-z][A-Za-z'-]{2,}/g) ?? [];
  const left = language === "de" ? words.filter((w) => !SAME_IN_GERMAN.has(w)) : words;
  return left.length > 0 ? left.join(" ") : null;
}

describe("the admin in Japanese and German", () => {
  for (const language of ["ja", "de"] as const) {
    it(`every page is in ${language === "ja" ? "Japanese" : "German"}, with nothing left in English`, async () => {
      const view = await openEmbedded(browser, server.url);
      const untranslated: string[] = [];
      for (const { name, path } of pages) {
        await view.goto(`${path}${path.includes("?") ? "&" : "?"}locale=en`);
        const english = new Set(await readableTexts(view));
        await view.goto(`${path}${path.includes("?") ? "&" : "?"}locale=${language}`);
        expect(await view.page.getAttribute("html", "lang"), name).toBe(language);
        await view.page.screenshot({ path: screenshotPath(`${language}-${name}`), fullPage: true });
        for (const text of new Set(await readableTexts(view))) {
          if (!english.has(text)) continue; // changed with the language: translated
          const left = englishLeftIn(text, language);
          if (left) untranslated.push(`${name}: "${text}"`);
        }
      }
      expect(untranslated).toEqual([]);
      expect(view.consoleErrors).toEqual([]);
    });
  }

  it("the language stays when the merchant moves on without Shopify's locale parameter", async () => {
    const view = await openEmbedded(browser, server.url);
    await view.goto("/app/recoveries?locale=de");
    const german = await readableTexts(view);
    await view.goto("/app");
    await view.goto("/app/recoveries");
    expect(await view.page.getAttribute("html", "lang")).toBe("de");
    expect(await readableTexts(view)).toEqual(german);
    await view.goto("/app?locale=ja-JP");
    await view.goto("/app/settings");
    expect(await view.page.getAttribute("html", "lang")).toBe("ja");
    expect(view.consoleErrors).toEqual([]);
  });

  it("money on the Recoveries list follows the admin's locale", async () => {
    const view = await openEmbedded(browser, server.url);
    await view.goto("/app/recoveries?locale=de");
    // The seeded carts are in US dollars: a German admin reads them as "10,00 $", not "$10.00".
    await expect.poll(async () => (await readableTexts(view)).some((t) => /\d+,\d{2}\s\$/.test(t))).toBe(true);
    await view.goto("/app/recoveries?locale=ja");
    await expect.poll(async () => (await readableTexts(view)).some((t) => /\$\d{1,3}(,\d{3})*\.\d{2}/.test(t))).toBe(true);
  });
});
