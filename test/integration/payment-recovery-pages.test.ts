// What a merchant sees of payment recovery (docs/decisions/087) on the real pages: turning it on in Settings › Stripe
// (the extra events and what each does, the question about Stripe's own emails), failed payments beside carts in the
// recoveries list (kind badge and filter), a payment recovery's page, and the Overview's section with the same filters.
import type { Shop } from "@prisma/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadApp } from "../helpers/app-server";
import { bearerRequest, embeddedRequest, signSessionToken } from "../helpers/shopify";
import { MIN, startPipeline, stripeSession, type Pipeline } from "../helpers/pipeline";
import { endedInvoice, openInvoice } from "../../app/demo/fakes/stripe-api/billing-objects";
import { stripeEvent } from "../../app/demo/fakes/stripe-api/objects";
import { stripeWebhookRequest } from "../../app/demo/fakes/stripe-api/webhooks";

let p: Pipeline;
let app: Awaited<ReturnType<typeof loadApp>>;
let shop: Shop;
let connectionId: string;
const SECRET = "whsec_paymentPagesSecret0123456789abcdefgh";

beforeAll(async () => {
  app = await loadApp();
  p = await startPipeline({ start: new Date(Math.ceil(Date.now() / 60_000) * 60_000 + 5 * MIN) });
  shop = await p.newShop({ name: "Bean Club" });
  const { connectStripe } = await import("~/models/stripe-connection.server");
  const connected = await connectStripe(p.db, shop.id, { webhookSecret: SECRET });
  if (!connected.ok) throw new Error("could not connect Stripe");
  connectionId = connected.connection.id;
});
afterAll(async () => {
  await p?.close();
  await app?.close();
});

/** What a person reads on the page (React's text separators and entities removed). */
const textOf = async (response: Response) =>
  (await response.text())
    .replace(/<!-- -->/g, "")
    .replace(/&#x27;/g, "'")
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, "&");
const page = async (path: string) => {
  const response = await app.handle(embeddedRequest(path, signSessionToken({ shop: shop.domain }), shop.domain));
  expect(response.status).toBe(200);
  return textOf(response);
};
const submit = async (path: string, fields: Record<string, string>) => {
  const request = bearerRequest(
    path,
    { method: "POST", body: new URLSearchParams(fields), headers: { "content-type": "application/x-www-form-urlencoded" } },
    signSessionToken({ shop: shop.domain }),
  );
  const response = await app.handle(request);
  return { status: response.status, text: await textOf(response) };
};
const deliver = async (event: Record<string, unknown>) => {
  const response = await app.handle(stripeWebhookRequest(`/webhooks/stripe/${connectionId}`, event, { secret: SECRET }));
  expect(response.status).toBe(200);
  await p.drain();
};
const seconds = (d: Date) => Math.floor(d.getTime() / 1000);

describe("Settings › Stripe › failed subscription payments", () => {
  it("lists the extra events with what each does, and turning it on saves the answers and creates the two payment campaigns", async () => {
    const before = await page("/app/settings/stripe");
    expect(before).toContain("Failed subscription payments (Stripe Billing)");
    for (const type of [
      "invoice.payment_failed",
      "invoice.payment_action_required",
      "invoice.paid",
      "invoice.voided",
      "invoice.marked_uncollectible",
      "customer.subscription.updated",
      "customer.subscription.deleted",
    ]) {
      expect(before).toContain(type);
    }
    expect(before).toContain("Stripe already emails customers about failed payments");
    expect(await p.db.campaign.count({ where: { shopId: shop.id, kind: { not: "cart" } } })).toBe(0);

    const saved = await submit("/app/settings/stripe", { intent: "payment-recovery", connectionId, paymentRecovery: "on", stripeEmailsActionRequired: "on" });
    expect(saved.status).toBe(200);
    expect(saved.text).toContain("Failed subscription payments follow these settings from now on");
    expect(await p.db.stripeConnection.findUniqueOrThrow({ where: { id: connectionId } })).toMatchObject({
      paymentRecovery: true,
      stripeEmailsFailedPayments: false,
      stripeEmailsActionRequired: true,
    });
    const campaigns = await p.db.campaign.findMany({
      where: { shopId: shop.id },
      orderBy: { kind: "asc" },
      include: { steps: { orderBy: { position: "asc" } } },
    });
    expect(campaigns.map((c) => [c.kind, c.name, c.steps.map((s) => s.delayMinutes)])).toEqual([
      ["cart", "Abandoned checkout (default)", [60, 1440, 4320]],
      ["payment_action_required", "Confirm your payment", [0, 720]],
      ["payment_failed", "Update your card", [0, 4320, 10080]],
    ]);
    // Saving again does not make a second set.
    await submit("/app/settings/stripe", { intent: "payment-recovery", connectionId, paymentRecovery: "on" });
    expect(await p.db.campaign.count({ where: { shopId: shop.id } })).toBe(3);
    expect((await p.db.stripeConnection.findUniqueOrThrow({ where: { id: connectionId } })).stripeEmailsActionRequired).toBe(false);
  });

  it("refuses another shop's connection with a message and changes nothing", async () => {
    const other = await p.newShop();
    const { connectStripe } = await import("~/models/stripe-connection.server");
    const theirs = await connectStripe(p.db, other.id, { webhookSecret: "whsec_paymentPagesOther0123456789abcdefghij" });
    if (!theirs.ok) throw new Error("could not connect");
    const refused = await submit("/app/settings/stripe", { intent: "payment-recovery", connectionId: theirs.connection.id, paymentRecovery: "on" });
    expect(refused.status).toBe(422);
    expect(refused.text).toContain("This Stripe connection no longer exists");
    expect((await p.db.stripeConnection.findUniqueOrThrow({ where: { id: theirs.connection.id } })).paymentRecovery).toBe(false);
  });
});

describe("failed payments beside carts", () => {
  it("are badged and filtered in the list, explained on their page, and counted on the Overview with the same filters", async () => {
    const { savePaymentRecoverySettings } = await import("~/models/payment-recovery.server");
    const on = { paymentRecovery: true, stripeEmailsFailedPayments: false, stripeEmailsActionRequired: false };
    expect(await savePaymentRecoverySettings(p.db, shop.id, connectionId, on)).toEqual({ ok: true });
    const t = p.clock.now();
    await p.ingest(shop, stripeSession(t, { email: "cart@example.com" }));
    const invoice = openInvoice({ email: "member@example.com", amountDue: 2900, attemptCount: 2, number: "BEAN-0042" });
    await deliver(stripeEvent("invoice.payment_failed", invoice, { created: seconds(t) }));
    const paid = openInvoice({ email: "paid@example.com", amountDue: 1200, number: "BEAN-0043" });
    await deliver(stripeEvent("invoice.payment_failed", paid, { created: seconds(t) }));
    // Its first email goes out at once; the mail server's answer is recorded when it comes (sends in flight, ADR 085),
    // which on a loaded machine can be after the drain: the payment must come after the email, as this test means.
    await expect
      .poll(() => p.db.message.count({ where: { shopId: shop.id, sentAt: { not: null }, recovery: { externalId: paid.id } } }), { timeout: 15_000 })
      .toBe(1);
    await deliver(stripeEvent("invoice.paid", endedInvoice(paid, "paid"), { created: seconds(t) + 3600 }));

    const all = await page("/app/recoveries");
    expect(all).toContain("Invoice BEAN-0042");
    expect(all).toContain("Failed payment");
    expect(all).toContain("Not needed (payment notice)");
    const payments = await page("/app/recoveries?kind=payment");
    expect(payments).toContain("Invoice BEAN-0042");
    // The Kind select shows the filter in use.
    expect(payments).toMatch(/<option value="payment" selected="">Failed payments<\/option>/);
    expect(payments).not.toContain("cart@example.com");
    const carts = await page("/app/recoveries?kind=cart");
    expect(carts).toContain("cart@example.com");
    expect(carts).not.toContain("BEAN-0042");

    const recovery = await p.db.recovery.findFirstOrThrow({ where: { shopId: shop.id, externalId: invoice.id } });
    const detail = await page(`/app/recoveries/${recovery.id}`);
    expect(detail).toContain("Failed subscription payment");
    expect(detail).toContain("Attempts so far: 2");
    expect(detail).toContain(invoice.hosted_invoice_url);
    expect(detail).toContain(invoice.parent.subscription_details.subscription);
    expect(detail).toContain("Subscription payment failed on Stripe (attempt 2)");
    expect(detail).not.toContain("No consent recorded");

    const overview = await page("/app");
    expect(overview).toContain("Failed subscription payments");
    expect(overview).toMatch(/Failed payments<\/th><td[^>]*>2 · \$41\.00 due/);
    // The paid invoice had its first email (sent at once) and no click: by window, shown apart from link.
    expect(overview).toMatch(/Recovered by window \(paid after an email, no click\)<\/th><td[^>]*>1 · \$12\.00</);
    expect(overview).toMatch(/Recovered by link<\/th><td[^>]*>0 · \$0\.00</);
    // Another currency: nothing of these payments.
    const euros = await page("/app?currency=EUR");
    expect(euros).not.toContain("Failed subscription payments");
  });
});
