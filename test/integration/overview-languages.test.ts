// Issue 19: the Overview in the admin's language — Shopify's `locale` parameter picks it, later requests without it keep
// it, and figures are formatted for it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAdminApp } from "../helpers/admin-app";
import { seedShop } from "../helpers/seed";
import { embeddedRequest, TEST_SHOP } from "../helpers/shopify";

let admin: Awaited<ReturnType<typeof startAdminApp>>;

beforeAll(async () => {
  admin = await startAdminApp();
  await seedShop(admin.db, TEST_SHOP, { prefix: "alpha" });
});
afterAll(() => admin?.close());

const overview = async (query: string) => (await admin.app.handle(embeddedRequest(`/app${query}`))).text();

describe("the Overview in the admin's language", () => {
  it("Japanese: headings, figures' labels, the chart, the period and the page title", async () => {
    const html = await overview("?locale=ja");
    expect(html).toContain('<html lang="ja"');
    expect(html).toContain("<title>概要 · Reclaim</title>");
    expect(html).toContain("リンク経由の回収");
    expect(html).toContain("日別のカゴ落ちと回収");
    expect(html).toContain("過去30日間");
    expect(html).toContain("マーケティングの同意なし");
    expect(html).not.toContain("Recovered by link");
  });

  it("German with Swiss formatting from de-CH, kept by a later request that carries no locale", async () => {
    const html = await overview("?locale=de-CH");
    expect(html).toContain('<html lang="de"');
    expect(html).toContain("Per Link wiederhergestellt");
    expect(html).toContain("Abgebrochene Checkouts");
    expect(html).toContain("Keine Marketing-Einwilligung");
    expect(html).toMatch(/\$\s10\.00/); // de-CH writes "$ 10.00", not "10,00 $"
    const next = await admin.data("/app", "routes/app._index");
    expect(next.body.locale).toBe("de-CH");
  });

  it("English stays as it was", async () => {
    const html = await overview("?locale=en");
    expect(html).toContain('<html lang="en"');
    expect(html).toContain("<title>Overview · Reclaim</title>");
    expect(html).toContain("Recovered by link");
    expect(html).toContain("$10.00");
  });
});
