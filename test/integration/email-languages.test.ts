// Issue 19 (docs/decisions/093): every email in the buyer's language when the step has it, else the shop's; the
// unsubscribe page in the language of the email the link came from. Real sends through the local SMTP server.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkoutNodeToEvent } from "~/sources/shopify/to-source-event";
import { minimiseWebhookBody } from "~/sources/shopify/webhook-fields";
import { checkoutWebhookToEvent } from "~/sources/shopify/webhook-mapping";
import { expiredSessionToCheckout } from "~/sources/stripe/to-source-event";
import { loadApp } from "../helpers/app-server";
import { H, shopifyCheckout, startPipeline, type Pipeline } from "../helpers/pipeline";
import { header, type ReceivedMail } from "../helpers/smtp";

const T0 = new Date("2027-03-01T09:00:00Z");
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

const mailTo = (email: string) => p.sink.received.filter((m) => m.rcptTo.includes(email));
const unsubscribeUrlOf = (mail: ReceivedMail) => header(mail, "List-Unsubscribe")!.slice(1, -1);
const textOf = async (response: Response) =>
  (await response.text())
    .replace(/<!-- -->/g, "")
    .replace(/&#x27;/g, "'")
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, "&");

describe("emails in the buyer's language", () => {
  it("a Japanese buyer of an English shop gets the Japanese email: subject, body, footer, yen without decimals; the unsubscribe page is Japanese", async () => {
    const shop = await p.newShop({ name: "Tokyo Tea", locale: "en", currency: "JPY" });
    const campaign = await p.db.campaign.findFirstOrThrow({
      where: { shopId: shop.id, isDefault: true, kind: "cart" },
      include: { steps: { include: { translations: true }, orderBy: { position: "asc" } } },
    });
    // The default campaign: English main versions (the shop's language), Japanese and German translations.
    expect(campaign.name).toBe("Abandoned checkout (default)");
    expect(campaign.steps.map((s) => [s.language, s.translations.map((t) => t.language).sort()])).toEqual([
      ["en", ["de", "ja"]],
      ["en", ["de", "ja"]],
      ["en", ["de", "ja"]],
    ]);

    await p.ingest(
      shop,
      shopifyCheckout(T0, {
        email: "hanako@example.jp",
        firstName: "花子",
        lastName: "山田",
        locale: "ja-JP",
        total: { amountMinor: 1200, currency: "JPY" },
        lineItems: [{ title: "抹茶セット", variantTitle: null, quantity: 2, imageUrl: null, unitPriceMinor: 600, totalPriceMinor: 1200 }],
      }),
    );
    const recovery = await p.db.recovery.findFirstOrThrow({ where: { shopId: shop.id, email: "hanako@example.jp" } });
    expect(recovery.lastName).toBe("山田");

    await p.runAt(new Date(T0.getTime() + H));
    const [mail] = mailTo("hanako@example.jp");
    expect(mail).toBeDefined();
    expect(mail!.parsed.subject).toBe("山田 様、お買い物かごに商品が残っています");
    const html = String(mail!.parsed.html);
    expect(html).toContain("山田 様、Tokyo Teaのお買い物かごは、そのままの状態で保存されています。");
    expect(html).toContain("お買い物かごに戻る");
    expect(html).toMatch(/[¥￥]1,200/);
    expect(html).not.toMatch(/[¥￥]1,200\.|[¥￥]12\.00/);
    expect(html).toContain("このメールは、Tokyo Teaでご購入手続きを開始されたお客様にお送りしています。");
    expect(html).toContain("'Hiragino Sans'");
    expect(html).not.toContain("You're receiving this email");
    expect(String(mail!.parsed.text)).toContain("お買い物かごに戻る");

    const message = await p.db.message.findFirstOrThrow({ where: { recoveryId: recovery.id, position: 1 } });
    expect(message.language).toBe("ja");
    expect(message.subject).toBe("山田 様、お買い物かごに商品が残っています");

    // The unsubscribe link opens a Japanese page (and <html lang="ja">); its button answers in Japanese.
    const url = unsubscribeUrlOf(mail!);
    const page = await app.handle(new Request(url));
    expect(page.status).toBe(200);
    const pageHtml = await textOf(page);
    expect(pageHtml).toContain('<html lang="ja"');
    expect(pageHtml).toContain("Tokyo Teaからのお買い物かごのリマインダーを停止しますか？");
    expect(pageHtml).toContain("配信を停止する");
    expect(pageHtml).not.toContain("Unsubscribe from");
    const confirmed = await app.handle(new Request(url, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: "" }));
    expect(confirmed.status).toBe(200);
    const confirmedHtml = await textOf(confirmed);
    expect(confirmedHtml).toContain("配信を停止しました");
    expect(confirmedHtml).toContain('<html lang="ja"');
  });

  it("a buyer without a locale gets the shop's language: a German shop sends German, with 12,00 €", async () => {
    const shop = await p.newShop({ name: "Bergladen", locale: "de", currency: "EUR", timezone: "Europe/Berlin" });
    const campaign = await p.db.campaign.findFirstOrThrow({
      where: { shopId: shop.id, isDefault: true, kind: "cart" },
      include: { steps: { include: { translations: true }, orderBy: { position: "asc" } } },
    });
    expect(campaign.name).toBe("Abgebrochener Checkout (Standard)");
    expect(campaign.steps[0]!.language).toBe("de");
    expect(campaign.steps[0]!.translations.map((t) => t.language).sort()).toEqual(["en", "ja"]);

    await p.ingest(
      shop,
      shopifyCheckout(T0, {
        email: "lena@example.de",
        firstName: "Lena",
        locale: null,
        total: { amountMinor: 1200, currency: "EUR" },
        lineItems: [{ title: "Mütze", variantTitle: null, quantity: 1, imageUrl: null, unitPriceMinor: 1200, totalPriceMinor: 1200 }],
      }),
    );
    await p.runAt(new Date(T0.getTime() + H));
    const [mail] = mailTo("lena@example.de");
    expect(mail!.parsed.subject).toBe("Lena, Sie haben etwas in Ihrem Warenkorb vergessen");
    const html = String(mail!.parsed.html);
    expect(html).toContain("Ihr Warenkorb bei Bergladen ist gespeichert");
    expect(html).toContain("12,00\u00a0€");
    expect(html).toContain("Sie erhalten diese E-Mail, weil Sie bei Bergladen einen Bestellvorgang begonnen haben.");
    const message = await p.db.message.findFirstOrThrow({ where: { shopId: shop.id, position: 1 } });
    expect(message.language).toBe("de");

    const page = await textOf(await app.handle(new Request(unsubscribeUrlOf(mail!))));
    expect(page).toContain('<html lang="de"');
    expect(page).toContain("Warenkorb-Erinnerungen von Bergladen abbestellen?");
  });

  it("a Japanese shop's payment campaigns: Japanese main versions, English and German translations", async () => {
    const { ensurePaymentCampaigns } = await import("~/models/payment-recovery.server");
    const shop = await p.newShop({ name: "Kyoto Kit", locale: "ja", currency: "JPY" });
    expect((await p.db.campaign.findFirstOrThrow({ where: { shopId: shop.id, kind: "cart" } })).name).toBe("カゴ落ち対策（デフォルト）");
    await ensurePaymentCampaigns(p.db, shop.id);
    const campaigns = await p.db.campaign.findMany({
      where: { shopId: shop.id, kind: { not: "cart" } },
      include: { steps: { include: { translations: true }, orderBy: { position: "asc" } } },
      orderBy: { kind: "asc" },
    });
    expect(campaigns.map((c) => [c.kind, c.name, c.steps.length])).toEqual([
      ["payment_action_required", "お支払いの確認", 2],
      ["payment_failed", "カード情報の更新", 3],
    ]);
    for (const step of campaigns.flatMap((c) => c.steps)) {
      expect(step.language).toBe("ja");
      expect(step.subject).toContain("【{{ shop.name }}】");
      expect(step.translations.map((t) => t.language).sort()).toEqual(["de", "en"]);
    }
    expect(campaigns[1]!.steps[0]!.translations.find((t) => t.language === "en")!.subject).toBe("Your {{ shop.name }} payment didn't go through");
  });

  it("an English buyer of a German shop gets the English translation", async () => {
    const shop = await p.newShop({ name: "Bergladen 2", locale: "de", currency: "EUR" });
    await p.ingest(shop, shopifyCheckout(T0, { email: "robin@example.com", locale: "en-GB", total: { amountMinor: 1200, currency: "EUR" } }));
    await p.runAt(new Date(T0.getTime() + H));
    const [mail] = mailTo("robin@example.com");
    expect(mail!.parsed.subject).toBe("Robin, you left something in your cart");
    expect(String(mail!.parsed.html)).toContain("€12.00");
    expect((await p.db.message.findFirstOrThrow({ where: { shopId: shop.id, position: 1 } })).language).toBe("en");
  });
});

// As stored: the body cut down to the fields the mappers read (app/sources/shopify/webhook-fields.ts) before mapping.
const webhookCheckout = (n: number, customer: Record<string, unknown> | null, billing: Record<string, unknown> | null = null) =>
  checkoutWebhookToEvent(
    JSON.parse(
      minimiseWebhookBody(
        "checkouts/update",
        JSON.stringify({
          token: `tok-family-${n}`,
          name: `#${3000 + n}`,
          email: `family${n}@example.com`,
          created_at: T0.toISOString(),
          updated_at: T0.toISOString(),
          currency: "JPY",
          total_price: "1200",
          customer_locale: "ja-JP",
          buyer_accepts_marketing: true,
          abandoned_checkout_url: `https://acme.example/1/checkouts/ac/tok-family-${n}/recover?key=k`,
          customer,
          billing_address: billing,
          line_items: [{ title: "Mug", quantity: 1, price: "1200" }],
        }),
      ),
    ),
  );

describe("the buyer's family name (customer.last_name)", () => {
  it("is stored from the checkouts webhook (customer, else billing address) and the GraphQL poll; Stripe has none", async () => {
    const shop = await p.newShop({ currency: "JPY" });
    await p.ingest(shop, webhookCheckout(1, { id: 601, email: "family1@example.com", first_name: "花子", last_name: "山田" }));
    await p.ingest(shop, webhookCheckout(2, null, { first_name: "太郎", last_name: "佐藤" }));
    await p.ingest(
      shop,
      checkoutNodeToEvent(
        {
          id: "gid://shopify/AbandonedCheckout/8801",
          name: "#3003",
          abandonedCheckoutUrl: "https://acme.example/1/checkouts/ac/tok-family-3/recover?key=k",
          completedAt: null,
          createdAt: T0.toISOString(),
          updatedAt: T0.toISOString(),
          discountCodes: [],
          customer: {
            id: "gid://shopify/Customer/603",
            firstName: "Yuki",
            lastName: "鈴木",
            locale: "ja",
            defaultEmailAddress: {
              emailAddress: "family3@example.com",
              marketingState: "SUBSCRIBED",
              marketingOptInLevel: "SINGLE_OPT_IN",
              marketingUpdatedAt: T0.toISOString(),
            },
          },
          totalPriceSet: { shopMoney: { amount: "1200", currencyCode: "JPY" }, presentmentMoney: { amount: "1200", currencyCode: "JPY" } },
        },
        [],
      ),
    );
    await p.ingest(
      shop,
      expiredSessionToCheckout(
        {
          id: "cs_test_family4",
          object: "checkout.session",
          created: Math.floor(T0.getTime() / 1000),
          currency: "jpy",
          amount_total: 1200,
          locale: "ja",
          customer_details: { email: "family4@example.com", name: "Kenji Watanabe" },
          consent: { promotions: "opt_in" },
        },
        { eventCreated: T0, lineItems: [], lineItemsUnavailable: null, fallbackCurrency: "JPY" },
      ),
    );
    const rows = await p.db.recovery.findMany({ where: { shopId: shop.id }, select: { email: true, lastName: true, locale: true }, orderBy: { email: "asc" } });
    expect(rows.map((r) => [r.email, r.lastName])).toEqual([
      ["family1@example.com", "山田"],
      ["family2@example.com", "佐藤"],
      ["family3@example.com", "鈴木"],
      ["family4@example.com", null],
    ]);
    expect(rows[0]!.locale).toBe("ja-JP");

    // A later observation without a family name does not erase the known one.
    await p.ingest(shop, webhookCheckout(1, { id: 601, email: "family1@example.com", first_name: "花子" }));
    expect((await p.db.recovery.findFirstOrThrow({ where: { shopId: shop.id, email: "family1@example.com" } })).lastName).toBe("山田");
  });
});
