/**
 * Privacy requests match a person's email as a whole value: a request about ann@example.com neither exports nor
 * deletes what belongs to joann@example.com or ann@example.com.au (substring matching did both).
 */
import type { Shop } from "@prisma/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAheadOfRealTime } from "../helpers/fake-clock";
import { loadApp } from "../helpers/app-server";
import { H, startPipeline, type Pipeline } from "../helpers/pipeline";
import { shopifyWebhookRequest, TEST_SHOP } from "../helpers/shopify";
import { checkoutWebhookPayload, type CustomerRecord, type LineItemRecord, type ShopStore } from "../../app/demo/fakes/shopify-admin";

const ANN = { id: 7301111111111, first: "Ann", email: "ann@example.com", phone: "+16135550142" };
const JOANN = { id: 7302222222222, first: "Joann", email: "joann@example.com", phone: "+16135550143" };
const ANN_AU = { id: 7303333333333, first: "Annie", email: "ann@example.com.au", phone: "+61355501420" };
type Person = typeof ANN;

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

const deliver = async (topic: string, body: unknown) => {
  const uri = topic.startsWith("customers/") ? "/webhooks/compliance" : "/webhooks/checkouts";
  const response = await app.handle(shopifyWebhookRequest(uri, topic, body));
  expect(response.status).toBe(200);
};
const lineItem = (id: number, title: string): LineItemRecord => ({
  id,
  title,
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
  grams: 200,
});
const customer = (c: Person): CustomerRecord => ({
  id: c.id,
  firstName: c.first,
  lastName: "Doe",
  email: c.email,
  phone: c.phone,
  marketingState: "SUBSCRIBED",
  marketingOptInLevel: "SINGLE_OPT_IN",
  marketingUpdatedAt: T0.toISOString(),
  locale: "en",
  createdAt: T0.toISOString(),
  updatedAt: T0.toISOString(),
  tags: [],
});
async function abandonCheckout(c: Person, title: string) {
  const checkout = store.upsertCheckout({
    customer: customer(c),
    email: c.email,
    phone: c.phone,
    buyerAcceptsMarketing: true,
    lineItems: [lineItem(store.nextId(), title)],
    billingAddress: null,
    shippingAddress: null,
    createdAt: T0.toISOString(),
    updatedAt: T0.toISOString(),
  } as Parameters<ShopStore["upsertCheckout"]>[0]);
  await deliver("checkouts/create", checkoutWebhookPayload(store, checkout));
}
// The request names Ann by email only (no customer id): the case where only the address can find her.
const requestAbout = (c: Person, extra: Record<string, unknown>) => ({
  shop_id: 954889,
  shop_domain: TEST_SHOP,
  customer: { email: c.email, phone: c.phone },
  ...extra,
});

describe("privacy requests about ann@example.com", () => {
  it("set up: three buyers whose addresses contain one another", async () => {
    await abandonCheckout(ANN, "Ann's lamp");
    await abandonCheckout(JOANN, "Joann's kettle");
    await abandonCheckout(ANN_AU, "Annie's rug");
    await p.runAt(at(0.1));
    expect((await p.db.recovery.findMany({ where: { shopId: shop.id } })).map((r) => r.email).sort()).toEqual([ANN.email, ANN_AU.email, JOANN.email].sort());
  });

  it("customers/data_request exports Ann's data only", async () => {
    await deliver("customers/data_request", requestAbout(ANN, { orders_requested: [], data_request: { id: 9912 } }));
    await p.runAt(at(0.2));
    const request = await p.db.complianceRequest.findFirstOrThrow({ where: { shopId: shop.id, topic: "customers/data_request" } });
    expect(request.status).toBe("done");
    const doc = JSON.parse(request.export!);
    expect(doc.recoveries.map((r: { email: string }) => r.email)).toEqual([ANN.email]);
    expect(doc.webhookDeliveries).toHaveLength(1);
    const serialised = request.export!.toLowerCase();
    expect(serialised).not.toContain("joann");
    expect(serialised).not.toContain("example.com.au");
    // Whole titles: a short word could turn up inside a random id.
    expect(serialised).not.toContain("joann's kettle");
    expect(serialised).not.toContain("annie's rug");
  });

  it("customers/redact deletes Ann's data only and leaves the others' recoveries and stored bodies alone", async () => {
    const othersBefore = await p.db.inboundEvent.findMany({
      where: { topic: "checkouts/create", OR: [{ payload: { contains: "joann@" } }, { payload: { contains: ".com.au" } }] },
    });
    expect(othersBefore).toHaveLength(2);
    await deliver("customers/redact", requestAbout(ANN, { orders_to_redact: [] }));
    await p.runAt(at(0.3));
    const request = await p.db.complianceRequest.findFirstOrThrow({ where: { shopId: shop.id, topic: "customers/redact" } });
    expect(request.status).toBe("done");
    expect((await p.db.recovery.findMany({ where: { shopId: shop.id } })).map((r) => r.email).sort()).toEqual([ANN_AU.email, JOANN.email].sort());
    const othersAfter = await p.db.inboundEvent.findMany({ where: { id: { in: othersBefore.map((e) => e.id) } } });
    expect(othersAfter.map((e) => e.payload).sort()).toEqual(othersBefore.map((e) => e.payload).sort());
    // Ann herself is gone from the stored bodies.
    expect(await p.db.inboundEvent.count({ where: { payload: { contains: '"ann@example.com"' } } })).toBe(0);
  });
});
