import Stripe from "stripe";
import { env } from "../../env.server";

/**
 * The one module that builds Stripe SDK clients (architecture: each vendor client is built in exactly one module).
 * Clients are per merchant key (restricted `rk_…`), never a platform key. In tests, STRIPE_API_BASE points every
 * call at a local fake through the SDK's own `host`/`port`/`protocol` options; it is refused in production.
 */

export interface ApiBaseOptions {
  host?: string;
  port?: number;
  protocol?: "http" | "https";
}

/** Turns an API base override into SDK options. Throws in production: a merchant's key must only ever go to Stripe. */
export function apiBaseOptions(base: string | undefined, nodeEnv: string): ApiBaseOptions {
  if (!base) return {};
  if (nodeEnv === "production") throw new Error("STRIPE_API_BASE must not be set in production");
  const url = new URL(base);
  const protocol = url.protocol === "http:" ? "http" : "https";
  return { host: url.hostname, port: url.port ? Number(url.port) : protocol === "http" ? 80 : 443, protocol };
}

/**
 * The Stripe API version Reclaim is written against, stated rather than left to the SDK's default so that upgrading the
 * SDK never silently changes the shape of what the app reads. It is also the version Settings › Stripe asks merchants to
 * pin their webhook endpoint to (payloads follow the endpoint's version; docs/decisions/076). Must equal the SDK's own
 * pinned version (test/unit/stripe-api-version.test.ts).
 */
export const STRIPE_API_VERSION = "2026-10-28.endive" as const;

/** A client acting with one merchant's API key. Short timeout and one retry: these calls run in jobs, which retry. */
export function stripeClient(apiKey: string): Stripe {
  return new Stripe(apiKey, {
    apiVersion: STRIPE_API_VERSION,
    ...apiBaseOptions(env.STRIPE_API_BASE, env.NODE_ENV),
    maxNetworkRetries: 1,
    timeout: 15_000,
    telemetry: false,
    appInfo: { name: "Reclaim" },
  });
}

/** Signature verification needs no key: the SDK's static webhooks helper. */
export const stripeWebhooks = Stripe.webhooks;

export { Stripe };
