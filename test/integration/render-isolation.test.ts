// A hostile template through the real app (docs/decisions/079): the campaign editor's preview, save and test email, and
// a real send, render in worker threads with a hard time limit. The merchant gets a clear error; a Shopify webhook that
// arrives meanwhile is answered at once; previews and test emails are limited per shop (429 with the reason in words).
import { monitorEventLoopDelay } from "node:perf_hooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAdminApp } from "../helpers/admin-app";
import { H, MIN, shopifyCheckout, startPipeline, type Pipeline } from "../helpers/pipeline";
import { shopifyWebhookRequest, signSessionToken, TEST_SHOP } from "../helpers/shopify";

/**
 * 10^9 loop iterations: with the default limits LiquidJS stops it after 2 s (its own limit, checked between nodes), in
 * the worker; the worker's hard limit (its termination) is test/unit/render-pool.test.ts's subject.
 */
const SPIN = "{% for i in (1..1000) %}{% for j in (1..1000) %}{% for k in (1..1000) %}{% endfor %}{% endfor %}{% endfor %}";
const LIMITED_SHOP = "preview-limit.myshopify.com";
const NEIGHBOUR = "preview-neighbour.myshopify.com";

let admin: Awaited<ReturnType<typeof startAdminApp>>;
let db: typeof admin.db;
const campaigns: Record<string, { id: string; stepId: string }> = {};

beforeAll(async () => {
  admin = await startAdminApp([TEST_SHOP, LIMITED_SHOP, NEIGHBOUR]);
  db = admin.db;
  const { ensureDefaultCampaign } = await import("~/models/campaign.server");
  for (const domain of [TEST_SHOP, LIMITED_SHOP, NEIGHBOUR]) {
    const shop = await db.shop.create({ data: { domain, postalAddress: "1 Market Street, Springfield" } });
    const campaign = await ensureDefaultCampaign(db, shop.id);
    campaigns[domain] = { id: campaign.id, stepId: (await db.campaignStep.findFirstOrThrow({ where: { campaignId: campaign.id, position: 1 } })).id };
  }
});
afterAll(async () => {
  const { closeRenderPool } = await import("~/email/render-pool.server");
  await closeRenderPool();
  await admin?.close();
});

const ROUTE = "routes/app.campaigns.$id";
function post(domain: string, form: Record<string, string>) {
  const { id, stepId } = campaigns[domain]!;
  const fields = {
    stepId,
    delayHours: "1",
    subject: "Still there?",
    bodyTemplate: "<p>Your cart at {{ shop.name }}</p>",
    incentiveType: "",
    incentiveValue: "",
    incentiveExpiresDays: "",
    ...form,
  };
  return admin.post(`/app/campaigns/${id}`, ROUTE, fields, signSessionToken({ shop: domain }));
}

describe("a template that would spin, in the campaign editor", () => {
  it("gets a clear error in the preview, while a webhook sent meanwhile is answered at once", async () => {
    // Warm: the render workers are up and the webhook route is loaded, so neither start is measured.
    await post(TEST_SHOP, { intent: "preview" });
    await admin.app.handle(shopifyWebhookRequest("/webhooks/orders/create", "orders/create", { id: 1 }, { shop: TEST_SHOP }));
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    const started = performance.now();
    let previewDone = 0;
    const preview = post(TEST_SHOP, { intent: "preview", bodyTemplate: SPIN }).finally(() => (previewDone = performance.now()));
    await new Promise((resolve) => setTimeout(resolve, 200)); // the template is spinning in its worker by now
    const webhookStarted = performance.now();
    const webhook = await admin.app.handle(shopifyWebhookRequest("/webhooks/orders/create", "orders/create", { id: 2 }, { shop: TEST_SHOP }));
    const webhookDone = performance.now();
    const { status, body } = await preview;
    delay.disable();

    expect(status).toBe(200);
    expect(body).toMatchObject({
      ok: false,
      problems: [{ field: "body", line: 1, message: expect.stringMatching(/^This template took too long to render \(over 2 s\) and was stopped/) }],
    });
    expect(previewDone - started).toBeGreaterThanOrEqual(1_900);
    // The webhook was stored and answered while the template was still spinning, without waiting for it.
    expect(webhook.status).toBe(200);
    expect(webhookDone).toBeLessThan(previewDone);
    expect(webhookDone - webhookStarted).toBeLessThan(1_000);
    // On this thread (before: renderEmail ran here) the event loop would have stood still for the whole 2 s.
    expect(delay.max / 1e6).toBeLessThan(1_000);
  });

  it("is refused when saved, with the same error, and nothing is saved", async () => {
    const before = await db.campaignStep.findUniqueOrThrow({ where: { id: campaigns[TEST_SHOP]!.stepId } });
    const { status, body } = await post(TEST_SHOP, { intent: "save-step", bodyTemplate: SPIN });
    expect(status).toBe(400);
    expect(body.problems).toEqual([expect.objectContaining({ field: "body", message: expect.stringMatching(/took too long to render/) })]);
    expect(await db.campaignStep.findUniqueOrThrow({ where: { id: campaigns[TEST_SHOP]!.stepId } })).toEqual(before);
  });

  it("cannot be sent as a test email: the reason is shown on the form", async () => {
    const { status, body } = await post(TEST_SHOP, { intent: "test-email", to: "me@shop.test", bodyTemplate: SPIN });
    expect(status).toBe(400);
    expect(body.fieldErrors.to).toMatch(/^The template could not be rendered: This template took too long to render/);
  });
});

describe("per-shop limits on previews and test emails", () => {
  it("allows 60 previews a minute, then 429 with the reason in words; another shop is unaffected", async () => {
    const { PREVIEW_LIMIT } = await import("~/email/editor-limits.server");
    const request = () =>
      admin.app.handle(
        new Request(`https://reclaim.test/app/campaigns/${campaigns[LIMITED_SHOP]!.id}?_data=${encodeURIComponent(ROUTE)}`, {
          method: "POST",
          headers: { authorization: `Bearer ${signSessionToken({ shop: LIMITED_SHOP })}` },
          body: new URLSearchParams({
            intent: "preview",
            stepId: campaigns[LIMITED_SHOP]!.stepId,
            subject: "Still there?",
            bodyTemplate: "<p>x</p>",
            delayHours: "1",
          }),
        }),
      );
    const started = Date.now();
    let accepted = 0;
    let refused: Response | null = null;
    // One after another, as an editor asks for them, until the shop's allowance runs out.
    while (!refused && accepted < PREVIEW_LIMIT.capacity * 3) {
      const response = await request();
      if (response.status === 200) accepted++;
      else refused = response;
    }
    const refills = Math.ceil(((Date.now() - started) / 1000) * PREVIEW_LIMIT.refillPerSecond) + 1;
    expect(accepted).toBeGreaterThanOrEqual(PREVIEW_LIMIT.capacity);
    expect(accepted).toBeLessThanOrEqual(PREVIEW_LIMIT.capacity + refills);
    expect(refused?.status).toBe(429);
    expect(Number(refused?.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(await refused?.json()).toMatchObject({
      ok: false,
      problems: [],
      message: expect.stringMatching(/^Too many previews for this shop: at most 60 a minute\. The preview comes back in \d+ seconds?\.$/),
    });
    expect((await post(NEIGHBOUR, { intent: "preview" })).status).toBe(200);
  });

  it("allows 5 test emails a minute, then 429 with the reason under the address; another shop is unaffected", async () => {
    const { TEST_SEND_LIMIT } = await import("~/email/editor-limits.server");
    for (let i = 0; i < TEST_SEND_LIMIT.capacity; i++) {
      const sent = await post(LIMITED_SHOP, { intent: "test-email", to: "me@shop.test" });
      expect(sent).toMatchObject({ status: 200, body: { ok: true } });
    }
    const refused = await post(LIMITED_SHOP, { intent: "test-email", to: "me@shop.test" });
    expect(refused.status).toBe(429);
    expect(refused.body.fieldErrors.to).toMatch(/^Too many test emails for this shop: at most 5 a minute\. Try again in \d+ seconds?\.$/);
    // The settings page's test email shares the allowance.
    const settings = await admin.post(
      "/app/settings",
      "routes/app.settings._index",
      { intent: "test-email", to: "me@shop.test" },
      signSessionToken({ shop: LIMITED_SHOP }),
    );
    expect(settings.status).toBe(429);
    expect((await post(NEIGHBOUR, { intent: "test-email", to: "me@shop.test" })).status).toBe(200);
  });
});

describe("a real send", () => {
  let p: Pipeline;
  beforeAll(async () => {
    p = await startPipeline();
  });
  afterAll(() => p?.close());

  it("of a step whose template spins on real data fails as a template error (not retried, nothing sent), and the next shop's email goes out", async () => {
    const hostile = await p.newShop();
    const fine = await p.newShop();
    const t0 = p.clock.now();
    // Saved before this check existed, or spinning only on a real cart: the send path has the same limit.
    await p.db.campaignStep.updateMany({ where: { campaign: { shopId: hostile.id }, position: 1 }, data: { bodyTemplate: SPIN } });
    await p.ingest(hostile, shopifyCheckout(t0, { email: "hostile.buyer@example.com" }));
    await p.ingest(fine, shopifyCheckout(t0, { email: "fine.buyer@example.com" }));
    await p.runAt(new Date(t0.getTime() + H + MIN));

    const failed = await p.db.message.findFirstOrThrow({ where: { shopId: hostile.id, position: 1 } });
    expect(failed).toMatchObject({
      status: "failed",
      attempts: 1,
      lastError: expect.stringMatching(/^The template could not be rendered: body: This template took too long to render \(over 2 s\)/),
    });
    expect(await p.db.decisionLog.count({ where: { messageId: failed.id, outcome: "fail", reason: "template_error" } })).toBe(1);
    expect(p.sink.received.map((m) => m.rcptTo[0])).toEqual(["fine.buyer@example.com"]);
  });
});
