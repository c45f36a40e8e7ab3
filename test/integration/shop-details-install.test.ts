// Issue 21, the shop-details install step, against the fake Shopify Admin API: a fresh install reads the shop's name,
// email, currency and time zone once; when Shopify does not answer, the install still completes with the defaults, the
// Overview's health strip says what is missing and that Reclaim keeps trying, and a retry job reads them later.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jobTable } from "../helpers/jobs";
import { startHarness, type Harness } from "./shopify-sync-harness";

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

const detailsReads = (domain: string) => h.fake.documents(domain).filter((d) => d.query.includes("ReclaimShopDetails")).length;

const install = async (shopId: string) => {
  const { enqueueJob } = await import("~/jobs/queue.server");
  await enqueueJob(h.db, "shop-installed", { shopId }, { shopId, runAt: h.now() });
  await h.syncUntilIdle(shopId);
};

const health = async (shopId: string) => {
  const { loadHealth } = await import("~/models/health.server");
  return loadHealth(h.db, await h.db.shop.findUniqueOrThrow({ where: { id: shopId } }), h.now());
};

describe("the shop-details install step", () => {
  it("a fresh install reads the shop's name, email, currency and time zone once", async () => {
    const domain = "details-ok.myshopify.com";
    const { shop } = await h.addShop(domain, { name: "Ashby & Co", email: "owner@ashby.example", currencyCode: "EUR", ianaTimezone: "Europe/Paris" });
    await install(shop.id);
    expect(await h.db.shop.findUniqueOrThrow({ where: { id: shop.id } })).toMatchObject({
      name: "Ashby & Co",
      email: "owner@ashby.example",
      currency: "EUR",
      timezone: "Europe/Paris",
      detailsProblem: null,
    });
    expect(detailsReads(domain)).toBe(1);
    expect(await jobTable(h.db).count({ where: { name: "refresh-shop-details", shopId: shop.id } })).toBe(0);
    expect((await health(shop.id)).map((i) => i.key)).not.toContain("shop_details");
  });

  it("when Shopify does not answer: the install completes with the defaults, the Overview says so, and a retry reads them", async () => {
    const domain = "details-down.myshopify.com";
    const { shop } = await h.addShop(domain, { name: "Okonkwo Outfitters", currencyCode: "GBP", ianaTimezone: "Europe/London" });
    h.fake.failNext({ status: 503, count: 5, shop: domain, matching: "ReclaimShopDetails" });
    await install(shop.id);

    // The rest of the install ran: the default campaign exists and the first sync happened.
    expect(await h.db.campaign.count({ where: { shopId: shop.id, isDefault: true } })).toBe(1);
    expect(await h.db.sourceSync.findFirstOrThrow({ where: { shopId: shop.id } })).toMatchObject({ status: "healthy" });
    const before = await h.db.shop.findUniqueOrThrow({ where: { id: shop.id } });
    expect(before).toMatchObject({ currency: "USD", timezone: "UTC", detailsProblem: "Shopify could not be reached." });
    // What the merchant sees on the Overview: what is missing, what is used meanwhile, and that it is retried.
    const issue = (await health(shop.id)).find((i) => i.key === "shop_details");
    expect(issue).toMatchObject({ tone: "warning", title: "Reclaim has not read your store's details from Shopify yet" });
    expect(issue!.body).toContain("Shopify could not be reached.");
    expect(issue!.body).toContain("keeps trying by itself");
    expect(issue!.body).toContain("amounts are shown in USD and quiet hours use UTC");
    const retry = await jobTable(h.db).findFirstOrThrow({ where: { name: "refresh-shop-details", shopId: shop.id, status: "queued" } });
    expect(retry.runAt.getTime()).toBeGreaterThan(h.clock);

    // Shopify answers again; the retry comes due.
    h.fake.clearFaults();
    h.clock = retry.runAt.getTime();
    await h.runDueJobs();
    expect(await h.db.shop.findUniqueOrThrow({ where: { id: shop.id } })).toMatchObject({
      name: "Okonkwo Outfitters",
      currency: "GBP",
      timezone: "Europe/London",
      detailsProblem: null,
    });
    expect((await health(shop.id)).map((i) => i.key)).not.toContain("shop_details");
    expect(await jobTable(h.db).count({ where: { name: "refresh-shop-details", shopId: shop.id, status: "queued" } })).toBe(0);
  });

  it("a Japanese shop's language is read at install: its default campaign's emails are Japanese first", async () => {
    const domain = "details-tokyo.myshopify.com";
    const { shop } = await h.addShop(domain, { name: "東京コーヒー", currencyCode: "JPY", ianaTimezone: "Asia/Tokyo", primaryLocale: "ja" });
    await install(shop.id);
    expect(await h.db.shop.findUniqueOrThrow({ where: { id: shop.id } })).toMatchObject({ locale: "ja", currency: "JPY", timezone: "Asia/Tokyo" });
    const step = await h.db.campaignStep.findFirstOrThrow({
      where: { campaign: { shopId: shop.id, isDefault: true }, position: 1 },
      include: { translations: { select: { language: true } } },
    });
    // The main version is the shop's language; the other shipped languages are there for buyers who use them.
    expect(step.language).toBe("ja");
    expect(step.subject).toMatch(/[\u3040-\u30ff\u4e00-\u9fff]/);
    expect(step.translations.map((t) => t.language).sort()).toEqual(["de", "en"]);
  });

  it("a shop that has not granted read_locales keeps English, and the rest of its details are read", async () => {
    const domain = "details-no-locales.myshopify.com";
    const { shop } = await h.addShop(domain, {
      currencyCode: "EUR",
      primaryLocale: "de",
      scope: "read_orders,read_customers,write_discounts,write_pixels,read_customer_events",
    });
    await install(shop.id);
    expect(await h.db.shop.findUniqueOrThrow({ where: { id: shop.id } })).toMatchObject({ locale: "en", currency: "EUR", detailsProblem: null });
    expect(await jobTable(h.db).count({ where: { name: "refresh-shop-details", shopId: shop.id } })).toBe(0);
  });
});
