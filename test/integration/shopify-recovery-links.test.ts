/**
 * Shopify recovery links lead to the shop's own domain only: checked when a checkout is stored (a link elsewhere is
 * stored as no link, with the reason; Shopify's recovery path on another host is re-homed onto the shop's domain) and
 * again when a buyer clicks (a row stored before the check never redirects elsewhere).
 */
import type { Shop } from "@prisma/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAheadOfRealTime } from "../helpers/fake-clock";
import { loadApp } from "../helpers/app-server";
import { H, startPipeline, type Pipeline } from "../helpers/pipeline";
import { shopifyWebhookRequest, TEST_SHOP } from "../helpers/shopify";
import { checkoutWebhookPayload, type CustomerRecord, type ShopStore } from "../../app/demo/fakes/shopify-admin";

const T0 = startAheadOfRealTime();
const at = (hours: number) => new Date(T0.getTime() + hours * H);

let app: Awaited<ReturnType<typeof loadApp>>;
let p: Pipeline;
let shop: Shop;
let store: ShopStore;

beforeAll(async () => {
  app = await loadApp();
  p = await startPipeline({ start: T0 });
  shop = await p.newShop({ domain: TEST_SHOP, frequencyCapHours: 1, shopifyEmailPolicy: "send_anyway" });
  store = p.admin.store(TEST_SHOP);
});
afterAll(async () => {
  await p?.close();
  await app?.close();
});

const customer = (id: number, email: string): CustomerRecord => ({
  id,
  firstName: "Robin",
  lastName: "Doe",
  email,
  phone: null,
  marketingState: "SUBSCRIBED",
  marketingOptInLevel: "SINGLE_OPT_IN",
  marketingUpdatedAt: T0.toISOString(),
  locale: "en",
  createdAt: T0.toISOString(),
  updatedAt: T0.toISOString(),
  tags: [],
});
/** A signed checkouts/create webhook whose `abandoned_checkout_url` is `url` (null: Shopify's own). */
async function checkoutWith(email: string, url: string | null) {
  const checkout = store.upsertCheckout({
    customer: customer(7300000000000 + store.nextId(), email),
    email,
    phone: null,
    buyerAcceptsMarketing: true,
    lineItems: [
      {
        id: store.nextId(),
        title: "Lamp",
        variantTitle: null,
        quantity: 1,
        sku: null,
        vendor: null,
        image: null,
        variantId: null,
        productId: null,
        unitPrice: { shop: 5000, presentment: 5000 },
        discountedUnitPrice: { shop: 5000, presentment: 5000 },
        requiresShipping: true,
        taxable: true,
        grams: 1,
      },
    ],
    billingAddress: null,
    shippingAddress: null,
    createdAt: T0.toISOString(),
    updatedAt: T0.toISOString(),
  } as Parameters<ShopStore["upsertCheckout"]>[0]);
  const payload = checkoutWebhookPayload(store, checkout) as Record<string, unknown>;
  if (url !== null) payload.abandoned_checkout_url = url;
  const response = await app.handle(shopifyWebhookRequest("/webhooks/checkouts", "checkouts/create", payload));
  expect(response.status).toBe(200);
  await p.runAt(p.clock.now());
  return p.db.recovery.findFirstOrThrow({ where: { shopId: shop.id, email } });
}
const mailTo = (email: string) => p.sink.received.filter((m) => m.rcptTo.includes(email));

describe("Shopify recovery links", () => {
  it("keeps a link on the shop's own myshopify domain as it is", async () => {
    const recovery = await checkoutWith("own@example.com", null);
    expect(new URL(recovery.recoveryUrl!).hostname).toBe(TEST_SHOP);
    expect(JSON.parse(recovery.sourceMetadata)).not.toHaveProperty("recovery_link_unavailable");
  });

  it.each([
    ["another host", "https://evil.example/phish?x=1"],
    ["plain http", `http://${TEST_SHOP}/1/checkouts/abc/recover?key=k`],
    ["credentials", `https://user:pw@${TEST_SHOP}/1/checkouts/abc/recover?key=k`],
    ["a look-alike domain", `https://${TEST_SHOP}.evil.example/x`],
    ["javascript:", "javascript:alert(1)"],
  ])("stores no link, with the reason, when the webhook's link has %s", async (what, url) => {
    const recovery = await checkoutWith(`${what.replace(/\W+/g, "-")}@example.com`, url);
    expect(recovery.recoveryUrl).toBeNull();
    expect(JSON.parse(recovery.sourceMetadata).recovery_link_unavailable).toMatch(/not on the shop's own domain|credentials|not a URL/);
  });

  it("re-homes Shopify's recovery path on another host (a custom domain) onto the shop's own domain", async () => {
    const recovery = await checkoutWith("custom@example.com", "https://shop.custom-domain.example/60000001/checkouts/ac/tok123/recover?key=abc");
    expect(recovery.recoveryUrl).toBe(`https://${TEST_SHOP}/60000001/checkouts/ac/tok123/recover?key=abc`);
    expect(JSON.parse(recovery.sourceMetadata).recovery_link_rehomed).toBeTruthy();
    // The host and port are dropped: only the shop's own domain is ever a target.
    const withPort = await checkoutWith("port@example.com", `https://${TEST_SHOP}:8443/1/checkouts/abc/recover?key=k`);
    expect(withPort.recoveryUrl).toBe(`https://${TEST_SHOP}/1/checkouts/abc/recover?key=k`);
  });

  it("a click on a stored link to another host does not redirect there", async () => {
    await checkoutWith("click@example.com", null);
    await p.runAt(at(2));
    const html = String(mailTo("click@example.com")[0]!.parsed.html);
    const clickUrl = /href="(https:\/\/reclaim\.test\/email\/click[^"]+)"/.exec(html)![1]!.replace(/&amp;/g, "&");
    // A row written before links were checked (or by any path that skipped the check).
    await p.db.recovery.updateMany({ where: { shopId: shop.id, email: "click@example.com" }, data: { recoveryUrl: "https://evil.example/phish" } });
    const refused = await app.handle(new Request(clickUrl));
    expect(refused.status).toBe(302);
    expect(refused.headers.get("location")).toBe(`https://${TEST_SHOP}/`);
    await p.db.recovery.updateMany({
      where: { shopId: shop.id, email: "click@example.com" },
      data: { recoveryUrl: "https://evil.example/9/checkouts/ac/t/recover?key=k" },
    });
    const rehomed = await app.handle(new Request(clickUrl));
    expect(rehomed.headers.get("location")).toBe(`https://${TEST_SHOP}/9/checkouts/ac/t/recover?key=k`);
  });
});
