// The pixel driven the way Shopify's pixel sandbox drives it: events through `analytics.subscribe`, the visitor's
// consent through `init.customerPrivacy` and `customerPrivacy.subscribe('visitorConsentCollected')`, and a fake fetch
// that records exactly what would leave the buyer's browser.
import type { Checkout, CheckoutLineItem } from "@shopify/web-pixels-extension";
import { describe, expect, it } from "vitest";
import { CHECKOUT_EVENTS, createPixel, MAX_LINE_ITEMS, type CollectorPayload, type PixelApi } from "./pixel";

const SETTINGS = { collectorUrl: "https://reclaim.example/pixel/events", shopDomain: "acme.myshopify.com", collectorKey: "k3y-for-acme" };

interface Consent {
  analyticsProcessingAllowed: boolean;
  marketingAllowed: boolean;
  preferencesProcessingAllowed: boolean;
  saleOfDataAllowed: boolean;
}
const CONSENTED: Consent = { analyticsProcessingAllowed: true, marketingAllowed: true, preferencesProcessingAllowed: true, saleOfDataAllowed: true };
const NOTHING_YET: Consent = { analyticsProcessingAllowed: false, marketingAllowed: false, preferencesProcessingAllowed: false, saleOfDataAllowed: false };

function sandbox(options: { consent?: Consent; settings?: Record<string, unknown>; fetchFails?: boolean } = {}) {
  const handlers = new Map<string, (event: unknown) => void>();
  const consentHandlers: ((event: { customerPrivacy: Consent }) => void)[] = [];
  const sent: { url: string; init: RequestInit }[] = [];
  const api = {
    settings: options.settings ?? SETTINGS,
    analytics: {
      subscribe: (name: string, callback: (event: unknown) => void) => {
        handlers.set(name, callback);
        return () => handlers.delete(name);
      },
    },
    init: { customerPrivacy: options.consent ?? CONSENTED },
    customerPrivacy: {
      subscribe: (name: string, callback: (event: { customerPrivacy: Consent }) => void) => {
        expect(name).toBe("visitorConsentCollected");
        consentHandlers.push(callback);
        return () => true;
      },
    },
  } as unknown as PixelApi;
  createPixel(api, async (url, init) => {
    sent.push({ url, init });
    if (options.fetchFails) throw new TypeError("Failed to fetch");
    return new Response(null, { status: 204 });
  });
  let seq = 0;
  return {
    subscribed: () => [...handlers.keys()].sort(),
    emit(name: string, checkout: Checkout, at = "2026-11-20T10:00:00.000Z") {
      seq += 1;
      handlers.get(name)?.({ id: `evt-${seq}`, name, timestamp: at, clientId: "client-1", seq, type: "standard", context: {}, data: { checkout } });
    },
    consentChanges(consent: Consent) {
      for (const handler of consentHandlers) handler({ customerPrivacy: consent });
    },
    sent,
    bodies: () => sent.map((s) => JSON.parse(String(s.init.body)) as CollectorPayload),
  };
}

function line(title: string, quantity: number, unit: number, overrides: Partial<CheckoutLineItem> = {}): CheckoutLineItem {
  return {
    id: `gid://shopify/CheckoutLineItem/${title}`,
    title,
    quantity,
    discountAllocations: [],
    properties: [],
    sellingPlanAllocation: null,
    finalLinePrice: { amount: unit * quantity, currencyCode: "EUR" },
    variant: {
      id: "gid://shopify/ProductVariant/1",
      title: "Sand / L",
      untranslatedTitle: "Sand / L",
      sku: "SKU-1",
      price: { amount: unit, currencyCode: "EUR" },
      image: { src: `https://cdn.shopify.com/s/files/${title}.jpg` },
      product: { id: "gid://shopify/Product/1", title, untranslatedTitle: title, type: null, url: null, vendor: "Acme" },
    },
    ...overrides,
  } as CheckoutLineItem;
}

function checkout(overrides: Partial<Checkout> = {}): Checkout {
  return {
    token: "c1-5f0e8d2a9b",
    email: "ann.buyer@example.com",
    phone: null,
    buyerAcceptsEmailMarketing: true,
    buyerAcceptsSmsMarketing: false,
    currencyCode: "EUR",
    lineItems: [line("Linen shirt", 1, 64.5), line("Canvas tote", 2, 18)],
    subtotalPrice: { amount: 100.5, currencyCode: "EUR" },
    totalPrice: { amount: 107.45, currencyCode: "EUR" },
    totalTax: { amount: 0, currencyCode: "EUR" },
    attributes: [],
    billingAddress: null,
    shippingAddress: { address1: "1 Private Lane", city: "Springfield", country: "US", zip: "12345" },
    delivery: null,
    discountApplications: [],
    discountsAmount: null,
    localization: { country: { isoCode: "DE" }, language: { isoCode: "de" }, market: { id: null, handle: null } },
    order: null,
    shippingLine: null,
    smsMarketingPhone: null,
    transactions: [],
    ...overrides,
  } as unknown as Checkout;
}

describe("checkout pixel", () => {
  it("subscribes to the three checkout events and nothing else", () => {
    expect(sandbox().subscribed()).toEqual([...CHECKOUT_EVENTS].sort());
  });

  it("sends the contact-info event to the collector: token, email, consent flag, line items, totals, with keepalive", () => {
    const px = sandbox();
    px.emit("checkout_contact_info_submitted", checkout(), "2026-11-20T10:04:00.000Z");
    expect(px.sent).toHaveLength(1);
    const { url, init } = px.sent[0]!;
    expect(url).toBe("https://reclaim.example/pixel/events");
    expect(init).toMatchObject({ method: "POST", keepalive: true, credentials: "omit", headers: { "content-type": "text/plain;charset=UTF-8" } });
    expect(JSON.parse(String(init.body))).toEqual({
      v: 1,
      shop: "acme.myshopify.com",
      key: "k3y-for-acme",
      event: { id: "evt-1", name: "checkout_contact_info_submitted", at: "2026-11-20T10:04:00.000Z" },
      checkout: {
        token: "c1-5f0e8d2a9b",
        email: "ann.buyer@example.com",
        buyerAcceptsEmailMarketing: true,
        currencyCode: "EUR",
        totalPrice: { amount: 107.45, currencyCode: "EUR" },
        subtotalPrice: { amount: 100.5, currencyCode: "EUR" },
        lineItemCount: 2,
        lineItems: [
          {
            title: "Linen shirt",
            variantTitle: "Sand / L",
            quantity: 1,
            unitPrice: { amount: 64.5, currencyCode: "EUR" },
            linePrice: { amount: 64.5, currencyCode: "EUR" },
            imageUrl: "https://cdn.shopify.com/s/files/Linen shirt.jpg",
          },
          {
            title: "Canvas tote",
            variantTitle: "Sand / L",
            quantity: 2,
            unitPrice: { amount: 18, currencyCode: "EUR" },
            linePrice: { amount: 36, currencyCode: "EUR" },
            imageUrl: "https://cdn.shopify.com/s/files/Canvas tote.jpg",
          },
        ],
      },
    });
  });

  it("never sends the address, phone or anything else the checkout holds", () => {
    const px = sandbox();
    px.emit("checkout_contact_info_submitted", checkout({ phone: "+4915112345678" }));
    const body = String(px.sent[0]!.init.body);
    expect(body).not.toContain("Private Lane");
    expect(body).not.toContain("+4915112345678");
    expect(Object.keys(JSON.parse(body).checkout).sort()).toEqual([
      "buyerAcceptsEmailMarketing",
      "currencyCode",
      "email",
      "lineItemCount",
      "lineItems",
      "subtotalPrice",
      "token",
      "totalPrice",
    ]);
  });

  it("reports a buyer who did not tick the marketing box as false, and a checkout without the flag as null", () => {
    const px = sandbox();
    px.emit("checkout_started", checkout({ buyerAcceptsEmailMarketing: false }));
    px.emit("checkout_started", checkout({ buyerAcceptsEmailMarketing: undefined as unknown as boolean }));
    expect(px.bodies().map((b) => b.checkout.buyerAcceptsEmailMarketing)).toEqual([false, null]);
  });

  it("sends a completion even without an email (it only needs the token), but no other event without an email", () => {
    const px = sandbox();
    px.emit("checkout_started", checkout({ email: null }));
    px.emit("checkout_contact_info_submitted", checkout({ email: null }));
    px.emit("checkout_completed", checkout({ email: null }));
    expect(px.bodies().map((b) => [b.event.name, b.checkout.email])).toEqual([["checkout_completed", null]]);
  });

  it("sends nothing for a checkout without a token", () => {
    const px = sandbox();
    px.emit("checkout_completed", checkout({ token: null }));
    expect(px.sent).toEqual([]);
  });

  it("caps the line items it sends and says how many there were", () => {
    const px = sandbox();
    const many = Array.from({ length: 120 }, (_, i) => line(`Sticker ${i}`, 1, 2));
    px.emit("checkout_contact_info_submitted", checkout({ lineItems: many }));
    const [body] = px.bodies();
    expect(body!.checkout.lineItems).toHaveLength(MAX_LINE_ITEMS);
    expect(body!.checkout.lineItemCount).toBe(120);
    expect(String(px.sent[0]!.init.body).length).toBeLessThan(16 * 1024);
  });

  it("drops Shopify's 'Default Title' variant name and shortens very long titles", () => {
    const px = sandbox();
    const item = line("x".repeat(1000), 1, 5);
    item.variant!.title = "Default Title";
    px.emit("checkout_started", checkout({ lineItems: [item] }));
    const [sentLine] = px.bodies()[0]!.checkout.lineItems;
    expect(sentLine!.variantTitle).toBeNull();
    expect(sentLine!.title).toHaveLength(200);
  });

  describe("consent", () => {
    it("sends nothing when the visitor has not allowed marketing", () => {
      const px = sandbox({ consent: NOTHING_YET });
      for (const name of CHECKOUT_EVENTS) px.emit(name, checkout());
      expect(px.sent).toEqual([]);
    });

    it("analytics consent alone is not enough: the data is for marketing emails", () => {
      const px = sandbox({ consent: { ...NOTHING_YET, analyticsProcessingAllowed: true, saleOfDataAllowed: true } });
      for (const name of CHECKOUT_EVENTS) px.emit(name, checkout());
      expect(px.sent).toEqual([]);
    });

    it("starts sending once the visitor allows marketing later in the visit, without replaying what happened before", () => {
      const px = sandbox({ consent: NOTHING_YET });
      px.emit("checkout_started", checkout());
      px.emit("checkout_contact_info_submitted", checkout());
      expect(px.sent).toEqual([]);

      px.consentChanges({ ...NOTHING_YET, marketingAllowed: true });
      expect(px.sent).toEqual([]); // consent itself sends nothing
      px.emit("checkout_completed", checkout());
      expect(px.bodies().map((b) => b.event.name)).toEqual(["checkout_completed"]);
    });

    it("stops sending when the visitor withdraws marketing consent", () => {
      const px = sandbox();
      px.emit("checkout_started", checkout());
      px.consentChanges({ ...CONSENTED, marketingAllowed: false });
      px.emit("checkout_contact_info_submitted", checkout());
      px.emit("checkout_completed", checkout());
      expect(px.bodies().map((b) => b.event.name)).toEqual(["checkout_started"]);
    });
  });

  describe("settings", () => {
    it.each([
      ["no settings", {}],
      ["no collector key", { ...SETTINGS, collectorKey: "" }],
      ["a plain-http collector", { ...SETTINGS, collectorUrl: "http://reclaim.example/pixel/events" }],
    ])("stays silent with %s", (_label, settings) => {
      const px = sandbox({ settings });
      for (const name of CHECKOUT_EVENTS) px.emit(name, checkout());
      expect(px.sent).toEqual([]);
    });
  });

  it("a failed request never throws into the checkout page", async () => {
    const px = sandbox({ fetchFails: true });
    expect(() => px.emit("checkout_completed", checkout())).not.toThrow();
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(px.sent).toHaveLength(1);
  });
});
