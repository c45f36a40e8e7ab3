/**
 * The recovery pipeline wired for integration tests: the real job runner on the test file's PostgreSQL database with a fake clock,
 * a real SMTP server (smtp-server on 127.0.0.1), and the fake Shopify Admin API for discount codes and consent.
 * Recoveries enter through `ingestSourceEvent`, exactly as the Shopify and Stripe sources feed them.
 */
import { randomUUID } from "node:crypto";
import type { PrismaClient, Shop } from "@prisma/client";
import { startFakeShopifyAdmin, type FakeShopifyAdmin } from "../../app/demo/fakes/shopify-admin";
import { FakeClock } from "./fake-clock";
import { offlineSession } from "./shopify";
import { startSmtpSink, type SmtpSink, type SmtpSinkOptions } from "./smtp";
import type { CheckoutObserved, PurchaseObserved } from "~/recovery/model";

export const H = 3_600_000;
export const MIN = 60_000;

export interface Pipeline {
  db: PrismaClient;
  clock: FakeClock;
  sink: SmtpSink;
  admin: FakeShopifyAdmin;
  runner: import("./jobs").JobRunner;
  /** Runs every due job (the sweep, the sends it enqueues, …) at the clock's current time. */
  drain(): Promise<number>;
  /** Moves the clock to `at` and drains. */
  runAt(at: Date): Promise<void>;
  /** A shop with the default campaign; `adminOptions` shape it in the fake Admin API (e.g. its cost bucket). */
  newShop(overrides?: Partial<Shop>, adminOptions?: Partial<import("~/demo/fakes/shopify-admin").AddShopOptions>): Promise<Shop>;
  ingest(shop: Shop, event: CheckoutObserved | PurchaseObserved): Promise<import("~/models/ingest.server").IngestResult>;
  close(): Promise<void>;
}

export async function startPipeline(options: { start?: Date; smtp?: SmtpSinkOptions } = {}): Promise<Pipeline> {
  const { db } = await import("~/db.server");
  const { jobDefinitions } = await import("~/jobs/registry.server");
  const { JobRunner } = await import("./jobs");
  const { ingestSourceEvent } = await import("~/models/ingest.server");
  const { ensureDefaultCampaign } = await import("~/models/campaign.server");
  const { sessionStorage } = await import("~/shopify.server");
  const { closeTransports } = await import("~/email/transport.server");
  // After ~/shopify.server: its node adapter installs the real fetch when imported.
  const { setAbstractFetchFunc } = await import("@shopify/shopify-api/runtime");

  const clock = new FakeClock(options.start);
  const sink = await startSmtpSink(options.smtp);
  const admin = await startFakeShopifyAdmin();
  setAbstractFetchFunc(admin.fetchFor());
  const runner = new JobRunner({ db, definitions: jobDefinitions, clock, workerId: "test-worker", random: () => 0.5 });

  const pipeline: Pipeline = {
    db,
    clock,
    sink,
    admin,
    runner,
    drain: () => runner.drain(),
    async runAt(at) {
      clock.set(at);
      await runner.drain();
    },
    async newShop(overrides = {}, adminOptions = {}) {
      const domain = overrides.domain ?? `shop-${randomUUID().slice(0, 8)}.myshopify.com`;
      const shop = await db.shop.create({
        data: {
          domain,
          name: "Acme Outfitters",
          currency: "USD",
          timezone: "UTC",
          emailTransport: "smtp",
          smtpHost: sink.host,
          smtpPort: sink.port,
          senderName: "Acme Outfitters",
          senderEmail: "hello@acme.test",
          replyTo: "support@acme.test",
          postalAddress: "1 Market Street, Springfield 12345, USA",
          grantedScopes: "read_orders,read_customers,write_customers,write_discounts",
          ...overrides,
        },
      });
      admin.addShop({ domain, accessToken: "shpat_test_offline_token", currencyCode: shop.currency, ...adminOptions });
      await sessionStorage.storeSession(offlineSession(domain));
      await ensureDefaultCampaign(db, shop.id);
      return shop;
    },
    ingest: (shop, event) => ingestSourceEvent(db, shop.id, event, clock.now()),
    async close() {
      closeTransports();
      await sink.close();
      await admin.close();
    },
  };
  return pipeline;
}

let sequence = 0;
const next = () => ++sequence;

/** An abandoned Shopify checkout as the sources report it (opted-in buyer unless overridden). */
export function shopifyCheckout(at: Date, overrides: Partial<CheckoutObserved> = {}): CheckoutObserved {
  const n = next();
  return {
    kind: "checkout.observed",
    source: "shopify",
    externalId: `gid://shopify/AbandonedCheckout/${9000 + n}`,
    checkoutToken: `tok-${n}`,
    name: `#${1000 + n}`,
    email: `buyer${n}@example.com`,
    firstName: "Robin",
    shopifyCustomerId: `gid://shopify/Customer/${7000 + n}`,
    consent: { state: "opt_in", source: "shopify.checkout.buyer_accepts_marketing", detail: { buyer_accepts_marketing: true } },
    lineItems: [
      {
        title: "Linen shirt",
        variantTitle: "Sand / L",
        quantity: 1,
        imageUrl: "https://cdn.shopify.com/s/files/shirt.jpg",
        unitPriceMinor: 6450,
        totalPriceMinor: 6450,
      },
      { title: "Canvas tote", variantTitle: null, quantity: 2, imageUrl: null, unitPriceMinor: 1800, totalPriceMinor: 3600 },
    ],
    total: { amountMinor: 10050, currency: "USD" },
    locale: "en",
    recoveryUrl: `https://acme.example/1/checkouts/ac/tok-${n}/recover?key=k${n}`,
    recoveryUrlExpiresAt: null,
    abandonedAt: at,
    updatedAt: at,
    completedAt: null,
    ...overrides,
  };
}

/** An expired Stripe Checkout Session with its 30-day recovery link. */
export function stripeSession(at: Date, overrides: Partial<CheckoutObserved> = {}): CheckoutObserved {
  const n = next();
  return {
    kind: "checkout.observed",
    source: "stripe",
    externalId: `cs_test_expired_${n}`,
    checkoutToken: null,
    name: null,
    email: `payer${n}@example.com`,
    firstName: "Sam",
    consent: { state: "opt_in", source: "stripe.consent.promotions", detail: { promotions: "opt_in" } },
    lineItems: [{ title: "Annual plan", variantTitle: null, quantity: 1, imageUrl: null, unitPriceMinor: 123450, totalPriceMinor: 123450 }],
    total: { amountMinor: 123450, currency: "EUR" },
    locale: "de-DE",
    recoveryUrl: `https://checkout.stripe.com/c/pay/cs_test_expired_${n}#recover`,
    recoveryUrlExpiresAt: new Date(at.getTime() + 30 * 24 * H),
    abandonedAt: at,
    updatedAt: at,
    completedAt: null,
    ...overrides,
  };
}

export function stripePayment(email: string, at: Date, overrides: Partial<PurchaseObserved> = {}): PurchaseObserved {
  return {
    kind: "purchase.observed",
    source: "stripe",
    externalId: `cs_test_paid_${next()}`,
    email,
    amount: { amountMinor: 5000, currency: "USD" },
    occurredAt: at,
    ...overrides,
  };
}

export function shopifyOrder(email: string, at: Date, overrides: Partial<PurchaseObserved> = {}): PurchaseObserved {
  return {
    kind: "purchase.observed",
    source: "shopify",
    externalId: `gid://shopify/Order/${500 + next()}`,
    email,
    amount: { amountMinor: 5000, currency: "USD" },
    occurredAt: at,
    ...overrides,
  };
}
