/**
 * Following the links in captured emails. Every recovery link goes through the app's real click redirect
 * (/email/click?t=…). Its destination is the recovery link — the demo's checkout pages — except for Shopify emails
 * with a discount code, which go to the shop's storefront first (https://<shop>/discount/<code>?redirect=…), a host
 * that does not exist offline: the demo's storefront plays it under /store.
 */

export type LinkKind = "shopify" | "stripe" | "unavailable";

export interface ResolvedLink {
  kind: LinkKind;
  /** Where the click redirect sends the buyer, already mapped to the demo's storefront. */
  destination: string | null;
  /** True when the redirect goes to the shop's storefront domain (unreachable offline without the demo's mapping). */
  storefrontHop: boolean;
}

export const BROWSER_USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36";

export class ClickLinks {
  private readonly cache = new Map<string, ResolvedLink>();

  constructor(
    private readonly o: {
      appOrigin: string;
      shopDomain: string;
      /** The demo storefront, e.g. http://127.0.0.1:4000/store */
      storefrontBase: string;
      /** The demo's Stripe recovery pages, e.g. http://127.0.0.1:4000/stripe/r */
      stripeRecoveryBase: string;
    },
  ) {}

  /** Only the app's own click redirect is followed (the portal is not an open relay). */
  isClickUrl(url: string): boolean {
    try {
      const u = new URL(url);
      return u.origin === this.o.appOrigin && u.pathname === "/email/click" && u.searchParams.has("t");
    } catch {
      return false;
    }
  }

  /** The shop's storefront domain mapped onto the demo storefront; anything else unchanged. */
  mapLocation(location: string): { url: string; storefrontHop: boolean } {
    const u = new URL(location, this.o.appOrigin);
    if (u.hostname === this.o.shopDomain) return { url: `${this.o.storefrontBase}${u.pathname}${u.search}`, storefrontHop: true };
    return { url: u.toString(), storefrontHop: false };
  }

  private kindOf(url: string): LinkKind {
    if (url.startsWith(this.o.stripeRecoveryBase)) return "stripe";
    if (url.startsWith(this.o.storefrontBase)) return "shopify";
    return "unavailable";
  }

  /** Where a click link leads, asked with HEAD (the app records clicks for GET only). Cached per link. */
  async resolve(clickUrl: string): Promise<ResolvedLink> {
    const cached = this.cache.get(clickUrl);
    if (cached) return cached;
    if (!this.isClickUrl(clickUrl)) return { kind: "unavailable", destination: null, storefrontHop: false };
    const response = await fetch(clickUrl, { method: "HEAD", redirect: "manual", headers: { "user-agent": BROWSER_USER_AGENT } });
    const location = response.headers.get("location");
    if (response.status !== 302 || !location) return { kind: "unavailable", destination: null, storefrontHop: false };
    const mapped = this.mapLocation(location);
    const resolved: ResolvedLink = { kind: this.kindOf(mapped.url), destination: mapped.url, storefrontHop: mapped.storefrontHop };
    this.cache.set(clickUrl, resolved);
    return resolved;
  }

  /** A person following the link: GET (the app records the click), then where to go next. */
  async follow(clickUrl: string, userAgent = BROWSER_USER_AGENT): Promise<{ status: number; location: string | null; body: string }> {
    if (!this.isClickUrl(clickUrl)) return { status: 400, location: null, body: "Not a Reclaim click link." };
    const response = await fetch(clickUrl, { redirect: "manual", headers: { "user-agent": userAgent } });
    const location = response.headers.get("location");
    if (response.status === 302 && location) {
      await response.arrayBuffer();
      return { status: 302, location: this.mapLocation(location).url, body: "" };
    }
    return { status: response.status, location: null, body: await response.text() };
  }
}
