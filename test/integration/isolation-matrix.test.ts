/**
 * Invariant 4 as a matrix: every route, webhook and job, driven by shop B (its session token, its signed webhooks, its
 * jobs) against shop A's ids, answers 404 or an error of its own, never A's data, never a 5xx, and leaves every one of
 * A's rows exactly as it was.
 *
 * Routes are enumerated from the Remix build (every file in app/routes) when the test runs, and each must be
 * classified in ROUTES below: a new route cannot escape the matrix unnoticed. Admin actions are posted with every
 * intent their source compares against, plus an unknown one, with every id-like field set to one of A's ids. A's rows
 * are compared model by model (every Prisma model must say how its rows belong to a shop; a new model fails the test
 * until it does).
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { Prisma } from "@prisma/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAdminApp } from "../helpers/admin-app";
import { seedShop } from "../helpers/seed";
import { embeddedRequest, OTHER_SHOP, shopifyWebhookRequest, signSessionToken, TEST_SHOP } from "../helpers/shopify";
import { completedSession, expiredSession, stripeEvent } from "../../app/demo/fakes/stripe-api/objects";
import { stripeWebhookRequest } from "../../app/demo/fakes/stripe-api/webhooks";
import { jobTable } from "../helpers/jobs";

type RouteClass =
  /** Embedded admin, scoped by the session's shop; no id in the URL. */
  | { kind: "admin" }
  /** Embedded admin with an id in the URL: B gets 404 for A's id. `param` picks the id from a shop's seeded rows. */
  | { kind: "admin-id"; param: (ids: ShopIds) => Record<string, string> }
  /** Shopify webhooks: covered by "Shopify webhooks" below with these topics. */
  | { kind: "shopify-webhook"; topics: string[] }
  /** Stripe webhooks per connection: covered by "Stripe webhooks" below. */
  | { kind: "stripe-webhook" }
  /** Public, authorised by a signed token naming one message: covered by "public email links" below. */
  | { kind: "public-token" }
  /** The public checkout-pixel collector (per-shop key): covered by "checkout pixel" below. */
  | { kind: "pixel-collector" }
  /** Carries no shop data (landing page, the library's auth paths, the benchmark endpoint that is off). */
  | { kind: "no-shop-data"; why: string };

const ROUTES: Record<string, RouteClass> = {
  "routes/_index": { kind: "no-shop-data", why: "static landing page" },
  "routes/auth.$": { kind: "no-shop-data", why: "the Shopify library's session-token bounce and exit-iframe pages" },
  "routes/app": { kind: "admin" },
  "routes/app._index": { kind: "admin" },
  "routes/app.recoveries._index": { kind: "admin" },
  "routes/app.recoveries.$id": { kind: "admin-id", param: (ids) => ({ id: ids.recovery }) },
  "routes/app.recoveries.$id_.emails.$messageId": { kind: "admin-id", param: (ids) => ({ id: ids.recovery, messageId: ids.sentMessage }) },
  "routes/app.campaigns._index": { kind: "admin" },
  "routes/app.campaigns.$id": { kind: "admin-id", param: (ids) => ({ id: ids.campaign }) },
  "routes/app.settings._index": { kind: "admin" },
  "routes/app.settings.stripe": { kind: "admin" },
  "routes/app.settings.privacy": { kind: "admin" },
  "routes/app.settings.pixel": { kind: "admin" },
  "routes/app.settings.flow": { kind: "admin" },
  "routes/app.privacy.exports.$id": { kind: "admin-id", param: (ids) => ({ id: ids.compliance }) },
  "routes/pixel.events": { kind: "pixel-collector" },
  "routes/email.click": { kind: "public-token" },
  "routes/email.unsubscribe": { kind: "public-token" },
  "routes/webhooks.checkouts": { kind: "shopify-webhook", topics: ["checkouts/create", "checkouts/update"] },
  "routes/webhooks.orders.create": { kind: "shopify-webhook", topics: ["orders/create"] },
  "routes/webhooks.orders.cancelled": { kind: "shopify-webhook", topics: ["orders/cancelled"] },
  "routes/webhooks.customers_email_marketing_consent.update": { kind: "shopify-webhook", topics: ["customers_email_marketing_consent/update"] },
  "routes/webhooks.compliance": { kind: "shopify-webhook", topics: ["customers/data_request", "customers/redact"] },
  "routes/webhooks.app.scopes_update": { kind: "shopify-webhook", topics: ["app/scopes_update"] },
  "routes/webhooks.app.uninstalled": { kind: "shopify-webhook", topics: ["app/uninstalled"] },
  "routes/webhooks.stripe.$connectionId": { kind: "stripe-webhook" },
  "routes/webhooks.stripe-verify-only.$connectionId": { kind: "no-shop-data", why: "benchmark endpoint, 404 unless STRIPE_VERIFY_ONLY_ENDPOINT=on" },
};

interface ShopIds {
  shop: string;
  domain: string;
  recovery: string;
  /** An email of `recovery` as sent (subject and HTML stored): "View this email". */
  sentMessage: string;
  stripeRecovery: string;
  campaign: string;
  step: string;
  message: string;
  contact: string;
  connection: string;
  compliance: string;
  email: string;
  checkoutToken: string;
  cartToken: string;
  stripeSessionId: string;
  otherStripeSessionId: string;
  cursor: string;
}

/** Route ids of the files in app/routes now (ROUTES may list a route another change is about to add). */
const PRESENT = new Set(
  readdirSync("app/routes")
    .filter((f) => /\.(tsx|ts|jsx|js)$/.test(f) && !/\.test\./.test(f))
    .map((f) => `routes/${f.replace(/\.(tsx|ts|jsx|js)$/, "")}`),
);

const SECRET_A = "whsec_isolationShopASecret0123456789abc";
const SECRET_B = "whsec_isolationShopBSecret0123456789abc";

let admin: Awaited<ReturnType<typeof startAdminApp>>;
let db: Awaited<ReturnType<typeof startAdminApp>>["db"];
let A: ShopIds;
let B: ShopIds;
let before: Record<string, unknown[]>;
let fingerprints: string[];
const tokenB = () => signSessionToken({ shop: OTHER_SHOP });

async function seed(domain: string, prefix: string, secret: string): Promise<ShopIds> {
  const s = await seedShop(db, domain, { prefix });
  const recovery = s.shopifyRecoveries[1]!; // open, emailed, with a scheduled next step
  const checkoutToken = `${prefix}-checkout-token-1`;
  const cartToken = `${prefix}-cart-token-1`;
  await db.recovery.update({ where: { id: recovery.id }, data: { checkoutToken, cartToken } });
  const { connectStripe } = await import("~/models/stripe-connection.server");
  const connected = await connectStripe(db, s.shop.id, { webhookSecret: secret });
  if (!connected.ok) throw new Error(`could not connect Stripe for ${domain}`);
  // A privacy request with an export, and an unprocessed inbound delivery of each source (no job: nothing runs them).
  const compliance = await db.complianceRequest.create({
    data: {
      shopId: s.shop.id,
      topic: "customers/data_request",
      inboundEventId: `${prefix}-inbound-dr`,
      customerId: "7001",
      email: recovery.email,
      status: "done",
      export: JSON.stringify({ recoveries: [recovery.id] }),
    },
  });
  await db.inboundEvent.create({
    data: {
      source: "shopify",
      receiver: domain,
      externalId: `${prefix}-webhook-1`,
      topic: "checkouts/update",
      payload: JSON.stringify({
        token: checkoutToken,
        email: recovery.email,
        created_at: "2026-11-20T10:00:00Z",
        updated_at: "2026-11-20T10:00:00Z",
        total_price: "1.00",
      }),
    },
  });
  await db.inboundEvent.create({
    data: {
      source: "pixel",
      receiver: domain,
      externalId: `${prefix}-pixel-1`,
      topic: "checkout_started",
      payload: JSON.stringify({
        event: { id: `${prefix}-pixel-1`, name: "checkout_started", at: new Date().toISOString() },
        checkout: {
          token: checkoutToken,
          email: recovery.email,
          buyerAcceptsEmailMarketing: true,
          currencyCode: "USD",
          totalPrice: { amount: 1, currencyCode: "USD" },
          subtotalPrice: null,
          lineItemCount: 0,
          lineItems: [],
        },
      }),
    },
  });
  // The same checkout as the pixel's merged row (docs/decisions/079), with an event not yet processed.
  const pixelAt = new Date().toISOString();
  await db.pixelCheckout.create({
    data: {
      shopId: s.shop.id,
      checkoutToken,
      lastEvent: "checkout_contact_info_submitted",
      recentEventIds: JSON.stringify([`${prefix}-pixel-2`]),
      state: JSON.stringify({
        event: "checkout_contact_info_submitted",
        email: recovery.email,
        buyerAcceptsEmailMarketing: true,
        lineItems: [],
        total: { amountMinor: 100, currency: "USD" },
        at: pixelAt,
        startedAt: pixelAt,
      }),
    },
  });
  // A step's Japanese version (issue 19): another shop's editor must not read or change it.
  await db.campaignStepTranslation.create({
    data: { stepId: s.campaign.steps[0]!.id, language: "ja", subject: `${prefix} のカート`, bodyTemplate: "<p>お待ちしています。</p>" },
  });
  await db.staffLanguage.create({ data: { shopId: s.shop.id, userId: `${prefix}-staff`, locale: "ja" } });
  await db.inboundEvent.create({
    data: {
      source: "stripe",
      receiver: connected.connection.id,
      externalId: `evt_${prefix}_1`,
      topic: "checkout.session.expired",
      payload: JSON.stringify(stripeEvent("checkout.session.expired", expiredSession({ email: recovery.email }))),
    },
  });
  await db.stripePaymentLink.create({
    data: {
      shopId: s.shop.id,
      connectionId: connected.connection.id,
      paymentLinkId: `plink_${prefix}_1`,
      url: `https://buy.stripe.com/test_${prefix}`,
      active: true,
      fetchedAt: new Date(),
    },
  });
  // A failed subscription invoice that ended before its failure arrived (docs/decisions/087).
  await db.stripeBillingEnd.create({ data: { shopId: s.shop.id, objectId: `in_${prefix}_ended`, outcome: "paid", endedAt: new Date() } });
  // A message due now (a send job naming it would send it).
  const due = await db.message.create({
    data: {
      shopId: s.shop.id,
      recoveryId: s.shopifyRecoveries[0]!.id,
      campaignId: s.campaign.id,
      stepId: s.campaign.steps[2]!.id,
      position: 3,
      status: "scheduled",
      scheduledFor: new Date(Date.now() - 60_000),
    },
  });
  const stripeRecovery = s.stripeRecoveries[1]!;
  const sentMessage = await db.message.findFirstOrThrow({ where: { recoveryId: recovery.id, status: "sent", bodyHtml: { not: null } }, select: { id: true } });
  return {
    shop: s.shop.id,
    domain,
    recovery: recovery.id,
    sentMessage: sentMessage.id,
    stripeRecovery: stripeRecovery.id,
    campaign: s.campaign.id,
    step: s.campaign.steps[0]!.id,
    message: due.id,
    contact: recovery.contactId!,
    connection: connected.connection.id,
    compliance: compliance.id,
    email: recovery.email!,
    checkoutToken,
    cartToken,
    stripeSessionId: s.stripeRecoveries[0]!.externalId,
    otherStripeSessionId: stripeRecovery.externalId,
    cursor: Buffer.from(JSON.stringify({ at: recovery.abandonedAt.toISOString(), id: recovery.id })).toString("base64url"),
  };
}

/** Which of a model's rows belong to a shop. Every model must be listed (a new one fails "A is unchanged" until it is). */
function ownedBy(model: string, ids: ShopIds, hasShopId: boolean): Record<string, unknown> {
  if (hasShopId) return { shopId: ids.shop };
  switch (model) {
    case "Shop":
      return { id: ids.shop };
    case "Session":
      return { shop: ids.domain };
    case "CampaignStep":
      return { campaign: { shopId: ids.shop } };
    case "CampaignStepTranslation":
      return { step: { campaign: { shopId: ids.shop } } };
    case "InboundEvent":
      return { receiver: { in: [ids.domain, ids.connection] } };
    default:
      throw new Error(`isolation matrix: say how a ${model} row belongs to a shop (ownedBy in this file)`);
  }
}

/** Every row of shop A, model by model, in a stable order. */
async function snapshot(ids: ShopIds): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const model of Prisma.dmmf.datamodel.models) {
    const delegate = (db as unknown as Record<string, { findMany(args: unknown): Promise<unknown[]> }>)[
      model.name.charAt(0).toLowerCase() + model.name.slice(1)
    ]!;
    const rows = await delegate.findMany({
      where: ownedBy(
        model.name,
        ids,
        model.fields.some((f) => f.name === "shopId"),
      ),
    });
    out[model.name] = rows.map((r) => JSON.stringify(r, (_key, v) => (typeof v === "bigint" ? v.toString() : v))).sort();
  }
  return out;
}

/** Values only shop A's rows hold: ids, emails, tokens, its domain. None may appear in an answer to shop B. */
function fingerprintsOf(rows: Record<string, unknown[]>): string[] {
  const out = new Set<string>([A.domain, A.email, A.checkoutToken, A.cartToken, A.stripeSessionId, A.otherStripeSessionId]);
  for (const list of Object.values(rows)) {
    for (const json of list as string[]) {
      const row = JSON.parse(json) as Record<string, unknown>;
      for (const key of ["id", "externalId", "email", "toEmail", "checkoutToken", "cartToken"]) {
        const v = row[key];
        if (typeof v === "string" && v.length >= 12 && !v.startsWith("offline_")) out.add(v);
      }
    }
  }
  return [...out];
}

function expectNoDataOfA(body: unknown, submitted: string[] = []) {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  // A value B itself sent may be echoed back (a field error); that is not A's data.
  const leaked = fingerprints.filter((f) => !submitted.includes(f) && text.includes(f));
  expect(leaked).toEqual([]);
}

async function expectAUnchanged() {
  expect(await snapshot(A)).toEqual(before);
}

/** The URL of a route: its path segments from the build, with params filled in. */
function urlOf(routeId: string, params: Record<string, string> = {}): string {
  const routes = admin.app.build.routes;
  const segments: string[] = [];
  for (let r = routes[routeId]; r; r = r.parentId ? routes[r.parentId] : undefined) if (r.path) segments.unshift(r.path);
  return "/" + segments.join("/").replace(/:(\w+)/g, (_, name: string) => encodeURIComponent(params[name] ?? `missing-${name}`));
}

/** The intents a route's action handles, read from its source (`intent === "x"`, `case "x":`). */
function intentsOf(routeId: string): string[] {
  const file = readdirSync("app/routes").find((f) => `routes/${f.replace(/\.(tsx|ts|jsx|js)$/, "")}` === routeId)!;
  const source = readFileSync(path.join("app/routes", file), "utf8");
  const found = new Set<string>();
  for (const m of source.matchAll(/intent["')\]]*\s*[!=]==\s*"([\w-]+)"/g)) found.add(m[1]!);
  for (const m of source.matchAll(/case\s+"([\w-]+)"\s*:/g)) found.add(m[1]!);
  return [...found];
}

/** A form naming A's rows in every id-like field an action might read. */
function hostileForm(intent: string, ids: ShopIds): Record<string, string> {
  return {
    intent,
    id: ids.recovery,
    recoveryId: ids.recovery,
    campaignId: ids.campaign,
    stepId: ids.step,
    messageId: ids.message,
    contactId: ids.contact,
    connectionId: ids.connection,
    exportId: ids.compliance,
    requestId: ids.compliance,
    complianceRequestId: ids.compliance,
    email: ids.email,
    q: ids.email,
    to: "attacker@beta.test",
    name: "Hijacked",
    subject: "Hijacked {{ customer.email }}",
    bodyTemplate: "<p>{{ customer.email }} {{ checkout.name }}</p>",
    delayHours: "1",
    sources: "both",
    webhookSecret: "whsec_isolationAttackerSecret01234567",
  };
}

beforeAll(async () => {
  admin = await startAdminApp();
  db = admin.db;
  A = await seed(TEST_SHOP, "alpha", SECRET_A);
  B = await seed(OTHER_SHOP, "beta", SECRET_B);
  before = await snapshot(A);
  fingerprints = fingerprintsOf(before);
});
afterAll(() => admin?.close());

/** Runs the jobs that process inbound deliveries (install and sync jobs would only try to reach Shopify here). */
const drainJobs = async () => {
  const { JobRunner } = await import("../helpers/jobs");
  const { jobDefinitions } = await import("~/jobs/registry.server");
  const processing = jobDefinitions.filter((d) => /^process-/.test(d.name));
  return new JobRunner({ db, definitions: processing }).drain();
};

describe("every route is in the matrix", () => {
  it("classifies every file in app/routes (a new route must say how it is isolated)", () => {
    const routeIds = [...PRESENT];
    expect(routeIds.filter((id) => !ROUTES[id])).toEqual([]);
    // The build serves exactly these routes.
    expect(
      Object.keys(admin.app.build.routes)
        .filter((id) => id !== "root")
        .sort(),
    ).toEqual(routeIds.sort());
  });

  it("has something of A's to leak: A's rows are seeded in every model a shop owns", () => {
    const empty = Object.entries(before)
      .filter(([, rows]) => rows.length === 0)
      .map(([m]) => m);
    // Models A has no row of are those the matrix cannot produce without running A's own processes.
    expect(empty.filter((m) => !["Purchase", "DecisionLog", "Job", "FlowTriggerDelivery", "SourceSync"].includes(m))).toEqual([]);
    expect(fingerprints.length).toBeGreaterThan(30);
  });

  it("would notice a leak: A's own pages do carry A's fingerprints", async () => {
    const tokenA = signSessionToken({ shop: TEST_SHOP });
    const list = await admin.data("/app/recoveries", "routes/app.recoveries._index", tokenA);
    const detail = await admin.data(`/app/recoveries/${A.recovery}`, "routes/app.recoveries.$id", tokenA);
    for (const body of [list.body, detail.body]) expect(fingerprints.some((f) => JSON.stringify(body).includes(f))).toBe(true);
    // A's own sign-in records its granted scopes on its Shop row: that is A's doing, so it is the new baseline.
    before = await snapshot(A);
  });
});

describe("embedded admin: shop B's session token against shop A's ids", () => {
  const adminRoutes = Object.entries(ROUTES).filter(([id, c]) => PRESENT.has(id) && (c.kind === "admin" || c.kind === "admin-id"));

  it.each(adminRoutes)("%s", async (routeId, klass) => {
    const module = admin.app.build.routes[routeId]!.module as { loader?: unknown; action?: unknown };
    const query = `?after=${A.cursor}&before=${A.cursor}&q=${encodeURIComponent(A.email)}&recoveryId=${A.recovery}&id=${A.recovery}`;
    const targets =
      klass.kind === "admin-id"
        ? [
            { url: urlOf(routeId, klass.param(A)), ofA: true },
            { url: urlOf(routeId, klass.param(B)), ofA: false }, // B's own page, with A's ids in the form
          ]
        : [{ url: urlOf(routeId), ofA: false }];

    for (const { url, ofA } of targets) {
      if (module.loader) {
        const { status, body } = await admin.data(url + query, routeId, tokenB());
        if (ofA) expect(status, `${url} loader`).toBe(404);
        else expect(status, `${url} loader`).toBeLessThan(400);
        expectNoDataOfA(body);
        const page = await admin.app.handle(embeddedRequest(url, tokenB(), OTHER_SHOP));
        expect(page.status, `${url} page`).toBe(ofA ? 404 : 200);
        expectNoDataOfA(await page.text());
      }
      if (module.action) {
        for (const intent of [...intentsOf(routeId), "no-such-intent"]) {
          const form = hostileForm(intent, A);
          const { status, body } = await admin.post(url, routeId, form, tokenB());
          expect(status, `${url} ${intent}`).toBeLessThan(500);
          if (ofA && intent !== "no-such-intent") expect(status, `${url} ${intent}`).toBe(404);
          expectNoDataOfA(body, Object.values(form));
        }
      }
    }
    await expectAUnchanged();
  });

  it("answers B exactly as for an id that does not exist (no way to tell A's ids exist)", async () => {
    for (const [routeId, klass] of adminRoutes) {
      if (klass.kind !== "admin-id") continue;
      const ofA = await admin.data(urlOf(routeId, klass.param(A)), routeId, tokenB());
      const missing = await admin.data(
        urlOf(routeId, Object.fromEntries(Object.keys(klass.param(A)).map((k) => [k, "cm0000000000000000000000"]))),
        routeId,
        tokenB(),
      );
      expect(ofA).toEqual(missing);
    }
  });
});

describe("public email links", () => {
  it("a link in B's email acts on B's contact only, even when A has a contact with the same address", async () => {
    const { messageLinks } = await import("~/email/links.server");
    // B's buyer with A's buyer's address (the same person shops at both).
    const contact = await db.contact.create({ data: { shopId: B.shop, email: A.email } });
    const recovery = await db.recovery.create({
      data: {
        shopId: B.shop,
        source: "shopify",
        externalId: "gid://shopify/AbandonedCheckout/beta-same-buyer",
        contactId: contact.id,
        email: A.email,
        consent: "opt_in",
        totalMinor: 100,
        currency: "USD",
        recoveryUrl: "https://beta.example/recover",
        abandonedAt: new Date(),
        sourceUpdatedAt: new Date(),
      },
    });
    const message = await db.message.create({
      data: {
        shopId: B.shop,
        recoveryId: recovery.id,
        campaignId: B.campaign,
        stepId: B.step,
        position: 1,
        status: "sent",
        scheduledFor: new Date(),
        sentAt: new Date(),
        toEmail: A.email,
      },
    });
    const links = messageLinks(message.id);

    const click = await admin.app.handle(new Request(links.clickUrl));
    expect(click.status).toBe(302);
    expect(click.headers.get("location")).toBe("https://beta.example/recover");
    const unsubscribe = await admin.app.handle(
      new Request(`${links.unsubscribeUrl}&_data=routes/email.unsubscribe`, { method: "POST", body: new URLSearchParams({ "List-Unsubscribe": "One-Click" }) }),
    );
    expect(unsubscribe.status).toBe(200);
    expect((await db.contact.findUniqueOrThrow({ where: { id: contact.id } })).unsubscribedAt).not.toBeNull();
    expect(await db.click.count({ where: { messageId: message.id } })).toBe(1);
    await expectAUnchanged();
  });
});

describe("Shopify webhooks: deliveries for shop B naming shop A's checkouts, orders and customers", () => {
  it("change B's rows only", async () => {
    const deliver = (uri: string, topic: string, body: unknown) => admin.app.handle(shopifyWebhookRequest(uri, topic, body, { shop: OTHER_SHOP }));
    const at = new Date(Date.now() - 3_600_000).toISOString();
    const checkout = {
      id: "alpha1",
      token: A.checkoutToken,
      cart_token: A.cartToken,
      email: A.email,
      created_at: at,
      updated_at: at,
      total_price: "12.00",
      currency: "USD",
      abandoned_checkout_url: "https://beta.example/ac",
      line_items: [],
    };
    const covered = new Set<string>();
    for (const [routeId, klass] of Object.entries(ROUTES)) {
      if (klass.kind !== "shopify-webhook") continue;
      for (const topic of klass.topics) {
        covered.add(routeId);
        if (topic === "app/uninstalled") continue; // last, below: it stops B's jobs
        const body = topic.startsWith("checkouts/")
          ? checkout
          : topic === "orders/create"
            ? {
                id: 990001,
                admin_graphql_api_id: "gid://shopify/Order/990001",
                email: A.email,
                checkout_token: A.checkoutToken,
                cart_token: A.cartToken,
                total_price: "12.00",
                currency: "USD",
                created_at: at,
              }
            : topic.startsWith("customers/")
              ? {
                  shop_id: 1,
                  shop_domain: OTHER_SHOP,
                  customer: { id: 7001, email: A.email },
                  orders_requested: [990001],
                  orders_to_redact: [990001],
                  data_request: { id: 1 },
                }
              : topic === "app/scopes_update"
                ? { id: 1, previous: ["read_orders"], current: ["read_orders"], updated_at: at }
                : { id: 1, domain: OTHER_SHOP };
        const response = await deliver(urlOf(routeId), topic, body);
        expect(response.status, topic).toBe(200);
        // Processed one by one: the checkout must be seen before customers/redact erases B's copy of it.
        await drainJobs();
        if (topic === "checkouts/update") {
          // Processed for B (so "A unchanged" below is not just nothing having run).
          expect(await db.recovery.findFirst({ where: { shopId: B.shop, checkoutToken: A.checkoutToken } })).toMatchObject({ email: A.email });
        }
        await expectAUnchanged();
      }
    }
    expect([...covered].sort()).toEqual(
      Object.entries(ROUTES)
        .filter(([, c]) => c.kind === "shopify-webhook")
        .map(([id]) => id)
        .filter((id) => PRESENT.has(id))
        .sort(),
    );
    expect(await db.inboundEvent.count({ where: { receiver: OTHER_SHOP, source: "shopify", processedAt: null, externalId: { not: "beta-webhook-1" } } })).toBe(
      0,
    );
  });
});

describe("Stripe webhooks: events for B's connection naming A's sessions", () => {
  it("change B's rows only, and A's endpoint refuses B's signature", async () => {
    const to = (connection: string, event: unknown, secret: string) =>
      admin.app.handle(stripeWebhookRequest(`/webhooks/stripe/${connection}`, event, { secret }));
    // Same session ids as A's recoveries, A's buyer, and a completion "recovered from" A's expired session.
    const expired = stripeEvent("checkout.session.expired", expiredSession({ id: A.stripeSessionId, email: A.email }));
    const completed = stripeEvent("checkout.session.completed", completedSession({ email: A.email, recoveredFrom: A.otherStripeSessionId }));
    const succeeded = stripeEvent(
      "checkout.session.async_payment_succeeded",
      completedSession({ id: A.otherStripeSessionId, email: A.email, recoveredFrom: A.stripeSessionId }),
    );
    for (const event of [expired, completed, succeeded]) expect((await to(B.connection, event, SECRET_B)).status).toBe(200);

    // B's secret is not A's: A's endpoint refuses the event and stores nothing.
    expect((await to(A.connection, stripeEvent("checkout.session.expired", expiredSession({ email: A.email })), SECRET_B)).status).toBe(400);

    await drainJobs();
    expect(await db.recovery.findFirst({ where: { shopId: B.shop, externalId: A.stripeSessionId } })).toMatchObject({ email: A.email });
    expect(await db.purchase.count({ where: { shopId: B.shop, source: "stripe" } })).toBeGreaterThanOrEqual(1);
    await expectAUnchanged();
  });
});

describe("checkout pixel: events under B's collector key naming A's checkout", () => {
  it("change B's rows only, and B's key cannot file an event under A", async () => {
    const { collectorKeyFor } = await import("~/sources/pixel/collector-key.server");
    const event = (shop: string, key: string, id: string) =>
      new Request("https://reclaim.test/pixel/events", {
        method: "POST",
        headers: { "content-type": "text/plain", "x-forwarded-for": "203.0.113.9" },
        body: JSON.stringify({
          v: 1,
          shop,
          key,
          event: { id, name: "checkout_started", at: new Date().toISOString() },
          checkout: {
            token: A.checkoutToken,
            email: A.email,
            buyerAcceptsEmailMarketing: true,
            currencyCode: "USD",
            totalPrice: { amount: 12, currencyCode: "USD" },
            subtotalPrice: null,
            lineItemCount: 0,
            lineItems: [],
          },
        }),
      });
    expect((await admin.app.handle(event(OTHER_SHOP, collectorKeyFor(OTHER_SHOP), "beta-pixel-event-2"))).status).toBe(202);
    expect((await admin.app.handle(event(TEST_SHOP, collectorKeyFor(OTHER_SHOP), "beta-pixel-event-3"))).status).toBe(403);
    await drainJobs();
    const merged = await db.pixelCheckout.findFirstOrThrow({ where: { shop: { domain: OTHER_SHOP }, checkoutToken: A.checkoutToken } });
    expect(merged).toMatchObject({ error: null, processedAt: expect.any(Date), processedCount: merged.eventCount });
    await expectAUnchanged();
  });
});

/** Every job the runner knows: what payload would make it act on A's rows, or why no payload can. */
const JOBS: Record<string, ((ids: ShopIds) => Promise<Record<string, string>> | Record<string, string>) | { none: string }> = {
  "send-shop-messages": (ids) => ({ shopId: ids.shop }),
  "prepare-incentive-codes": (ids) => ({ shopId: ids.shop }),
  "process-shopify-webhook": async (ids) => ({
    inboundEventId: (await db.inboundEvent.findFirstOrThrow({ where: { receiver: ids.domain, source: "shopify" } })).id,
  }),
  "process-stripe-event": async (ids) => ({ inboundEventId: (await db.inboundEvent.findFirstOrThrow({ where: { receiver: ids.connection } })).id }),
  "enrich-stripe-recovery": async (ids) => ({ inboundEventId: (await db.inboundEvent.findFirstOrThrow({ where: { receiver: ids.connection } })).id }),
  "process-pixel-event": async (ids) => ({ pixelCheckoutId: (await db.pixelCheckout.findFirstOrThrow({ where: { shopId: ids.shop } })).id }),
  "mirror-unsubscribe-to-shopify": (ids) => ({ contactId: ids.contact }),
  "shop-installed": (ids) => ({ shopId: ids.shop }),
  "sync-shopify-checkouts": (ids) => ({ shopId: ids.shop }),
  "activate-web-pixel": (ids) => ({ shopId: ids.shop }),
  "refresh-shop-details": (ids) => ({ shopId: ids.shop }),
  "fire-flow-trigger": { none: "A has no Flow delivery in this matrix; the job checks the delivery's shop like the others" },
  "send-due-messages": { none: "the sweep across all shops: it carries no shop and enqueues each shop's send job in that shop's own lane" },
  "repair-split-checkouts": {
    none: "a one-off repair across all shops: it carries no shop and merges only rows of one shop sharing one cart token, each under that shop's ingest lock",
  },
  "prune-retention": {
    none: "retention across all shops: it carries no shop and deletes only by age (old webhook bodies, old finished jobs), never by a shop's request",
  },
};

describe("jobs for shop B naming A's rows", () => {
  it("classifies every job the runner knows", async () => {
    const { jobDefinitions } = await import("~/jobs/registry.server");
    expect(jobDefinitions.map((d) => d.name).filter((name) => !JOBS[name])).toEqual([]);
  });

  it.each(Object.entries(JOBS).filter(([, j]) => typeof j === "function"))("%s leaves A untouched and fails, saying why", async (name, payload) => {
    const { enqueueJob } = await import("~/jobs/queue.server");
    const { JobRunner } = await import("../helpers/jobs");
    const { jobDefinitions } = await import("~/jobs/registry.server");
    const definition = jobDefinitions.find((d) => d.name === name);
    if (!definition) throw new Error(`${name} is listed in JOBS but not registered`);
    const id = await enqueueJob(db, name as import("~/jobs/queue.server").JobName, await (payload as (ids: ShopIds) => Promise<Record<string, string>>)(A), {
      shopId: B.shop,
    });
    await new JobRunner({ db, definitions: [definition] }).drain();
    await expectAUnchanged();
    expect(await jobTable(db).findUniqueOrThrow({ where: { id } })).toMatchObject({
      status: "failed",
      lastError: expect.stringMatching(/belongs to another shop/),
    });
  });
});

describe("app/uninstalled for shop B", () => {
  it("uninstalls B only", async () => {
    const response = await admin.app.handle(
      shopifyWebhookRequest(urlOf("routes/webhooks.app.uninstalled"), "app/uninstalled", { id: 1, domain: OTHER_SHOP }, { shop: OTHER_SHOP }),
    );
    expect(response.status).toBe(200);
    await drainJobs();
    expect((await db.shop.findUniqueOrThrow({ where: { id: B.shop } })).uninstalledAt).not.toBeNull();
    await expectAUnchanged();
  });
});
