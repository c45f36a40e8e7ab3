import { describe, expect, it } from "vitest";
import { chooseEmailLanguage, emailFormattingLocale, pageLanguage, type LocalizedStep } from "./email-language";

const step = (language: string, translations: string[]): LocalizedStep => ({
  language,
  subject: `subject ${language}`,
  bodyTemplate: `body ${language}`,
  translations: translations.map((l) => ({ language: l, subject: `subject ${l}`, bodyTemplate: `body ${l}` })),
});

describe("the language of an email", () => {
  it("is the buyer's when the step has it (main version or translation)", () => {
    expect(chooseEmailLanguage(step("en", ["ja", "de"]), "ja-JP", "en")).toEqual({ language: "ja", subject: "subject ja", bodyTemplate: "body ja" });
    expect(chooseEmailLanguage(step("de", ["en"]), "de_CH", "en")).toEqual({ language: "de", subject: "subject de", bodyTemplate: "body de" });
  });

  it("else the shop's primary language when the step has it", () => {
    // A French buyer (not shipped) of a German shop; a Japanese buyer when the step has no Japanese version.
    expect(chooseEmailLanguage(step("en", ["de"]), "fr-FR", "de").language).toBe("de");
    expect(chooseEmailLanguage(step("en", ["de"]), "ja", "de-DE").language).toBe("de");
    // No buyer locale at all.
    expect(chooseEmailLanguage(step("en", ["ja", "de"]), null, "de")).toMatchObject({ language: "de", subject: "subject de" });
  });

  it("else the step's main version", () => {
    expect(chooseEmailLanguage(step("en", []), "ja", "de")).toEqual({ language: "en", subject: "subject en", bodyTemplate: "body en" });
    expect(chooseEmailLanguage(step("ja", []), "auto", "pt-BR")).toMatchObject({ language: "ja", subject: "subject ja" });
    // A stored language Reclaim does not ship reads as English, the column's default.
    expect(chooseEmailLanguage(step("xx", []), null, null).language).toBe("en");
  });

  it("ignores an empty translation", () => {
    const s: LocalizedStep = { ...step("en", []), translations: [{ language: "ja", subject: " ", bodyTemplate: "" }] };
    expect(chooseEmailLanguage(s, "ja", "en").language).toBe("en");
  });

  it("formats with the buyer's own tag when it is of the email's language, else the shop's, else the bare language", () => {
    expect(emailFormattingLocale("de", "de-CH", "en")).toBe("de-CH");
    expect(emailFormattingLocale("de", "fr", "de-AT")).toBe("de-AT");
    expect(emailFormattingLocale("ja", "en-US", "en")).toBe("ja");
    expect(emailFormattingLocale("en", "ja-JP", "en-GB")).toBe("en-GB");
  });

  it("the unsubscribe page: the email's language, else the buyer's, else the shop's, else English", () => {
    expect(pageLanguage("ja", "de", "en")).toBe("ja");
    expect(pageLanguage(null, "de-DE", "en")).toBe("de");
    expect(pageLanguage(null, "fr", "ja")).toBe("ja");
    expect(pageLanguage(null, null, "fr")).toBe("en");
  });
});
