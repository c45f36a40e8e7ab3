// Payment recovery (docs/decisions/087), end to end: Stripe Billing events built from Stripe's own invoice and
// subscription fixtures (app/demo/fakes/stripe-api/billing-objects.ts), signed with Stripe's helper and posted to the real
// webhook route; the real job runner processes and sends them to a real SMTP server; the merchant's pages read the result.
import type { Shop } from "@prisma/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadApp } from "../helpers/app-server";
import { H, MIN, startPipeline, type Pipeline } from "../helpers/pipeline";
import { endedInvoice, openInvoice, subscription } from "../../app/demo/fakes/stripe-api/billing-objects";
import { stripeEvent } from "../../app/demo/fakes/stripe-api/objects";
import { stripeWebhookRequest } from "../../app/demo/fakes/stripe-api/webhooks";

let p: Pipeline;
let app: Awaited<ReturnType<typeof loadApp>>;

beforeAll(async () => {
  app = await loadApp();
  // Near real time, a little ahead: jobs the route enqueues are due at the database's now, and the click route stamps
  // clicks with the real clock (paid events must come after them).
  p = await startPipeline({ start: new Date(Math.ceil(Date.now() / 60_000) * 60_000 + 5 * MIN) });
});
afterAll(async () => {
  await p?.close();
  await app?.close();
});

let n = 0;
interface Connected {
  shop: Shop;
  connectionId: string;
  secret: string;
}
async function connectedShop(options: { paymentRecovery?: boolean; stripeEmailsFailedPayments?: boolean } = {}): Promise<Connected> {
  const { connectStripe } = await import("~/models/stripe-connection.server");
  const { savePaymentRecoverySettings } = await import("~/models/payment-recovery.server");
  const shop = await p.newShop();
  const secret = `whsec_paymentRecovery${String(++n).padStart(3, "0")}abcdefghij0123456789`;
  const connected = await connectStripe(p.db, shop.id, { webhookSecret: secret });
  if (!connected.ok) throw new Error("could not connect Stripe");
  if (options.paymentRecovery !== false) {
    const saved = await savePaymentRecoverySettings(p.db, shop.id, connected.connection.id, {
      paymentRecovery: true,
      stripeEmailsFailedPayments: options.stripeEmailsFailedPayments ?? false,
      stripeEmailsActionRequired: false,
    });
    expect(saved).toEqual({ ok: true });
  }
  return { shop, connectionId: connected.connection.id, secret };
}

const seconds = (d: Date) => Math.floor(d.getTime() / 1000);
/** Posts one signed event to the shop's endpoint and processes it; returns what Stripe is told. */
async function deliver(to: Connected, event: Record<string, unknown>) {
  const response = await app.handle(stripeWebhookRequest(`/webhooks/stripe/${to.connectionId}`, event, { secret: to.secret }));
  const answer = { status: response.status, body: await response.text() };
  await p.drain();
  return answer;
}
const mailTo = (email: string) => p.sink.received.filter((m) => m.rcptTo.includes(email));
const clickUrlOf = (html: unknown) => /href="(https:\/\/reclaim\.test\/email\/click[^"]+)"/.exec(String(html))![1]!.replace(/&amp;/g, "&");
const recoveryOf = (shop: Shop, invoiceId: string) => p.db.recovery.findFirstOrThrow({ where: { shopId: shop.id, externalId: invoiceId } });
const stepsOf = async (recoveryId: string) =>
  (await p.db.message.findMany({ where: { recoveryId }, orderBy: [{ scheduledFor: "asc" }, { position: "asc" }] })).map((m) => [
    m.position,
    m.status,
    m.skipReason,
  ]);

describe("invoice.payment_failed", () => {
  it("opens one payment recovery and sends its first email with the hosted invoice link at once; a redelivery or an older event changes nothing", async () => {
    const c = await connectedShop();
    const t = p.clock.now();
    const next = seconds(t) + 3 * 86_400;
    const invoice = openInvoice({
      email: "Member@Example.com",
      name: "Robin Baker",
      amountDue: 4500,
      attemptCount: 1,
      nextPaymentAttempt: next,
      items: [
        { description: "1 × Coffee club (at $29.00 / month)", amount: 2900 },
        { description: "2 × Mug refill (at $8.00 / month)", quantity: 2, amount: 1600 },
      ],
    });
    const failed = stripeEvent("invoice.payment_failed", invoice, { created: seconds(t) });
    expect(await deliver(c, failed)).toEqual({ status: 200, body: "stored" });

    const recovery = await recoveryOf(c.shop, invoice.id);
    expect(recovery).toMatchObject({
      kind: "payment",
      source: "stripe",
      paymentReason: "payment_failed",
      email: "member@example.com",
      firstName: "Robin",
      totalMinor: 4500n,
      currency: "USD",
      recoveryUrl: invoice.hosted_invoice_url,
      attemptCount: 1,
      nextPaymentAttemptAt: new Date(next * 1000),
      subscriptionId: invoice.parent.subscription_details.subscription,
      notContactableReason: null,
      status: "contacting",
    });
    expect(
      JSON.parse(recovery.lineItems).map((i: { title: string; quantity: number; totalPriceMinor: number }) => [i.title, i.quantity, i.totalPriceMinor]),
    ).toEqual([
      ["1 × Coffee club (at $29.00 / month)", 1, 2900],
      ["2 × Mug refill (at $8.00 / month)", 2, 1600],
    ]);

    // The "Update your card" campaign: the first email went out at once, the others wait for their time.
    const [mail, ...more] = mailTo("member@example.com");
    expect(more).toHaveLength(0);
    expect(mail!.parsed.subject).toBe("Your Acme Outfitters payment didn't go through");
    const html = String(mail!.parsed.html);
    expect(html).toContain("Robin, your payment didn");
    expect(html).toContain("$45.00");
    expect(html).toContain("Mug refill");
    expect(html).toContain(new Intl.DateTimeFormat("en", { dateStyle: "long", timeZone: "UTC" }).format(new Date(next * 1000)));
    // The button goes through Reclaim's click tracking to Stripe's hosted invoice page.
    const click = await app.handle(new Request(clickUrlOf(html)));
    expect(click.status).toBe(302);
    expect(click.headers.get("location")).toBe(invoice.hosted_invoice_url);
    expect(await stepsOf(recovery.id)).toEqual([
      [1, "sent", null],
      [2, "scheduled", null],
      [3, "scheduled", null],
    ]);
    const sentDecision = await p.db.decisionLog.findFirstOrThrow({ where: { recoveryId: recovery.id, outcome: "send" } });
    expect(sentDecision.detail).toMatch(/transactional.*sent without marketing consent; unsubscribe is honoured/);

    // Stripe redelivers the same event: acknowledged as a duplicate, nothing new.
    expect(await deliver(c, failed)).toEqual({ status: 200, body: "duplicate" });
    // An older event about the same invoice arrives late (attempt 0, an earlier retry date): it changes nothing.
    const older = openInvoice({ ...invoice, id: invoice.id, attemptCount: 0, nextPaymentAttempt: seconds(t) + 86_400 });
    expect(await deliver(c, stripeEvent("invoice.payment_failed", older, { created: seconds(t) - 600 }))).toEqual({ status: 200, body: "stored" });
    expect(await p.db.recovery.count({ where: { shopId: c.shop.id } })).toBe(1);
    expect(await recoveryOf(c.shop, invoice.id)).toMatchObject({ attemptCount: 1, nextPaymentAttemptAt: new Date(next * 1000), totalMinor: 4500n });
    expect(await stepsOf(recovery.id)).toEqual([
      [1, "sent", null],
      [2, "scheduled", null],
      [3, "scheduled", null],
    ]);
    expect(mailTo("member@example.com")).toHaveLength(1);

    // A later retry fails too: the attempt count and next retry follow, the campaign carries on.
    const retried = openInvoice({ ...invoice, id: invoice.id, attemptCount: 2, nextPaymentAttempt: next + 2 * 86_400 });
    await deliver(c, stripeEvent("invoice.payment_failed", retried, { created: seconds(t) + 3 * 86_400 }));
    expect(await recoveryOf(c.shop, invoice.id)).toMatchObject({ attemptCount: 2, nextPaymentAttemptAt: new Date((next + 2 * 86_400) * 1000) });
    expect(await p.db.message.count({ where: { recoveryId: recovery.id } })).toBe(3);
  });

  it("an invoice already paid when its failure arrives (out of order) is stored as paid without an email, and nothing is sent", async () => {
    const c = await connectedShop();
    const t = p.clock.now();
    const invoice = openInvoice({ email: "late@example.com" });
    await deliver(c, stripeEvent("invoice.paid", endedInvoice(invoice, "paid", seconds(t)), { created: seconds(t) }));
    expect(await p.db.recovery.count({ where: { shopId: c.shop.id } })).toBe(0);
    await deliver(c, stripeEvent("invoice.payment_failed", invoice, { created: seconds(t) - 3600 }));
    const recovery = await recoveryOf(c.shop, invoice.id);
    expect(recovery.status).toBe("purchased");
    expect(await p.db.message.count({ where: { recoveryId: recovery.id } })).toBe(0);
    expect(await p.db.conversion.count({ where: { recoveryId: recovery.id } })).toBe(0);
    expect(mailTo("late@example.com")).toHaveLength(0);
  });

  it("is stored and ignored, with the reason, while the connection has not turned payment recovery on", async () => {
    const c = await connectedShop({ paymentRecovery: false });
    const invoice = openInvoice({ email: "off@example.com" });
    expect(await deliver(c, stripeEvent("invoice.payment_failed", invoice))).toEqual({ status: 200, body: "stored" });
    expect(await p.db.recovery.count({ where: { shopId: c.shop.id } })).toBe(0);
    const stored = await p.db.inboundEvent.findFirstOrThrow({ where: { receiver: c.connectionId, topic: "invoice.payment_failed" } });
    expect(stored).toMatchObject({ ignoredReason: "payment_recovery_off", error: null });
    expect(stored.processedAt).not.toBeNull();
  });
});

describe("invoice.paid", () => {
  it("before the next step cancels it; paid without a click after an email counts by window, paid after a click by link, paid before any email is never claimed", async () => {
    const { loadPaymentOverview } = await import("~/models/payment-recovery.server");
    const c = await connectedShop();
    const t = p.clock.now();
    const windowInvoice = openInvoice({ email: "window@example.com", amountDue: 2900 });
    const linkInvoice = openInvoice({ email: "link@example.com", amountDue: 5000 });
    const retryInvoice = openInvoice({ email: "retry@example.com", amountDue: 1500 });
    await deliver(c, stripeEvent("invoice.payment_failed", windowInvoice, { created: seconds(t) }));
    await deliver(c, stripeEvent("invoice.payment_failed", linkInvoice, { created: seconds(t) }));
    expect(mailTo("window@example.com")).toHaveLength(1);
    const [linkMail] = mailTo("link@example.com");

    // Paid a day later without a click: the next steps are cancelled, and the payment counts by window.
    const paidAt = new Date(t.getTime() + 24 * H);
    p.clock.set(paidAt);
    await deliver(c, stripeEvent("invoice.paid", endedInvoice(windowInvoice, "paid", seconds(paidAt)), { created: seconds(paidAt) }));
    const windowed = await recoveryOf(c.shop, windowInvoice.id);
    expect(windowed.status).toBe("purchased");
    expect(await stepsOf(windowed.id)).toEqual([
      [1, "sent", null],
      [2, "cancelled", "invoice_paid"],
      [3, "cancelled", "invoice_paid"],
    ]);
    expect((await p.db.conversion.findMany({ where: { recoveryId: windowed.id } })).map((x) => [x.method, x.amountMinor])).toEqual([["window", 2900n]]);
    expect((await p.db.decisionLog.findFirstOrThrow({ where: { recoveryId: windowed.id, outcome: "close" } })).detail).toMatch(/without a click.*by window/);

    // The customer opens the invoice link in the email, then pays: credited by link, recovered.
    expect((await app.handle(new Request(clickUrlOf(linkMail!.parsed.html)))).status).toBe(302);
    const linkPaidAt = new Date(p.clock.now().getTime() + MIN);
    await deliver(c, stripeEvent("invoice.paid", endedInvoice(linkInvoice, "paid", seconds(linkPaidAt)), { created: seconds(linkPaidAt) }));
    const linked = await recoveryOf(c.shop, linkInvoice.id);
    expect(linked.status).toBe("recovered");
    expect((await p.db.conversion.findMany({ where: { recoveryId: linked.id } })).map((x) => [x.method, x.matchedBy, x.amountMinor])).toEqual([
      ["link", "invoice_paid", 5000n],
    ]);
    // Paid again (Stripe redelivers under a new event id): credited once.
    await deliver(c, stripeEvent("invoice.paid", endedInvoice(linkInvoice, "paid", seconds(linkPaidAt)), { created: seconds(linkPaidAt) + 5 }));
    expect(await p.db.conversion.count({ where: { recoveryId: linked.id } })).toBe(1);

    // Stripe's Smart Retries collect a third invoice before Reclaim emailed (e.g. quiet hours held the email): not claimed.
    await p.db.shop.update({ where: { id: c.shop.id }, data: { quietHoursStartMinute: 0, quietHoursEndMinute: 24 * 60 - 1 } });
    await deliver(c, stripeEvent("invoice.payment_failed", retryInvoice, { created: seconds(p.clock.now()) }));
    expect(mailTo("retry@example.com")).toHaveLength(0);
    await deliver(c, stripeEvent("invoice.paid", endedInvoice(retryInvoice, "paid"), { created: seconds(p.clock.now()) + 60 }));
    const retried = await recoveryOf(c.shop, retryInvoice.id);
    expect(retried.status).toBe("purchased");
    expect(await p.db.conversion.count({ where: { recoveryId: retried.id } })).toBe(0);
    expect((await p.db.decisionLog.findFirstOrThrow({ where: { recoveryId: retried.id, outcome: "close" } })).detail).toMatch(
      /Paid on Stripe before any Reclaim email \(Smart Retries/,
    );

    // The dashboard: counts, amount due, recovered by link and by window apart, Smart Retries shown as such.
    const overview = await loadPaymentOverview(p.db, {
      shopId: c.shop.id,
      from: new Date(t.getTime() - 86_400_000),
      to: new Date(t.getTime() + 2 * 86_400_000),
      currency: "USD",
    });
    expect(overview).toMatchObject({
      failed: 3,
      amountDueMinor: 2900 + 5000 + 1500,
      byReason: { payment_failed: 3, action_required: 0 },
      outcomes: { open: 0, recoveredByLink: 1, paidByWindow: 1, paidWithoutEmail: 1, closed: 0 },
      emailsSent: 2,
      clicks: 1,
      recoveredByLink: { count: 1, amountMinor: 5000 },
      recoveredByWindow: { count: 1, amountMinor: 2900 },
    });
    // Cart figures are untouched by payment recoveries.
    const dailyStripe = await p.db.dailyStat.findMany({ where: { shopId: c.shop.id, source: { not: "stripe_billing" } } });
    expect(dailyStripe).toEqual([]);
  });
});

describe("invoice.payment_action_required", () => {
  it("gets the “confirm your payment” step at once, even after the same renewal was reported as a failure", async () => {
    const c = await connectedShop();
    const t = p.clock.now();
    const invoice = openInvoice({ email: "sca@example.com", billingReason: "subscription_create", nextPaymentAttempt: null });
    await deliver(c, stripeEvent("invoice.payment_action_required", invoice, { created: seconds(t) }));
    const [mail] = mailTo("sca@example.com");
    expect(mail!.parsed.subject).toBe("Please confirm your Acme Outfitters payment");
    expect(String(mail!.parsed.html)).toContain("Confirm your payment");
    const recovery = await recoveryOf(c.shop, invoice.id);
    expect(recovery.paymentReason).toBe("action_required");
    expect(await stepsOf(recovery.id)).toEqual([
      [1, "sent", null],
      [2, "scheduled", null],
    ]);
    const campaign = await p.db.campaign.findFirstOrThrow({
      where: { id: (await p.db.message.findFirstOrThrow({ where: { recoveryId: recovery.id } })).campaignId },
    });
    expect(campaign).toMatchObject({ kind: "payment_action_required", name: "Confirm your payment" });

    // A renewal needing 3-D Secure: Stripe reports the failure first, then that it needs the customer.
    await p.db.shop.update({ where: { id: c.shop.id }, data: { quietHoursStartMinute: 0, quietHoursEndMinute: 24 * 60 - 1 } });
    const renewal = openInvoice({ email: "renewal@example.com" });
    await deliver(c, stripeEvent("invoice.payment_failed", renewal, { created: seconds(t) - 5 }));
    await p.db.shop.update({ where: { id: c.shop.id }, data: { quietHoursStartMinute: null, quietHoursEndMinute: null } });
    await deliver(c, stripeEvent("invoice.payment_action_required", renewal, { created: seconds(t) }));
    const [renewalMail, ...others] = mailTo("renewal@example.com");
    expect(others).toHaveLength(0);
    expect(renewalMail!.parsed.subject).toBe("Please confirm your Acme Outfitters payment");
    // "Update your card" was replaced before it went out.
    const replaced = await p.db.message.findMany({
      where: { recovery: { externalId: renewal.id } },
      include: { campaign: true },
      orderBy: { position: "asc" },
    });
    expect(replaced.map((m) => [m.campaign.name, m.position, m.status, m.skipReason]).sort()).toEqual([
      ["Confirm your payment", 1, "sent", null],
      ["Confirm your payment", 2, "scheduled", null],
      ["Update your card", 1, "cancelled", "needs_confirmation"],
      ["Update your card", 2, "cancelled", "needs_confirmation"],
      ["Update your card", 3, "cancelled", "needs_confirmation"],
    ]);
  });
});

describe("stopping", () => {
  it("a canceled subscription stops everything, with the reason in the decision log", async () => {
    const c = await connectedShop();
    const t = p.clock.now();
    const invoice = openInvoice({ email: "cancel@example.com" });
    await deliver(c, stripeEvent("invoice.payment_failed", invoice, { created: seconds(t) }));
    const recovery = await recoveryOf(c.shop, invoice.id);
    expect(mailTo("cancel@example.com")).toHaveLength(1);
    // Still past due: nothing stops.
    await deliver(c, stripeEvent("customer.subscription.updated", subscription({ id: recovery.subscriptionId!, status: "past_due" })));
    expect((await recoveryOf(c.shop, invoice.id)).status).toBe("contacting");
    await deliver(c, stripeEvent("customer.subscription.deleted", subscription({ id: recovery.subscriptionId!, status: "canceled" })));
    expect((await recoveryOf(c.shop, invoice.id)).status).toBe("lost");
    expect(await stepsOf(recovery.id)).toEqual([
      [1, "sent", null],
      [2, "cancelled", "subscription_canceled"],
      [3, "cancelled", "subscription_canceled"],
    ]);
    for (const h of [80, 200]) await p.runAt(new Date(t.getTime() + h * H));
    expect(mailTo("cancel@example.com")).toHaveLength(1);

    // A voided invoice, and a failure of the canceled subscription's next invoice that arrives late: nothing is sent.
    const voided = openInvoice({ email: "void@example.com" });
    await deliver(c, stripeEvent("invoice.payment_failed", voided, { created: seconds(p.clock.now()) }));
    await deliver(c, stripeEvent("invoice.voided", endedInvoice(voided, "void"), { created: seconds(p.clock.now()) + 60 }));
    const v = await recoveryOf(c.shop, voided.id);
    expect(v.status).toBe("lost");
    expect((await p.db.decisionLog.findFirstOrThrow({ where: { recoveryId: v.id, outcome: "close" } })).reason).toBe("invoice_voided");
    const late = openInvoice({ email: "cancel@example.com", subscription: recovery.subscriptionId! });
    await deliver(c, stripeEvent("invoice.payment_failed", late, { created: seconds(p.clock.now()) - 86_400 }));
    expect((await recoveryOf(c.shop, late.id)).status).toBe("lost");
    expect(mailTo("cancel@example.com")).toHaveLength(1);
  });

  it("an unsubscribed contact gets nothing", async () => {
    const c = await connectedShop();
    await p.db.contact.create({ data: { shopId: c.shop.id, email: "gone@example.com", unsubscribedAt: new Date(p.clock.now().getTime() - H) } });
    const invoice = openInvoice({ email: "gone@example.com" });
    await deliver(c, stripeEvent("invoice.payment_failed", invoice, { created: seconds(p.clock.now()) }));
    const recovery = await recoveryOf(c.shop, invoice.id);
    expect(mailTo("gone@example.com")).toHaveLength(0);
    const decision = await p.db.decisionLog.findFirstOrThrow({ where: { recoveryId: recovery.id, reason: "unsubscribed" } });
    expect(decision.detail).toMatch(/^Unsubscribed on /);
  });

  it("when Stripe already emails customers about failed payments, Reclaim skips its steps and says why", async () => {
    const c = await connectedShop({ stripeEmailsFailedPayments: true });
    const invoice = openInvoice({ email: "stripe-emails@example.com" });
    await deliver(c, stripeEvent("invoice.payment_failed", invoice, { created: seconds(p.clock.now()) }));
    const recovery = await recoveryOf(c.shop, invoice.id);
    expect(mailTo("stripe-emails@example.com")).toHaveLength(0);
    const [first] = await p.db.message.findMany({ where: { recoveryId: recovery.id }, orderBy: { position: "asc" } });
    expect(first).toMatchObject({ status: "skipped", skipReason: "stripe_email" });
    const decision = await p.db.decisionLog.findFirstOrThrow({ where: { recoveryId: recovery.id, reason: "stripe_email" } });
    expect(decision.detail).toBe(
      "Stripe Billing already emails customers about failed payments: Reclaim skips this step so the customer is not told twice (Settings › Stripe › Payment recovery)",
    );
  });
});
