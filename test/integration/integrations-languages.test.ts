// Issue 19: the integration settings pages (Stripe, privacy) in the admin's language, including what the models write
// (a refused signing secret, what Reclaim did for a privacy request), with English unchanged for everyone else.
import type { PrismaClient, Shop } from "@prisma/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadApp } from "../helpers/app-server";
import { bearerRequest, embeddedRequest, offlineSession, signSessionToken, TEST_SHOP } from "../helpers/shopify";

let app: Awaited<ReturnType<typeof loadApp>>;
let db: PrismaClient;
let shop: Shop;

beforeAll(async () => {
  app = await loadApp();
  db = (await import("~/db.server")).db;
  const { sessionStorage } = await import("~/shopify.server");
  await sessionStorage.storeSession(offlineSession(TEST_SHOP));
  await app.handle(embeddedRequest("/app")); // first visit creates the shop
  shop = await db.shop.findUniqueOrThrow({ where: { domain: TEST_SHOP } });
});
afterAll(async () => {
  await app?.close();
});

const text = (html: string) => html.replaceAll("&#x27;", "'").replaceAll("&quot;", '"');
const open = async (path: string, locale: string) => text(await (await app.handle(embeddedRequest(`${path}?locale=${locale}`))).text());
const post = async (path: string, fields: Record<string, string>) => {
  const body = new URLSearchParams(fields);
  const response = await app.handle(
    bearerRequest(path, { method: "POST", body, headers: { "content-type": "application/x-www-form-urlencoded" } }, signSessionToken()),
  );
  return { status: response.status, html: text(await response.text()) };
};

describe("integration settings in the admin's language", () => {
  it("Settings → Stripe in Japanese, and a refused signing secret explained in Japanese", async () => {
    const html = await open("/app/settings/stripe", "ja");
    expect(html).toContain("<title>Stripe · 設定 · Reclaim</title>");
    expect(html).toContain("2. 署名シークレット");
    expect(html).toContain("未接続");
    expect(html).toContain("checkout.session.expired"); // event names stay as Stripe writes them
    expect(html).not.toContain("Not connected");

    // The form post carries no locale: the language the admin opened the app in is kept.
    const refused = await post("/app/settings/stripe", { intent: "connect", webhookSecret: "whsec_short" });
    expect(refused.status).toBe(422);
    expect(refused.html).toContain("この署名シークレットは途中で切れているか");
    expect(await db.stripeConnection.count({ where: { shopId: shop.id } })).toBe(0);
  });

  it("Settings → Privacy in German, with what Reclaim did for a request in German", async () => {
    await db.complianceRequest.create({
      data: {
        shopId: shop.id,
        topic: "customers/redact",
        status: "done",
        customerId: "7012345678901",
        orderIds: "[]",
        summary: JSON.stringify({ recoveries: 1, messages: 3, clicks: 1, messagesCancelled: 1 }),
        inboundEventId: "languages-test-redact",
      },
    });
    const html = await open("/app/settings/privacy", "de");
    expect(html).toContain("Abmeldungen an Shopify übertragen");
    expect(html).toContain("Löschung von Kundendaten");
    expect(html).toContain(
      "Gelöscht: 1 abgebrochener Checkout (mit 3 E-Mails und 1 Klick); die Dashboard-Summen bleiben unverändert. 1 ausstehende E-Mail wurde storniert.",
    );
  });

  it("English stays as it was for an English admin", async () => {
    const html = await open("/app/settings/privacy", "en");
    expect(html).toContain("Mirror unsubscribes to Shopify");
    expect(html).toContain("Deleted 1 abandoned checkout (with 3 emails and 1 click); dashboard totals are unchanged. 1 pending email was cancelled.");
  });
});
