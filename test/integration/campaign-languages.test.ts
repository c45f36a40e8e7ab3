// Issue 19: each step's email is edited per language (the main version and one translation per other language), every
// version is checked as the main one is before anything is written, and the campaign pages speak the admin's language.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startAdminApp } from "../helpers/admin-app";
import { embeddedRequest, TEST_SHOP } from "../helpers/shopify";

let admin: Awaited<ReturnType<typeof startAdminApp>>;
let db: typeof admin.db;
let shopId: string;
let campaignId: string;
let steps: { id: string; position: number; subject: string; bodyTemplate: string }[];

const ROUTE = "routes/app.campaigns.$id";
const INDEX = "routes/app.campaigns._index";
const post = (form: Record<string, string>, query = "") => admin.post(`/app/campaigns/${campaignId}${query}`, ROUTE, form);

beforeAll(async () => {
  admin = await startAdminApp([TEST_SHOP]);
  db = admin.db;
  const shop = await db.shop.create({ data: { domain: TEST_SHOP, currency: "EUR", postalAddress: "1 Rue de la Paix, Paris" } });
  shopId = shop.id;
  const { ensureDefaultCampaign } = await import("~/models/campaign.server");
  campaignId = (await ensureDefaultCampaign(db, shop.id)).id;
  // The default campaign comes with every shipped language (test/integration/email-languages.test.ts); these tests
  // start from the English main version alone and add each language themselves.
  await db.campaignStepTranslation.deleteMany({ where: { step: { campaignId } } });
  steps = await db.campaignStep.findMany({ where: { campaignId }, orderBy: { position: "asc" } });
});
afterAll(() => admin?.close());
// The admin's language is kept per staff member and on the shop; each test says which one it uses.
beforeEach(async () => {
  await db.staffLanguage.deleteMany({ where: { shopId } });
  await db.shop.update({ where: { id: shopId }, data: { adminLocale: "en" } });
});

const JA = {
  "subject:ja": "{{ customer.first_name | default: 'お客' }}様、カートに商品が残っています",
  "bodyTemplate:ja": '<p>{{ shop.name }} のカートは保存されています。合計：{{ checkout.total }}</p><p><a href="{{ recovery_url }}">購入手続きに戻る</a></p>',
};
const DE = {
  "subject:de": "Sie haben etwas vergessen",
  "bodyTemplate:de": '<p>Ihr Warenkorb bei {{ shop.name }}: {{ checkout.total }}</p><p><a href="{{ recovery_url }}">Zum Warenkorb</a></p>',
};

const stepForm = (overrides: Record<string, string> = {}) => ({
  intent: "save-step",
  stepId: steps[0]!.id,
  delayHours: "1",
  subject: steps[0]!.subject,
  bodyTemplate: steps[0]!.bodyTemplate,
  incentiveType: "",
  incentiveValue: "",
  incentiveExpiresDays: "",
  ...overrides,
});

const snapshot = async () => ({
  step: await db.campaignStep.findUniqueOrThrow({ where: { id: steps[0]!.id } }),
  translations: await db.campaignStepTranslation.findMany({ where: { stepId: steps[0]!.id }, orderBy: { language: "asc" } }),
});

describe("a step's email in each language", () => {
  it("a version added in a language starts from Reclaim's default email in that language", async () => {
    const { DEFAULT_STEPS_BY_LANGUAGE } = await import("~/recovery/campaign-defaults");
    const page = await admin.data(`/app/campaigns/${campaignId}`, ROUTE);
    const defaults = page.body.campaign.steps[1].defaults;
    expect(defaults.ja).toEqual({ subject: DEFAULT_STEPS_BY_LANGUAGE.ja[1]!.subject, bodyTemplate: DEFAULT_STEPS_BY_LANGUAGE.ja[1]!.bodyTemplate });
    expect(defaults.de.subject).toBe(DEFAULT_STEPS_BY_LANGUAGE.de[1]!.subject);
    expect(defaults.ja.subject).not.toBe(steps[1]!.subject);
  });

  it("saves a Japanese version beside the English main version and reads it back", async () => {
    const { status, body } = await post(stepForm(JA));
    expect(status).toBe(200);
    expect(body.message).toBe("Email 1 saved.");
    const saved = await db.campaignStepTranslation.findUniqueOrThrow({ where: { stepId_language: { stepId: steps[0]!.id, language: "ja" } } });
    expect(saved).toMatchObject({ subject: JA["subject:ja"], bodyTemplate: JA["bodyTemplate:ja"] });
    // The main version is untouched.
    expect((await db.campaignStep.findUniqueOrThrow({ where: { id: steps[0]!.id } })).subject).toBe(steps[0]!.subject);

    const page = await admin.data(`/app/campaigns/${campaignId}`, ROUTE);
    expect(page.body.campaign.steps[0].language).toBe("en");
    expect(page.body.campaign.steps[0].versions).toEqual({
      en: { subject: steps[0]!.subject, bodyTemplate: steps[0]!.bodyTemplate },
      ja: { subject: JA["subject:ja"], bodyTemplate: JA["bodyTemplate:ja"] },
    });

    // Saving again updates the same version rather than adding one.
    expect((await post(stepForm({ ...JA, "subject:ja": "カートをお忘れではありませんか？" }))).status).toBe(200);
    expect(await db.campaignStepTranslation.count({ where: { stepId: steps[0]!.id, language: "ja" } })).toBe(1);
    expect((await snapshot()).translations[0]!.subject).toBe("カートをお忘れではありませんか？");
  });

  it("refuses a German version with broken Liquid, naming the version, and writes nothing at all", async () => {
    await post(stepForm(JA));
    const before = await snapshot();
    const { status, body } = await post(
      stepForm({
        subject: "Changed main subject",
        ...JA,
        "subject:ja": "変更された件名",
        ...DE,
        "bodyTemplate:de": "<p>Hallo</p>\n<p>{% if customer.first_name %}Hallo</p>",
      }),
    );
    expect(status).toBe(400);
    expect(body.problems).toEqual([expect.objectContaining({ language: "de", field: "body", line: expect.any(Number), column: expect.any(Number) })]);
    // Neither the main version, nor the Japanese one, nor a German one: all or nothing.
    expect(await snapshot()).toEqual(before);
  });

  it("refuses a version past the limits with a field error keyed by its language, in the admin's language", async () => {
    const before = await snapshot();
    const { status, body } = await post(stepForm({ ...DE, "subject:de": "x".repeat(401), "bodyTemplate:de": "<span".repeat(25_000) }), "?locale=de");
    expect(status).toBe(400);
    expect(body.fieldErrors).toEqual({
      "subject:de": "Der Betreff darf höchstens 400 Zeichen lang sein",
      "bodyTemplate:de": "Der Inhalt darf höchstens 100.000 Zeichen lang sein",
    });
    expect(await snapshot()).toEqual(before);
    const unknown = await post(stepForm({ "subject:fr": "Bonjour", "bodyTemplate:fr": "<p>Bonjour</p>" }));
    expect(unknown.status).toBe(400);
    expect(unknown.body.fieldErrors.language).toBeTruthy();
    expect(await snapshot()).toEqual(before);
  });

  it("removes a version in another language, never the main one", async () => {
    await post(stepForm({ ...JA, ...DE }));
    expect((await snapshot()).translations.map((t) => t.language)).toEqual(["de", "ja"]);
    const removed = await post({ intent: "remove-language", stepId: steps[0]!.id, language: "ja" });
    expect(removed.status).toBe(200);
    expect(removed.body.message).toBe("The 日本語 version of Email 1 was removed.");
    expect((await snapshot()).translations.map((t) => t.language)).toEqual(["de"]);
    const main = await post({ intent: "remove-language", stepId: steps[0]!.id, language: "en" });
    expect(main.status).toBe(400);
    const again = await post({ intent: "remove-language", stepId: steps[0]!.id, language: "ja" });
    expect(again.status).toBe(400);
    expect((await snapshot()).step.subject).toBe(steps[0]!.subject);
  });

  it("previews each language's version with money and dates in that language", async () => {
    const preview = (language: string, version: Record<string, string>) =>
      post({ ...stepForm(), intent: "preview", language, subject: Object.values(version)[0]!, bodyTemplate: Object.values(version)[1]! });
    const de = await preview("de", DE);
    expect(de.status).toBe(200);
    expect(de.body.email.subject).toBe("Sie haben etwas vergessen");
    expect(de.body.email.html).toMatch(/118,00\s€/);
    const ja = await preview("ja", JA);
    expect(ja.body.email.subject).toBe("Alex様、カートに商品が残っています");
    expect(ja.body.email.html).toContain("€118.00");
    const en = await post({ ...stepForm({ bodyTemplate: "<p>{{ checkout.total }}</p>" }), intent: "preview" });
    expect(en.body.email.html).toContain("€118.00");
  });
});

describe("the campaign pages in the admin's language", () => {
  it("shows the list and the editor in Japanese when Shopify opens the app in Japanese", async () => {
    const list = await admin.data("/app/campaigns?locale=ja", INDEX);
    expect(list.body.title).toBe("キャンペーン");
    const html = await (await admin.app.handle(embeddedRequest(`/app/campaigns/${campaignId}?locale=ja`))).text();
    expect(html).toContain("テンプレート変数");
    expect(html).toContain("件名");
    expect(html).toContain("メール 1 を保存");
    expect(html).toContain("ショップ名"); // the template variables' help, too
    expect(html).not.toContain("Template variables");
  });

  it("keeps the language for later requests without the parameter (the shop's adminLocale)", async () => {
    await db.shop.update({ where: { id: shopId }, data: { adminLocale: "ja-JP" } });
    const nan = await post(stepForm({ delayHours: "soon" }));
    expect(nan.status).toBe(400);
    expect(nan.body.fieldErrors).toEqual({ delayMinutes: "送信までの時間は数値（時間）で入力してください" });
    const html = await (await admin.app.handle(embeddedRequest("/app/campaigns"))).text();
    expect(html).toContain("期間内の購入による回復");
  });

  it("gives form errors and notices in German", async () => {
    const early = await post(stepForm({ stepId: steps[1]!.id, delayHours: "0.5" }), "?locale=de");
    expect(early.status).toBe(400);
    expect(early.body.fieldErrors).toEqual({
      delayMinutes: "E-Mail 2 muss nach E-Mail 1 (1 Stunde nach dem Abbruch) gesendet werden: Wählen Sie eine Verzögerung von mehr als 1 Stunde",
    });
    const filters = await post({ intent: "filters", name: "", sources: "both", minCart: "", currencies: "" }, "?locale=de");
    expect(filters.body.fieldErrors).toEqual({ name: "Der Name ist erforderlich" });
    const saved = await post(stepForm(), "?locale=de");
    expect(saved.body.message).toBe("E-Mail 1 gespeichert.");
  });

  it("stays English for an English admin, word for word", async () => {
    const early = await post(stepForm({ stepId: steps[1]!.id, delayHours: "0.5" }));
    expect(early.body.fieldErrors).toEqual({ delayMinutes: "Email 2 must be sent after Email 1 (1 hour after abandonment): use a delay longer than 1 hour" });
    const html = await (await admin.app.handle(embeddedRequest(`/app/campaigns/${campaignId}`))).text();
    expect(html).toContain("Template variables");
    expect(html).toContain("English (main version)");
  });
});

describe("the order rule in words", () => {
  it("says in English exactly what app/recovery/schedule's stepOrderProblem says, for every delay around the neighbours", async () => {
    const { stepOrderMessage } = await import("~/email/campaign-editor.server");
    const { stepOrderProblem } = await import("~/recovery/schedule");
    const rows = [
      { id: "s1", position: 1, delayMinutes: 60 },
      { id: "s2", position: 2, delayMinutes: 90 },
      { id: "s3", position: 3, delayMinutes: 72 * 60 },
    ];
    for (const id of ["s1", "s2", "s3"]) {
      for (const delay of [5, 30, 60, 61, 90, 120, 72 * 60, 100 * 60]) {
        expect(stepOrderMessage(rows, id, delay), `${id} at ${delay} minutes`).toBe(stepOrderProblem(rows, id, delay));
      }
    }
  });
});
