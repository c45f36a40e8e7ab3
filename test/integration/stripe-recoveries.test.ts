// Stripe recoveries a buyer can actually use (docs/decisions/077-stripe-source-and-app-store.md), end to end through
// the real webhook route and job runner: events built from Stripe's fixtures (app/demo/fakes/stripe-api/objects.ts), signed
// with Stripe's own helper, and the merchant's Stripe API served by the fake (app/demo/fakes/stripe-api/server.ts).
import type { PrismaClient, Shop } from "@prisma/client";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { loadApp } from "../helpers/app-server";
import { expiredSession, lineItem, paymentLink, product, stripeEvent } from "../../app/demo/fakes/stripe-api/objects";
import { FakeStripeApi } from "../../app/demo/fakes/stripe-api/server";
import { stripeWebhookRequest } from "../../app/demo/fakes/stripe-api/webhooks";
import { jobTable } from "../helpers/jobs";

const PLAIN_SECRET = "whsec_recoveriesPlainSecret0123456789ab";
const KEYED_SECRET = "whsec_recoveriesKeyedSecret0123456789ab";
const LIMITED_SECRET = "whsec_recoveriesLimitSecret0123456789ab";
const API_KEY = "rk_test_51RecoveriesFullKey0123456789abcdefg";
// Checkout Sessions: Read only (no Products, no Payment Links).
const LIMITED_KEY = "rk_test_51RecoveriesLimitedKey0123456789abcd";

const fake = new FakeStripeApi().addKey(API_KEY).addKey(LIMITED_KEY, { checkoutSessionRead: true, productRead: false, paymentLinkRead: false });
let app: Awaited<ReturnType<typeof loadApp>>;
let db: PrismaClient;
const shops: Record<"plain" | "keyed" | "limited", { shop: Shop; connectionId: string; secret: string }> = {} as never;
let drain: (at?: Date) => Promise<number>;

beforeAll(async () => {
  process.env.STRIPE_API_BASE = await fake.start();
  app = await loadApp();
  db = (await import("~/db.server")).db;
  const { connectStripe } = await import("~/models/stripe-connection.server");
  const { checkApiKey } = await import("~/sources/stripe/api.server");
  const { JobRunner } = await import("../helpers/jobs");
  const { jobDefinitions } = await import("~/jobs/registry.server");
  drain = (at?: Date) => new JobRunner({ db, definitions: jobDefinitions, ...(at ? { clock: { now: () => at } } : {}) }).drain();
  for (const [name, secret, apiKey] of [
    ["plain", PLAIN_SECRET, null],
    ["keyed", KEYED_SECRET, API_KEY],
    ["limited", LIMITED_SECRET, LIMITED_KEY],
  ] as const) {
    const shop = await db.shop.create({ data: { domain: `recoveries-${name}.myshopify.com`, name: `Shop ${name}` } });
    const connected = await connectStripe(db, shop.id, { webhookSecret: secret, apiKey }, { checkKey: checkApiKey });
    if (!connected.ok) throw new Error(`could not connect ${name}`);
    shops[name] = { shop, connectionId: connected.connection.id, secret };
  }
});
afterAll(async () => {
  await app?.close();
  await fake.close();
});
beforeEach(() => {
  fake.requests.length = 0;
});

const deliver = (to: keyof typeof shops, event: unknown) =>
  app.handle(stripeWebhookRequest(`/webhooks/stripe/${shops[to].connectionId}`, event, { secret: shops[to].secret }));
const recoveryOf = (sessionId: string) => db.recovery.findFirstOrThrow({ where: { source: "stripe", externalId: sessionId } });
const metadataOf = async (sessionId: string) => JSON.parse((await recoveryOf(sessionId)).sourceMetadata) as Record<string, unknown>;

describe("Payment Link sessions", () => {
  it("get the link's own address with the buyer's email prefilled, read once with the connection's key and cached", async () => {
    const link = paymentLink();
    fake.addPaymentLinks(link);
    const session = expiredSession({ paymentLink: link.id, email: "Pat+pl@example.com", promotions: "opt_in" });
    expect((await deliver("keyed", stripeEvent("checkout.session.expired", session))).status).toBe(200);
    await drain();
    const recovery = await recoveryOf(session.id);
    expect(recovery.recoveryUrl).toBe(`${link.url}?prefilled_email=Pat%2Bpl%40example.com`);
    expect(recovery.notContactableReason).toBeNull();
    // Payment Links give no expiry: 30 days after the session expired.
    expect(recovery.recoveryUrlExpiresAt).toEqual(new Date((session.expires_at + 30 * 86_400) * 1000));
    expect(await metadataOf(session.id)).toMatchObject({ payment_link: link.id, allow_promotion_codes: false });
    expect(fake.requests.filter((r) => r.path === `/v1/payment_links/${link.id}`)).toEqual([expect.objectContaining({ method: "GET", apiKey: API_KEY })]);

    // A second abandoned session of the same link: the cached address, no second call.
    const again = expiredSession({ paymentLink: link.id, email: "quinn@example.com", promotions: "opt_in" });
    await deliver("keyed", stripeEvent("checkout.session.expired", again));
    await drain();
    expect((await recoveryOf(again.id)).recoveryUrl).toBe(`${link.url}?prefilled_email=quinn%40example.com`);
    expect(fake.requests.filter((r) => r.path.startsWith("/v1/payment_links/"))).toHaveLength(1);
    expect(await db.stripePaymentLink.count({ where: { paymentLinkId: link.id } })).toBe(1);
  });

  it("say why there is no link: key without Payment Links: Read, no key, deactivated link", async () => {
    const link = paymentLink();
    fake.addPaymentLinks(link);
    const denied = expiredSession({ paymentLink: link.id, email: "rae@example.com" });
    await deliver("limited", stripeEvent("checkout.session.expired", denied));
    const keyless = expiredSession({ paymentLink: link.id, email: "sam@example.com" });
    await deliver("plain", stripeEvent("checkout.session.expired", keyless));
    const off = paymentLink({ active: false });
    fake.addPaymentLinks(off);
    const deactivated = expiredSession({ paymentLink: off.id, email: "tia@example.com" });
    await deliver("keyed", stripeEvent("checkout.session.expired", deactivated));
    await drain();

    for (const [session, why] of [
      [denied, /cannot read Payment Links \(in Stripe, edit the key and set Payment Links to Read\)/],
      [keyless, /no Stripe API key connected, so Reclaim cannot read the Payment Link's address/],
      [deactivated, /the Payment Link was deactivated in Stripe/],
    ] as const) {
      const recovery = await recoveryOf(session.id);
      expect(recovery).toMatchObject({ recoveryUrl: null, notContactableReason: "no_recovery_link" });
      expect((await metadataOf(session.id)).recovery_link_unavailable).toMatch(why);
    }
    expect(await db.message.count({ where: { recovery: { externalId: { in: [denied.id, keyless.id, deactivated.id] } } } })).toBe(0);
  });
});

describe("consent collected before Checkout (session metadata)", () => {
  it("is honoured under the explicit policy, with the time the buyer gave it as evidence", async () => {
    const { decide } = await import("~/recovery/decide");
    const { policyFor } = await import("~/jobs/definitions/send-message.server");
    const created = Math.floor(Date.now() / 1000) - 3600;
    const givenAt = "2026-11-02T09:30:00.000Z";
    const session = expiredSession({
      email: "ulla@example.de",
      created,
      metadata: { reclaim_marketing_consent: "opt_in", reclaim_consent_collected_at: givenAt, cart: "eu-17" },
    });
    await deliver("plain", stripeEvent("checkout.session.expired", session));
    await drain();
    const recovery = await recoveryOf(session.id);
    expect(recovery.consent).toBe("opt_in");
    const evidence = JSON.parse(recovery.consentEvidence);
    expect(evidence).toEqual({
      state: "opt_in",
      source: "stripe.metadata",
      detail: { reclaim_marketing_consent: "opt_in", reclaim_consent_collected_at: givenAt },
      at: givenAt,
    });
    expect(evidence.at).not.toBe(recovery.abandonedAt.toISOString()); // not the expiry time

    const shop = await db.shop.findUniqueOrThrow({ where: { id: shops.plain.shop.id } });
    expect(shop.consentPolicy).toBe("explicit");
    const contact = await db.contact.findUniqueOrThrow({ where: { id: recovery.contactId! } });
    const decision = decide({
      now: new Date(recovery.abandonedAt.getTime() + 3_600_000),
      recovery: { ...recovery, source: "stripe", status: "open", consent: "opt_in", consentEvidence: evidence },
      contact,
      policy: policyFor(shop),
      history: { purchaseSinceAbandonment: null, newerRecovery: null, lastEmailedForOtherRecoveryAt: null },
    });
    expect(decision).toMatchObject({ outcome: "send" });
    expect((decision as { detail: string }).detail).toContain("stripe.metadata");
  });

  it("is not honoured without a consent time no later than the session's creation", async () => {
    const created = Math.floor(Date.now() / 1000) - 3600;
    const later = new Date((created + 600) * 1000).toISOString();
    const session = expiredSession({
      email: "vic@example.de",
      created,
      metadata: { reclaim_marketing_consent: "opt_in", reclaim_consent_collected_at: later },
    });
    const timeless = expiredSession({ email: "wes@example.de", created, metadata: { reclaim_marketing_consent: "opt_in" } });
    await deliver("plain", stripeEvent("checkout.session.expired", session));
    await deliver("plain", stripeEvent("checkout.session.expired", timeless));
    await drain();
    for (const s of [session, timeless]) {
      const recovery = await recoveryOf(s.id);
      expect(recovery.consent).toBe("unknown");
      expect(JSON.parse(recovery.consentEvidence)).toMatchObject({
        state: "unknown",
        source: "stripe.metadata",
        detail: { ignored: expect.stringMatching(/reclaim_consent_collected_at/) },
      });
    }
  });

  it("Stripe's own consent.promotions carries the session's creation time, not the expiry", async () => {
    const created = Math.floor(Date.now() / 1000) - 7200;
    const session = expiredSession({ email: "xan@example.com", created, promotions: "opt_in" });
    await deliver("plain", stripeEvent("checkout.session.expired", session));
    await drain();
    expect(JSON.parse((await recoveryOf(session.id)).consentEvidence)).toMatchObject({
      source: "stripe.consent.promotions",
      at: new Date(created * 1000).toISOString(),
    });
  });
});

describe("a Stripe promotion code in an incentive step", () => {
  it("is shown only to sessions that allowed promotion codes", async () => {
    const shop = await db.shop.create({ data: { domain: "recoveries-promo.myshopify.com", name: "Promo" } });
    const { connectStripe } = await import("~/models/stripe-connection.server");
    const secret = "whsec_recoveriesPromoSecret0123456789ab";
    const connected = await connectStripe(db, shop.id, { webhookSecret: secret });
    if (!connected.ok) throw new Error("could not connect");
    await db.campaign.create({
      data: {
        shopId: shop.id,
        name: "Stripe code",
        isDefault: true,
        steps: {
          create: [
            {
              position: 1,
              delayMinutes: 60,
              subject: "Your cart",
              bodyTemplate: '{% if incentive %}Use {{ incentive.code }} for {{ incentive.description }} off.{% endif %} <a href="{{ recovery_url }}">Back</a>',
              incentiveType: "percentage",
              incentiveValue: 10,
              stripePromotionCode: "COMEBACK10",
            },
          ],
        },
      },
    });
    const allowed = expiredSession({ email: "yara@example.com", promotions: "opt_in", allowPromotionCodes: true });
    const refused = expiredSession({ email: "zed@example.com", promotions: "opt_in", allowPromotionCodes: false });
    for (const s of [allowed, refused]) {
      expect(
        (await app.handle(stripeWebhookRequest(`/webhooks/stripe/${connected.connection.id}`, stripeEvent("checkout.session.expired", s), { secret }))).status,
      ).toBe(200);
    }
    await drain();
    expect(await metadataOf(allowed.id)).toMatchObject({ allow_promotion_codes: true });
    expect(await metadataOf(refused.id)).toMatchObject({ allow_promotion_codes: false });
    await drain(new Date(Date.now() + 2 * 3_600_000));

    const sent = async (sessionId: string) => {
      const message = await db.message.findFirstOrThrow({ where: { recovery: { externalId: sessionId } } });
      const log = await db.decisionLog.findFirstOrThrow({ where: { messageId: message.id, outcome: "send" } });
      return { message, detail: log.detail };
    };
    const a = await sent(allowed.id);
    expect(a.message).toMatchObject({ status: "sent", discountCode: "COMEBACK10" });
    expect(a.detail).toContain("Stripe promotion code COMEBACK10");
    const r = await sent(refused.id);
    expect(r.message).toMatchObject({ status: "sent", discountCode: null });
    expect(r.detail).toContain("incentive not shown (this Stripe session did not allow promotion codes)");

    // The rendered email: the code for the allowed session, nothing for the other.
    const { previewStep } = await import("~/email/campaign-editor.server");
    const step = await db.campaignStep.findFirstOrThrow({ where: { campaign: { shopId: shop.id } } });
    const html = async (sessionId: string) => {
      const preview = await previewStep(db, shop.id, step, { recoveryId: (await recoveryOf(sessionId)).id });
      if (!preview.ok) throw new Error("preview failed");
      return preview.email.html;
    };
    expect(await html(allowed.id)).toContain("Use COMEBACK10 for 10% off.");
    expect(await html(refused.id)).not.toContain("COMEBACK10");
  });
});

describe("line items", () => {
  it("carry each product's name and first image (expand[]=data.price.product)", async () => {
    const shirt = product({ name: "Linen shirt", images: ["https://files.stripe.com/links/shirt-front.png", "https://files.stripe.com/links/shirt-back.png"] });
    const cap = product({ name: "Cap", images: [] });
    fake.addProducts(shirt, cap);
    const session = expiredSession({ email: "amy@example.com", amountTotal: 5400 });
    fake.setLineItems(session.id, [
      lineItem({ description: "Linen shirt", quantity: 1, unitAmount: 3900, product: shirt }),
      lineItem({ description: "Cap", quantity: 1, unitAmount: 1500, product: cap }),
    ]);
    await deliver("keyed", stripeEvent("checkout.session.expired", session));
    await drain();
    expect(JSON.parse((await recoveryOf(session.id)).lineItems)).toEqual([
      {
        title: "Linen shirt",
        variantTitle: null,
        quantity: 1,
        imageUrl: "https://files.stripe.com/links/shirt-front.png",
        unitPriceMinor: 3900,
        totalPriceMinor: 3900,
      },
      { title: "Cap", variantTitle: null, quantity: 1, imageUrl: null, unitPriceMinor: 1500, totalPriceMinor: 1500 },
    ]);
    expect(fake.requests).toEqual([
      expect.objectContaining({
        path: `/v1/checkout/sessions/${session.id}/line_items`,
        apiKey: API_KEY,
        query: expect.objectContaining({ limit: "100", "expand[0]": "data.price.product" }),
      }),
    ]);
  });

  it("without Products: Read, come without images and the recovery says why", async () => {
    const session = expiredSession({ email: "ben@example.com" });
    fake.setLineItems(session.id, [
      lineItem({ description: "Mug", quantity: 2, unitAmount: 900, product: product({ name: "Mug", images: ["https://files.stripe.com/links/mug.png"] }) }),
    ]);
    await deliver("limited", stripeEvent("checkout.session.expired", session));
    await drain();
    expect(JSON.parse((await recoveryOf(session.id)).lineItems)).toEqual([
      { title: "Mug", variantTitle: null, quantity: 2, imageUrl: null, unitPriceMinor: 900, totalPriceMinor: 1800 },
    ]);
    expect((await metadataOf(session.id)).line_items_note).toMatch(/cannot read Products/);
  });

  it("a 503 from Stripe still makes the recovery at once; a later job adds the items", async () => {
    const session = expiredSession({ email: "cyd@example.com", promotions: "opt_in" });
    fake.setLineItems(session.id, [lineItem({ description: "Scarf", quantity: 1, unitAmount: 2500 })]);
    fake.failNext(503, 503); // the SDK's one retry fails too
    const sentAt = Date.now();
    await deliver("keyed", stripeEvent("checkout.session.expired", session));
    await drain();
    const first = await recoveryOf(session.id);
    expect(first.notContactableReason).toBeNull();
    expect(JSON.parse(first.lineItems)).toEqual([]);
    expect((await metadataOf(session.id)).line_items_unavailable).toBe("Stripe did not answer (HTTP 503); Reclaim is fetching them again");
    // The event's job finished at once (no 2-minute retry loop) and queued the follow-up.
    expect(await jobTable(db).count({ where: { name: "process-stripe-event", status: { not: "succeeded" } } })).toBe(0);
    const follow = await jobTable(db).findFirstOrThrow({ where: { name: "enrich-stripe-recovery", status: "queued" } });
    expect(follow.shopId).toBe(shops.keyed.shop.id);
    expect(follow.runAt.getTime()).toBeGreaterThanOrEqual(sentAt + 50_000);
    expect(follow.runAt.getTime()).toBeLessThan(sentAt + 5 * 60_000);

    await drain(new Date(Date.now() + 2 * 60_000));
    const enriched = await recoveryOf(session.id);
    expect(JSON.parse(enriched.lineItems)).toEqual([
      { title: "Scarf", variantTitle: null, quantity: 1, imageUrl: null, unitPriceMinor: 2500, totalPriceMinor: 2500 },
    ]);
    expect((await metadataOf(session.id)).line_items_unavailable).toBeUndefined();
    expect(enriched.id).toBe(first.id);
    // The follow-up succeeded: graphile-worker removed it (neither failed nor queued for a retry).
    expect(await jobTable(db).findUnique({ where: { id: follow.id } })).toBeNull();
  });
});

describe("clicks on a Stripe recovery link", () => {
  const clickFor = async (sessionId: string) => {
    const { messageLinks } = await import("~/email/links.server");
    const message = await db.message.findFirstOrThrow({ where: { recovery: { externalId: sessionId } }, orderBy: { position: "asc" } });
    return app.handle(new Request(messageLinks(message.id).clickUrl));
  };

  beforeAll(async () => {
    const { ensureDefaultCampaign } = await import("~/models/campaign.server");
    await ensureDefaultCampaign(db, shops.plain.shop.id);
  });

  it("lands on the shop's page once the link has expired, and on Stripe before", async () => {
    const live = expiredSession({ email: "dee@example.com", promotions: "opt_in" });
    const stale = expiredSession({ email: "eli@example.com", promotions: "opt_in", recoveryExpiresAt: Math.floor(Date.now() / 1000) - 86_400 });
    await deliver("plain", stripeEvent("checkout.session.expired", live));
    await deliver("plain", stripeEvent("checkout.session.expired", stale));
    await drain();
    const toStripe = await clickFor(live.id);
    expect(toStripe.status).toBe(302);
    expect(toStripe.headers.get("location")).toBe(live.after_expiration.recovery.url);
    const toShop = await clickFor(stale.id);
    expect(toShop.status).toBe(302);
    expect(toShop.headers.get("location")).toBe(`https://${shops.plain.shop.domain}/`);
    expect(await db.click.count({ where: { recovery: { externalId: stale.id } } })).toBe(1); // still a click
  });

  it("a link stored with no expiry counts 30 days from the session's expiry", async () => {
    const session = expiredSession({ email: "fay@example.com", promotions: "opt_in", recoveryExpiresAt: null });
    await deliver("plain", stripeEvent("checkout.session.expired", session));
    await drain();
    const recovery = await recoveryOf(session.id);
    expect(recovery.recoveryUrlExpiresAt).toEqual(new Date((session.expires_at + 30 * 86_400) * 1000));
    await db.recovery.update({ where: { id: recovery.id }, data: { recoveryUrlExpiresAt: null, abandonedAt: new Date(Date.now() - 31 * 86_400_000) } });
    expect((await clickFor(session.id)).headers.get("location")).toBe(`https://${shops.plain.shop.domain}/`);
  });

  it("refuses a recovery link that is not on a Stripe checkout host: stored as no link, and never followed", async () => {
    const session = expiredSession({ email: "gus@example.com", promotions: "opt_in", recoveryUrl: "https://checkout.stripe.com.evil.example/c/pay/cs_test_x" });
    await deliver("plain", stripeEvent("checkout.session.expired", session));
    await drain();
    expect(await recoveryOf(session.id)).toMatchObject({ recoveryUrl: null, notContactableReason: "no_recovery_link" });
    expect((await metadataOf(session.id)).recovery_link_unavailable).toBe("the recovery link Stripe sent is not on a Stripe checkout host");

    // A row stored before the check (or edited) with another host is not followed either.
    const good = expiredSession({ email: "hal@example.com", promotions: "opt_in" });
    await deliver("plain", stripeEvent("checkout.session.expired", good));
    await drain();
    await db.recovery.update({ where: { id: (await recoveryOf(good.id)).id }, data: { recoveryUrl: "https://attacker.example/pay" } });
    expect((await clickFor(good.id)).headers.get("location")).toBe(`https://${shops.plain.shop.domain}/`);
  });
});
