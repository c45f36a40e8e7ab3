/**
 * "Mirror unsubscribes to Shopify" (Settings → Privacy): a buyer who unsubscribes from a Reclaim email is also marked
 * unsubscribed from email marketing on their Shopify customer record (customerEmailMarketingConsentUpdate). It needs
 * the optional `write_customers` scope, which the merchant grants at runtime through App Bridge's Scopes API
 * (docs/decisions/078-mirror-unsubscribes.md).
 *
 * Two facts, kept apart: what the merchant chose (`Shop.mirrorUnsubscribes`, written only by the settings action) and
 * what Shopify granted (`Shop.grantedScopes`, written only from Shopify's own word: the session's scopes, the
 * app/scopes_update webhook, or an Admin API query). Mirroring runs when both say yes; nothing the browser claims
 * is taken as a grant.
 */
import type { Prisma, PrismaClient } from "@prisma/client";

export const MIRROR_UNSUBSCRIBES_SCOPE = "write_customers";

/**
 * - `off`: not chosen, not granted.
 * - `on`: chosen and granted: unsubscribes are mirrored.
 * - `requested`: chosen, but Shopify does not (or no longer) report the permission: declined, not answered yet, or
 *   removed later. Nothing is mirrored until it is granted.
 * - `granted_off`: the permission is granted but the merchant turned mirroring off: nothing is mirrored.
 */
export type MirrorUnsubscribesState = "off" | "on" | "requested" | "granted_off";

type ShopMirrorFields = { mirrorUnsubscribes: boolean; grantedScopes: string };

export function scopeList(grantedScopes: string): string[] {
  return grantedScopes
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

export function hasMirrorScope(grantedScopes: string): boolean {
  return scopeList(grantedScopes).includes(MIRROR_UNSUBSCRIBES_SCOPE);
}

export function mirrorUnsubscribesState(shop: ShopMirrorFields): MirrorUnsubscribesState {
  const granted = hasMirrorScope(shop.grantedScopes);
  if (shop.mirrorUnsubscribes) return granted ? "on" : "requested";
  return granted ? "granted_off" : "off";
}

/** Whether an unsubscribe of this shop is written back to Shopify now (the job and the unsubscribe path both ask). */
export function mirrorsUnsubscribes(shop: ShopMirrorFields & { uninstalledAt?: Date | null }): boolean {
  return !shop.uninstalledAt && mirrorUnsubscribesState(shop) === "on";
}

/** The merchant's choice. It never grants anything: the state still needs the scope from Shopify. */
export async function setMirrorUnsubscribes(db: PrismaClient, shopId: string, on: boolean) {
  return db.shop.update({ where: { id: shopId }, data: { mirrorUnsubscribes: on } });
}

/**
 * Records the scopes Shopify reported (an Admin API answer, as the app/scopes_update job does with the webhook's): on
 * the shop and on its stored sessions, since every admin request copies the session's scopes onto the shop.
 */
export async function recordGrantedScopes(db: PrismaClient | Prisma.TransactionClient, shop: { id: string; domain: string }, granted: string[]) {
  const scope = granted.join(",");
  await db.session.updateMany({ where: { shop: shop.domain }, data: { scope } });
  return db.shop.update({ where: { id: shop.id }, data: { grantedScopes: scope } });
}
