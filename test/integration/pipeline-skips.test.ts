import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { H, MIN, shopifyCheckout, shopifyOrder, startPipeline, stripePayment, stripeSession, type Pipeline } from "../helpers/pipeline";

// Every rule of "Decide", driven through the whole pipeline: ingest → schedule → sweep → send job → SMTP.
// Each test uses its own shop and addresses, and starts where the previous one left the clock.
let p: Pipeline;
const bounced = "gone@example.com";

beforeAll(async () => {
  p = await startPipeline({
    start: new Date("2027-03-01T06:00:00Z"),
    smtp: { onRcpt: (address) => (address === bounced ? { code: 550, message: "5.1.1 The email account that you tried to reach does not exist" } : null) },
  });
});
afterAll(() => p?.close());

const sentTo = (email: string) => p.sink.received.filter((m) => m.rcptTo.includes(email)).length;
async function decisions(shopId: string, recoveryId?: string) {
  return p.db.decisionLog.findMany({ where: { shopId, ...(recoveryId ? { recoveryId } : {}) }, orderBy: { decidedAt: "asc" } });
}
async function messages(recoveryId: string) {
  return p.db.message.findMany({ where: { recoveryId }, orderBy: { position: "asc" } });
}
const hoursAfter = (t: Date, h: number) => new Date(t.getTime() + h * H);

describe("decide: every skip has a reason a merchant can read", () => {
  it("no consent: an unknown marketing state is not consent under the default (explicit) policy", async () => {
    const shop = await p.newShop();
    const t = p.clock.now();
    const { recoveryId } = (await p.ingest(
      shop,
      shopifyCheckout(t, {
        email: "quiet@example.com",
        consent: { state: "unknown", source: "shopify.checkout.buyer_accepts_marketing", detail: { buyer_accepts_marketing: false } },
      }),
    )) as { recoveryId: string };
    await p.runAt(hoursAfter(t, 1));
    expect(sentTo("quiet@example.com")).toBe(0);
    expect((await messages(recoveryId))[0]).toMatchObject({ status: "skipped", skipReason: "no_consent" });
    const [log] = await decisions(shop.id, recoveryId);
    expect(log).toMatchObject({ outcome: "skip", reason: "no_consent" });
    expect(log!.detail).toContain("buyer_accepts_marketing=false");
    expect(log!.detail).toContain("explicit marketing consent is required");
  });

  it("…and the documented weaker `implied` policy does send when consent is unknown (but never after an opt-out)", async () => {
    const shop = await p.newShop({ consentPolicy: "implied" });
    const t = p.clock.now();
    await p.ingest(
      shop,
      stripeSession(t, { email: "unknown@example.com", consent: { state: "unknown", source: "stripe.consent.promotions", detail: { promotions: null } } }),
    );
    const { recoveryId } = (await p.ingest(
      shop,
      stripeSession(t, { email: "optout@example.com", consent: { state: "opt_out", source: "stripe.consent.promotions", detail: { promotions: "opt_out" } } }),
    )) as { recoveryId: string };
    await p.runAt(hoursAfter(t, 1));
    expect(sentTo("unknown@example.com")).toBe(1);
    expect(sentTo("optout@example.com")).toBe(0);
    expect((await messages(recoveryId))[0]).toMatchObject({ skipReason: "no_consent" });
  });

  it("unsubscribed: nothing more is sent to the contact, from either source", async () => {
    const { unsubscribeContact } = await import("~/models/contact.server");
    const shop = await p.newShop();
    const t = p.clock.now();
    const a = (await p.ingest(shop, shopifyCheckout(t, { email: "leaver@example.com" }))) as { recoveryId: string };
    await p.runAt(hoursAfter(t, 1));
    expect(sentTo("leaver@example.com")).toBe(1);
    const contact = await p.db.contact.findFirstOrThrow({ where: { shopId: shop.id, email: "leaver@example.com" } });
    await unsubscribeContact(p.db, contact, p.clock.now(), { via: "test", mirrorToShopify: false });
    // A new Stripe checkout by the same person after unsubscribing.
    const b = (await p.ingest(shop, stripeSession(hoursAfter(t, 2), { email: "LEAVER@example.com" }))) as { recoveryId: string };
    for (const h of [3, 24, 26, 72, 74]) await p.runAt(hoursAfter(t, h));
    expect(sentTo("leaver@example.com")).toBe(1);
    expect((await messages(a.recoveryId)).slice(1).map((m) => m.skipReason)).toEqual(["unsubscribed", "unsubscribed"]);
    expect((await messages(b.recoveryId)).map((m) => [m.status, m.skipReason])).toEqual([
      ["skipped", "unsubscribed"],
      ["cancelled", "unsubscribed"],
      ["cancelled", "unsubscribed"],
    ]);
    expect((await decisions(shop.id, b.recoveryId)).map((d) => `${d.outcome}:${d.reason}`)).toEqual([
      "skip:unsubscribed",
      "cancel:unsubscribed",
      "cancel:unsubscribed",
    ]);
  });

  it("campaign turned off: the emails it had already scheduled are not sent, and the log says why", async () => {
    const { updateCampaignFilters } = await import("~/models/campaign.server");
    const shop = await p.newShop();
    const t = p.clock.now();
    const { recoveryId } = (await p.ingest(shop, shopifyCheckout(t, { email: "switched-off@example.com" }))) as { recoveryId: string };
    await p.runAt(hoursAfter(t, 1));
    expect(sentTo("switched-off@example.com")).toBe(1);
    const campaign = await p.db.campaign.findFirstOrThrow({ where: { shopId: shop.id } });
    expect(await updateCampaignFilters(p.db, shop.id, campaign.id, { enabled: false })).toMatchObject({ ok: true });
    for (const h of [24, 26, 72, 74]) await p.runAt(hoursAfter(t, h));
    expect(sentTo("switched-off@example.com")).toBe(1);
    const [, second] = await messages(recoveryId);
    expect(second).toMatchObject({ status: "skipped", skipReason: "campaign_off" });
    const log = (await decisions(shop.id, recoveryId)).find((d) => d.reason === "campaign_off");
    expect(log?.detail).toContain(`"${campaign.name}" was turned off`);
  });

  it("suppressed: a hard bounce (550 at RCPT) suppresses the address for every later recovery", async () => {
    const shop = await p.newShop();
    const t = p.clock.now();
    const a = (await p.ingest(shop, shopifyCheckout(t, { email: bounced }))) as { recoveryId: string };
    await p.runAt(hoursAfter(t, 1));
    expect((await messages(a.recoveryId)).map((m) => [m.status, m.skipReason])).toEqual([
      ["failed", null],
      ["cancelled", "suppressed"],
      ["cancelled", "suppressed"],
    ]);
    expect(await p.db.contact.findFirstOrThrow({ where: { shopId: shop.id, email: bounced } })).toMatchObject({ suppressionReason: "hard_bounce" });
    const b = (await p.ingest(shop, stripeSession(hoursAfter(t, 2), { email: bounced }))) as { recoveryId: string };
    await p.runAt(hoursAfter(t, 3));
    expect((await messages(b.recoveryId))[0]).toMatchObject({ status: "skipped", skipReason: "suppressed" });
    expect((await decisions(shop.id, b.recoveryId))[0]!.detail).toMatch(/bounced/);
  });

  it("purchased on the other provider (Stripe payment after a Shopify checkout) stops the remaining steps", async () => {
    const shop = await p.newShop();
    const t = p.clock.now();
    const { recoveryId } = (await p.ingest(shop, shopifyCheckout(t, { email: "buyer-a@example.com" }))) as { recoveryId: string };
    await p.runAt(hoursAfter(t, 1));
    expect(sentTo("buyer-a@example.com")).toBe(1);
    p.clock.set(hoursAfter(t, 5));
    await p.ingest(shop, stripePayment("Buyer-A@example.com", hoursAfter(t, 5)));
    for (const h of [24, 72]) await p.runAt(hoursAfter(t, h));
    expect(sentTo("buyer-a@example.com")).toBe(1);
    expect((await messages(recoveryId)).map((m) => m.status)).toEqual(["sent", "cancelled", "cancelled"]);
    const logs = (await decisions(shop.id, recoveryId)).filter((d) => d.reason === "purchased");
    expect(logs).toHaveLength(2);
    expect(logs[0]!.detail).toBe("bought on Stripe");
  });

  it("purchased on the other provider (Shopify order after a Stripe session) stops it too", async () => {
    const shop = await p.newShop();
    const t = p.clock.now();
    const { recoveryId } = (await p.ingest(shop, stripeSession(t, { email: "buyer-b@example.com" }))) as { recoveryId: string };
    p.clock.set(hoursAfter(t, 0.5));
    await p.ingest(shop, shopifyOrder("buyer-b@example.com", hoursAfter(t, 0.5)));
    for (const h of [1, 24, 72]) await p.runAt(hoursAfter(t, h));
    expect(sentTo("buyer-b@example.com")).toBe(0);
    expect((await decisions(shop.id, recoveryId)).map((d) => `${d.outcome}:${d.reason}:${d.detail}`)).toEqual(
      Array(3).fill("cancel:purchased:ordered on Shopify"),
    );
  });

  it("purchased, re-checked right before sending: a purchase that slipped past the cancel (e.g. stored while the message was being sent) still stops it", async () => {
    const shop = await p.newShop();
    const t = p.clock.now();
    const { recoveryId } = (await p.ingest(shop, shopifyCheckout(t, { email: "racer@example.com" }))) as { recoveryId: string };
    // Stored directly, as a concurrent writer would, without going through ingest's cancellation.
    await p.db.purchase.create({
      data: {
        shopId: shop.id,
        source: "stripe",
        externalId: "cs_race",
        email: "racer@example.com",
        amountMinor: 100,
        currency: "USD",
        occurredAt: hoursAfter(t, 0.5),
      },
    });
    await p.runAt(hoursAfter(t, 1));
    expect(sentTo("racer@example.com")).toBe(0);
    expect((await messages(recoveryId)).map((m) => m.skipReason)).toEqual(["purchased", "purchased", "purchased"]);
    expect((await decisions(shop.id, recoveryId))[0]).toMatchObject({ outcome: "skip", reason: "purchased" });
    expect((await decisions(shop.id, recoveryId))[0]!.detail).toMatch(/^Bought on Stripe/);
  });

  it("superseded: a newer checkout on the other provider replaces the older one (in either arrival order)", async () => {
    const shop = await p.newShop();
    const t = p.clock.now();
    const older = (await p.ingest(shop, shopifyCheckout(t, { email: "switcher@example.com" }))) as { recoveryId: string };
    const newer = (await p.ingest(shop, stripeSession(hoursAfter(t, 0.5), { email: "switcher@example.com" }))) as { recoveryId: string };
    for (const h of [1, 1.5]) await p.runAt(hoursAfter(t, h));
    expect(sentTo("switcher@example.com")).toBe(1);
    expect((await messages(older.recoveryId)).map((m) => m.skipReason)).toEqual(["superseded", "superseded", "superseded"]);
    expect(await p.db.recovery.findUniqueOrThrow({ where: { id: older.recoveryId } })).toMatchObject({ status: "superseded" });
    expect((await decisions(shop.id, older.recoveryId))[0]!.detail).toBe("A newer checkout on Stripe replaces this one");
    expect((await messages(newer.recoveryId))[0]).toMatchObject({ status: "sent" });

    // The older one arriving late (a poll catching up) is superseded on arrival, and never scheduled.
    const late = (await p.ingest(shop, shopifyCheckout(hoursAfter(t, 0.25), { email: "switcher@example.com" }))) as { recoveryId: string; schedule: string };
    expect(late.schedule).toBe("superseded");
    expect(await p.db.message.count({ where: { recoveryId: late.recoveryId } })).toBe(0);
  });

  it("superseded, re-checked right before sending", async () => {
    const shop = await p.newShop();
    const t = p.clock.now();
    const { recoveryId } = (await p.ingest(shop, shopifyCheckout(t, { email: "twice@example.com" }))) as { recoveryId: string };
    // A newer recovery written directly (no ingest, so nothing was cancelled yet).
    const contact = await p.db.contact.findFirstOrThrow({ where: { shopId: shop.id, email: "twice@example.com" } });
    await p.db.recovery.create({
      data: {
        shopId: shop.id,
        source: "stripe",
        externalId: "cs_newer_direct",
        contactId: contact.id,
        email: contact.email,
        totalMinor: 100,
        currency: "USD",
        recoveryUrl: "https://checkout.stripe.com/x",
        abandonedAt: hoursAfter(t, 0.5),
        sourceUpdatedAt: hoursAfter(t, 0.5),
      },
    });
    await p.runAt(hoursAfter(t, 1));
    expect((await messages(recoveryId))[0]).toMatchObject({ status: "skipped", skipReason: "superseded" });
  });

  it("frequency cap across sources: one recovery email per 16 h per contact, whichever provider", async () => {
    const shop = await p.newShop();
    const t = p.clock.now();
    await p.ingest(shop, shopifyCheckout(t, { email: "often@example.com" }));
    await p.runAt(hoursAfter(t, 1)); // Shopify step 1 goes out at t+1h
    expect(sentTo("often@example.com")).toBe(1);
    // A new Stripe checkout at t+2h: its first step (t+3h) falls inside the 16 h after the Shopify email.
    const stripe = (await p.ingest(shop, stripeSession(hoursAfter(t, 2), { email: "often@example.com" }))) as { recoveryId: string };
    await p.runAt(hoursAfter(t, 3));
    expect(sentTo("often@example.com")).toBe(1);
    const [first] = await messages(stripe.recoveryId);
    expect(first).toMatchObject({ status: "skipped", skipReason: "frequency_cap" });
    expect((await decisions(shop.id, stripe.recoveryId)).find((d) => d.reason === "frequency_cap")!.detail).toMatch(/one per 16 h/);
    // Its next step (t+26h) is outside the cap and goes.
    await p.runAt(hoursAfter(t, 26));
    expect(sentTo("often@example.com")).toBe(2);
  });

  it("link expired: a Stripe recovery link past its expiry is not sent, and the later steps end with it", async () => {
    const shop = await p.newShop();
    const t = p.clock.now();
    const { recoveryId } = (await p.ingest(shop, stripeSession(t, { email: "late@example.com", recoveryUrlExpiresAt: hoursAfter(t, 20) }))) as {
      recoveryId: string;
    };
    for (const h of [1, 24, 72]) await p.runAt(hoursAfter(t, h));
    expect(sentTo("late@example.com")).toBe(1);
    expect((await messages(recoveryId)).map((m) => [m.status, m.skipReason])).toEqual([
      ["sent", null],
      ["skipped", "link_expired"],
      ["cancelled", "link_expired"],
    ]);
    expect((await decisions(shop.id, recoveryId)).find((d) => d.outcome === "skip")!.detail).toMatch(/Stripe recovery link expired/);
  });

  it("quiet hours in the shop's time zone defer the send to their end instead of dropping it", async () => {
    // Berlin, quiet 21:00–08:00. Abandoned 20:30 Berlin → step 1 due 21:30 Berlin → held until 08:00 Berlin.
    const shop = await p.newShop({ timezone: "Europe/Berlin", quietHoursStartMinute: 21 * 60, quietHoursEndMinute: 8 * 60 });
    const abandoned = new Date("2027-03-10T19:30:00Z"); // 20:30 CET
    p.clock.set(abandoned);
    const { recoveryId } = (await p.ingest(shop, shopifyCheckout(abandoned, { email: "night@example.com" }))) as { recoveryId: string };
    await p.runAt(new Date("2027-03-10T20:30:00Z")); // 21:30 Berlin
    expect(sentTo("night@example.com")).toBe(0);
    const [held] = await messages(recoveryId);
    expect(held).toMatchObject({ status: "scheduled", scheduledFor: new Date("2027-03-11T07:00:00Z"), attempts: 0 });
    const [hold] = await decisions(shop.id, recoveryId);
    expect(hold).toMatchObject({ outcome: "hold", reason: "quiet_hours" });
    expect(hold!.detail).toContain("21:00–08:00 Europe/Berlin");
    await p.runAt(new Date("2027-03-11T06:59:00Z"));
    expect(sentTo("night@example.com")).toBe(0);
    await p.runAt(new Date("2027-03-11T07:00:00Z")); // 08:00 Berlin
    expect(sentTo("night@example.com")).toBe(1);
    expect((await messages(recoveryId))[0]).toMatchObject({ status: "sent", sentAt: new Date("2027-03-11T07:00:00Z") });
  });

  it("campaign filters: a recovery no campaign accepts is not scheduled, and the log says why", async () => {
    const shop = await p.newShop();
    await p.db.campaign.updateMany({ where: { shopId: shop.id }, data: { minCartMinor: 50_000 } });
    const { recoveryId } = (await p.ingest(shop, shopifyCheckout(p.clock.now(), { email: "small@example.com" }))) as { recoveryId: string };
    expect(await p.db.message.count({ where: { recoveryId } })).toBe(0);
    expect((await decisions(shop.id, recoveryId))[0]).toMatchObject({ outcome: "skip", reason: "no_matching_campaign" });
    expect((await decisions(shop.id, recoveryId))[0]!.detail).toMatch(/at least \$500\.00/);
  });

  it("a checkout that gains its email later is scheduled then (became contactable)", async () => {
    const shop = await p.newShop();
    const t = p.clock.now();
    const guest = shopifyCheckout(t, { email: null, firstName: null });
    const first = (await p.ingest(shop, guest)) as { recoveryId: string; schedule: string };
    expect(first.schedule).toBe("not_applicable");
    const withEmail = { ...guest, email: "found@example.com", updatedAt: new Date(t.getTime() + 10 * MIN) };
    expect(await p.ingest(shop, withEmail)).toMatchObject({ schedule: "scheduled" });
    await p.runAt(hoursAfter(t, 1));
    expect(sentTo("found@example.com")).toBe(1);
  });
});
