// The pixel against the real recovery pipeline (job runner, sweep, send job with decide(), real SMTP server): pixel data
// alone never causes an email, even once a step would be due; Shopify's confirmation (a signed checkouts webhook) starts
// the campaign, with Shopify's address; a completion only the pixel reports holds a send for a bounded time and never
// becomes a Conversion or a Purchase. Pixel events go through the real collector route.
import type { Shop } from "@prisma/client";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { loadApp } from "../helpers/app-server";
import { H, MIN, shopifyCheckout, shopifyOrder, startPipeline, type Pipeline } from "../helpers/pipeline";
import { collectorRequest, pixelBody, pixelCheckout } from "../helpers/pixel";
import { shopifyWebhookRequest } from "../helpers/shopify";
import type { ReceivedMail } from "../helpers/smtp";
import { collectorKeyFor } from "~/sources/pixel/collector-key.server";
import { PIXEL_COMPLETION_HOLD_MS } from "~/recovery/decide";

let app: Awaited<ReturnType<typeof loadApp>>;
let p: Pipeline;
beforeAll(async () => {
  app = await loadApp();
});
// Each test starts its clock at the real time: the collector dates pixel events by when they really arrive.
beforeEach(async () => {
  p = await startPipeline({ start: new Date(Math.floor(Date.now() / 1000) * 1000) });
});
afterEach(async () => {
  await p?.close();
});
afterAll(async () => {
  await app?.close();
});

const to = (mail: ReceivedMail) => mail.rcptTo[0];
const mailsTo = (address: string) => p.sink.received.filter((m) => to(m) === address);
let n = 0;
const token = () => `pipe${Date.now().toString(36)}${++n}`;

async function pixel(shop: Shop, name: "checkout_contact_info_submitted" | "checkout_completed", checkout: Parameters<typeof pixelCheckout>[0], at?: Date) {
  const body = pixelBody({ shopDomain: shop.domain, collectorKey: collectorKeyFor(shop.domain) }, name, pixelCheckout(checkout), at ? { at } : {})!;
  const response = await app.handle(collectorRequest(body));
  expect(response.status).toBe(202);
  // The collector queued its job at the real time: the pipeline's clock must have reached it.
  if (p.clock.now().getTime() < Date.now()) p.clock.set(new Date(Date.now() + 1000));
  await p.drain();
}

/** A checkouts/create webhook (API 2026-04+: no id, the token joins it), signed, through the real route. */
async function confirmByWebhook(shop: Shop, checkout: { token: string; email: string; createdAt: Date; accepts: boolean }) {
  const body = {
    token: checkout.token,
    cart_token: null,
    email: checkout.email,
    buyer_accepts_marketing: checkout.accepts,
    created_at: checkout.createdAt.toISOString(),
    updated_at: new Date(checkout.createdAt.getTime() + 2 * MIN).toISOString(),
    completed_at: null,
    abandoned_checkout_url: `https://${shop.domain}/1/checkouts/ac/${checkout.token}/recover?key=k-${checkout.token}`,
    name: "#1042",
    currency: "USD",
    presentment_currency: "USD",
    total_price: "100.50",
    line_items: [
      { title: "Linen shirt", quantity: 1, price: "64.50", line_price: "64.50" },
      { title: "Canvas tote", quantity: 2, price: "18.00", line_price: "36.00" },
    ],
    customer: { id: 42_000 + n, email: checkout.email, first_name: "Robin" },
  };
  const response = await app.handle(shopifyWebhookRequest("/webhooks/checkouts", "checkouts/create", body, { shop: shop.domain }));
  expect(response.status).toBe(200);
  await p.drain();
}

describe("pixel data alone never causes an email", () => {
  it("a pixel-only checkout gets no email however long it waits; Shopify's confirmation starts the campaign, to Shopify's address", async () => {
    // Confirmed by a webhook only (no gid, no poll here): Shopify's own email is another test's subject (docs/decisions/075).
    const shop = await p.newShop({ shopifyEmailPolicy: "send_anyway" });
    const t0 = p.clock.now();
    const t = token();
    await pixel(shop, "checkout_contact_info_submitted", { token: t, email: "typed.into.pixel@example.com", buyerAcceptsEmailMarketing: true }, t0);
    const recovery = await p.db.recovery.findFirstOrThrow({ where: { shopId: shop.id, checkoutToken: t } });
    expect(recovery).toMatchObject({ pixelOnly: true, consent: "opt_in", email: "typed.into.pixel@example.com" });

    // Step 1 would be due at t0 + 1 h; two hours on, still nothing — no message was even planned.
    await p.runAt(new Date(t0.getTime() + 2 * H));
    expect(p.sink.received).toHaveLength(0);
    expect(await p.db.message.count({ where: { recoveryId: recovery.id } })).toBe(0);

    // Shopify confirms the checkout, with the address Shopify holds for it.
    await confirmByWebhook(shop, { token: t, email: "Shopper@Example.com", createdAt: t0, accepts: true });
    const confirmed = await p.db.recovery.findFirstOrThrow({ where: { id: recovery.id } });
    expect(confirmed).toMatchObject({ pixelOnly: false, email: "shopper@example.com", externalId: `token:${t}` });
    expect(await p.db.recovery.count({ where: { shopId: shop.id } })).toBe(1);

    await p.runAt(new Date(p.clock.now().getTime() + MIN));
    expect(p.sink.received.map(to)).toEqual(["shopper@example.com"]);
    expect(mailsTo("typed.into.pixel@example.com")).toHaveLength(0);
  });

  it("a pixel-only checkout that Shopify never confirms is never emailed, through every step of the campaign", async () => {
    const shop = await p.newShop();
    const t0 = p.clock.now();
    await pixel(shop, "checkout_contact_info_submitted", { token: token(), email: "never.confirmed@example.com" }, t0);
    await p.runAt(new Date(t0.getTime() + 100 * H));
    expect(mailsTo("never.confirmed@example.com")).toHaveLength(0);
    expect(await p.db.message.count({ where: { shopId: shop.id } })).toBe(0);
  });

  it("even a message that somehow exists for a pixel-only checkout is skipped at send time as unconfirmed", async () => {
    const shop = await p.newShop();
    const t0 = p.clock.now();
    const t = token();
    await pixel(shop, "checkout_contact_info_submitted", { token: t, email: "defence.in.depth@example.com" }, t0);
    const recovery = await p.db.recovery.findFirstOrThrow({ where: { shopId: shop.id, checkoutToken: t } });
    // Give it everything a send needs, as if a bug had scheduled it: a contact, a link, a due message.
    const contact = await p.db.contact.create({ data: { shopId: shop.id, email: "defence.in.depth@example.com" } });
    await p.db.recovery.update({
      where: { id: recovery.id },
      data: { contactId: contact.id, recoveryUrl: `https://${shop.domain}/1/checkouts/ac/${t}/recover?key=x`, notContactableReason: null },
    });
    const campaign = await p.db.campaign.findFirstOrThrow({ where: { shopId: shop.id }, include: { steps: { orderBy: { position: "asc" } } } });
    const message = await p.db.message.create({
      data: { shopId: shop.id, recoveryId: recovery.id, campaignId: campaign.id, stepId: campaign.steps[0]!.id, position: 1, scheduledFor: p.clock.now() },
    });
    const { ensureSweepScheduled } = await import("~/models/message-sweep.server");
    await ensureSweepScheduled(p.db, p.clock.now());
    await p.runAt(new Date(p.clock.now().getTime() + MIN));

    expect(mailsTo("defence.in.depth@example.com")).toHaveLength(0);
    expect(await p.db.message.findUniqueOrThrow({ where: { id: message.id } })).toMatchObject({ status: "skipped", skipReason: "unconfirmed" });
    const log = await p.db.decisionLog.findFirstOrThrow({ where: { messageId: message.id } });
    expect(log.detail).toMatch(/checkout pixel/);
  });
});

describe("a completion only the pixel reported", () => {
  async function confirmedRecovery(shop: Shop, email: string) {
    const t = token();
    const at = p.clock.now();
    await p.ingest(shop, shopifyCheckout(at, { checkoutToken: t, email }));
    const recovery = await p.db.recovery.findFirstOrThrow({ where: { shopId: shop.id, checkoutToken: t } });
    return { t, at, recovery };
  }

  it("holds the due email for a bounded time, creates no Conversion or Purchase, and sends when no order came", async () => {
    const shop = await p.newShop();
    const { t, at, recovery } = await confirmedRecovery(shop, "held.then.sent@example.com");
    await pixel(shop, "checkout_completed", { token: t, email: "held.then.sent@example.com" }, new Date(at.getTime() + 50 * MIN));
    const reported = (await p.db.recovery.findUniqueOrThrow({ where: { id: recovery.id } })).pixelCompletedAt!;
    expect(reported).not.toBeNull();

    await p.runAt(new Date(at.getTime() + H));
    expect(mailsTo("held.then.sent@example.com")).toHaveLength(0);
    const first = await p.db.message.findFirstOrThrow({ where: { recoveryId: recovery.id, position: 1 } });
    expect(first).toMatchObject({ status: "scheduled" });
    expect(first.scheduledFor.getTime()).toBe(reported.getTime() + PIXEL_COMPLETION_HOLD_MS);
    expect(await p.db.decisionLog.count({ where: { recoveryId: recovery.id, outcome: "hold", reason: "completed_unconfirmed" } })).toBe(1);
    // The merchant's numbers come from orders only.
    expect(await p.db.conversion.count({ where: { recoveryId: recovery.id } })).toBe(0);
    expect(await p.db.purchase.count({ where: { shopId: shop.id } })).toBe(0);
    expect(await p.db.recovery.findUniqueOrThrow({ where: { id: recovery.id } })).toMatchObject({ status: "open", completedAt: null });

    await p.runAt(first.scheduledFor);
    expect(mailsTo("held.then.sent@example.com")).toHaveLength(1);
    const sent = await p.db.decisionLog.findFirstOrThrow({ where: { recoveryId: recovery.id, outcome: "send" } });
    expect(sent.detail).toMatch(/no order confirmed within 2 h/);
  });

  it("when the order arrives during the hold, the email never goes and the order is what gets credited", async () => {
    const shop = await p.newShop();
    const { t, at, recovery } = await confirmedRecovery(shop, "bought@example.com");
    await pixel(shop, "checkout_completed", { token: t, email: "bought@example.com" }, new Date(at.getTime() + 50 * MIN));
    await p.runAt(new Date(at.getTime() + H));
    await p.ingest(shop, shopifyOrder("bought@example.com", new Date(at.getTime() + 55 * MIN), { checkoutToken: t }));
    await p.runAt(new Date(at.getTime() + 80 * H));
    expect(mailsTo("bought@example.com")).toHaveLength(0);
    const conversion = await p.db.conversion.findFirstOrThrow({ where: { recoveryId: recovery.id } });
    expect(conversion).toMatchObject({ matchedBy: "checkout_token", source: "shopify" });
    expect(conversion.externalId).toMatch(/^gid:\/\/shopify\/Order\//);
  });

  it("repeated completion pings do not extend the hold", async () => {
    const shop = await p.newShop();
    const { t, at, recovery } = await confirmedRecovery(shop, "pinged.twice@example.com");
    await pixel(shop, "checkout_completed", { token: t, email: "pinged.twice@example.com" }, new Date(at.getTime() + 50 * MIN));
    const first = (await p.db.recovery.findUniqueOrThrow({ where: { id: recovery.id } })).pixelCompletedAt!;
    p.clock.set(new Date(p.clock.now().getTime() + 30 * MIN));
    await pixel(shop, "checkout_completed", { token: t, email: "pinged.twice@example.com" });
    expect((await p.db.recovery.findUniqueOrThrow({ where: { id: recovery.id } })).pixelCompletedAt).toEqual(first);
  });
});
