import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { validate, parse } from "graphql";
import { loadApp } from "../helpers/app-server";
import { H, MIN, shopifyCheckout, startPipeline, stripeSession, type Pipeline } from "../helpers/pipeline";
import { header, type ReceivedMail } from "../helpers/smtp";
import { loadAdminSchema } from "../../app/demo/fakes/shopify-admin/schema";

const T0 = new Date("2027-02-01T09:00:00Z");
let p: Pipeline;
let app: Awaited<ReturnType<typeof loadApp>>;

beforeAll(async () => {
  app = await loadApp();
  p = await startPipeline({ start: T0 });
});
afterAll(async () => {
  await p?.close();
  await app?.close();
});

const to = (mail: ReceivedMail) => mail.rcptTo[0];
const linkIn = (html: string, label: string) => new RegExp(`href="([^"]+)"[^>]*>${label}`).exec(html)?.[1]?.replace(/&amp;/g, "&");

describe("the recovery pipeline, end to end", () => {
  it("a 3-step campaign sends at 1 h, 24 h and 72 h, to a Shopify and a Stripe recovery alike", async () => {
    const shop = await p.newShop();
    const shopify = shopifyCheckout(T0, { email: "Robin.Shopify@Example.com" });
    // An English-speaking buyer (a de-DE one gets the German translation: test/integration/email-languages.test.ts).
    const stripe = stripeSession(T0, { email: "sam.stripe@example.com", locale: "en-US" });
    expect(await p.ingest(shop, shopify)).toMatchObject({ created: true, schedule: "scheduled" });
    expect(await p.ingest(shop, stripe)).toMatchObject({ created: true, schedule: "scheduled" });

    await p.runAt(new Date(T0.getTime() + 59 * MIN));
    expect(p.sink.received).toHaveLength(0);

    await p.runAt(new Date(T0.getTime() + 60 * MIN));
    expect(p.sink.received.map(to).sort()).toEqual(["robin.shopify@example.com", "sam.stripe@example.com"]);

    await p.runAt(new Date(T0.getTime() + 24 * H - MIN));
    expect(p.sink.received).toHaveLength(2);
    await p.runAt(new Date(T0.getTime() + 24 * H));
    expect(p.sink.received).toHaveLength(4);
    await p.runAt(new Date(T0.getTime() + 72 * H));
    expect(p.sink.received).toHaveLength(6);
    // Nothing more, ever.
    await p.runAt(new Date(T0.getTime() + 200 * H));
    expect(p.sink.received).toHaveLength(6);

    const messages = await p.db.message.findMany({
      where: { shopId: shop.id },
      include: { recovery: true },
      orderBy: [{ recoveryId: "asc" }, { position: "asc" }],
    });
    expect(messages).toHaveLength(6);
    for (const m of messages) {
      expect(m.status).toBe("sent");
      expect(m.sentAt?.getTime()).toBe(m.scheduledFor.getTime());
      expect((m.sentAt!.getTime() - T0.getTime()) / H).toBe([1, 24, 72][m.position - 1]);
    }
    // The subjects follow the default campaign; the Shopify one gets its code in the last step, Stripe's can't.
    const subjects = p.sink.received.map((mail) => `${to(mail)} ${mail.parsed.subject}`);
    expect(subjects).toContain("robin.shopify@example.com 10% off your cart at Acme Outfitters");
    expect(subjects).toContain("sam.stripe@example.com Last reminder: your cart at Acme Outfitters");
    // 200 h is more than the 5-day attribution window after the last email (72 h): neither came back.
    expect(await p.db.recovery.findMany({ where: { shopId: shop.id }, select: { status: true } })).toEqual([{ status: "lost" }, { status: "lost" }]);
    const sends = await p.db.decisionLog.findMany({ where: { shopId: shop.id, outcome: "send" } });
    expect(sends).toHaveLength(6);
    expect(sends.some((d) => d.detail?.includes("stripe.consent.promotions"))).toBe(true);
  });

  it("the received email: RFC 8058 headers, sender, signed links, footer, and prices in the checkout's currency and locale", async () => {
    const shop = await p.newShop({ name: "Maison Verte", senderName: "Maison Verte", postalAddress: "12 rue des Lilas, 75011 Paris, France" });
    const start = p.clock.now();
    // A French buyer: French is not shipped, so the shop's English email (docs/decisions/093).
    await p.ingest(shop, stripeSession(start, { email: "claire@example.fr", firstName: "Claire", locale: "fr-FR" }));
    await p.runAt(new Date(start.getTime() + H));
    const mail = p.sink.received.find((m) => to(m) === "claire@example.fr")!;
    const message = await p.db.message.findFirstOrThrow({ where: { shopId: shop.id, position: 1 } });

    // Headers as the inbox sees them.
    const listUnsubscribe = header(mail, "List-Unsubscribe")!;
    expect(listUnsubscribe).toMatch(/^<https:\/\/reclaim\.test\/email\/unsubscribe\?t=[^>]+>$/);
    expect(header(mail, "List-Unsubscribe-Post")).toBe("List-Unsubscribe=One-Click");
    expect(mail.parsed.from?.value).toEqual([{ address: "hello@acme.test", name: "Maison Verte" }]);
    expect(mail.parsed.replyTo?.value[0]?.address).toBe("support@acme.test");
    expect(mail.parsed.messageId).toBe(`<${message.id}@reclaim.test>`);
    expect(mail.parsed.subject).toBe("Claire, you left something in your cart");
    expect(mail.mailFrom).toBe("hello@acme.test");

    // Both parts, the visible unsubscribe link (same URL as the header) and the postal address.
    const html = String(mail.parsed.html);
    const text = mail.parsed.text ?? "";
    const unsubscribeUrl = listUnsubscribe.slice(1, -1);
    expect(linkIn(html, "Unsubscribe from these reminders")).toBe(unsubscribeUrl);
    expect(text).toContain(unsubscribeUrl);
    expect(html).toContain("12 rue des Lilas, 75011 Paris, France");
    expect(text).toContain("12 rue des Lilas");
    // Prices in EUR, formatted in the email's language (English; a German email formats 12,00 €: email-languages.test.ts).
    expect(html).toContain("€1,234.50");
    // The button goes through the signed click redirect, which forwards to Stripe's recovery link.
    const clickUrl = linkIn(html, "Return to your cart")!;
    expect(clickUrl).toMatch(/^https:\/\/reclaim\.test\/email\/click\?t=/);
    const response = await app.handle(new Request(clickUrl));
    expect(response.status).toBe(302);
    const recovery = await p.db.recovery.findFirstOrThrow({ where: { shopId: shop.id } });
    expect(response.headers.get("location")).toBe(recovery.recoveryUrl);
    expect(await p.db.click.count({ where: { messageId: message.id } })).toBe(1);
    // A link checker's HEAD is redirected too, but is not a click.
    expect((await app.handle(new Request(clickUrl, { method: "HEAD" }))).status).toBe(302);
    expect(await p.db.click.count({ where: { messageId: message.id } })).toBe(1);
    // A forged click token is refused and records nothing.
    const forged = clickUrl.replace(/.$/, (c) => (c === "A" ? "B" : "A"));
    expect((await app.handle(new Request(forged))).status).toBe(400);
    expect(await p.db.click.count({ where: { messageId: message.id } })).toBe(1);
  });

  it("Shopify incentive step: a unique single-use code is created through the Admin API and applied by the click", async () => {
    const shop = await p.newShop({ currency: "USD" });
    const start = p.clock.now();
    const checkout = shopifyCheckout(start, { email: "dana@example.com" });
    await p.ingest(shop, checkout);
    for (const hours of [1, 24, 72]) await p.runAt(new Date(start.getTime() + hours * H));

    const discounts = p.admin.store(shop.domain).discounts;
    expect(discounts).toHaveLength(1);
    const message = await p.db.message.findFirstOrThrow({ where: { shopId: shop.id, position: 3 } });
    expect(message.discountCode).toMatch(/^BACK-[A-HJ-NP-Z2-9]{8}$/);
    const sentAt = message.sentAt!;
    expect(discounts[0]!.input).toMatchObject({
      code: message.discountCode,
      usageLimit: 1,
      startsAt: sentAt.toISOString(),
      endsAt: new Date(sentAt.getTime() + 7 * 24 * H).toISOString(),
      context: { all: "ALL" },
      customerGets: { value: { percentage: 0.1 }, items: { all: true } },
    });
    // What reached the fake Admin API was a valid document against the real 2026-10 schema.
    const documents = p.admin.documents(shop.domain).filter((d) => d.query.includes("discountCodeBasicCreate"));
    expect(documents).toHaveLength(1);
    expect(documents[0]!.outcome).toBe("ok");
    expect(validate(loadAdminSchema(), parse(documents[0]!.query))).toEqual([]);

    // The email shows the code, and its link applies it on the storefront before the recovery page.
    const mail = p.sink.received.find((m) => to(m) === "dana@example.com" && m.parsed.subject?.startsWith("10% off"))!;
    expect(String(mail.parsed.html)).toContain(message.discountCode!);
    const clickUrl = linkIn(String(mail.parsed.html), "Complete your order")!;
    const response = await app.handle(new Request(clickUrl));
    const recoveryUrl = new URL(checkout.recoveryUrl!);
    expect(response.headers.get("location")).toBe(
      `https://${shop.domain}/discount/${message.discountCode}?redirect=${encodeURIComponent(recoveryUrl.pathname + recoveryUrl.search)}`,
    );
  });

  it("a Stripe recovery's incentive step creates no Shopify code and uses the fallback copy", async () => {
    const shop = await p.newShop();
    const start = p.clock.now();
    await p.ingest(shop, stripeSession(start, { email: "no-code@example.com" }));
    for (const hours of [1, 24, 72]) await p.runAt(new Date(start.getTime() + hours * H));
    expect(p.admin.store(shop.domain).discounts).toHaveLength(0);
    const last = await p.db.message.findFirstOrThrow({ where: { shopId: shop.id, position: 3 } });
    expect(last).toMatchObject({ status: "sent", discountCode: null });
  });
});
