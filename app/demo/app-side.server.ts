/**
 * The part of the demo that runs the app's own code in the demo process, as `npm run worker` does: the job runner and
 * the merchant's one-time set-up (email through the demo's SMTP server, the Stripe connection). Imported only after
 * the demo has set the environment and installed its clock. In development the Prisma client is one per process
 * (app/db.server.ts), so this code and the served build share one connection and one lock (ADR 007).
 */
import { db } from "../db.server";
import { saveEmailSettings } from "../email/settings.server";
import { closeTransports } from "../email/transport.server";
import { makeSyncShopifyCheckoutsJob } from "../jobs/definitions/sync-shopify-checkouts.server";
import { env } from "../env.server";
import { jobDefinitions } from "../jobs/registry.server";
import { startWorker, type JobWorker } from "../jobs/engine.server";
import { logger } from "../logger.server";
import { ensureSweepScheduled } from "../models/message-sweep.server";
import { savePaymentRecoverySettings } from "../models/payment-recovery.server";
import { connectStripe, endpointPath } from "../models/stripe-connection.server";
import { checkApiKey } from "../sources/stripe/api.server";
import { SHOPIFY_SYNC_JOB } from "../sources/shopify/sync-request.server";
import { openToken } from "../security/encrypted-session-storage.server";

export { db };

/** The access scopes the app asks for (the fake shop grants exactly these). */
export const appScopes = () => env.SCOPES;

export interface DemoShopSetup {
  shopDomain: string;
  shopName: string;
  smtpPort: number;
  stripeWebhookSecret: string;
  stripeApiKey: string;
}

/** The offline session token exchange stored, if any (the fake Admin API is told which tokens are valid). */
export async function offlineSession(shopDomain: string) {
  const row = await db.session.findFirst({ where: { shop: shopDomain, isOnline: false } });
  // Tokens are stored encrypted (app/security/encrypted-session-storage.server.ts); the fake needs them in clear.
  return row
    ? { ...row, accessToken: openToken(row.accessToken, row.id, "accessToken"), refreshToken: openToken(row.refreshToken, row.id, "refreshToken") }
    : null;
}

export async function findShop(shopDomain: string) {
  return db.shop.findUnique({ where: { domain: shopDomain } });
}

/**
 * What a merchant would do in Settings after installing: sender and postal address, SMTP server (the demo's inbox;
 * its port can change between runs), and Stripe connected with the endpoint's signing secret and a restricted key.
 */
export async function configureDemoShop(shopId: string, s: DemoShopSetup): Promise<{ stripeEndpointPath: string }> {
  await db.shop.update({ where: { id: shopId }, data: { name: s.shopName, email: `owner@${s.shopDomain.split(".")[0]}.example` } });
  const saved = await saveEmailSettings(db, shopId, {
    emailTransport: "smtp",
    senderName: s.shopName,
    senderEmail: `hello@${s.shopDomain.split(".")[0]}.example`,
    replyTo: null,
    smtpHost: "127.0.0.1",
    smtpPort: s.smtpPort,
    smtpSecure: false,
    smtpUser: null,
    smtpPassword: null,
    postalAddress: "150 Elgin Street, Ottawa ON K2P 1L4, Canada",
  });
  if (!saved.ok) throw new Error(`demo email settings refused: ${JSON.stringify(saved.fieldErrors)}`);
  const connected = await connectStripe(db, shopId, { webhookSecret: s.stripeWebhookSecret, apiKey: s.stripeApiKey }, { checkKey: checkApiKey });
  if (!connected.ok) throw new Error(`demo Stripe connection refused: ${JSON.stringify(connected.errors)}`);
  // Payment recovery on, as a merchant selling subscriptions would turn it on (Settings › Stripe; docs/decisions/087).
  const payments = await savePaymentRecoverySettings(db, shopId, connected.connection.id, {
    paymentRecovery: true,
    stripeEmailsFailedPayments: false,
    stripeEmailsActionRequired: false,
  });
  if (!payments.ok) throw new Error(`demo payment recovery refused: ${payments.error}`);
  return { stripeEndpointPath: endpointPath(connected.connection.id) };
}

export interface DemoRunnerOptions {
  /** Virtual ms → real sleep, for the sync's pacing waits. */
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Clock factor: the stale-lock timeout is scaled so that a job running for a few real seconds is not "stale". */
  factor: number;
}

/**
 * The app's job runner with every registered job. Two things differ from startJobRunner, both because of the
 * compressed clock: the sync sleeps in demo time, and the lock timeout (5 min in production) is 5 real minutes.
 */
export async function startDemoRunner(o: DemoRunnerOptions): Promise<JobWorker> {
  const definitions = [...jobDefinitions.filter((d) => d.name !== SHOPIFY_SYNC_JOB), makeSyncShopifyCheckoutsJob({ sleep: o.sleep })];
  // graphile-worker with useNodeTime: due-ness follows the demo's compressed Date (ADR 061, 080).
  await ensureSweepScheduled(db, new Date());
  return startWorker({
    db,
    definitions,
    concurrency: 3,
    pollIntervalMs: 200,
    lockTimeoutMs: 5 * 60_000 * o.factor,
    onEvent: (event) => {
      if (event.type === "failed") logger.error("job failed", event);
      else if (event.type === "retrying") logger.warn("job will retry", { ...event, runAt: event.runAt.toISOString() });
    },
  });
}

export async function shutdownAppSide(): Promise<void> {
  closeTransports();
  await db.$disconnect();
}
