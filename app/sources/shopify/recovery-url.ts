import { onExtraHost } from "../../security/extra-hosts";

/**
 * Which Shopify recovery links Reclaim will email and redirect to. A checkout's `abandoned_checkout_url` (webhook) or
 * `abandonedCheckoutUrl` (poll) is signed or fetched by Shopify, but its value comes from the storefront: a pixel or a
 * compromised theme/app writing checkout attributes is not the threat here — Shopify builds the URL — yet a stored
 * link is sent to buyers from the merchant's name, months later, and redirected to by our `/email/click`. So the link
 * must be on the shop's own domain, whatever wrote it (a bug in a mapper, a row written by an older version, a test
 * store configured with another storefront): never an open redirect to a host the shop does not own.
 *
 * Reclaim knows the shop's permanent `*.myshopify.com` domain only (not its custom domains). A link is:
 * - kept when it is https on that domain (no port, no credentials), or on a host the operator listed in
 *   `SHOPIFY_STOREFRONT_EXTRA_HOSTS` (plain http only for a loopback host: the demo's local storefront);
 * - re-homed onto the permanent domain when it is https elsewhere (the shop's primary custom domain, which Shopify
 *   uses in these links) and its path is Shopify's checkout recovery path `/<shop id>/checkouts/…`: the permanent
 *   domain serves the same path and redirects to the primary domain, so the buyer ends up where Shopify meant, and
 *   nobody else's host is ever a target;
 * - refused otherwise (stored as no link, with the reason).
 */
export type ShopifyLinkCheck = { url: string; note: string | null } | { url: null; note: string };

const RECOVERY_PATH = /^\/\d+\/checkouts\/[^?#]+$/;

export function checkShopifyRecoveryUrl(url: string, shopDomain: string, extraHosts: readonly string[] = []): ShopifyLinkCheck {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { url: null, note: "the recovery link Shopify sent is not a URL" };
  }
  if (parsed.username || parsed.password) return { url: null, note: "the recovery link Shopify sent carries credentials" };
  const shop = shopDomain.toLowerCase();
  if (parsed.protocol === "https:" && !parsed.port && parsed.hostname.toLowerCase() === shop) return { url, note: null };
  if (onExtraHost(parsed, extraHosts)) return { url, note: null };
  if (parsed.protocol === "https:" && RECOVERY_PATH.test(parsed.pathname)) {
    return { url: `https://${shop}${parsed.pathname}${parsed.search}`, note: "the recovery link was on another host and now points at the shop's own domain" };
  }
  return { url: null, note: "the recovery link Shopify sent is not on the shop's own domain" };
}

/** A Shopify checkout observation with its recovery link checked (see checkShopifyRecoveryUrl); anything else unchanged. */
export function withCheckedShopifyLink<E extends { source: string; recoveryUrl: string | null; metadata?: Record<string, unknown> }>(
  event: E,
  shopDomain: string,
  extraHosts: readonly string[],
): E {
  if (event.source !== "shopify" || !event.recoveryUrl) return event;
  const checked = checkShopifyRecoveryUrl(event.recoveryUrl, shopDomain, extraHosts);
  if (checked.url === event.recoveryUrl) return event;
  const key = checked.url ? "recovery_link_rehomed" : "recovery_link_unavailable";
  return { ...event, recoveryUrl: checked.url, metadata: { ...(event.metadata ?? {}), [key]: checked.note } };
}
