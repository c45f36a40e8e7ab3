/**
 * The checkout pixel's request body (extensions/reclaim-checkout-pixel/src/pixel.ts builds it), validated field by
 * field because anyone can post to the collector, and mapped to a CheckoutPixelObserved. Pure: no I/O, time passed in.
 */
import { z } from "zod";
import type { CheckoutPixelObserved, LineItem } from "../../recovery/model";
import { toMinorUnits } from "../../recovery/money";

export const PIXEL_EVENTS = ["checkout_started", "checkout_contact_info_submitted", "checkout_completed"] as const;
/** The pixel sends at most this many line items (it caps them; more is not the pixel). */
export const MAX_PIXEL_LINE_ITEMS = 50;
/** An event dated further than this from its arrival is not a live browser event (clock far off, or a replay). */
export const MAX_EVENT_SKEW_MS = 24 * 3_600_000;

const currency = z.string().regex(/^[A-Z]{3}$/, "must be a 3-letter ISO 4217 code");
const money = z.object({
  amount: z.number().finite().nonnegative().max(1e10),
  currencyCode: currency,
});
const text = (max: number) => z.string().max(max);

function shopifyCdnImage(src: string | null): string | null {
  if (!src) return null;
  try {
    const url = new URL(src.startsWith("//") ? `https:${src}` : src);
    return url.protocol === "https:" && url.hostname === "cdn.shopify.com" ? url.toString() : null;
  } catch {
    return null;
  }
}

const lineItem = z.object({
  title: text(200).min(1),
  variantTitle: text(200).nullable(),
  quantity: z.number().int().min(1).max(100_000),
  unitPrice: money.nullable(),
  linePrice: money.nullable(),
  // Shown in the merchant's admin, so only Shopify's CDN: a forged event must not make the admin load a URL of its choosing.
  imageUrl: text(500).nullable().transform(shopifyCdnImage),
});

/** What the pixel tells Reclaim about one event, once the sender is known to be the shop's pixel. */
export const pixelEventBody = z.object({
  event: z.object({
    id: text(100).min(1),
    name: z.enum(PIXEL_EVENTS),
    at: z.string().datetime({ offset: true }),
  }),
  checkout: z.object({
    // Printable ASCII without spaces: it is used as a key and inside `token:<token>`.
    token: text(200)
      .regex(/^[\x21-\x7e]+$/, "must be printable ASCII without spaces")
      .min(1),
    email: text(254).nullable(),
    buyerAcceptsEmailMarketing: z.boolean().nullable(),
    currencyCode: currency.nullable(),
    totalPrice: money.nullable(),
    subtotalPrice: money.nullable(),
    lineItemCount: z.number().int().min(0).max(100_000),
    lineItems: z.array(lineItem).max(MAX_PIXEL_LINE_ITEMS),
  }),
});

export const pixelRequestBody = pixelEventBody.extend({
  v: z.literal(1),
  shop: text(255).regex(/^[a-z0-9][a-z0-9-]*\.myshopify\.com$/, "must be a myshopify.com domain"),
  key: text(128).min(16),
});

export type PixelEventBody = z.infer<typeof pixelEventBody>;
export type PixelRequestBody = z.infer<typeof pixelRequestBody>;

export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };

/** zod's issues as one sentence a developer can act on: `checkout.token: Required; event.name: Invalid enum value…`. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.join(".") || "body"}: ${issue.message}`)
    .join("; ");
}

export function parsePixelRequest(value: unknown): Parsed<PixelRequestBody> {
  const parsed = pixelRequestBody.safeParse(value);
  return parsed.success ? { ok: true, value: parsed.data } : { ok: false, reason: describeIssues(parsed.error) };
}

/** Floats from the browser to integer minor units, through a decimal string (never float arithmetic on money). */
function minor(m: { amount: number; currencyCode: string }): number {
  return toMinorUnits(m.amount.toFixed(6), m.currencyCode);
}

/**
 * Maps a validated event to the core's CheckoutPixelObserved. `receivedAt` is when the collector received it: an event
 * dated more than MAX_EVENT_SKEW_MS away is refused, and one dated in the future is taken as happening on arrival.
 */
export function toPixelObservation(body: PixelEventBody, receivedAt: Date): Parsed<CheckoutPixelObserved> {
  const at = new Date(body.event.at);
  if (Math.abs(at.getTime() - receivedAt.getTime()) > MAX_EVENT_SKEW_MS) {
    return { ok: false, reason: "event.at: must be within a day of the time the event is received" };
  }
  const c = body.checkout;
  const totalCurrency = c.totalPrice?.currencyCode ?? c.currencyCode;
  if (!totalCurrency) return { ok: false, reason: "checkout: has neither totalPrice nor currencyCode" };
  const lineItems: LineItem[] = c.lineItems.map((item) => {
    const unit = item.unitPrice ? minor(item.unitPrice) : 0;
    return {
      title: item.title,
      variantTitle: item.variantTitle,
      quantity: item.quantity,
      imageUrl: item.imageUrl,
      unitPriceMinor: unit,
      totalPriceMinor: item.linePrice ? minor(item.linePrice) : unit * item.quantity,
    };
  });
  return {
    ok: true,
    value: {
      kind: "checkout.pixel",
      eventId: body.event.id,
      event: body.event.name,
      checkoutToken: c.token,
      email: c.email,
      buyerAcceptsEmailMarketing: c.buyerAcceptsEmailMarketing,
      lineItems,
      total: { amountMinor: c.totalPrice ? minor(c.totalPrice) : 0, currency: totalCurrency },
      occurredAt: at.getTime() > receivedAt.getTime() ? receivedAt : at,
    },
  };
}
