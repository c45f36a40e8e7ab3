import { parse, validate } from "graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadApp } from "../helpers/app-server";
import { H, shopifyCheckout, shopifyOrder, startPipeline, stripePayment, stripeSession, type Pipeline } from "../helpers/pipeline";
import { header, type ReceivedMail } from "../helpers/smtp";
import { loadAdminSchema } from "../../app/demo/fakes/shopify-admin/schema";
import { jobTable } from "../helpers/jobs";

let p: Pipeline;
let app: Awaited<ReturnType<typeof loadApp>>;

beforeAll(async () => {
  app = await loadApp();
  p = await startPipeline({ start: new Date("2027-05-03T08:00:00Z") });
});
afterAll(async () => {
  await p?.close();
  await app?.close();
});

const mailTo = (email: string) => p.sink.received.filter((m) => m.rcptTo.includes(email));
const unsubscribeUrlOf = (mail: ReceivedMail) => header(mail, "List-Unsubscribe")!.slice(1, -1);
/** What a person reads on the page (React's text separators and entities removed). */
const textOf = async (response: Response) =>
  (await response.text())
    .replace(/<!-- -->/g, "")
    .replace(/&#x27;/g, "'")
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, "&");
/** The POST a mailbox provider makes for RFC 8058 one-click: no cookie, no login, just the body. */
const oneClick = (url: string) =>
  app.handle(new Request(url, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: "List-Unsubscribe=One-Click" }));

describe("one-click unsubscribe", () => {
  it("a one-click POST from the inbox stops the next step, is idempotent, and is mirrored to Shopify (setting on, write_customers granted)", async () => {
    const shop = await p.newShop({ name: "Northwind", mirrorUnsubscribes: true });
    const t = p.clock.now();
    const checkout = shopifyCheckout(t, { email: "optout@example.com" });
    const { recoveryId } = (await p.ingest(shop, checkout)) as { recoveryId: string };
    const at = t.toISOString();
    p.admin.store(shop.domain).upsertCustomer({
      id: Number(checkout.shopifyCustomerId!.split("/").pop()),
      firstName: "Robin",
      lastName: null,
      email: "optout@example.com",
      phone: null,
      marketingState: "SUBSCRIBED",
      marketingOptInLevel: "SINGLE_OPT_IN",
      marketingUpdatedAt: at,
      locale: "en",
      createdAt: at,
      updatedAt: at,
      tags: [],
    });
    await p.runAt(new Date(t.getTime() + H));
    const [mail] = mailTo("optout@example.com");
    const url = unsubscribeUrlOf(mail!);

    const response = await oneClick(url);
    expect(response.status).toBe(200);
    const html = await textOf(response);
    expect(html).toContain("You're unsubscribed");
    expect(html).toContain('also updated to "unsubscribed" with Northwind');
    const contact = await p.db.contact.findFirstOrThrow({ where: { shopId: shop.id, email: "optout@example.com" } });
    expect(contact.unsubscribedAt).not.toBeNull();

    // Again: same answer, nothing changes.
    expect((await oneClick(url)).status).toBe(200);
    expect((await p.db.contact.findUniqueOrThrow({ where: { id: contact.id } })).unsubscribedAt).toEqual(contact.unsubscribedAt);

    // The next steps never go out.
    for (const h of [24, 72]) await p.runAt(new Date(t.getTime() + h * H));
    expect(mailTo("optout@example.com")).toHaveLength(1);
    const steps = await p.db.message.findMany({ where: { recoveryId }, orderBy: { position: "asc" } });
    expect(steps.map((m) => [m.status, m.skipReason])).toEqual([
      ["sent", null],
      ["cancelled", "unsubscribed"],
      ["cancelled", "unsubscribed"],
    ]);
    expect((await p.db.decisionLog.findFirstOrThrow({ where: { recoveryId, reason: "unsubscribed" } })).detail).toBe(
      "Unsubscribed (one-click unsubscribe from the inbox)",
    );

    // Mirrored to the Shopify customer with customerEmailMarketingConsentUpdate, a valid 2026-10 document.
    const updates = p.admin.store(shop.domain).consentUpdates;
    expect(updates).toHaveLength(1);
    expect(updates[0]!.input).toMatchObject({ customerId: checkout.shopifyCustomerId, emailMarketingConsent: { marketingState: "UNSUBSCRIBED" } });
    const doc = p.admin.documents(shop.domain).find((d) => d.query.includes("customerEmailMarketingConsentUpdate"))!;
    expect(doc.outcome).toBe("ok");
    expect(validate(loadAdminSchema(), parse(doc.query))).toEqual([]);
    expect(p.admin.store(shop.domain).getCustomer(checkout.shopifyCustomerId!)?.marketingState).toBe("UNSUBSCRIBED");
  });

  it("GET shows a confirmation page and changes nothing (link scanners prefetch); its button unsubscribes", async () => {
    const shop = await p.newShop({ name: "Lakeside", grantedScopes: "read_orders,read_customers,write_discounts" });
    const t = p.clock.now();
    await p.ingest(shop, stripeSession(t, { email: "scanner@example.com", locale: "en-US" }));
    await p.runAt(new Date(t.getTime() + H));
    const url = unsubscribeUrlOf(mailTo("scanner@example.com")[0]!);

    const page = await app.handle(new Request(url));
    expect(page.status).toBe(200);
    expect(page.headers.get("cache-control")).toBe("no-store");
    const html = await textOf(page);
    expect(html).toContain("Unsubscribe from Lakeside's cart reminders?");
    expect(html).toContain("s••••••@example.com");
    expect(html).not.toContain("scanner@example.com");
    // Without write_customers the page says the unsubscribe is local to Reclaim.
    expect(html).toContain("It does not change other email subscriptions you may have");
    const contact = await p.db.contact.findFirstOrThrow({ where: { shopId: shop.id, email: "scanner@example.com" } });
    expect(contact.unsubscribedAt).toBeNull();

    const confirmed = await app.handle(new Request(url, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: "" }));
    expect(confirmed.status).toBe(200);
    expect(await textOf(confirmed)).toContain("You're unsubscribed");
    expect((await p.db.contact.findUniqueOrThrow({ where: { id: contact.id } })).unsubscribedAt).not.toBeNull();
    // Nothing to mirror without the scope.
    expect(await jobTable(p.db).count({ where: { name: "mirror-unsubscribe-to-shopify", shopId: shop.id } })).toBe(0);
  });

  it("a forged, truncated or click token is refused with 400, and unsubscribes nobody", async () => {
    const shop = await p.newShop();
    const t = p.clock.now();
    await p.ingest(shop, stripeSession(t, { email: "victim@example.com" }));
    await p.runAt(new Date(t.getTime() + H));
    const mail = mailTo("victim@example.com")[0]!;
    const url = new URL(unsubscribeUrlOf(mail));
    const token = url.searchParams.get("t")!;
    const clickToken = new URL(
      /href="(https:\/\/reclaim\.test\/email\/click[^"]+)"/.exec(String(mail.parsed.html))![1]!.replace(/&amp;/g, "&"),
    ).searchParams.get("t")!;
    for (const bad of [token.slice(0, -2), `${token.split(".")[0]}.${"A".repeat(22)}`, clickToken, "", "x.y"]) {
      const response = await oneClick(`https://reclaim.test/email/unsubscribe?t=${encodeURIComponent(bad)}`);
      expect(response.status).toBe(400);
      expect(await response.text()).toContain("This unsubscribe link is not valid");
    }
    expect((await p.db.contact.findFirstOrThrow({ where: { shopId: shop.id, email: "victim@example.com" } })).unsubscribedAt).toBeNull();
  });
});

describe("attribution: by link and by window, stored with their method, never summed", () => {
  it("a completed checkout is credited by link, a later order after a click by window, and the results keep them apart", async () => {
    const { campaignResults } = await import("~/models/campaign.server");
    const shop = await p.newShop();
    const t = p.clock.now();
    // Recovery A: the buyer completes the same Shopify checkout (link).
    const a = shopifyCheckout(t, { email: "link@example.com" });
    await p.ingest(shop, a);
    // Recovery B: the buyer clicks the email, then pays on Stripe for something else (window).
    await p.ingest(shop, stripeSession(t, { email: "window@example.com" }));
    await p.runAt(new Date(t.getTime() + H));
    const clickUrl = /href="(https:\/\/reclaim\.test\/email\/click[^"]+)"/
      .exec(String(mailTo("window@example.com")[0]!.parsed.html))![1]!
      .replace(/&amp;/g, "&");
    expect((await app.handle(new Request(clickUrl))).status).toBe(302);
    const click = await p.db.click.findFirstOrThrow({ where: { shopId: shop.id } });

    await p.ingest(shop, { ...a, completedAt: new Date(t.getTime() + 2 * H), updatedAt: new Date(t.getTime() + 2 * H) });
    // The click route records real time; the payment comes an hour after the click, inside the 5-day window.
    await p.ingest(shop, stripePayment("window@example.com", new Date(click.clickedAt.getTime() + H), { amount: { amountMinor: 2500, currency: "EUR" } }));

    const conversions = await p.db.conversion.findMany({ where: { shopId: shop.id }, orderBy: { method: "asc" } });
    expect(conversions.map((c) => [c.method, c.matchedBy, c.amountMinor, c.currency])).toEqual([
      ["link", "completedAt", 10050n, "USD"],
      ["window", "payment", 2500n, "EUR"],
    ]);
    const campaign = await p.db.campaign.findFirstOrThrow({ where: { shopId: shop.id } });
    const results = await campaignResults(p.db, shop.id, campaign.id);
    expect(results.conversionsByLink).toEqual({ count: 1, amountByCurrency: { USD: 10050 } });
    expect(results.conversionsByWindow).toEqual({ count: 1, amountByCurrency: { EUR: 2500 }, windowDays: 5 });
    expect(results).not.toHaveProperty("conversions");
    expect(results.steps[0]).toMatchObject({ position: 1, sent: 2, clicks: 1 });
  });

  it("an order by the contact without any click is not credited to the email", async () => {
    const shop = await p.newShop();
    const t = p.clock.now();
    const { recoveryId } = (await p.ingest(shop, stripeSession(t, { email: "noclick@example.com" }))) as { recoveryId: string };
    await p.runAt(new Date(t.getTime() + H));
    await p.ingest(shop, shopifyOrder("noclick@example.com", new Date(t.getTime() + 3 * H)));
    expect(await p.db.conversion.count({ where: { recoveryId } })).toBe(0);
  });
});
