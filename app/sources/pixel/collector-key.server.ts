import { createHmac, timingSafeEqual } from "node:crypto";
import { env } from "../../env.server";

/**
 * The per-shop key the pixel sends with every event (shopify.extension.toml [settings].collectorKey), derived from the
 * shop's domain with the link-signing key so nothing has to be stored. It is public — Shopify renders pixel settings
 * into the storefront — so it proves nothing about the buyer; it only stops events filed under a shop by someone who
 * never read that shop's pages, and lets per-shop rate limits apply only to events that carry the shop's key
 * (docs/decisions/050). A label separates it from every other use of the key.
 *
 * Rotation: a key derived from any secret of the ring (LINK_SIGNING_SECRETS) is accepted, so pixels keep working while
 * an old secret is being retired; activation ("Activate again") writes the key of the current signing secret.
 */
export function collectorKeyFor(shopDomain: string, secret: string = env.LINK_SIGNING_SECRET): string {
  return createHmac("sha256", secret).update(`reclaim/pixel-collector-key/v1\n${shopDomain}`).digest("base64url");
}

export function collectorKeyMatches(shopDomain: string, key: string, secrets: readonly string[] = env.LINK_SIGNING_SECRETS): boolean {
  const given = Buffer.from(key);
  return secrets.some((secret) => {
    const expected = Buffer.from(collectorKeyFor(shopDomain, secret));
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}
