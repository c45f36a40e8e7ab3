/**
 * No page the app renders — every admin page and its data, the public pages, the emails it sends — carries a secret:
 * the SMTP password, the link signing key, the encryption keys, the app secret, Stripe secrets, the shop's access token.
 * (test/integration/stripe-settings.test.ts follows the Stripe secrets through their own page in detail.)
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAdminApp } from "../helpers/admin-app";
import { seedShop } from "../helpers/seed";
import { embeddedRequest, offlineSession, TEST_SHOP } from "../helpers/shopify";
import { startSmtpSink, type SmtpSink } from "../helpers/smtp";
import { FakeStripeApi } from "../../app/demo/fakes/stripe-api/server";
import { secretsFromEnv } from "../setup/secret-scan";
import { TEST_ENV } from "../setup/test-env";

const SMTP_PASSWORD = "pages-smtp-password-do-not-render";
const WEBHOOK_SECRET = "whsec_pagesTestSecret0123456789abcdefgh";
const API_KEY = "rk_test_51PagesTestRestrictedKey0123456789";
const fake = new FakeStripeApi().addKey(API_KEY);

let admin: Awaited<ReturnType<typeof startAdminApp>>;
let sink: SmtpSink;
let ids: Record<string, string>;
const rendered: { where: string; text: string }[] = [];

beforeAll(async () => {
  process.env.STRIPE_API_BASE = await fake.start();
  admin = await startAdminApp([TEST_SHOP]);
  sink = await startSmtpSink({ auth: { user: "mailer", pass: SMTP_PASSWORD } });
  const seeded = await seedShop(admin.db, TEST_SHOP);
  const compliance = await admin.db.complianceRequest.create({
    data: { shopId: seeded.shop.id, topic: "customers/data_request", inboundEventId: "pages-dr", email: "alpha@example.com", status: "done", export: "{}" },
  });
  // A recovery with an email sent, so "view this email" (`/app/recoveries/:id/emails/:messageId`) has one to show.
  const sentEmail = await admin.db.message.findFirstOrThrow({ where: { shopId: seeded.shop.id, status: "sent" } });
  ids = { "app.recoveries": sentEmail.recoveryId, "app.campaigns": seeded.campaign.id, "app.privacy.exports": compliance.id, messageId: sentEmail.id };

  // Every secret in place, entered the way a merchant enters them.
  const email = await admin.post("/app/settings", "routes/app.settings._index", {
    intent: "email",
    emailTransport: "smtp",
    smtpHost: "127.0.0.1",
    smtpPort: String(sink.port),
    smtpSecure: "false",
    smtpUser: "mailer",
    smtpPassword: SMTP_PASSWORD,
    senderName: "Pages",
    senderEmail: "hi@pages.test",
    postalAddress: "1 Page Road",
  });
  expect(email.status).toBe(200);
  const stripe = await admin.post("/app/settings/stripe", "routes/app.settings.stripe", { intent: "connect", webhookSecret: WEBHOOK_SECRET, apiKey: API_KEY });
  expect(stripe.status).toBe(200);
});
afterAll(async () => {
  await admin?.close();
  await sink?.close();
  await fake.close();
});

const SECRETS = [
  { label: "SMTP password", value: SMTP_PASSWORD },
  { label: "Stripe webhook secret", value: WEBHOOK_SECRET },
  { label: "Stripe API key", value: API_KEY },
  { label: "Shopify access token", value: offlineSession().accessToken! },
  { label: "Shopify refresh token", value: offlineSession().refreshToken! },
  ...secretsFromEnv(TEST_ENV),
];

function expectNoSecret(where: string, text: string) {
  rendered.push({ where, text });
  const found = SECRETS.filter((s) => text.includes(s.value) || (s.value.length > 16 && text.includes(s.value.slice(-16))));
  expect(found.map((s) => `${s.label} in ${where}`)).toEqual([]);
}

describe("secrets never rendered", () => {
  it("in any admin page or its data", async () => {
    const routes = admin.app.build.routes;
    let pages = 0;
    for (const [routeId, route] of Object.entries(routes)) {
      if (!routeId.startsWith("routes/app") || !(route.module as { loader?: unknown }).loader) continue;
      const segments: string[] = [];
      for (let r: (typeof routes)[string] | undefined = route; r; r = r.parentId ? routes[r.parentId] : undefined) if (r.path) segments.unshift(r.path);
      const owner = Object.entries(ids).find(([prefix]) => routeId.startsWith(`routes/${prefix}.`))?.[1] ?? "";
      const path = "/" + segments.join("/").replace(/:(\w+)/g, (_, param: string) => (param === "messageId" ? ids.messageId! : owner));
      const page = await admin.app.handle(embeddedRequest(path));
      expect(page.status, path).toBe(200);
      expectNoSecret(`${path} (page)`, await page.text());
      const data = await admin.data(path, routeId);
      expectNoSecret(`${path} (data)`, JSON.stringify(data.body));
      pages++;
    }
    expect(pages).toBeGreaterThanOrEqual(8);
  });

  it("in a test email, its headers, or the answers to saving secrets", async () => {
    // The form posts what is on screen with the test (the password field left empty: the stored one is used).
    const sent = await admin.post("/app/settings", "routes/app.settings._index", {
      intent: "test-email",
      to: "owner@pages.test",
      emailTransport: "smtp",
      smtpHost: "127.0.0.1",
      smtpPort: String(sink.port),
      smtpSecure: "false",
      smtpUser: "mailer",
      smtpPassword: "",
      senderName: "Pages",
      senderEmail: "hi@pages.test",
      postalAddress: "1 Page Road",
    });
    expect(sent.status).toBe(200);
    expectNoSecret("the test-email answer", JSON.stringify(sent.body));
    const [mail] = await sink.waitFor(1);
    expectNoSecret("the test email", mail!.raw);
    // Saving again (with and without a password) never echoes it back.
    const again = await admin.post("/app/settings", "routes/app.settings._index", {
      intent: "email",
      emailTransport: "smtp",
      smtpHost: "127.0.0.1",
      smtpPort: String(sink.port),
      smtpUser: "mailer",
      smtpPassword: SMTP_PASSWORD,
      senderEmail: "not an email",
      postalAddress: "1 Page Road",
    });
    expect(again.status).toBe(400);
    expectNoSecret("a refused email-settings answer", JSON.stringify(again.body));
  });

  it("in the public unsubscribe and click pages", async () => {
    const message = await admin.db.message.findFirstOrThrow({ where: { status: "sent" } });
    const { messageLinks } = await import("~/email/links.server");
    const links = messageLinks(message.id);
    expectNoSecret("the unsubscribe page", await (await admin.app.handle(new Request(links.unsubscribeUrl))).text());
    expectNoSecret("a refused click", await (await admin.app.handle(new Request("https://reclaim.test/email/click?t=forged.token"))).text());
  });

  it("checks real pages (the check itself finds a secret when one is there)", () => {
    expect(rendered.length).toBeGreaterThan(15);
    expect(() => expectNoSecret("a planted page", `<p>${SMTP_PASSWORD}</p>`)).toThrow();
  });
});
