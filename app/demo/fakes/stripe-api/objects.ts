// Stripe objects for tests, the fake API and the benchmark, built from Stripe's own fixtures (test/fixtures/stripe/,
// MIT) by changing only the fields a given state has. Nothing here invents a field Stripe does not send.
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../../test/fixtures/stripe");
const load = (name: string) => JSON.parse(readFileSync(path.join(FIXTURES, name), "utf8")) as Record<string, any>;
const SESSION = load("checkout.session.json");
const EVENT = load("event.json");
const ITEM = load("item.json");
const PRODUCT = load("product.json");
const PAYMENT_LINK = load("payment_link.json");

type Json = Record<string, any>;

const suffix = (n = 24) => randomBytes(n).toString("base64url").replace(/[-_]/g, "x").slice(0, n);
export const newSessionId = (live = false) => `cs_${live ? "live" : "test"}_${suffix(58)}`;
export const newEventId = () => `evt_${suffix(24)}`;

/** Deep clone with overrides applied at the top level (nested objects are replaced whole when overridden). */
function clone<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

export interface SessionState {
  id?: string;
  email?: string | null;
  /** What the merchant prefilled (`customer_email`). */
  customerEmail?: string | null;
  name?: string | null;
  amountTotal?: number | null;
  currency?: string | null;
  /** `consent.promotions`. */
  promotions?: "opt_in" | "opt_out" | null;
  clientReferenceId?: string | null;
  metadata?: Record<string, string>;
  livemode?: boolean;
  created?: number;
  /** The language Checkout was shown in (`locale`: `auto`, `en`, `ja`, `de`, `en-GB`…); null when not set. */
  locale?: string | null;
}

function baseSession(s: SessionState): Json {
  const session = clone(SESSION);
  session.id = s.id ?? newSessionId(s.livemode);
  session.url = `https://checkout.stripe.com/c/pay/${session.id}`;
  session.livemode = s.livemode ?? false;
  session.created = s.created ?? Math.floor(Date.now() / 1000) - 3600;
  session.expires_at = session.created + 1800;
  session.amount_total = s.amountTotal === undefined ? 4200 : s.amountTotal;
  session.amount_subtotal = session.amount_total;
  session.currency = s.currency === undefined ? "usd" : s.currency;
  session.customer_details.email = s.email === undefined ? "example@example.com" : s.email;
  session.customer_details.name = s.name ?? null;
  session.customer_email = s.customerEmail ?? null;
  session.consent = { promotions: s.promotions ?? null, terms_of_service: null };
  session.consent_collection = { ...session.consent_collection, promotions: s.promotions === undefined ? null : "auto" };
  session.client_reference_id = s.clientReferenceId ?? null;
  session.metadata = s.metadata ?? {};
  session.locale = s.locale ?? null;
  // The fixture's random amounts would read as real money in a recovery; these fields are not what a test asserts on.
  session.total_details = { amount_discount: 0, amount_shipping: 0, amount_tax: 0 };
  session.shipping_cost = null;
  session.currency_conversion = null;
  return session;
}

/** A session as `checkout.session.expired` carries it: recovery URL and its expiry filled (when recovery is enabled). */
export function expiredSession(
  s: SessionState & {
    recovery?: boolean;
    recoveryExpiresAt?: number | null;
    recoveryUrl?: string;
    allowPromotionCodes?: boolean;
    /** A Payment Link session: `payment_link` set, and no `after_expiration` (Payment Links have no recovery setting). */
    paymentLink?: string;
  } = {},
): Json {
  const session = baseSession(s);
  session.status = "expired";
  session.payment_status = "unpaid";
  if (s.paymentLink) {
    session.payment_link = s.paymentLink;
    session.after_expiration = null;
    return session;
  }
  const enabled = s.recovery ?? true;
  session.after_expiration = {
    recovery: {
      allow_promotion_codes: s.allowPromotionCodes ?? true,
      enabled,
      expires_at: enabled ? (s.recoveryExpiresAt === undefined ? session.expires_at + 30 * 86_400 : s.recoveryExpiresAt) : null,
      url: enabled ? (s.recoveryUrl ?? `https://buy.stripe.com/r/live_${suffix(40)}`) : null,
    },
  };
  return session;
}

/** A session as `checkout.session.completed` carries it; `recoveredFrom` when the buyer came through a recovery link. */
export function completedSession(s: SessionState & { recoveredFrom?: string | null; paymentStatus?: "paid" | "unpaid" } = {}): Json {
  const session = baseSession(s);
  session.status = "complete";
  session.payment_status = s.paymentStatus ?? "paid";
  session.recovered_from = s.recoveredFrom ?? null;
  session.after_expiration = null;
  return session;
}

export type CheckoutEventType =
  "checkout.session.expired" | "checkout.session.completed" | "checkout.session.async_payment_succeeded" | "checkout.session.async_payment_failed";

/** An event envelope (Stripe's `event` fixture) carrying a session. */
export function stripeEvent(type: CheckoutEventType | string, object: Json, e: { id?: string; created?: number } = {}): Json {
  const event = clone(EVENT);
  event.id = e.id ?? newEventId();
  event.type = type;
  event.created = e.created ?? Math.floor(Date.now() / 1000);
  event.api_version = "2026-10-28.endive";
  event.livemode = object.livemode ?? false;
  event.pending_webhooks = 1;
  event.request = { id: null, idempotency_key: null };
  event.data = { object };
  return event;
}

/** A product (Stripe's `product` fixture): what `expand[]=data.price.product` puts in a line item's price. */
export function product(p: { name?: string; images?: string[]; livemode?: boolean } = {}): Json {
  const prod = clone(PRODUCT);
  prod.id = `prod_${suffix(14)}`;
  if (p.name !== undefined) prod.name = p.name;
  prod.images = p.images ?? [];
  prod.livemode = p.livemode ?? false;
  prod.package_dimensions = null;
  return prod;
}

/** A Payment Link (Stripe's `payment_link` fixture) at a buy.stripe.com address. */
export function paymentLink(l: { active?: boolean; allowPromotionCodes?: boolean; livemode?: boolean; url?: string } = {}): Json {
  const link = clone(PAYMENT_LINK);
  link.id = `plink_${suffix(24)}`;
  link.active = l.active ?? true;
  link.allow_promotion_codes = l.allowPromotionCodes ?? false;
  link.livemode = l.livemode ?? false;
  link.url = l.url ?? `https://buy.stripe.com/${link.livemode ? "" : "test_"}${suffix(14)}`;
  return link;
}

/** A line item (Stripe's `item` fixture) with consistent amounts. */
export function lineItem(i: { description: string; quantity: number; unitAmount: number; currency?: string; nickname?: string | null; product?: Json }): Json {
  const item = clone(ITEM);
  item.id = `li_${suffix(24)}`;
  item.description = i.description;
  item.quantity = i.quantity;
  item.currency = i.currency ?? "usd";
  item.amount_subtotal = i.unitAmount * i.quantity;
  item.amount_total = item.amount_subtotal;
  item.price = {
    ...item.price,
    id: `price_${suffix(24)}`,
    currency: item.currency,
    unit_amount: i.unitAmount,
    unit_amount_decimal: String(i.unitAmount),
    nickname: i.nickname ?? null,
  };
  if (i.product) item.price.product = i.product.id; // the id, as Stripe lists it unless expanded
  return item;
}

/** A plain checkout.session for list endpoints (the key check). */
export function openSession(): Json {
  const session = baseSession({});
  session.status = "open";
  return session;
}
