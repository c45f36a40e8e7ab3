// Issue 21 (part B), through the real send path and the real list/detail read models: the subject and email actually
// sent are stored and can be opened without side effects; search matches anywhere; Stripe carts get readable names;
// a recovery that will never be emailed says so.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { H, MIN, shopifyCheckout, startPipeline, stripeSession, type Pipeline } from "../helpers/pipeline";

const T0 = new Date("2027-03-01T09:00:00Z");
let p: Pipeline;

beforeAll(async () => {
  p = await startPipeline({ start: T0 });
});
afterAll(async () => {
  await p?.close();
});

const list = async (shopId: string, search?: string) => {
  const { listRecoveries } = await import("~/models/recovery-list.server");
  return (await listRecoveries(p.db, { shopId, filters: { search } })).rows;
};

describe("the email as sent", () => {
  it("stores the rendered subject and HTML at hand-off; the timeline says it as a sentence and the email opens with its links turned off", async () => {
    const shop = await p.newShop();
    const checkout = shopifyCheckout(T0, { email: "robin@example.com" });
    await p.ingest(shop, checkout);
    await p.runAt(new Date(T0.getTime() + 60 * MIN));
    expect(p.sink.received.filter((m) => m.rcptTo[0] === "robin@example.com")).toHaveLength(1);
    const mail = p.sink.received.find((m) => m.rcptTo[0] === "robin@example.com")!;

    const message = await p.db.message.findFirstOrThrow({ where: { shopId: shop.id, status: "sent" } });
    // What the buyer got, not the Liquid source: the default subject has `{{ shop.name }}` in it.
    expect(message.subject).toBe(mail.parsed.subject);
    expect(message.subject).not.toContain("{{");
    expect(message.bodyHtml).toBe(mail.parsed.html);

    const { loadRecoveryDetail } = await import("~/models/recovery-detail.server");
    const detail = await loadRecoveryDetail(p.db, shop.id, message.recoveryId, { formatAt: (iso) => `<${iso}>` });
    const line = detail!.timeline.find((e) => e.kind === "message" && e.status === "sent");
    expect(line).toMatchObject({
      label: `Email 1 sent on <${message.sentAt!.toISOString()}> — subject: “${mail.parsed.subject}”`,
      viewableMessageId: message.id,
    });

    const { loadSentEmail } = await import("~/models/sent-email.server");
    const email = await loadSentEmail(p.db, shop.id, message.recoveryId, message.id);
    expect(email!.subject).toBe(mail.parsed.subject);
    // The stored HTML carries the buyer's signed click and unsubscribe links: opening the email must follow neither.
    expect(message.bodyHtml).toMatch(/\/email\/click\?t=/);
    expect(message.bodyHtml).toMatch(/\/email\/unsubscribe\?t=/);
    expect(email!.html).not.toMatch(/\/email\/(click|unsubscribe)/);
    expect(email!.html).toContain("Content-Security-Policy");
    // Another shop, or another recovery's id in the URL: nothing.
    const other = await p.newShop();
    expect(await loadSentEmail(p.db, other.id, message.recoveryId, message.id)).toBeNull();
    expect(await loadSentEmail(p.db, shop.id, "someone-else", message.id)).toBeNull();
  });
});

describe("search and list", () => {
  it("finds a cart by the middle of an email, a first name, the checkout number or the Stripe session id; % and _ are literal", async () => {
    const shop = await p.newShop();
    await p.ingest(shop, shopifyCheckout(T0, { email: "jane.doe+gifts@fastmail.example", firstName: "Jane", name: "#4321" }));
    await p.ingest(shop, shopifyCheckout(new Date(T0.getTime() - H), { email: "oscar@example.com", firstName: "Oscar", name: "#5555" }));
    await p.ingest(shop, stripeSession(new Date(T0.getTime() - 2 * H), { email: "pay_100%@example.com", firstName: "Mia", externalId: "cs_test_a1B2c3D4e5" }));

    const names = async (q: string) => (await list(shop.id, q)).map((r) => r.email).sort();
    expect(await names("gifts@fast")).toEqual(["jane.doe+gifts@fastmail.example"]);
    expect(await names("JANE")).toEqual(["jane.doe+gifts@fastmail.example"]);
    expect(await names("oscar")).toEqual(["oscar@example.com"]);
    expect(await names("4321")).toEqual(["jane.doe+gifts@fastmail.example"]);
    expect(await names("#5555")).toEqual(["oscar@example.com"]);
    expect(await names("C3d4E5")).toEqual(["pay_100%@example.com"]);
    expect(await names("100%")).toEqual(["pay_100%@example.com"]);
    // As LIKE wildcards these would match every row.
    expect(await names("%")).toEqual(["pay_100%@example.com"]);
    expect(await names("_")).toEqual(["pay_100%@example.com"]);
    expect(await names("nobody")).toEqual([]);
    // Another shop's search never sees these.
    const other = await p.newShop();
    expect(await list(other.id, "example")).toEqual([]);
  });

  it("names a Stripe cart by its buyer and first item, and lists emails sent and the next email", async () => {
    const shop = await p.newShop();
    await p.ingest(
      shop,
      stripeSession(T0, {
        email: "sam@example.com",
        firstName: "Sam",
        lineItems: [
          { title: "Annual plan", variantTitle: null, quantity: 1, imageUrl: null, unitPriceMinor: 1000, totalPriceMinor: 1000 },
          { title: "Setup fee", variantTitle: null, quantity: 1, imageUrl: null, unitPriceMinor: 500, totalPriceMinor: 500 },
        ],
      }),
    );
    await p.runAt(new Date(T0.getTime() + 60 * MIN));
    const [row] = await list(shop.id);
    expect(row!.title).toBe("Sam — Annual plan + 1 more");
    expect(row!.externalId).toMatch(/^cs_test_/);
    expect(row!.emailsSent).toBe(1);
    expect(row!.nextEmailAt).toBe(new Date(T0.getTime() + 24 * H).toISOString());
    expect(row!.wontBeEmailed).toBeNull();
  });

  it("a buyer who has not agreed to marketing emails: the list and the detail say it won't be emailed, and no email is shown as scheduled", async () => {
    const shop = await p.newShop();
    await p.ingest(
      shop,
      shopifyCheckout(T0, {
        email: "no-consent@example.com",
        consent: { state: "unknown", source: "shopify.checkout.buyer_accepts_marketing", detail: { buyer_accepts_marketing: false } },
      }),
    );
    const [row] = await list(shop.id);
    expect(row!.wontBeEmailed).toBe("no_consent");
    expect(row!.nextEmailAt).toBeNull();

    const { loadRecoveryDetail } = await import("~/models/recovery-detail.server");
    const detail = await loadRecoveryDetail(p.db, shop.id, row!.id, { consentPolicy: "explicit" });
    expect(detail!.wontBeEmailed).toBe("no_consent");
    const labels = detail!.timeline.filter((e) => e.kind === "message").map((e) => e.label);
    expect(labels.length).toBeGreaterThan(0);
    expect(labels.every((l) => l.endsWith("won't be sent: the buyer has not agreed to marketing emails"))).toBe(true);
    expect(labels.some((l) => l.includes("scheduled"))).toBe(false);

    // Once the first step has been skipped for it, the sentence says so in words, not `no_consent`.
    await p.runAt(new Date(T0.getTime() + 60 * MIN));
    const after = await loadRecoveryDetail(p.db, shop.id, row!.id, { consentPolicy: "explicit" });
    const first = after!.timeline.find((e) => e.kind === "message")!;
    expect(first.label).toBe("Email 1 skipped: the buyer has not agreed to marketing emails");
    expect(first.kind === "message" && first.technical.map((t) => t.reason)).toEqual(["no_consent"]);
    // Under the implied policy an unknown consent may be emailed: no "won't be emailed".
    expect((await loadRecoveryDetail(p.db, shop.id, row!.id, { consentPolicy: "implied" }))!.wontBeEmailed).toBeNull();
  });
});
