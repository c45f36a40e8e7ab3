/**
 * Reclaim's checkout pixel, as a pure function of the Web Pixels API (src/index.ts hands it to `register`), so tests
 * drive it with a fake `analytics.subscribe` and a fake `fetch`.
 *
 * It listens to three checkout events and sends Reclaim a small summary of the checkout: token, email, the buyer's
 * email-marketing choice, up to MAX_LINE_ITEMS line items and the totals. It sends only while the visitor allows
 * marketing (the purpose the data serves: recovery emails), checked at each event because consent can change during a
 * visit. Events from before consent was given are dropped, not queued. Reclaim treats all of it as untrusted
 * (docs/decisions/050): the pixel can make a checkout visible early and hold emails after a completion; it never
 * causes an email by itself.
 */
import type { Checkout, CheckoutLineItem, ExtensionApi, MoneyV2 } from "@shopify/web-pixels-extension";

export const CHECKOUT_EVENTS = ["checkout_started", "checkout_contact_info_submitted", "checkout_completed"] as const;
export type CheckoutEventName = (typeof CHECKOUT_EVENTS)[number];

/** Keeps every request far below the 64 KB a keepalive request may carry, and below the collector's 16 KB cap. */
export const MAX_LINE_ITEMS = 50;
const MAX_TEXT = 200;
const MAX_URL = 500;

/** The fields of shopify.extension.toml's [settings], filled by Reclaim's webPixelCreate call. */
export interface PixelSettings {
  collectorUrl: string;
  shopDomain: string;
  collectorKey: string;
}

export interface Money {
  amount: number;
  currencyCode: string;
}

export interface PixelLineItem {
  title: string;
  variantTitle: string | null;
  quantity: number;
  unitPrice: Money | null;
  linePrice: Money | null;
  imageUrl: string | null;
}

/** What the pixel POSTs to the collector (app/sources/pixel/payload.ts validates the same shape). */
export interface CollectorPayload {
  v: 1;
  shop: string;
  key: string;
  event: { id: string; name: CheckoutEventName; at: string };
  checkout: {
    token: string;
    email: string | null;
    buyerAcceptsEmailMarketing: boolean | null;
    currencyCode: string | null;
    totalPrice: Money | null;
    subtotalPrice: Money | null;
    /** Lines in the checkout, including those past MAX_LINE_ITEMS. */
    lineItemCount: number;
    lineItems: PixelLineItem[];
  };
}

export type PixelApi = Pick<ExtensionApi, "analytics" | "init" | "settings" | "customerPrivacy">;
export type PixelFetch = (url: string, init: RequestInit) => Promise<unknown>;

interface CheckoutEvent {
  id: string;
  name: string;
  timestamp: string;
  data: { checkout: Checkout };
}

const text = (value: unknown, max = MAX_TEXT): string | null => (typeof value === "string" && value.length > 0 ? value.slice(0, max) : null);

function money(value: MoneyV2 | null | undefined): Money | null {
  return value && typeof value.amount === "number" && Number.isFinite(value.amount) && typeof value.currencyCode === "string"
    ? { amount: value.amount, currencyCode: value.currencyCode }
    : null;
}

function lineItem(item: CheckoutLineItem): PixelLineItem {
  const variant = item.variant;
  const variantTitle = text(variant?.title);
  return {
    title: text(item.title) ?? text(variant?.product?.title) ?? "Item",
    // Shopify names the only variant of a product "Default Title": not worth showing.
    variantTitle: variantTitle === "Default Title" ? null : variantTitle,
    quantity: Number.isInteger(item.quantity) && item.quantity > 0 ? item.quantity : 1,
    unitPrice: money(variant?.price),
    linePrice: money(item.finalLinePrice),
    imageUrl: text(variant?.image?.src, MAX_URL),
  };
}

/** The body for one checkout event, or null when it tells Reclaim nothing (no token; no email and not a completion). */
export function payloadFor(settings: PixelSettings, event: CheckoutEvent): CollectorPayload | null {
  const checkout = event.data?.checkout;
  const token = text(checkout?.token);
  if (!checkout || !token) return null;
  const email = text(checkout.email, 254);
  const name = event.name as CheckoutEventName;
  if (!email && name !== "checkout_completed") return null;
  const lines = Array.isArray(checkout.lineItems) ? checkout.lineItems : [];
  return {
    v: 1,
    shop: settings.shopDomain,
    key: settings.collectorKey,
    event: { id: event.id, name, at: event.timestamp },
    checkout: {
      token,
      email,
      buyerAcceptsEmailMarketing: typeof checkout.buyerAcceptsEmailMarketing === "boolean" ? checkout.buyerAcceptsEmailMarketing : null,
      currencyCode: text(checkout.currencyCode, 3),
      totalPrice: money(checkout.totalPrice),
      subtotalPrice: money(checkout.subtotalPrice),
      lineItemCount: lines.length,
      lineItems: lines.slice(0, MAX_LINE_ITEMS).map(lineItem),
    },
  };
}

function readSettings(raw: Record<string, unknown> | undefined): PixelSettings | null {
  const collectorUrl = text(raw?.collectorUrl, MAX_URL);
  const shopDomain = text(raw?.shopDomain);
  const collectorKey = text(raw?.collectorKey);
  // Only https: the body carries an email address.
  if (!collectorUrl?.startsWith("https://") || !shopDomain || !collectorKey) return null;
  return { collectorUrl, shopDomain, collectorKey };
}

export function createPixel(api: PixelApi, sendRequest: PixelFetch = (url, init) => fetch(url, init)): void {
  const settings = readSettings(api.settings);
  if (!settings) return; // not activated with Reclaim's settings: stay silent

  let marketingAllowed = api.init.customerPrivacy?.marketingAllowed === true;
  api.customerPrivacy.subscribe("visitorConsentCollected", (event) => {
    marketingAllowed = event.customerPrivacy?.marketingAllowed === true;
  });

  for (const name of CHECKOUT_EVENTS) {
    api.analytics.subscribe(name, (event: CheckoutEvent) => {
      if (!marketingAllowed) return;
      const payload = payloadFor(settings, event);
      if (!payload) return;
      // text/plain keeps this a "simple" cross-origin request (no preflight); keepalive lets it finish while the buyer
      // leaves the page (sendBeacon is deprecated in the pixel sandbox); no cookies are ever sent.
      sendRequest(settings.collectorUrl, {
        method: "POST",
        keepalive: true,
        credentials: "omit",
        headers: { "content-type": "text/plain;charset=UTF-8" },
        body: JSON.stringify(payload),
      }).catch(() => undefined);
    });
  }
}
