// Shopify's privacy webhooks end to end: signed deliveries → the webhook inbox → the job runner → app/privacy, with a
// customer whose data came in through both sources (a Shopify checkout and order by webhook, a Stripe session by signed
// Stripe webhook), real emails through SMTP, a real click, and a link conversion. Every table is searched afterwards,
// listed from the database catalogue, so a table added later cannot be forgotten.
import type { Shop } from "@prisma/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAheadOfRealTime } from "../helpers/fake-clock";
import { loadApp } from "../helpers/app-server";
import { H, startPipeline, type Pipeline } from "../helpers/pipeline";
import { bearerRequest, embeddedRequest, OTHER_SHOP, shopifyWebhookRequest, signSessionToken, TEST_SHOP } from "../helpers/shopify";
import {
  checkoutWebhookPayload,
  orderCreatePayload,
  type AddressRecord,
  type CustomerRecord,
  type LineItemRecord,
  type ShopStore,
} from "../../app/demo/fakes/shopify-admin";
import { expiredSession, stripeEvent } from "../../app/demo/fakes/stripe-api/objects";
import { stripeWebhookRequest } from "../../app/demo/fakes/stripe-api/webhooks";
import { jobTable } from "../helpers/jobs";

const SECRET = "whsec_privacyTestSecret0123456789abcdef";
// The customer whose data is requested, then erased.
const ZELDA = { id: 7301234567890, first: "Zelda", last: "Quintrell", email: "Zelda.Quintrell@example.com", phone: "+16135550142" };
const ZELDA_ORDER = 7300000000001;
// Another customer of the same shop, who must not be touched.
const OTTO = { id: 7309876543210, first: "Otto", last: "Brandvold", email: "otto.brandvold@example.com", phone: "+4722334455" };
// A customer who unsubscribed before asking to be erased.
const UNA = { id: 7305555555555, first: "Una", last: "Mallory", email: "una.mallory@example.com", phone: null };

// The test's clock runs a little ahead of real time: deliveries are stored (and their jobs queued) at real time, so
// they are due when the runner looks.
const T0 = startAheadOfRealTime();
const at = (hours: number) => new Date(T0.getTime() + hours * H);

let app: Awaited<ReturnType<typeof loadApp>>;
let p: Pipeline;
let shop: Shop;
let otherShop: Shop;
let connectionId: string;
let store: ShopStore;

beforeAll(async () => {
  app = await loadApp();
  p = await startPipeline({ start: T0 });
  // Webhook-only checkouts (no gid) and no poll here: Shopify's own email is not what these tests are about (docs/decisions/075).
  shop = await p.newShop({ domain: TEST_SHOP, frequencyCapHours: 1, shopifyEmailPolicy: "send_anyway" });
  otherShop = await p.newShop({ domain: OTHER_SHOP });
  store = p.admin.store(TEST_SHOP);
  const { connectStripe } = await import("~/models/stripe-connection.server");
  const connected = await connectStripe(p.db, shop.id, { webhookSecret: SECRET });
  if (!connected.ok) throw new Error("could not connect Stripe");
  connectionId = connected.connection.id;
});
afterAll(async () => {
  await p?.close();
  await app?.close();
});

// ---------------------------------------------------------------------------------------------------------------
// Helpers

const deliver = async (uri: string, topic: string, body: unknown, options: { shop?: string; webhookId?: string } = {}) => {
  const response = await app.handle(shopifyWebhookRequest(uri, topic, body, options));
  expect(response.status).toBe(200);
};
const deliverStripe = async (event: unknown) => {
  const response = await app.handle(stripeWebhookRequest(`/webhooks/stripe/${connectionId}`, event, { secret: SECRET }));
  expect(response.status).toBe(200);
};
const mailTo = (email: string) => p.sink.received.filter((m) => m.rcptTo.includes(email.toLowerCase()));

const lineItem = (id: number, title: string, cents: number): LineItemRecord => ({
  id,
  title,
  variantTitle: null,
  quantity: 1,
  sku: null,
  vendor: null,
  image: null,
  variantId: null,
  productId: null,
  unitPrice: { shop: cents, presentment: cents },
  discountedUnitPrice: { shop: cents, presentment: cents },
  requiresShipping: true,
  taxable: true,
  grams: 200,
});
const address = (c: { first: string; last: string; phone: string | null }): AddressRecord => ({
  firstName: c.first,
  lastName: c.last,
  company: null,
  address1: "12 Harbour Road",
  address2: null,
  city: "Cork",
  province: null,
  provinceCode: null,
  country: "Ireland",
  countryCode: "IE",
  zip: "T12 X2Y3",
  phone: c.phone,
});
const customer = (c: typeof ZELDA | typeof OTTO | typeof UNA): CustomerRecord => ({
  id: c.id,
  firstName: c.first,
  lastName: c.last,
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
/** A checkout in the fake shop, delivered as Shopify's signed checkouts/create webhook. */
async function abandonCheckout(c: typeof ZELDA | typeof OTTO | typeof UNA, when: Date, title: string) {
  const checkout = store.upsertCheckout({
    customer: customer(c),
    email: c.email,
    phone: c.phone,
    buyerAcceptsMarketing: true,
    lineItems: [lineItem(store.nextId(), title, 8900)],
    billingAddress: address(c),
    shippingAddress: address(c),
    createdAt: when.toISOString(),
    updatedAt: when.toISOString(),
  });
  await deliver("/webhooks/checkouts", "checkouts/create", checkoutWebhookPayload(store, checkout));
  return checkout;
}
const privacyRequest = (c: typeof ZELDA, extra: Record<string, unknown>) => ({
  shop_id: 954889,
  shop_domain: "{shop}.myshopify.com", // Shopify's samples carry a placeholder: the header names the shop
  customer: { id: c.id, email: c.email, phone: c.phone },
  ...extra,
});

type Row = Record<string, unknown>;
/** Every row of every table, listed from the catalogue (a table added later is included without a change here). */
async function dumpAll(): Promise<Record<string, Row[]>> {
  const tables = await p.db.$queryRawUnsafe<{ name: string }[]>(
    `SELECT table_name::text AS "name" FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' AND table_name <> '_reclaim_migrations' ORDER BY 1`,
  );
  const out: Record<string, Row[]> = {};
  // Ordered by the whole row, as text: a stable order without a rowid.
  for (const { name } of tables) out[name] = await p.db.$queryRawUnsafe<Row[]>(`SELECT * FROM "${name}" t ORDER BY t::text`);
  return out;
}
const text = (row: Row) => JSON.stringify(row, (_k, v) => (typeof v === "bigint" ? v.toString() : v));
/** Whether a row mentions a needle: words case-insensitively, numbers only where no other digit touches them. */
const rowMentions = (row: Row, needle: string | number) =>
  typeof needle === "number" ? new RegExp(`(?<!\\d)${needle}(?!\\d)`).test(text(row)) : text(row).toLowerCase().includes(needle.toLowerCase());

/** Rows of any table that mention one of the needles, as `Table: row`, leaving out rows that belong to another shop. */
async function mentionsOf(needles: (string | number)[], options: { exceptShops?: Shop[]; allow?: (table: string, row: Row) => Row } = {}) {
  const found: string[] = [];
  for (const [table, rows] of Object.entries(await dumpAll())) {
    for (const raw of rows) {
      if (options.exceptShops?.some((s) => rowMentions(raw, s.id) || rowMentions(raw, s.domain))) continue;
      const row = options.allow ? options.allow(table, raw) : raw;
      if (needles.some((n) => rowMentions(row, n))) found.push(`${table}: ${text(row).slice(0, 300)}`);
    }
  }
  return found;
}

const dailyStats = () => p.db.$queryRawUnsafe<Row[]>(`SELECT * FROM "DailyStat" ORDER BY "shopId", "day", "currency", "source"`);

// ---------------------------------------------------------------------------------------------------------------
// The customer's history, in both sources

let zeldaCheckoutToken: string;
let stripeSessionId: string;

describe("a customer with data in both sources", () => {
  it("builds up: Shopify checkout, email, click, order; then an expired Stripe session and its email", async () => {
    const zeldaCheckout = await abandonCheckout(ZELDA, T0, "Brass desk lamp");
    zeldaCheckoutToken = zeldaCheckout.token;
    await abandonCheckout(OTTO, T0, "Walnut side table");
    await p.runAt(T0);
    await p.runAt(at(1)); // step 1 of both Shopify recoveries
    expect(mailTo(ZELDA.email)).toHaveLength(1);
    expect(mailTo(OTTO.email)).toHaveLength(1);

    const clickUrl = /href="(https:\/\/reclaim\.test\/email\/click[^"]+)"/.exec(String(mailTo(ZELDA.email)[0]!.parsed.html))![1]!.replace(/&amp;/g, "&");
    expect((await app.handle(new Request(clickUrl))).status).toBe(302);

    // She completes the checkout: orders/create joins it by checkout token (a link conversion).
    await deliver(
      "/webhooks/orders/create",
      "orders/create",
      orderCreatePayload(store, zeldaCheckout, { orderId: ZELDA_ORDER, createdAt: at(1.5).toISOString() }),
    );
    await p.runAt(at(1.5));

    // Later she abandons a Stripe Checkout session; client_reference_id names her Shopify customer.
    // (Started after her Shopify order: a session started before it would count as bought since, and not be emailed.)
    const session = expiredSession({
      email: ZELDA.email,
      name: `${ZELDA.first} ${ZELDA.last}`,
      promotions: "opt_in",
      clientReferenceId: `shopify_customer_${ZELDA.id}`,
      amountTotal: 5600,
      created: Math.floor(at(1.6).getTime() / 1000),
    });
    stripeSessionId = session.id;
    await deliverStripe(stripeEvent("checkout.session.expired", session, { created: Math.floor(at(2).getTime() / 1000) }));
    await p.runAt(at(2));
    await p.runAt(at(3)); // the Stripe recovery's step 1

    // And a customer who unsubscribes before asking to be erased.
    await abandonCheckout(UNA, at(2), "Linen throw");
    await p.runAt(at(3));
    const una = await p.db.contact.findFirstOrThrow({ where: { shopId: shop.id, email: UNA.email } });
    const { unsubscribeContact } = await import("~/models/contact.server");
    await unsubscribeContact(p.db, una, at(3), { via: "test", mirrorToShopify: false });

    // The same address is a customer of another shop too: that shop's data is never in scope.
    const { stripeSession } = await import("../helpers/pipeline");
    // (No recovery link: it is never emailed, so the other shop's rows stay still while this file's clock moves.)
    await p.ingest(
      otherShop,
      stripeSession(at(2), { email: ZELDA.email.toLowerCase(), firstName: ZELDA.first, recoveryUrl: null, recoveryUrlExpiresAt: null }),
    );

    const contact = await p.db.contact.findFirstOrThrow({ where: { shopId: shop.id, email: ZELDA.email.toLowerCase() } });
    expect(contact.shopifyCustomerId).toBe(`gid://shopify/Customer/${ZELDA.id}`);
    const recoveries = await p.db.recovery.findMany({ where: { shopId: shop.id, contactId: contact.id }, orderBy: { abandonedAt: "asc" } });
    expect(recoveries.map((r) => [r.source, r.status])).toEqual([
      ["shopify", "recovered"],
      ["stripe", "contacting"],
    ]);
    expect(mailTo(ZELDA.email)).toHaveLength(2);
    expect(await p.db.message.count({ where: { recoveryId: recoveries[1]!.id, status: "scheduled" } })).toBe(2);
    expect(await p.db.click.count({ where: { recoveryId: recoveries[0]!.id } })).toBe(1);
    expect(await p.db.conversion.count({ where: { recoveryId: recoveries[0]!.id, method: "link" } })).toBe(1);
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe("customers/data_request", () => {
  let requestId: string;

  it("exports everything Reclaim holds about the customer, from both sources, and nothing about anyone else", async () => {
    await deliver("/webhooks/compliance", "customers/data_request", privacyRequest(ZELDA, { orders_requested: [ZELDA_ORDER], data_request: { id: 9911 } }));
    await p.runAt(at(4));
    const request = await p.db.complianceRequest.findFirstOrThrow({ where: { shopId: shop.id, topic: "customers/data_request" } });
    requestId = request.id;
    expect(request).toMatchObject({
      status: "done",
      customerId: String(ZELDA.id),
      email: ZELDA.email.toLowerCase(),
      dataRequestId: "9911",
      orderIds: JSON.stringify([String(ZELDA_ORDER)]),
    });
    expect(request.completedAt).not.toBeNull();

    const doc = JSON.parse(request.export!);
    expect(doc.shop).toBe(TEST_SHOP);
    expect(doc.request).toMatchObject({ customerId: String(ZELDA.id), email: ZELDA.email.toLowerCase(), dataRequestId: "9911" });
    expect(doc.contacts).toEqual([
      expect.objectContaining({ email: ZELDA.email.toLowerCase(), firstName: "Zelda", shopifyCustomerId: `gid://shopify/Customer/${ZELDA.id}` }),
    ]);
    const [shopify, stripe] = doc.recoveries;
    expect(shopify).toMatchObject({ source: "shopify", status: "recovered", email: ZELDA.email.toLowerCase(), consent: "opt_in" });
    expect(shopify.consentEvidence).toMatchObject({ source: "shopify.checkout.buyer_accepts_marketing", detail: { buyer_accepts_marketing: true } });
    expect(shopify.lineItems).toEqual([expect.objectContaining({ title: "Brass desk lamp" })]);
    expect(shopify.emails[0]).toMatchObject({ step: 1, status: "sent", to: ZELDA.email.toLowerCase() });
    expect(shopify.emails[0].clickedAt).toHaveLength(1);
    expect(shopify.conversions).toEqual([
      expect.objectContaining({ method: "link", matchedBy: "checkout_token", externalId: `gid://shopify/Order/${ZELDA_ORDER}` }),
    ]);
    expect(stripe).toMatchObject({
      source: "stripe",
      externalId: stripeSessionId,
      consent: "opt_in",
      sourceMetadata: expect.objectContaining({ client_reference_id: `shopify_customer_${ZELDA.id}` }),
    });
    expect(stripe.consentEvidence).toMatchObject({ source: "stripe.consent.promotions", state: "opt_in" });
    expect(stripe.emails.map((m: { status: string }) => m.status)).toEqual(["sent", "scheduled", "scheduled"]);
    expect(doc.purchases).toEqual([expect.objectContaining({ source: "shopify", externalId: `gid://shopify/Order/${ZELDA_ORDER}` })]);
    expect(doc.webhookDeliveries.map((d: { topic: string }) => d.topic).sort()).toEqual(["checkout.session.expired", "checkouts/create", "orders/create"]);
    // The webhook bodies come back as stored: ids intact, and only the fields Reclaim reads (no last name, no address).
    const order = doc.webhookDeliveries.find((d: { topic: string }) => d.topic === "orders/create");
    expect(order.body).toMatchObject({ id: ZELDA_ORDER, customer: { id: ZELDA.id } });
    expect(order.body.customer).not.toHaveProperty("last_name");
    expect(order.body).not.toHaveProperty("shipping_address");

    const serialised = request.export!.toLowerCase();
    for (const other of [OTTO.email, OTTO.last, UNA.email]) expect(serialised).not.toContain(other.toLowerCase());
    expect(JSON.parse(request.summary)).toEqual({
      contacts: 1,
      recoveries: 2,
      messages: 6,
      emailsSent: 2,
      clicks: 1,
      conversions: 1,
      purchases: 1,
      webhookDeliveries: 3,
    });
  });

  it("is downloadable as a JSON attachment by that shop only", async () => {
    const response = await app.handle(bearerRequest(`/app/privacy/exports/${requestId}`));
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^application\/json/);
    expect(response.headers.get("content-disposition")).toBe(
      `attachment; filename="reclaim-customer-${ZELDA.id}-${new Date().toISOString().slice(0, 10)}.json"`,
    );
    expect(response.headers.get("cache-control")).toBe("no-store");
    const stored = await p.db.complianceRequest.findUniqueOrThrow({ where: { id: requestId } });
    expect(await response.text()).toBe(stored.export);

    const otherShops = await app.handle(bearerRequest(`/app/privacy/exports/${requestId}`, {}, signSessionToken({ shop: OTHER_SHOP })));
    expect(otherShops.status).toBe(404);
    expect(await otherShops.text()).not.toContain("quintrell");
    expect((await app.handle(bearerRequest("/app/privacy/exports/not-a-request"))).status).toBe(404);
    expect((await app.handle(new Request(`https://reclaim.test/app/privacy/exports/${requestId}`))).status).not.toBe(200); // no session token
  });

  it("is listed on Settings → Privacy with what was found and a download", async () => {
    const response = await app.handle(bearerRequest("/app/settings/privacy?_data=routes%2Fapp.settings.privacy"));
    expect(response.status).toBe(200);
    const { requests } = await response.json();
    expect(requests).toEqual([
      expect.objectContaining({
        id: requestId,
        topicLabel: "Customer data request",
        status: "done",
        customerId: String(ZELDA.id),
        downloadable: true,
        outcome: "Found 2 abandoned checkouts, 2 emails sent, 1 click, 1 purchase and 3 stored webhooks. Download the file and send it to the customer.",
      }),
    ]);
    const other = await (
      await app.handle(bearerRequest("/app/settings/privacy?_data=routes%2Fapp.settings.privacy", {}, signSessionToken({ shop: OTHER_SHOP })))
    ).json();
    expect(other.requests).toEqual([]);
    const html = await (await app.handle(embeddedRequest("/app/settings/privacy"))).text();
    expect(html).toContain("Privacy requests");
    expect(html).toContain("Customer data request");
    expect(html).toContain(`Customer ${ZELDA.id}`);
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe("customers/redact", () => {
  const zeldaNeedles = [ZELDA.first, ZELDA.last, ZELDA.email, ZELDA.phone.slice(2), ZELDA.id];
  // Kept on purpose, as the record of the request (docs/decisions/040): Shopify's customer and order ids.
  const keepRequestIds = (table: string, row: Row) => (table === "ComplianceRequest" ? { ...row, customerId: null, orderIds: null } : row);
  let statsBefore: Row[];
  let ottoBefore: unknown;
  let otherShopBefore: unknown;

  const ottoRows = async () => {
    const contact = await p.db.contact.findFirstOrThrow({ where: { shopId: shop.id, email: OTTO.email } });
    const recoveries = await p.db.recovery.findMany({
      where: { contactId: contact.id },
      include: { messages: true, clicks: true, conversions: true, decisions: true },
    });
    const events = await p.db.inboundEvent.findMany({ where: { payload: { contains: OTTO.email } } });
    return { contact, recoveries, events };
  };
  const otherShopRows = async () => ({
    recoveries: await p.db.recovery.findMany({ where: { shopId: otherShop.id }, include: { messages: true } }),
    contacts: await p.db.contact.findMany({ where: { shopId: otherShop.id } }),
  });

  it("deletes the customer's personal data from every table, both sources, keeping the dashboard's totals exactly", async () => {
    expect((await mentionsOf(zeldaNeedles, { exceptShops: [otherShop], allow: keepRequestIds })).length).toBeGreaterThan(10);
    statsBefore = await dailyStats();
    ottoBefore = await ottoRows();
    otherShopBefore = await otherShopRows();
    const sentBefore = mailTo(ZELDA.email).length;

    await deliver("/webhooks/compliance", "customers/redact", privacyRequest(ZELDA, { orders_to_redact: [ZELDA_ORDER] }));
    await p.runAt(at(4.5));

    const request = await p.db.complianceRequest.findFirstOrThrow({ where: { shopId: shop.id, topic: "customers/redact" } });
    expect(request.status).toBe("done");
    expect(request.customerId).toBe(String(ZELDA.id));
    expect(request.email).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(JSON.parse(request.summary)).toMatchObject({
      recoveries: 2,
      messagesCancelled: 2,
      messages: 6,
      clicks: 1,
      conversions: 1,
      purchases: 1,
      contacts: 1,
      exportsRemoved: 1,
      keptSuppressions: [],
    });

    // Nowhere in this shop, in any table: name, email, phone, customer id.
    expect(await mentionsOf(zeldaNeedles, { exceptShops: [otherShop], allow: keepRequestIds })).toEqual([]);
    // Nor the Stripe session or the Shopify checkout token.
    expect(await mentionsOf([stripeSessionId, zeldaCheckoutToken], { exceptShops: [otherShop] })).toEqual([]);
    // The aggregates are what they were, to the row.
    expect(await dailyStats()).toEqual(statsBefore);
    // Another customer of the shop, and the same address in another shop, are untouched.
    expect(await ottoRows()).toEqual(ottoBefore);
    expect(await otherShopRows()).toEqual(otherShopBefore);
    expect((await otherShopRows()).contacts.map((c) => c.email)).toEqual([ZELDA.email.toLowerCase()]);

    // Her pending Stripe emails never go out; Otto's next step does.
    await p.runAt(at(30));
    expect(mailTo(ZELDA.email)).toHaveLength(sentBefore);
    expect(mailTo(OTTO.email)).toHaveLength(2);
    expect(await jobTable(p.db).count({ where: { name: "send-shop-messages", status: "queued", shopId: shop.id } })).toBe(0);
  });

  it("removes the earlier data request's export, and says so on Settings → Privacy", async () => {
    const dataRequest = await p.db.complianceRequest.findFirstOrThrow({ where: { shopId: shop.id, topic: "customers/data_request" } });
    expect(dataRequest.export).toBeNull();
    expect(dataRequest.email).toMatch(/^sha256:/);
    expect((await app.handle(bearerRequest(`/app/privacy/exports/${dataRequest.id}`))).status).toBe(404);
    const { requests } = await (await app.handle(bearerRequest("/app/settings/privacy?_data=routes%2Fapp.settings.privacy"))).json();
    expect(requests.map((r: { topicLabel: string; downloadable: boolean; outcome: string }) => [r.topicLabel, r.downloadable, r.outcome])).toEqual([
      [
        "Customer data erasure",
        false,
        "Deleted 2 abandoned checkouts (with 6 emails and 1 click), 1 purchase, 1 contact and 4 stored webhooks; dashboard totals are unchanged. 2 pending emails were cancelled.",
      ],
      [
        "Customer data request",
        false,
        "Found 2 abandoned checkouts, 2 emails sent, 1 click, 1 purchase and 3 stored webhooks. The file was deleted when the customer's data was erased.",
      ],
    ]);
  });

  it("changes nothing more when Shopify sends it again, as a retry or as a new delivery", async () => {
    const webhookId = "c0ffee00-redact-again";
    const keep = (tables: Record<string, Row[]>) =>
      Object.fromEntries(Object.entries(tables).filter(([t]) => !["InboundEvent", "Job", "ComplianceRequest"].includes(t)));
    const before = keep(await dumpAll());
    await deliver("/webhooks/compliance", "customers/redact", privacyRequest(ZELDA, { orders_to_redact: [ZELDA_ORDER] }), { webhookId });
    await deliver("/webhooks/compliance", "customers/redact", privacyRequest(ZELDA, { orders_to_redact: [ZELDA_ORDER] }), { webhookId });
    await p.runAt(at(30));
    expect(keep(await dumpAll())).toEqual(before);
    const again = await p.db.complianceRequest.findMany({ where: { shopId: shop.id, topic: "customers/redact" }, orderBy: { receivedAt: "asc" } });
    expect(again).toHaveLength(2);
    expect(JSON.parse(again[1]!.summary)).toMatchObject({ recoveries: 0, messages: 0, contacts: 0, purchases: 0, messagesCancelled: 0 });
    // The new delivery's own body named her: it is gone too.
    expect(await mentionsOf(zeldaNeedles, { exceptShops: [otherShop], allow: keepRequestIds })).toEqual([]);
  });

  it("keeps an unsubscribe as a hash of the address only, so the person is not emailed again", async () => {
    await deliver("/webhooks/compliance", "customers/redact", {
      shop_id: 954889,
      shop_domain: TEST_SHOP,
      customer: { id: UNA.id, email: UNA.email, phone: null },
      orders_to_redact: [],
    });
    await p.runAt(at(31));
    expect(await mentionsOf([UNA.email, UNA.last, UNA.id], { exceptShops: [otherShop], allow: keepRequestIds })).toEqual([]);
    const { suppressionAfterRedaction } = await import("~/models/redacted-suppression.server");
    const kept = await suppressionAfterRedaction(p.db, shop.id, UNA.email);
    expect(kept).toEqual({ unsubscribedAt: at(3), suppressedAt: null, suppressionReason: null });
    expect(await suppressionAfterRedaction(p.db, shop.id, OTTO.email)).toBeNull();
    expect(await suppressionAfterRedaction(p.db, otherShop.id, UNA.email)).toBeNull();

    // She comes back and abandons another cart (ticking the marketing box again): still unsubscribed, never emailed.
    const sentToUna = mailTo(UNA.email).length;
    await abandonCheckout(UNA, at(32), "Wool blanket");
    await p.runAt(at(32));
    expect(await p.db.contact.findFirstOrThrow({ where: { shopId: shop.id, email: UNA.email } })).toMatchObject({ unsubscribedAt: at(3) });
    await p.runAt(at(40));
    expect(mailTo(UNA.email)).toHaveLength(sentToUna);
  });

  it("records a request it cannot read, and changes nothing", async () => {
    const before = await p.db.recovery.count();
    await deliver("/webhooks/compliance", "customers/redact", { shop_id: 954889, shop_domain: TEST_SHOP, customer: { id: "not-a-number" } });
    await p.runAt(at(31));
    const unreadable = await p.db.complianceRequest.findFirstOrThrow({ where: { shopId: shop.id, summary: { contains: "error" } } });
    expect(JSON.parse(unreadable.summary)).toEqual({ error: "the request names no customer id, email or order" });
    expect(await p.db.recovery.count()).toBe(before);
    const event = await p.db.inboundEvent.findUniqueOrThrow({ where: { id: unreadable.inboundEventId } });
    expect(event.error).toBe("the request names no customer id, email or order");
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe("shop/redact", () => {
  const shopNeedles = () => [shop.id, TEST_SHOP, connectionId];
  const otherShopSnapshot = async () => {
    const all = await dumpAll();
    return Object.fromEntries(
      Object.entries(all)
        .filter(([table]) => table !== "Job") // the runner's own bookkeeping rows (the sweep) change as jobs run
        .map(([table, rows]) => [table, rows.filter((r) => rowMentions(r, otherShop.id) || rowMentions(r, OTHER_SHOP))]),
    );
  };

  it("keeps everything when the shop is installed again (Shopify sends it 48 h after an uninstall)", async () => {
    const recoveries = await p.db.recovery.count({ where: { shopId: shop.id } });
    await deliver("/webhooks/compliance", "shop/redact", { shop_id: 954889, shop_domain: TEST_SHOP });
    await p.runAt(at(32));
    expect(await p.db.recovery.count({ where: { shopId: shop.id } })).toBe(recoveries);
    const kept = await p.db.complianceRequest.findFirstOrThrow({ where: { shopId: shop.id, topic: "shop/redact" } });
    expect(JSON.parse(kept.summary)).toMatchObject({ kept: true, reason: "reinstalled" });
  });

  it("after an uninstall, deletes every row of the shop in every table, and nothing of another shop", async () => {
    await deliver("/webhooks/app/uninstalled", "app/uninstalled", { id: 954889, domain: TEST_SHOP });
    expect((await mentionsOf(shopNeedles())).length).toBeGreaterThan(20);
    expect(await p.db.dailyStat.count({ where: { shopId: shop.id } })).toBeGreaterThan(0);
    const otherBefore = await otherShopSnapshot();

    await deliver("/webhooks/compliance", "shop/redact", { shop_id: 954889, shop_domain: TEST_SHOP });
    await p.runAt(at(80));

    expect(await mentionsOf(shopNeedles())).toEqual([]);
    expect(await p.db.dailyStat.count({ where: { shopId: shop.id } })).toBe(0);
    expect(await otherShopSnapshot()).toEqual(otherBefore);
    expect(await p.db.recovery.count({ where: { shopId: otherShop.id } })).toBe(1);
    // No job failed on the way (the job that ran the request outlives its delivery without an error).
    expect(await jobTable(p.db).findMany({ where: { status: "failed" }, select: { name: true, lastError: true } })).toEqual([]);
  });

  it("is idempotent: a second delivery deletes nothing more and leaves nothing behind", async () => {
    const otherBefore = await otherShopSnapshot();
    await deliver("/webhooks/compliance", "shop/redact", { shop_id: 954889, shop_domain: TEST_SHOP });
    await p.runAt(at(81));
    expect(await mentionsOf(shopNeedles())).toEqual([]);
    expect(await otherShopSnapshot()).toEqual(otherBefore);
  });
});
