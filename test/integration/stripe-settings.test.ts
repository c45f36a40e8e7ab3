import type { PrismaClient, Shop } from "@prisma/client";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { loadApp } from "../helpers/app-server";
import { bearerRequest, embeddedRequest, offlineSession, OTHER_SHOP, signSessionToken, TEST_SHOP } from "../helpers/shopify";
import { expiredSession, stripeEvent } from "../../app/demo/fakes/stripe-api/objects";
import { FakeStripeApi } from "../../app/demo/fakes/stripe-api/server";
import { stripeWebhookRequest } from "../../app/demo/fakes/stripe-api/webhooks";
import { jobTable } from "../helpers/jobs";

const SECRET = "whsec_settingsPageSecret0123456789abcdef";
const NEW_SECRET = "whsec_settingsPageRotated0123456789abcde";
const API_KEY = "rk_test_51SettingsRestrictedKey0123456789wxyz";
const UNKNOWN_KEY = "rk_test_51DeletedRestrictedKey0123456789dead";
const NO_PERMISSION_KEY = "rk_test_51NoCheckoutPermission0123456789nope";
const ALL_SECRETS = [SECRET, NEW_SECRET, API_KEY, UNKNOWN_KEY, NO_PERMISSION_KEY];

const fake = new FakeStripeApi().addKey(API_KEY).addKey(NO_PERMISSION_KEY, { checkoutSessionRead: false });
let app: Awaited<ReturnType<typeof loadApp>>;
let db: PrismaClient;
let shop: Shop;

// Everything the app writes to stdout/stderr while this file runs, at the most verbose log level.
const output: string[] = [];
const restore: Array<() => void> = [];
function capture() {
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream);
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      output.push(String(chunk));
      return (write as (...a: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof stream.write;
    restore.push(() => (stream.write = write));
  }
  for (const method of ["log", "info", "warn", "error", "debug"] as const) {
    const original = console[method];
    console[method] = (...args: unknown[]) => {
      output.push(args.map((a) => (a instanceof Error ? `${a.message} ${a.stack}` : typeof a === "string" ? a : JSON.stringify(a))).join(" "));
    };
    restore.push(() => (console[method] = original));
  }
}

beforeAll(async () => {
  process.env.STRIPE_API_BASE = await fake.start();
  process.env.LOG_LEVEL = "debug"; // so that any log line that could carry a secret is written
  capture();
  app = await loadApp();
  db = (await import("~/db.server")).db;
  const { sessionStorage } = await import("~/shopify.server");
  await sessionStorage.storeSession(offlineSession(TEST_SHOP));
  await sessionStorage.storeSession(offlineSession(OTHER_SHOP));
  await app.handle(embeddedRequest("/app")); // first visit creates the shop
  shop = await db.shop.findUniqueOrThrow({ where: { domain: TEST_SHOP } });
});
afterAll(async () => {
  restore.forEach((undo) => undo());
  await app?.close();
  await fake.close();
});
// Each test starts with the shop not connected and sets up what it needs (connect()), so they pass in any order.
// Disconnecting goes through the page, as a merchant would: it also drops the app's cached signing secrets.
beforeEach(async () => {
  for (const row of await db.stripeConnection.findMany({ where: { shopId: shop.id }, select: { id: true } })) {
    expect((await submit({ intent: "disconnect", connectionId: row.id })).status).toBe(200);
  }
  fake.requests.length = 0;
});

const pages: string[] = [];
async function view(shopDomain = TEST_SHOP) {
  const response = await app.handle(embeddedRequest("/app/settings/stripe", signSessionToken({ shop: shopDomain }), shopDomain));
  const html = await response.text();
  pages.push(html);
  return { status: response.status, html };
}
async function submit(fields: Record<string, string>, shopDomain = TEST_SHOP) {
  const body = new URLSearchParams(fields);
  const request = bearerRequest(
    "/app/settings/stripe",
    { method: "POST", body, headers: { "content-type": "application/x-www-form-urlencoded" } },
    signSessionToken({ shop: shopDomain }),
  );
  const response = await app.handle(request);
  const html = await response.text();
  pages.push(html);
  return { status: response.status, html };
}
const connectionCount = () => db.stripeConnection.count({ where: { shopId: shop.id } });
async function connect() {
  expect((await submit({ intent: "connect", webhookSecret: SECRET, apiKey: API_KEY })).status).toBe(200);
  return db.stripeConnection.findFirstOrThrow({ where: { shopId: shop.id } });
}

describe("Settings → Stripe", () => {
  it("shows the endpoint URL to register, the four event types, and what Stripe's defaults cost, with the exact parameters", async () => {
    const { proposedConnectionId } = await import("~/models/stripe-connection.server");
    const { status, html } = await view();
    expect(status).toBe(200);
    expect(html).toContain("Polaris-Page");
    expect(html).toContain(`https://reclaim.test/webhooks/stripe/${proposedConnectionId(shop.id)}`);
    for (const type of [
      "checkout.session.expired",
      "checkout.session.completed",
      "checkout.session.async_payment_succeeded",
      "checkout.session.async_payment_failed",
    ]) {
      expect(html).toContain(type);
    }
    for (const parameter of ["expires_at", "after_expiration.recovery.enabled", "consent_collection.promotions", "client_reference_id"]) {
      expect(html).toContain(parameter);
    }
    expect(html).toMatch(/30\s+minutes/);
    expect(html).toMatch(/24 hours/);
    expect(html).toContain("Not connected");
  });

  it.each([
    [{ webhookSecret: "" }, "webhookSecret", /starts with whsec_/],
    [{ webhookSecret: "sk_test_abcdefghijklmnopqrstuvwx" }, "webhookSecret", /This is an API key, not a signing secret/],
    [{ webhookSecret: "whsec_short" }, "webhookSecret", /cut short/],
    [{ webhookSecret: SECRET, apiKey: "sk_live_abcdefghijklmnopqrstuvwxyz" }, "apiKey", /secret key with full access/],
    [{ webhookSecret: SECRET, apiKey: UNKNOWN_KEY }, "apiKey", /Stripe did not accept this key/],
    [{ webhookSecret: SECRET, apiKey: NO_PERMISSION_KEY }, "apiKey", /cannot read Checkout Sessions/],
  ])("refuses %j with a field error and saves nothing", async (fields, _field, message) => {
    const { status, html } = await submit({ intent: "connect", ...fields });
    expect(status).toBe(422);
    expect(html.replaceAll("&#x27;", "'").replaceAll("&quot;", '"')).toMatch(message);
    expect(await connectionCount()).toBe(0);
  });

  it("checks a key with one cheap call to Stripe", async () => {
    await submit({ intent: "connect", webhookSecret: SECRET, apiKey: UNKNOWN_KEY });
    expect(fake.requests).toEqual([expect.objectContaining({ method: "GET", path: "/v1/checkout/sessions", query: { limit: "1" }, apiKey: UNKNOWN_KEY })]);
  });

  it("connects with a valid secret and key, stores both encrypted, and shows only that they are set", async () => {
    const { proposedConnectionId } = await import("~/models/stripe-connection.server");
    const { decryptSecret } = await import("~/security/encryption.server");
    const { status, html } = await submit({ intent: "connect", webhookSecret: `  ${SECRET} `, apiKey: API_KEY });
    expect(status).toBe(200);
    expect(html).toContain("Stripe is connected");
    const row = await db.stripeConnection.findFirstOrThrow({ where: { shopId: shop.id } });
    // The URL shown before connecting is the one that works after.
    expect(row.id).toBe(proposedConnectionId(shop.id));
    expect(row.webhookSecretEncrypted).not.toContain(SECRET.slice(6));
    expect(row.apiKeyEncrypted).not.toContain(API_KEY.slice(8));
    expect(decryptSecret(row.webhookSecretEncrypted, { model: "StripeConnection", column: "webhookSecretEncrypted", rowId: row.id })).toBe(SECRET);
    expect(decryptSecret(row.apiKeyEncrypted!, { model: "StripeConnection", column: "apiKeyEncrypted", rowId: row.id })).toBe(API_KEY);
    expect(row).toMatchObject({ apiKeyLast4: "wxyz", livemode: false });

    const page = await view();
    expect(page.html).toContain("Set, ending in wxyz (test mode)");
    expect(page.html).toContain(`/webhooks/stripe/${row.id}`);
  });

  it("rotates the signing secret: both verify for 24 hours, and the page says until when", async () => {
    const row = await connect();
    const rejected = await submit({ intent: "rotate", connectionId: row.id, webhookSecret: SECRET });
    expect(rejected.status).toBe(422);
    expect(rejected.html).toContain("already the current signing secret");

    const { status, html } = await submit({ intent: "rotate", connectionId: row.id, webhookSecret: NEW_SECRET });
    expect(status).toBe(200);
    expect(html).toContain("keeps working for 24 hours");
    const rotated = await db.stripeConnection.findUniqueOrThrow({ where: { id: row.id } });
    expect(rotated.previousSecretExpiresAt!.getTime()).toBeGreaterThan(Date.now() + 23.9 * 3600_000);
    expect((await view()).html).toMatch(/Rotating: events signed with the previous secret are accepted until \d{4}-\d\d-\d\d \d\d:\d\d UTC/);

    for (const secret of [SECRET, NEW_SECRET]) {
      const response = await app.handle(
        stripeWebhookRequest(`/webhooks/stripe/${row.id}`, stripeEvent("checkout.session.expired", expiredSession()), { secret }),
      );
      expect(response.status).toBe(200);
    }

    await submit({ intent: "end-rotation", connectionId: row.id });
    const ended = await app.handle(
      stripeWebhookRequest(`/webhooks/stripe/${row.id}`, stripeEvent("checkout.session.expired", expiredSession()), { secret: SECRET }),
    );
    expect(ended.status).toBe(400);
  });

  it("does not let another shop change this shop's connection", async () => {
    const row = await connect();
    for (const intent of ["rotate", "end-rotation", "remove-api-key", "disconnect"]) {
      const { status } = await submit({ intent, connectionId: row.id, webhookSecret: "whsec_attackerSecret0123456789abcdefghij" }, OTHER_SHOP);
      expect(status).toBe(422);
    }
    expect(await db.stripeConnection.findUniqueOrThrow({ where: { id: row.id } })).toEqual(row);
    // And its own page shows its own (proposed) endpoint, not this shop's.
    expect((await view(OTHER_SHOP)).html).not.toContain(row.id);
  });

  it("removes the key, then disconnects: the endpoint refuses events from then on", async () => {
    const row = await connect();
    await submit({ intent: "remove-api-key", connectionId: row.id });
    expect(await db.stripeConnection.findUniqueOrThrow({ where: { id: row.id } })).toMatchObject({ apiKeyEncrypted: null, apiKeyLast4: null });
    const { html } = await submit({ intent: "disconnect", connectionId: row.id });
    expect(html).toContain("Stripe is disconnected");
    expect(await connectionCount()).toBe(0);
    const response = await app.handle(
      stripeWebhookRequest(`/webhooks/stripe/${row.id}`, stripeEvent("checkout.session.expired", expiredSession()), { secret: NEW_SECRET }),
    );
    expect(response.status).toBe(400);
  });

  it("answers an unknown form intent with 400", async () => {
    expect((await submit({ intent: "drop-tables" })).status).toBe(400);
  });
});

describe("secrets", () => {
  it("appear in no rendered page and no log line, through connecting, rotating, refused keys, webhooks and processing", async () => {
    // A full cycle of its own (pages and log lines of the other tests in this file, whichever ran before, are checked too).
    const pagesBefore = pages.length;
    await submit({ intent: "connect", webhookSecret: SECRET, apiKey: UNKNOWN_KEY }); // refused key
    const row = await connect();
    await app.handle(stripeWebhookRequest(`/webhooks/stripe/${row.id}`, stripeEvent("checkout.session.expired", expiredSession()), { secret: SECRET }));
    await app.handle(stripeWebhookRequest(`/webhooks/stripe/${row.id}`, stripeEvent("checkout.session.expired", expiredSession()), { secret: NEW_SECRET })); // refused
    await submit({ intent: "rotate", connectionId: row.id, webhookSecret: NEW_SECRET });
    await view(); // the page during the rotation
    await submit({ intent: "end-rotation", connectionId: row.id });
    const { JobRunner } = await import("../helpers/jobs");
    const { jobDefinitions } = await import("~/jobs/registry.server");
    // Only the Stripe jobs: the install job of the first visit would try to reach Shopify.
    await jobTable(db).deleteMany({ where: { name: { not: "process-stripe-event" } } });
    await new JobRunner({ db, definitions: jobDefinitions, onEvent: (e) => console.log("job", JSON.stringify(e)) }).drain();
    await view();

    expect(pages.length - pagesBefore).toBeGreaterThanOrEqual(6);
    expect(output.join("\n")).toContain("stripe webhook refused"); // the capture works, at debug level
    for (const secret of ALL_SECRETS) {
      const body = secret.slice(secret.indexOf("_", 3) + 1); // the part after whsec_ / rk_test_
      for (const html of pages) expect(html).not.toContain(body);
      for (const line of output) expect(line).not.toContain(body);
    }
  });
});
