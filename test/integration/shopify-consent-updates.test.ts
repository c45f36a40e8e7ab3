// A buyer who unsubscribes in Shopify stops getting Reclaim's emails (docs/decisions/073): signed
// `customers_email_marketing_consent/update` deliveries → the webhook inbox → the job runner → the contact and its
// recoveries, with real emails through SMTP and the send job's decide() on a fake clock.
import type { Shop } from "@prisma/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAheadOfRealTime } from "../helpers/fake-clock";
import { loadApp } from "../helpers/app-server";
import { H, startPipeline, stripeSession, type Pipeline } from "../helpers/pipeline";
import { shopifyWebhookRequest, TEST_SHOP } from "../helpers/shopify";
import { checkoutWebhookPayload, type CustomerRecord, type LineItemRecord, type ShopStore } from "../../app/demo/fakes/shopify-admin";
import { customerConsentUpdatePayload } from "../../app/demo/fakes/shopify-admin/webhook-payloads";
import { jobTable } from "../helpers/jobs";

const TOPIC = "customers_email_marketing_consent/update";
const URI = "/webhooks/customers_email_marketing_consent/update";

// The clock runs ahead of real time: deliveries are stored (and their jobs queued) at real time, so they are due.
const T0 = startAheadOfRealTime();

let app: Awaited<ReturnType<typeof loadApp>>;
let p: Pipeline;
let shop: Shop;
let store: ShopStore;

beforeAll(async () => {
  app = await loadApp();
  p = await startPipeline({ start: T0 });
  // Webhook-only checkouts (no gid) and no poll here: Shopify's own email is not what these tests are about (docs/decisions/075).
  shop = await p.newShop({ domain: TEST_SHOP, shopifyEmailPolicy: "send_anyway" });
  store = p.admin.store(TEST_SHOP);
});
afterAll(async () => {
  await p?.close();
  await app?.close();
});

const deliver = async (uri: string, topic: string, body: unknown, webhookId?: string) => {
  const response = await app.handle(shopifyWebhookRequest(uri, topic, body, { webhookId }));
  expect(response.status).toBe(200);
};
const mailTo = (email: string) => p.sink.received.filter((m) => m.rcptTo.includes(email.toLowerCase()));
const stamp = (d: Date) => d.toISOString().slice(0, 16).replace("T", " ") + " UTC";

let nextCustomer = 7_400_000_000_001;
function customer(email: string, marketingState: CustomerRecord["marketingState"], at: Date): CustomerRecord {
  return store.upsertCustomer({
    id: nextCustomer++,
    firstName: "Robin",
    lastName: "Ashby",
    email,
    phone: null,
    marketingState,
    marketingOptInLevel: "SINGLE_OPT_IN",
    marketingUpdatedAt: at.toISOString(),
    locale: "en",
    createdAt: at.toISOString(),
    updatedAt: at.toISOString(),
    tags: [],
  });
}
const lineItem = (): LineItemRecord => ({
  id: store.nextId(),
  title: "Wool blanket",
  variantTitle: null,
  quantity: 1,
  sku: null,
  vendor: null,
  image: null,
  variantId: null,
  productId: null,
  unitPrice: { shop: 7900, presentment: 7900 },
  discountedUnitPrice: { shop: 7900, presentment: 7900 },
  requiresShipping: true,
  taxable: true,
  grams: 900,
});

/** A checkout abandoned in the fake shop, delivered as Shopify's signed checkouts/create; returns its recovery. */
async function abandon(c: CustomerRecord, when: Date, buyerAcceptsMarketing: boolean) {
  const checkout = store.upsertCheckout({
    customer: c,
    email: c.email,
    phone: null,
    buyerAcceptsMarketing,
    lineItems: [lineItem()],
    createdAt: when.toISOString(),
    updatedAt: when.toISOString(),
  });
  await deliver("/webhooks/checkouts", "checkouts/create", checkoutWebhookPayload(store, checkout));
  await p.runAt(when);
  return p.db.recovery.findFirstOrThrow({ where: { shopId: shop.id, checkoutToken: checkout.token } });
}
/** The buyer's consent changes in Shopify at `when`, and Shopify tells Reclaim. */
async function consentChanged(c: CustomerRecord, state: CustomerRecord["marketingState"], when: Date, webhookId?: string) {
  const updated = store.updateCustomer(c.id, { marketingState: state, marketingUpdatedAt: when.toISOString() })!;
  await deliver(URI, TOPIC, customerConsentUpdatePayload(store, updated), webhookId);
}
const messages = (recoveryId: string) => p.db.message.findMany({ where: { recoveryId }, orderBy: { position: "asc" } });
const decisions = (recoveryId: string) => p.db.decisionLog.findMany({ where: { recoveryId }, orderBy: [{ decidedAt: "asc" }, { id: "asc" }] });
async function snapshot(recoveryId: string) {
  const recovery = await p.db.recovery.findUniqueOrThrow({ where: { id: recoveryId }, include: { contact: true } });
  return {
    recovery: { ...recovery, updatedAt: null, contact: { ...recovery.contact, updatedAt: null } },
    messages: await messages(recoveryId),
    decisions: await decisions(recoveryId),
  };
}

describe("customers_email_marketing_consent/update", () => {
  it("a buyer who opted in, got step 1, then unsubscribed in Shopify gets no step 2, and the log says why", async () => {
    const t = p.clock.now();
    const robin = customer("Robin.Ashby@example.com", "SUBSCRIBED", t);
    const recovery = await abandon(robin, t, true);
    expect(recovery.consent).toBe("opt_in");
    await p.runAt(new Date(t.getTime() + 1 * H));
    expect(mailTo(robin.email!)).toHaveLength(1);

    const unsubscribedAt = new Date(t.getTime() + 2 * H);
    await consentChanged(robin, "UNSUBSCRIBED", unsubscribedAt);
    await p.runAt(unsubscribedAt);
    for (const h of [24, 72, 73]) await p.runAt(new Date(t.getTime() + h * H));

    expect(mailTo(robin.email!)).toHaveLength(1);
    expect((await messages(recovery.id)).map((m) => [m.status, m.skipReason])).toEqual([
      ["sent", null],
      ["cancelled", "unsubscribed"],
      ["cancelled", "unsubscribed"],
    ]);
    const logs = (await decisions(recovery.id)).filter((d) => d.outcome !== "send");
    expect(logs.map((d) => `${d.outcome}:${d.reason}:${d.detail}`)).toEqual(
      Array(2).fill(`cancel:unsubscribed:Unsubscribed in Shopify on ${stamp(unsubscribedAt)}`),
    );
    const after = await p.db.recovery.findUniqueOrThrow({ where: { id: recovery.id }, include: { contact: true } });
    expect(after.contact!.unsubscribedAt).toEqual(unsubscribedAt);
    expect(after.consent).toBe("opt_out");
    expect(JSON.parse(after.consentEvidence)).toMatchObject({
      state: "opt_out",
      source: "shopify.customers_email_marketing_consent",
      detail: { state: "unsubscribed" },
      at: unsubscribedAt.toISOString(),
    });
    const event = await p.db.inboundEvent.findFirstOrThrow({ where: { topic: TOPIC, receiver: TEST_SHOP }, orderBy: { receivedAt: "desc" } });
    expect(event).toMatchObject({ processedAt: expect.any(Date), error: null });
  });

  it("a message already claimed when the unsubscribe lands is stopped by decide(), which names Shopify", async () => {
    const t = p.clock.now();
    const sam = customer("sam.okafor@example.com", "SUBSCRIBED", t);
    const recovery = await abandon(sam, t, true);
    const unsubscribedAt = new Date(t.getTime() + 0.5 * H);
    await consentChanged(sam, "UNSUBSCRIBED", unsubscribedAt);
    // Put step 1 back as a concurrent worker would have it: scheduled and due, as if the cancel had missed it.
    await p.runAt(unsubscribedAt);
    const [first] = await messages(recovery.id);
    await p.db.message.update({ where: { id: first!.id }, data: { status: "scheduled", skipReason: null } });
    await p.runAt(new Date(t.getTime() + 1 * H));
    expect(mailTo(sam.email!)).toHaveLength(0);
    expect((await messages(recovery.id))[0]).toMatchObject({ status: "skipped", skipReason: "unsubscribed" });
    const skip = (await decisions(recovery.id)).find((d) => d.outcome === "skip");
    expect(skip?.detail).toBe(`Unsubscribed in Shopify on ${stamp(unsubscribedAt)}`);
  });

  it("an older 'subscribed' update arriving after a newer 'unsubscribed' one changes nothing", async () => {
    const t = p.clock.now();
    const kim = customer("kim.lund@example.com", "SUBSCRIBED", t);
    const recovery = await abandon(kim, t, true);
    const newer = new Date(t.getTime() + 0.5 * H);
    const older = new Date(t.getTime() + 0.25 * H);
    await consentChanged(kim, "UNSUBSCRIBED", newer);
    await p.runAt(newer);
    const before = await snapshot(recovery.id);
    expect(before.recovery.consent).toBe("opt_out");

    await consentChanged(kim, "SUBSCRIBED", older); // delivered late, dated earlier
    await p.runAt(new Date(newer.getTime() + 60_000));
    expect(await snapshot(recovery.id)).toEqual(before);
    // …and a redelivery of the newer one (new delivery id, same content) changes nothing either.
    await consentChanged(kim, "UNSUBSCRIBED", newer);
    await p.runAt(new Date(newer.getTime() + 120_000));
    expect(await snapshot(recovery.id)).toEqual(before);
    for (const h of [1, 24, 72]) await p.runAt(new Date(t.getTime() + h * H));
    expect(mailTo(kim.email!)).toHaveLength(0);
  });

  it("an update for a customer Reclaim does not know is recorded and changes nothing", async () => {
    const counts = async () => ({
      contacts: await p.db.contact.count(),
      recoveries: await p.db.recovery.count(),
      messages: await p.db.message.count({ where: { status: "scheduled" } }),
      decisions: await p.db.decisionLog.count(),
    });
    const before = await counts();
    const webhookId = "consent-unknown-customer";
    await deliver(
      URI,
      TOPIC,
      {
        customer_id: 7_499_999_999_999,
        email_address: "stranger@example.com",
        email_marketing_consent: { state: "unsubscribed", opt_in_level: "single_opt_in", consent_updated_at: p.clock.now().toISOString() },
      },
      webhookId,
    );
    await p.runAt(new Date(p.clock.now().getTime() + 60_000));
    expect(await p.db.inboundEvent.findFirstOrThrow({ where: { externalId: webhookId } })).toMatchObject({
      topic: TOPIC,
      processedAt: expect.any(Date),
      error: null,
    });
    expect(await counts()).toEqual(before);
    expect(await jobTable(p.db).count({ where: { name: "process-shopify-webhook", status: { notIn: ["succeeded"] } } })).toBe(0);
  });

  it("an unreadable body is stored, marked with why, and not retried", async () => {
    const webhookId = "consent-unreadable";
    await deliver(URI, TOPIC, { customer_id: 1, email_marketing_consent: { opt_in_level: "single_opt_in" } }, webhookId);
    await p.runAt(new Date(p.clock.now().getTime() + 60_000));
    expect((await p.db.inboundEvent.findFirstOrThrow({ where: { externalId: webhookId } })).error).toMatch(/state/);
    expect(await jobTable(p.db).count({ where: { name: "process-shopify-webhook", status: { notIn: ["succeeded"] } } })).toBe(0);
  });

  it("an unsubscribe is about the person: their Stripe recovery (same email, no Shopify id) stops too", async () => {
    const t = p.clock.now();
    const lee = customer("lee.fontaine@example.com", "SUBSCRIBED", t);
    const { recoveryId } = (await p.ingest(shop, stripeSession(t, { email: "Lee.Fontaine@example.com" }))) as { recoveryId: string };
    const unsubscribedAt = new Date(t.getTime() + 0.5 * H);
    await consentChanged(lee, "UNSUBSCRIBED", unsubscribedAt);
    for (const h of [0.5, 1, 24, 72]) await p.runAt(new Date(t.getTime() + h * H));
    expect(mailTo(lee.email!)).toHaveLength(0);
    expect((await messages(recoveryId)).map((m) => m.skipReason)).toEqual(["unsubscribed", "unsubscribed", "unsubscribed"]);
    const recovery = await p.db.recovery.findUniqueOrThrow({ where: { id: recoveryId }, include: { contact: true } });
    // Stripe's own consent evidence stays; the contact carries the unsubscribe, and learned the Shopify customer id.
    expect(JSON.parse(recovery.consentEvidence)).toMatchObject({ source: "stripe.consent.promotions" });
    expect(recovery.contact).toMatchObject({ unsubscribedAt, shopifyCustomerId: `gid://shopify/Customer/${lee.id}` });
  });

  it("a Shopify opt-in after abandonment makes a recovery with unknown consent emailable under the explicit policy", async () => {
    const t = p.clock.now();
    const ana = customer("ana.silva@example.com", "NOT_SUBSCRIBED", t);
    const recovery = await abandon(ana, t, false);
    expect(recovery.consent).toBe("unknown");
    const subscribedAt = new Date(t.getTime() + 0.5 * H);
    await consentChanged(ana, "SUBSCRIBED", subscribedAt);
    await p.runAt(subscribedAt);
    await p.runAt(new Date(t.getTime() + 1 * H));
    expect(mailTo(ana.email!)).toHaveLength(1);
    const send = (await decisions(recovery.id)).find((d) => d.outcome === "send");
    expect(send?.detail).toContain("opt_in (shopify.customers_email_marketing_consent: state=subscribed");
  });

  it("a Shopify 'not_subscribed' or 'pending' update is no consent either way: nothing changes", async () => {
    const t = p.clock.now();
    const jo = customer("jo.brandt@example.com", "SUBSCRIBED", t);
    const recovery = await abandon(jo, t, true);
    const before = await snapshot(recovery.id);
    await consentChanged(jo, "PENDING", new Date(t.getTime() + 0.25 * H));
    await consentChanged(jo, "NOT_SUBSCRIBED", new Date(t.getTime() + 0.5 * H));
    await p.runAt(new Date(t.getTime() + 0.5 * H));
    expect(await snapshot(recovery.id)).toEqual(before);
    await p.runAt(new Date(t.getTime() + 1 * H));
    expect(mailTo(jo.email!)).toHaveLength(1);
  });
});
