/**
 * Bodies over 1 MB and JSON nested past 64 levels are refused before anything parses or stores them, on every route
 * that reads a body, and by the Express server in front of all of them.
 */
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import express from "express";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { refuseOversizedBodies } from "../../server/body-limit";
import { startAdminApp } from "../helpers/admin-app";
import { seedShop } from "../helpers/seed";
import { OTHER_SHOP, shopifyWebhookRequest, signSessionToken, TEST_SHOP } from "../helpers/shopify";
import { stripeWebhookRequest } from "../../app/demo/fakes/stripe-api/webhooks";
import { jobTable } from "../helpers/jobs";

const MB = 1024 * 1024;
const SECRET = "whsec_bodyLimitsSecret0123456789abcdefgh";
let admin: Awaited<ReturnType<typeof startAdminApp>>;
let connectionId: string;
let ids: Record<string, string>;

beforeAll(async () => {
  admin = await startAdminApp();
  const seeded = await seedShop(admin.db, TEST_SHOP);
  const shop = seeded.shop;
  const compliance = await admin.db.complianceRequest.create({
    data: { shopId: shop.id, topic: "customers/data_request", inboundEventId: "limits-dr", status: "done", export: "{}" },
  });
  // A real id of the shop's own for each `$id` route, so each action gets as far as reading its body.
  ids = { "app.recoveries": seeded.shopifyRecoveries[0]!.id, "app.campaigns": seeded.campaign.id, "app.privacy.exports": compliance.id };
  await admin.db.shop.create({ data: { domain: OTHER_SHOP } });
  const { connectStripe } = await import("~/models/stripe-connection.server");
  const connected = await connectStripe(admin.db, shop.id, { webhookSecret: SECRET });
  if (!connected.ok) throw new Error("could not connect Stripe");
  connectionId = connected.connection.id;
});
afterAll(() => admin?.close());

/** A body of `bytes` bytes, sent with its length declared, or streamed in chunks with no length (chunked encoding). */
function body(bytes: number, declared: boolean): { body: BodyInit; headers: Record<string, string>; duplex?: "half" } {
  const chunk = new Uint8Array(64 * 1024).fill(0x61);
  if (declared) return { body: new Uint8Array(bytes).fill(0x61), headers: { "content-length": String(bytes) } };
  let sent = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent >= bytes) return controller.close();
      const next = chunk.subarray(0, Math.min(chunk.length, bytes - sent));
      sent += next.length;
      controller.enqueue(next);
    },
  });
  return { body: stream, headers: {}, duplex: "half" };
}

/** Every route that has an action, with the path and authentication it needs. */
function postTargets(): { routeId: string; url: string; headers: Record<string, string> }[] {
  const routes = admin.app.build.routes;
  const targets = [];
  for (const [routeId, route] of Object.entries(routes)) {
    if (!(route.module as { action?: unknown }).action) continue;
    const segments: string[] = [];
    for (let r: (typeof routes)[string] | undefined = route; r; r = r.parentId ? routes[r.parentId] : undefined) if (r.path) segments.unshift(r.path);
    const owner = Object.entries(ids).find(([prefix]) => routeId.startsWith(`routes/${prefix}.`))?.[1];
    const path =
      "/" +
      segments
        .join("/")
        .replace(":connectionId", connectionId)
        .replace(/:(\w+)/g, owner ?? "cm0000000000000000000000");
    const admin = routeId.startsWith("routes/app");
    targets.push({
      routeId,
      url: `${path}?_data=${encodeURIComponent(routeId)}${routeId === "routes/email.unsubscribe" ? "&t=x.y" : ""}`,
      headers: {
        "content-type": routeId.startsWith("routes/webhooks") || routeId === "routes/pixel.events" ? "application/json" : "application/x-www-form-urlencoded",
        ...(admin ? { authorization: `Bearer ${signSessionToken()}` } : {}),
        // Shopify's headers, signed over nothing: the size check comes before the HMAC.
        ...(routeId.startsWith("routes/webhooks.") && !routeId.includes("stripe")
          ? {
              "x-shopify-hmac-sha256": "AAAA",
              "x-shopify-topic": "orders/create",
              "x-shopify-shop-domain": TEST_SHOP,
              "x-shopify-webhook-id": "w1",
              "x-shopify-api-version": "2026-10",
            }
          : {}),
      },
    });
  }
  return targets;
}

describe("over 1 MB", () => {
  it("finds the routes that take a body (so none is left out below)", () => {
    const ids = postTargets().map((t) => t.routeId);
    expect(ids).toEqual(
      expect.arrayContaining(["routes/app.settings._index", "routes/webhooks.checkouts", "routes/webhooks.stripe.$connectionId", "routes/email.unsubscribe"]),
    );
  });

  it.each([
    ["declared in Content-Length", true],
    ["streamed without a length", false],
  ])("every action answers 413 to a body %s, and stores nothing", async (_how, declared) => {
    const before = { events: await admin.db.inboundEvent.count(), jobs: await jobTable(admin.db).count() };
    for (const target of postTargets()) {
      const { body: b, headers, duplex } = body(MB + 1, declared);
      const response = await admin.app.handle(
        new Request(new URL(target.url, "https://reclaim.test"), {
          method: "POST",
          body: b,
          headers: { ...target.headers, ...headers },
          ...(duplex ? { duplex } : {}),
        } as RequestInit),
      );
      // The benchmark's verify-only endpoint is off outside the benchmark: 404 before it reads anything.
      expect(response.status, target.routeId).toBe(target.routeId.includes("stripe-verify-only") ? 404 : 413);
    }
    expect({ events: await admin.db.inboundEvent.count(), jobs: await jobTable(admin.db).count() }).toEqual(before);
  });

  it("a form just under the limit is read normally (the limit is not off by much)", async () => {
    const filler = "x".repeat(MB - 200);
    const { status, body: answer } = await admin.post("/app/settings", "routes/app.settings._index", { intent: "policy", postalAddress: filler });
    expect(status).toBe(400); // read and validated: field errors, not a refusal
    expect(answer.fieldErrors).toBeTruthy();
  });
});

describe("deeply nested JSON", () => {
  const deep = (levels: number) => "[".repeat(levels) + "]".repeat(levels);

  it("a Shopify webhook nested past 64 levels is refused with 400 before its HMAC is even checked", async () => {
    const unsigned = await admin.app.handle(shopifyWebhookRequest("/webhooks/orders/create", "orders/create", `{"a":${deep(100_000)}}`, { hmac: "AAAA" }));
    expect(unsigned.status).toBe(400);
    expect(await unsigned.text()).toMatch(/nested deeper than 64/);
    // 64 levels of a signed payload are fine.
    const ok = await admin.app.handle(shopifyWebhookRequest("/webhooks/orders/create", "orders/create", `{"a":${deep(63)}}`));
    expect(ok.status).toBe(200);
  });

  it("a signed Stripe event nested past 64 levels is refused with 400 and not stored", async () => {
    const before = await admin.db.inboundEvent.count();
    const response = await admin.app.handle(
      stripeWebhookRequest(`/webhooks/stripe/${connectionId}`, null, { secret: SECRET, body: `{"id":"evt_1","object":"event","data":${deep(10_000)}}` }),
    );
    expect(response.status).toBe(400);
    expect(await response.text()).toMatch(/nested deeper than 64/);
    expect(await admin.db.inboundEvent.count()).toBe(before);
  });
});

describe("unreadable bodies", () => {
  it.each([
    ["a signed Shopify body that is not JSON", () => shopifyWebhookRequest("/webhooks/checkouts", "checkouts/create", "{not json")],
    ["a signed Shopify body that is JSON but not an object", () => shopifyWebhookRequest("/webhooks/checkouts", "checkouts/create", "[1,2,3]")],
    [
      "a truncated multipart form",
      () =>
        new Request("https://reclaim.test/app/settings?_data=routes%2Fapp.settings._index", {
          method: "POST",
          headers: { authorization: `Bearer ${signSessionToken()}`, "content-type": "multipart/form-data; boundary=xyz" },
          body: '--xyz\r\nContent-Disposition: form-data; name="intent"\r\n\r\npoli',
        }),
    ],
    [
      "a form post with no body and no content type",
      () => new Request("https://reclaim.test/app?_data=routes%2Fapp._index", { method: "POST", headers: { authorization: `Bearer ${signSessionToken()}` } }),
    ],
  ])("%s gets 400, not 500", async (_what, request) => {
    expect((await admin.app.handle(request())).status).toBe(400);
  });
});

describe("the Express server", () => {
  it("answers 413 to any route whose declared body is over 1 MB, before the app sees it", async () => {
    let reached = 0;
    const app = express();
    app.use(refuseOversizedBodies());
    app.all("*", (_req, res) => {
      reached++;
      res.status(200).end("ok");
    });
    const server = app.listen(0, "127.0.0.1");
    await once(server, "listening");
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const big = await fetch(`${base}/anything/at/all`, { method: "POST", body: new Uint8Array(MB + 1) });
      expect(big.status).toBe(413);
      expect(await big.text()).toMatch(/too large/);
      const small = await fetch(`${base}/webhooks/checkouts`, { method: "POST", body: "{}" });
      expect(small.status).toBe(200);
      expect(reached).toBe(1);
    } finally {
      server.close();
    }
  });
});
