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

/** A client acting with one merchant's API key. Short timeout and one retry: these calls run in jobs, which retry. */
export function stripeClient(apiKey: string): Stripe {
  return new Stripe(apiKey, {
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
