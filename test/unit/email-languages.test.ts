// Issue 19: the default campaigns in each shipped language, money and dates in the email's language, and the layout's
// fixed text and fonts following it (docs/decisions/093).
import { describe, expect, it } from "vitest";
import { checkTemplate, renderEmail } from "~/email/render";
import { LANGUAGES } from "~/i18n/locales";
import { DEFAULT_CAMPAIGN_NAMES, DEFAULT_STEPS, DEFAULT_STEPS_BY_LANGUAGE, defaultStepsCreate } from "~/recovery/campaign-defaults";
import { PAYMENT_CAMPAIGN_DEFAULTS, PAYMENT_CAMPAIGN_DEFAULTS_BY_LANGUAGE } from "~/recovery/payment-campaign-defaults";
import { sampleTemplateInput, templateVariables, type TemplateInput } from "~/recovery/template";

const japanese = (overrides: Partial<TemplateInput["recovery"]> = {}): TemplateInput => {
  const input = sampleTemplateInput({ name: "山田商店", locale: "en", timeZone: "Asia/Tokyo" }, "JPY");
  return {
    ...input,
    language: "ja",
    recovery: {
      ...input.recovery,
      firstName: "太郎",
      lastName: "山田",
      currency: "JPY",
      locale: "ja-JP",
      totalMinor: 1200,
      lineItems: [{ title: "抹茶", variantTitle: null, quantity: 2, imageUrl: null, unitPriceMinor: 600, totalPriceMinor: 1200 }],
      ...overrides,
    },
    incentive: { code: "BACK-ABCDEFGH", type: "fixed_amount", value: 500, currency: "JPY", expiresAt: new Date("2026-12-15T03:00:00Z") },
  };
};

const german = (): TemplateInput => {
  const input = sampleTemplateInput({ name: "Bergladen", locale: "de", timeZone: "Europe/Berlin" }, "EUR");
  return {
    ...input,
    language: "de",
    recovery: {
      ...input.recovery,
      currency: "EUR",
      locale: null,
      totalMinor: 1200,
      lineItems: [{ title: "Mütze", variantTitle: null, quantity: 1, imageUrl: null, unitPriceMinor: 1200, totalPriceMinor: 1200 }],
    },
    incentive: { code: "BACK-ABCDEFGH", type: "fixed_amount", value: 500, currency: "EUR", expiresAt: new Date("2026-12-15T12:00:00Z") },
  };
};

describe("the default campaigns in every shipped language", () => {
  it("exist in each language with the same timing and incentive, and render cleanly", () => {
    const sample = templateVariables(sampleTemplateInput());
    for (const language of LANGUAGES) {
      expect(DEFAULT_CAMPAIGN_NAMES[language]).toBeTruthy();
      const steps = DEFAULT_STEPS_BY_LANGUAGE[language];
      expect(steps.map((s) => [s.position, s.delayMinutes, s.incentiveType, s.incentiveValue, s.incentiveExpiresDays])).toEqual(
        DEFAULT_STEPS.map((s) => [s.position, s.delayMinutes, s.incentiveType, s.incentiveValue, s.incentiveExpiresDays]),
      );
      for (const step of steps) expect(checkTemplate(step, sample), `${language} step ${step.position}`).toEqual([]);
      for (const [kind, defaults] of Object.entries(PAYMENT_CAMPAIGN_DEFAULTS_BY_LANGUAGE[language])) {
        const english = PAYMENT_CAMPAIGN_DEFAULTS[kind as keyof typeof PAYMENT_CAMPAIGN_DEFAULTS];
        expect(defaults.steps.map((s) => s.delayMinutes)).toEqual(english.steps.map((s) => s.delayMinutes));
        for (const step of defaults.steps) expect(checkTemplate(step, sample), `${language} ${kind} ${step.position}`).toEqual([]);
      }
    }
    expect(DEFAULT_STEPS_BY_LANGUAGE.en).toBe(DEFAULT_STEPS);
    expect(PAYMENT_CAMPAIGN_DEFAULTS_BY_LANGUAGE.en).toBe(PAYMENT_CAMPAIGN_DEFAULTS);
  });

  it("a default campaign's steps: the main version in the shop's language, a translation in each other one", () => {
    const steps = defaultStepsCreate(DEFAULT_STEPS_BY_LANGUAGE, "ja");
    expect(steps[0]).toMatchObject({ language: "ja", subject: DEFAULT_STEPS_BY_LANGUAGE.ja[0]!.subject, delayMinutes: 60 });
    expect(steps[0]!.translations.create.map((t) => t.language)).toEqual(["en", "de"]);
    expect(steps[2]!.translations.create[0]).toEqual({ language: "en", subject: DEFAULT_STEPS[2]!.subject, bodyTemplate: DEFAULT_STEPS[2]!.bodyTemplate });
  });

  it("Japanese: polite copy, full-width punctuation, the family name with 様 (お客様 without it), yen without decimals", () => {
    const email = renderEmail(DEFAULT_STEPS_BY_LANGUAGE.ja[1]!, templateVariables(japanese()), "ja");
    expect(email.subject).toBe("【山田商店】お買い物かごの商品はまだ保存されています");
    expect(email.html).toContain("山田 様、山田商店のお買い物かごの商品は、まだご用意しております。");
    expect(email.html).toContain("ご検討中でしょうか？");
    expect(email.html).toMatch(/[¥￥]1,200/);
    expect(email.html).not.toMatch(/[¥￥]1,200\.00|[¥￥]12\.00/);
    const anonymous = renderEmail(DEFAULT_STEPS_BY_LANGUAGE.ja[0]!, templateVariables(japanese({ lastName: null })), "ja");
    expect(anonymous.subject).toBe("お客様、お買い物かごに商品が残っています");
    expect(anonymous.html).toContain("お客様、山田商店のお買い物かごは");
  });

  it("Japanese: the incentive and its expiry in Japanese, in the shop's time zone", () => {
    const email = renderEmail(DEFAULT_STEPS_BY_LANGUAGE.ja[2]!, templateVariables(japanese()), "ja");
    expect(email.subject).toMatch(/^【山田商店】[¥￥]500オフのクーポンをご用意しました$/);
    expect(email.html).toContain("2026年12月15日まで、1回限り有効です");
  });

  it("German: formal Sie, EU money (12,00 €), German dates", () => {
    const vars = templateVariables(german());
    expect(vars.checkout.total).toBe("12,00\u00a0€");
    expect(vars.incentive).toMatchObject({ description: "5,00\u00a0€", expires_on: "15. Dezember 2026" });
    const email = renderEmail(DEFAULT_STEPS_BY_LANGUAGE.de[2]!, vars, "de");
    // (The subject's whitespace is collapsed to plain spaces, the no-break space included.)
    expect(email.subject).toBe("5,00 € Rabatt auf Ihren Warenkorb bei Bergladen");
    expect(email.html).toContain("Hallo Alex, wir würden uns freuen, wenn Sie Ihre Bestellung bei Bergladen abschließen.");
    expect(email.html).toContain("Einmal gültig bis 15. Dezember 2026");
    expect(email.html).not.toMatch(/\bdu\b|\bdein/i);
  });

  it("a German buyer in Switzerland keeps Swiss grouping in a German email", () => {
    const input = german();
    const vars = templateVariables({ ...input, recovery: { ...input.recovery, locale: "de-CH", totalMinor: 123450 } });
    expect(vars.checkout.total).toMatch(/1[’']234\.50/);
  });

  it("an English email to a Japanese buyer prints money and dates in English", () => {
    const input = japanese();
    const vars = templateVariables({ ...input, language: "en" });
    expect(vars.checkout.total).toBe("¥1,200");
    expect(vars.incentive?.expires_on).toBe("December 15, 2026");
  });
});

describe("the layout follows the email's language", () => {
  it("Japanese: footer in Japanese, Japanese fonts, <html lang>; the postal address as the merchant wrote it", () => {
    const input = japanese();
    input.shop.postalAddress = "1 Market Street, Springfield";
    const email = renderEmail(DEFAULT_STEPS_BY_LANGUAGE.ja[0]!, templateVariables(input), "ja");
    expect(email.html).toContain("このメールは、山田商店でご購入手続きを開始されたお客様にお送りしています。");
    expect(email.html).toContain("今後このお知らせを受け取らない");
    expect(email.html).toContain("'Hiragino Sans','Hiragino Kaku Gothic ProN','Yu Gothic',Meiryo,'Noto Sans JP'");
    expect(email.html).toContain('<html lang="ja-JP">');
    expect(email.html).toContain("1 Market Street, Springfield");
    expect(email.html).not.toContain("You're receiving this email");
    expect(email.text).toContain("今後このお知らせを受け取らない");
  });

  it("German footer; English stays as it was (no Japanese fonts)", () => {
    const de = renderEmail(DEFAULT_STEPS_BY_LANGUAGE.de[0]!, templateVariables(german()), "de");
    expect(de.html).toContain("Sie erhalten diese E-Mail, weil Sie bei Bergladen einen Bestellvorgang begonnen haben.");
    expect(de.html).toContain("Diese Erinnerungen abbestellen");
    const en = renderEmail(DEFAULT_STEPS[0]!, templateVariables(sampleTemplateInput()));
    expect(en.html).toContain("You're receiving this email because you started a checkout at Acme Outfitters.");
    expect(en.html).toContain("Unsubscribe from these reminders");
    expect(en.html).not.toContain("Hiragino");
    expect(renderEmail(DEFAULT_STEPS[0]!, templateVariables(sampleTemplateInput()), "en")).toEqual(en);
  });

  it("customer.last_name is a template variable, bounded like the first name", () => {
    const input = japanese({ lastName: "山田\n\u202eBcc: x" });
    const vars = templateVariables(input);
    expect(vars.customer.last_name).toBe("山田 Bcc: x");
    expect(templateVariables(sampleTemplateInput()).customer.last_name).toBe("Morgan");
  });
});
