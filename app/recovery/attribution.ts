/**
 * Attribution precedence: which recovery a purchase converts, and how the conversion is recorded (Conversion.method and
 * matchedBy). Pure; app/models/ingest-purchase.server.ts and ingest-checkout.server.ts look the keys up in this order.
 *
 * 1. By link, the purchase names its checkout: Stripe `recovered_from` (the expired session), else the checkout token,
 *    else the cart token; a checkout its own source reports completed (Shopify `completedAt`, a Stripe session that
 *    completed) credits itself. The first key that finds a recovery wins, and the others are not tried.
 * 2. By window, only when no link matched: the same contact clicked a recovery email within the shop's window before
 *    buying. A link conversion and a window conversion are never both counted for one purchase.
 */
import type { PurchaseObserved, Source } from "./model";

export type LinkMatch = "completedAt" | "recovered_from" | "checkout_token" | "cart_token";

/** One way a purchase can name the recovery it completes. */
export type LinkKey =
  | { matchedBy: "recovered_from"; externalId: string }
  | { matchedBy: "checkout_token"; checkoutToken: string }
  /** `withoutCheckoutToken`: only a record that knows no checkout token yet can be it (see linkKeysOf). */
  | { matchedBy: "cart_token"; cartToken: string; withoutCheckoutToken: boolean };

/**
 * The keys to look a purchase's recovery up by, in precedence order. A `recovered_from` names exactly one Stripe
 * session: nothing else is tried. An order naming a checkout token that no record has is another checkout of that cart
 * than the records that name theirs, so by cart token only a record without a checkout token (the poll's) can be it.
 */
export function linkKeysOf(p: Pick<PurchaseObserved, "recoveredFrom" | "checkoutToken" | "cartToken">): LinkKey[] {
  if (p.recoveredFrom) return [{ matchedBy: "recovered_from", externalId: p.recoveredFrom }];
  const keys: LinkKey[] = [];
  if (p.checkoutToken) keys.push({ matchedBy: "checkout_token", checkoutToken: p.checkoutToken });
  if (p.cartToken) keys.push({ matchedBy: "cart_token", cartToken: p.cartToken, withoutCheckoutToken: Boolean(p.checkoutToken) });
  return keys;
}

/** How a purchase stored before its checkout arrived names that checkout (the same precedence as linkKeysOf). */
export function linkMatchOf(purchase: { recoveredFrom: string | null; checkoutToken: string | null }, recovery: { checkoutToken: string | null }): LinkMatch {
  if (purchase.recoveredFrom) return "recovered_from";
  return purchase.checkoutToken && purchase.checkoutToken === recovery.checkoutToken ? "checkout_token" : "cart_token";
}

/** A checkout its own source reports completed: Shopify's `completedAt`, or a Stripe session that completed. */
export const completionMatch = (source: Source): LinkMatch => (source === "shopify" ? "completedAt" : "recovered_from");

/** A window conversion's matchedBy: a Shopify order or a Stripe payment. */
export const windowMatchedBy = (source: Source): "order" | "payment" => (source === "shopify" ? "order" : "payment");

/** The earliest click that can claim a purchase by window. */
export function attributionWindowStart(purchasedAt: Date, windowDays: number): Date {
  return new Date(purchasedAt.getTime() - windowDays * 86_400_000);
}
