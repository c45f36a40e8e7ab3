// Issue 19: the Overview's health strip in the admin's language, with each language's plural forms; what a mail server
// or Shopify said is shown as it was said.
import { describe, expect, it } from "vitest";
import { translatorFor } from "~/i18n/translator";
import { healthIssues, localizeHealthIssues, type HealthFacts } from "~/recovery/health";

const now = new Date("2026-12-07T12:00:00Z");
const facts: HealthFacts = {
  now,
  activeCampaigns: 0,
  failedLast24h: 1,
  lastFailure: "550 sender not allowed",
  shopifyEmailPolicy: "defer",
  heldForShopifyEmailLast7d: 3,
  shopifySync: { status: "degraded", lastSuccessAt: new Date(now.getTime() - 3 * 3_600_000), lastError: null, intervalMinutes: 5, installedAt: now },
};
const texts = (language: "en" | "ja" | "de") =>
  localizeHealthIssues(healthIssues(facts), translatorFor(language)).map((i) => ({ title: i.title, body: i.body, action: i.action.content }));

describe("the health strip in the admin's language", () => {
  it("English by default, as before", () => {
    expect(healthIssues(facts).map((i) => i.title)).toEqual([
      "Your recovery campaign is off",
      "1 email failed in the last 24 hours",
      "Shopify's own abandoned-checkout email is on",
      "Shopify checkouts are not syncing",
    ]);
    expect(texts("en")).toEqual(healthIssues(facts).map((i) => ({ title: i.title, body: i.body, action: i.action.content })));
  });

  it("German, singular and plural", () => {
    const [off, failed, held, sync] = texts("de");
    expect(off!.action).toBe("Kampagnen öffnen");
    expect(failed).toMatchObject({ title: "1 E-Mail in den letzten 24 Stunden fehlgeschlagen", body: "Der letzte Fehler: 550 sender not allowed" });
    expect(held!.body).toMatch(/^3 Warenkörbe wurden in den letzten 7 Tagen/);
    expect(sync!.body).toBe("Letzte erfolgreiche Synchronisierung vor 3 Stunden. Neue abgebrochene Checkouts werden in der Zwischenzeit nicht erfasst.");
  });

  it("Japanese", () => {
    const [off, failed, , sync] = texts("ja");
    expect(off!.title).toBe("回収キャンペーンがオフになっています");
    expect(failed!.title).toBe("過去24時間に1通のメールの送信に失敗しました");
    expect(sync!.action).toBe("今すぐ同期");
  });
});
