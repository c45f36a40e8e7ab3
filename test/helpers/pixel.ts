/**
 * Checkout-pixel requests for integration tests, built by the real pixel code (extensions/reclaim-checkout-pixel):
 * a checkout event goes through `createPixel` with a fake `analytics.subscribe`, and the body it would have fetched is
 * what the test posts to the collector. So the collector is tested against what the pixel actually sends.
 */
import type { Checkout, CheckoutLineItem } from "@shopify/web-pixels-extension";
import { createPixel, type CheckoutEventName, type PixelApi } from "../../extensions/reclaim-checkout-pixel/src/pixel";
import { TEST_ENV } from "../setup/test-env";

export const COLLECTOR_URL = new URL("/pixel/events", TEST_ENV.SHOPIFY_APP_URL).toString();

export function pixelLine(title: string, quantity: number, unit: number, currencyCode = "USD"): CheckoutLineItem {
  return {
    id: null,
    title,
    quantity,
    discountAllocations: [],
    properties: [],
    sellingPlanAllocation: null,
    finalLinePrice: { amount: Math.round(unit * quantity * 100) / 100, currencyCode },
    variant: {
      id: null,
      title: "Default Title",
      untranslatedTitle: "Default Title",
      sku: null,
      price: { amount: unit, currencyCode },
      image: { src: "//cdn.shopify.com/s/files/1/item.jpg" },
      product: { id: null, title, untranslatedTitle: title, type: null, url: null, vendor: null },
    },
  } as unknown as CheckoutLineItem;
}

/** A checkout as the pixel sees it: only the fields the pixel reads matter; the rest are realistic filler. */
export function pixelCheckout(overrides: Partial<Checkout> & { token: string }): Checkout {
  return {
    email: "buyer@example.com",
    phone: null,
    buyerAcceptsEmailMarketing: true,
    buyerAcceptsSmsMarketing: false,
    currencyCode: "USD",
    lineItems: [pixelLine("Linen shirt", 1, 64.5), pixelLine("Canvas tote", 2, 18)],
    subtotalPrice: { amount: 100.5, currencyCode: "USD" },
    totalPrice: { amount: 100.5, currencyCode: "USD" },
    totalTax: { amount: 0, currencyCode: "USD" },
    attributes: [],
    billingAddress: null,
    shippingAddress: null,
    delivery: null,
    discountApplications: [],
    discountsAmount: null,
    order: null,
    shippingLine: null,
    smsMarketingPhone: null,
    transactions: [],
    ...overrides,
  } as unknown as Checkout;
}

let sequence = 0;

/**
 * The exact body the pixel sends for one event (null if it sends nothing), for a shop activated with `settings`.
 * `id` defaults to a fresh event id; `at` to now.
 */
export function pixelBody(
  settings: { collectorUrl?: string; shopDomain: string; collectorKey: string },
  name: CheckoutEventName,
  checkout: Checkout,
  options: { id?: string; at?: Date } = {},
): string | null {
  const handlers = new Map<string, (event: unknown) => void>();
  const sent: string[] = [];
  const api = {
    settings: { collectorUrl: COLLECTOR_URL, ...settings },
    analytics: { subscribe: (n: string, cb: (event: unknown) => void) => (handlers.set(n, cb), () => true) },
    init: { customerPrivacy: { analyticsProcessingAllowed: true, marketingAllowed: true, preferencesProcessingAllowed: true, saleOfDataAllowed: true } },
    customerPrivacy: { subscribe: () => () => true },
  } as unknown as PixelApi;
  createPixel(api, async (_url, init) => sent.push(String(init.body)));
  sequence += 1;
  handlers.get(name)!({ id: options.id ?? `sh-${Date.now()}-${sequence}`, name, timestamp: (options.at ?? new Date()).toISOString(), data: { checkout } });
  return sent[0] ?? null;
}

let address = 0;
/** A distinct client address per call unless one is given (the collector limits each address). */
export function nextClientAddress(): string {
  address += 1;
  return `198.51.${Math.floor(address / 250) % 250}.${(address % 250) + 1}`;
}

export function collectorRequest(body: string, options: { client?: string; method?: string; headers?: Record<string, string> } = {}): Request {
  return new Request(COLLECTOR_URL, {
    method: options.method ?? "POST",
    headers: { "content-type": "text/plain;charset=UTF-8", "x-forwarded-for": `203.0.113.9, ${options.client ?? nextClientAddress()}`, ...options.headers },
    ...(options.method && options.method !== "POST" ? {} : { body }),
  });
}
