// Stripe webhook deliveries as Stripe sends them: the exact JSON bytes, signed with the endpoint's secret by the SDK's
// own helper (stripe.webhooks.generateTestHeaderString), so tests exercise the real verification path.
import Stripe from "stripe";

export interface DeliveryOptions {
  secret: string;
  /** Unix seconds; default now. */
  timestamp?: number;
  /** Sends these bytes instead of the serialised event (still signed, unless `header` is given). */
  body?: string;
  /** Overrides the Stripe-Signature header. */
  header?: string | null;
  baseUrl?: string;
}

export function stripeSignature(body: string, secret: string, timestamp?: number): string {
  return Stripe.webhooks.generateTestHeaderString({ payload: body, secret, ...(timestamp ? { timestamp } : {}) });
}

export function stripeWebhookRequest(path: string, event: unknown, options: DeliveryOptions): Request {
  const body = options.body ?? JSON.stringify(event, null, 2); // Stripe pretty-prints its payloads
  const headers = new Headers({ "content-type": "application/json; charset=utf-8", "user-agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)" });
  const header = options.header === undefined ? stripeSignature(body, options.secret, options.timestamp) : options.header;
  if (header !== null) headers.set("stripe-signature", header);
  return new Request(new URL(path, options.baseUrl ?? "https://reclaim.test"), { method: "POST", body, headers });
}
