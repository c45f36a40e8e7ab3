// Charges and disputes for refund/dispute webhooks, built from Stripe's own fixtures (test/fixtures/stripe/charge.json
// and dispute.json, MIT) by changing only the fields a given state has, and thin event notifications as Stripe's event
// destinations send them (`object: "v2.core.event"`, no data.object). Nothing here invents a field Stripe does not send.
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../../test/fixtures/stripe");
const load = (name: string) => JSON.parse(readFileSync(path.join(FIXTURES, name), "utf8")) as Record<string, any>;
const CHARGE = load("charge.json");
const DISPUTE = load("dispute.json");

type Json = Record<string, any>;
const suffix = (n = 24) => randomBytes(n).toString("base64url").replace(/[-_]/g, "x").slice(0, n);
const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

export const newPaymentIntentId = () => `pi_${suffix(24)}`;

/** A charge as `charge.refunded` carries it: cumulative `amount_refunded`, `refunded` true once all of it is. */
export function refundedCharge(c: { paymentIntent: string; amount: number; amountRefunded: number; currency?: string; livemode?: boolean }): Json {
  const charge = clone(CHARGE);
  charge.id = `ch_${suffix(24)}`;
  charge.payment_intent = c.paymentIntent;
  charge.amount = c.amount;
  charge.amount_captured = c.amount;
  charge.amount_refunded = c.amountRefunded;
  charge.refunded = c.amountRefunded >= c.amount;
  charge.captured = true;
  charge.currency = c.currency ?? "usd";
  charge.livemode = c.livemode ?? false;
  charge.created = Math.floor(Date.now() / 1000) - 3600;
  return charge;
}

/** A dispute on a payment: `status` as Stripe reports it (`needs_response` when opened; `won` / `lost` when closed). */
export function dispute(d: { paymentIntent: string; amount: number; status: string; currency?: string; livemode?: boolean }): Json {
  const dispute = clone(DISPUTE);
  dispute.id = `dp_${suffix(24)}`;
  dispute.charge = `ch_${suffix(24)}`;
  dispute.payment_intent = d.paymentIntent;
  dispute.amount = d.amount;
  dispute.currency = d.currency ?? "usd";
  dispute.status = d.status;
  dispute.livemode = d.livemode ?? false;
  dispute.created = Math.floor(Date.now() / 1000) - 600;
  return dispute;
}

/**
 * A thin event notification (event destinations): `object: "v2.core.event"`, an ISO `created`, and a `related_object`
 * to fetch instead of a `data.object` snapshot (shape as in stripe-node's V2.Core.EventNotification).
 */
export function thinEventNotification(type: string, related: { id: string; type: string; url: string }, livemode = false): Json {
  return {
    id: `evt_${suffix(24)}`,
    object: "v2.core.event",
    type,
    created: new Date().toISOString(),
    livemode,
    context: null,
    related_object: related,
    reason: null,
  };
}
