/**
 * The webhook endpoints end to end, through the real route handlers and the real processing jobs: whatever a validly
 * signed body holds (any JSON, any bytes, vendor-shaped objects with any values), the endpoint answers 2xx or 4xx,
 * never 5xx; and every stored delivery is then processed without the job failing or retrying — an unreadable payload
 * is recorded as an error on its InboundEvent.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAdminApp } from "../helpers/admin-app";
import { shopifyWebhookRequest, TEST_SHOP } from "../helpers/shopify";
import { stripeWebhookRequest } from "../../app/demo/fakes/stripe-api/webhooks";
import { anyJsonValue, fuzzedObject, moneyString, RUNS, timeString } from "./arbitraries";
import { jobTable } from "../helpers/jobs";

const SECRET = "whsec_propertyTestsSecret0123456789abcd";
let admin: Awaited<ReturnType<typeof startAdminApp>>;
let db: Awaited<ReturnType<typeof startAdminApp>>["db"];
let connectionId: string;

beforeAll(async () => {
  admin = await startAdminApp([TEST_SHOP]);
  db = admin.db;
  const shop = await db.shop.create({ data: { domain: TEST_SHOP, grantedScopes: "read_orders" } });
  const { connectStripe } = await import("~/models/stripe-connection.server");
  const connected = await connectStripe(db, shop.id, { webhookSecret: SECRET });
  if (!connected.ok) throw new Error("could not connect Stripe");
  connectionId = connected.connection.id;
});
afterAll(() => admin?.close());

/** Runs every queued processing job; returns the jobs that did not succeed (failed, or queued again for a retry). */
async function processAll() {
  const { JobRunner } = await import("../helpers/jobs");
  const { jobDefinitions } = await import("~/jobs/registry.server");
  await new JobRunner({ db, definitions: jobDefinitions.filter((d) => d.name.startsWith("process-")) }).drain();
  // A customers/redact cancels the pending jobs of that customer's deliveries (app/privacy): not a failure.
  // graphile-worker removes a job when it succeeds and when it is cancelled: every job left did not succeed.
  const unfinished = await jobTable(db).findMany({
    where: { name: { startsWith: "process-" } },
    select: { name: true, status: true, lastError: true, payload: true },
  });
  // A delivery left unprocessed with no job: its job was cancelled (a customers/redact), which is not a failure.
  const { QUEUE_SCHEMA } = await import("~/jobs/queue.server");
  const [{ n: unprocessed }] = (await db.$queryRawUnsafe<{ n: number }[]>(
    `SELECT count(*)::int AS n FROM "InboundEvent" e WHERE e."processedAt" IS NULL
       AND EXISTS (SELECT 1 FROM ${QUEUE_SCHEMA}._private_jobs j WHERE j.payload->>'inboundEventId' = e."id")`,
  )) as [{ n: number }];
  return { unfinished, unprocessed };
}

const lineItem = fuzzedObject({ title: fc.string(), quantity: fc.integer(), price: moneyString, line_price: moneyString, variant_title: fc.string() });
const checkout = fuzzedObject({
  id: fc.oneof(fc.integer(), fc.string()),
  token: fc.string({ minLength: 1, maxLength: 30 }),
  cart_token: fc.string(),
  email: fc.oneof(fc.emailAddress(), fc.string()),
  created_at: timeString,
  updated_at: timeString,
  completed_at: timeString,
  total_price: moneyString,
  currency: fc.constantFrom("USD", "JPY", "", "usd"),
  buyer_accepts_marketing: fc.boolean(),
  customer: fuzzedObject({ id: fc.integer(), email: fc.string(), first_name: fc.string() }),
  line_items: fc.array(lineItem, { maxLength: 3 }),
  discount_codes: fc.array(fuzzedObject({ code: fc.string() }), { maxLength: 2 }),
  abandoned_checkout_url: fc.webUrl(),
});
const order = fuzzedObject({
  id: fc.integer(),
  admin_graphql_api_id: fc.string(),
  email: fc.oneof(fc.emailAddress(), fc.string()),
  checkout_token: fc.string(),
  cart_token: fc.string(),
  total_price: moneyString,
  currency: fc.constantFrom("USD", "JPY", ""),
  presentment_currency: fc.constantFrom("EUR", "KWD", ""),
  total_price_set: fuzzedObject({
    shop_money: fuzzedObject({ amount: moneyString, currency_code: fc.constantFrom("USD", "JPY", "") }),
    presentment_money: fuzzedObject({ amount: moneyString, currency_code: fc.constantFrom("EUR", "KWD", "") }),
  }),
  test: fc.boolean(),
  cancelled_at: fc.option(timeString),
  created_at: timeString,
  processed_at: timeString,
});
const privacy = fuzzedObject({
  shop_id: fc.integer(),
  shop_domain: fc.constantFrom(TEST_SHOP, "other.myshopify.com", ""),
  customer: fuzzedObject({ id: fc.integer(), email: fc.oneof(fc.emailAddress(), fc.string()), phone: fc.string() }),
  orders_requested: fc.array(anyJsonValue, { maxLength: 3 }),
  orders_to_redact: fc.array(anyJsonValue, { maxLength: 3 }),
  data_request: fuzzedObject({ id: fc.integer() }),
});
const consentUpdate = fuzzedObject({
  customer_id: fc.oneof(fc.integer({ min: 1 }), fc.constant(Number.MAX_SAFE_INTEGER), fc.string()),
  email_address: fc.oneof(fc.emailAddress(), fc.string()),
  email_marketing_consent: fuzzedObject({
    state: fc.constantFrom("subscribed", "unsubscribed", "not_subscribed", "pending", "invalid", "redacted"),
    opt_in_level: fc.constantFrom("single_opt_in", "confirmed_opt_in", "unknown", null),
    consent_updated_at: fc.oneof(timeString, fc.constant(null)),
  }),
});
const scopes = fuzzedObject({ current: fc.array(fc.oneof(fc.string(), anyJsonValue), { maxLength: 3 }), previous: fc.array(fc.string(), { maxLength: 3 }) });

/** Topics and their routes; shop/redact and app/uninstalled are left out: they would end the shop under test. */
const shopifyDelivery = fc.oneof(
  fc.tuple(
    fc.constant("/webhooks/checkouts"),
    fc.constantFrom("checkouts/create", "checkouts/update"),
    fc.oneof({ weight: 4, arbitrary: checkout }, { weight: 1, arbitrary: anyJsonValue }),
  ),
  fc.tuple(
    fc.constant("/webhooks/orders/create"),
    fc.constant("orders/create"),
    fc.oneof({ weight: 4, arbitrary: order }, { weight: 1, arbitrary: anyJsonValue }),
  ),
  fc.tuple(
    fc.constant("/webhooks/orders/cancelled"),
    fc.constant("orders/cancelled"),
    fc.oneof({ weight: 4, arbitrary: order }, { weight: 1, arbitrary: anyJsonValue }),
  ),
  fc.tuple(
    fc.constant("/webhooks/compliance"),
    fc.constantFrom("customers/data_request", "customers/redact"),
    fc.oneof({ weight: 4, arbitrary: privacy }, { weight: 1, arbitrary: anyJsonValue }),
  ),
  fc.tuple(
    fc.constant("/webhooks/app/scopes_update"),
    fc.constant("app/scopes_update"),
    fc.oneof({ weight: 4, arbitrary: scopes }, { weight: 1, arbitrary: anyJsonValue }),
  ),
  fc.tuple(
    fc.constant("/webhooks/customers_email_marketing_consent/update"),
    fc.constant("customers_email_marketing_consent/update"),
    fc.oneof({ weight: 4, arbitrary: consentUpdate }, { weight: 1, arbitrary: anyJsonValue }),
  ),
);

describe("Shopify webhook endpoints", () => {
  it("signed JSON of any shape: 200 or 400, and the job records what it could not read", async () => {
    const statuses = new Set<number>();
    await fc.assert(
      fc.asyncProperty(shopifyDelivery, async ([uri, topic, payload]) => {
        const response = await admin.app.handle(shopifyWebhookRequest(uri, topic, JSON.stringify(payload) ?? "null"));
        statuses.add(response.status);
        expect([200, 400]).toContain(response.status);
      }),
      { numRuns: RUNS.route },
    );
    expect(statuses.has(200)).toBe(true); // most deliveries were stored, so the jobs below had work
    expect(await processAll()).toEqual({ unfinished: [], unprocessed: 0 });
  });

  it("signed bytes of any kind: 200 or 400, never 5xx", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 300 }),
        fc.constantFrom("/webhooks/checkouts", "/webhooks/orders/create", "/webhooks/orders/cancelled", "/webhooks/compliance"),
        async (bytes, uri) => {
          const raw = Buffer.from(bytes).toString("utf8");
          const topic =
            uri === "/webhooks/checkouts"
              ? "checkouts/update"
              : uri === "/webhooks/compliance"
                ? "customers/redact"
                : uri === "/webhooks/orders/cancelled"
                  ? "orders/cancelled"
                  : "orders/create";
          const response = await admin.app.handle(shopifyWebhookRequest(uri, topic, raw));
          expect([200, 400]).toContain(response.status);
        },
      ),
      { numRuns: RUNS.route },
    );
    expect(await processAll()).toEqual({ unfinished: [], unprocessed: 0 });
  });

  it("unsigned bytes of any kind: refused (401, or 400 for a body too deep to pass on), nothing stored", async () => {
    const before = await db.inboundEvent.count();
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), fc.string({ maxLength: 44 }), async (bytes, hmac) => {
        const response = await admin.app.handle(
          shopifyWebhookRequest("/webhooks/checkouts", "checkouts/create", Buffer.from(bytes).toString("utf8"), { hmac }),
        );
        expect([400, 401]).toContain(response.status);
      }),
      { numRuns: RUNS.route },
    );
    expect(await db.inboundEvent.count()).toBe(before);
  });
});

const session = fuzzedObject({
  id: fc.oneof(fc.stringMatching(/^cs_test_[A-Za-z0-9]{4,30}$/), fc.string()),
  object: fc.constant("checkout.session"),
  currency: fc.constantFrom("usd", "jpy", "isk", "", "zzz"),
  amount_total: fc.oneof(fc.integer({ min: 0, max: 100_000_000 }), anyJsonValue),
  customer_email: fc.oneof(fc.emailAddress(), fc.string()),
  customer_details: fuzzedObject({ email: fc.oneof(fc.emailAddress(), fc.string()), name: fc.string() }),
  consent: fuzzedObject({ promotions: fc.constantFrom("opt_in", "opt_out") }),
  after_expiration: fuzzedObject({ recovery: fuzzedObject({ enabled: fc.boolean(), url: fc.webUrl(), expires_at: fc.oneof(fc.integer(), anyJsonValue) }) }),
  recovered_from: fc.oneof(fc.stringMatching(/^cs_test_[a-z0-9]{4,12}$/), fc.string()),
  client_reference_id: fc.string(),
  metadata: fc.dictionary(fc.string({ maxLength: 6 }), fc.string(), { maxKeys: 2 }),
  livemode: fc.boolean(),
});
const stripeEnvelope = fuzzedObject({
  id: fc.stringMatching(/^evt_[A-Za-z0-9]{6,24}$/),
  object: fc.constant("event"),
  type: fc.constantFrom(
    "checkout.session.expired",
    "checkout.session.completed",
    "checkout.session.async_payment_succeeded",
    "checkout.session.async_payment_failed",
    "invoice.paid",
  ),
  created: fc.oneof(fc.integer({ min: 1, max: 4_000_000_000 }), anyJsonValue),
  livemode: fc.boolean(),
  data: fuzzedObject({ object: fc.oneof({ weight: 5, arbitrary: session }, { weight: 1, arbitrary: anyJsonValue }) }),
});

describe("Stripe webhook endpoint", () => {
  const deliver = (body: string) => admin.app.handle(stripeWebhookRequest(`/webhooks/stripe/${connectionId}`, null, { secret: SECRET, body }));

  it("signed events of any shape: 200 or 400, and the job records what it could not read", async () => {
    const statuses = new Set<number>();
    await fc.assert(
      fc.asyncProperty(fc.oneof({ weight: 5, arbitrary: stripeEnvelope }, { weight: 1, arbitrary: anyJsonValue }), async (event) => {
        const response = await deliver(JSON.stringify(event) ?? "null");
        statuses.add(response.status);
        expect([200, 400]).toContain(response.status);
      }),
      { numRuns: RUNS.route },
    );
    expect(statuses.has(200)).toBe(true);
    expect(await processAll()).toEqual({ unfinished: [], unprocessed: 0 });
  });

  it("signed bytes of any kind: 200 or 400, never 5xx", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), async (bytes) => {
        expect([200, 400]).toContain((await deliver(Buffer.from(bytes).toString("utf8"))).status);
      }),
      { numRuns: RUNS.route },
    );
  });
});
