/**
 * Hosts an operator allows besides a vendor's own for links Reclaim emails and redirects to (a merchant's custom Stripe
 * Checkout domain, a storefront host; the demo's local pages): `host` or `host:port`, compared with the URL's host.
 * Plain http only on a loopback host. One rule for every source (STRIPE_CHECKOUT_EXTRA_HOSTS, SHOPIFY_STOREFRONT_EXTRA_HOSTS).
 */
const LOOPBACK = ["127.0.0.1", "localhost", "[::1]"];

export function onExtraHost(url: URL, extraHosts: readonly string[]): boolean {
  if (!extraHosts.includes(url.host.toLowerCase())) return false;
  return url.protocol === "https:" || (url.protocol === "http:" && LOOPBACK.includes(url.hostname));
}
