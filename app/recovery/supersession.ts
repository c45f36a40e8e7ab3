/**
 * Supersession: a buyer's newest checkout replaces their older ones, from either source (a Shopify cart abandoned,
 * then a Stripe one, or the other way round), so a person gets one campaign at a time, about their latest cart.
 * The one definition: the models apply it as a Prisma filter (scheduling) and in the send path's SQL
 * (app/models/supersession.server.ts); test/integration/supersession-rule.test.ts checks both against `supersedes`.
 */

export interface SupersessionFacts {
  id: string;
  shopId: string;
  contactId: string | null;
  abandonedAt: Date;
  notContactableReason: string | null;
  /** `cart` | `payment`: only carts supersede carts; a failed subscription payment is not a newer cart (docs/decisions/087). */
  kind: string;
}

/**
 * Whether `other` supersedes `recovery`: another recovery of the same contact in the same shop, abandoned later, that
 * Reclaim could contact, both carts. Whether the newer one was completed does not matter: a buyer who went on to check out a newer
 * cart must not hear about the older one (the purchase, when it arrives, stops the rest with its own reason).
 * Two abandoned at the same instant supersede neither (the frequency cap keeps the buyer from two emails at once), so
 * the outcome never depends on which one arrived first.
 */
export function supersedes(other: SupersessionFacts, recovery: SupersessionFacts): boolean {
  return (
    recovery.contactId !== null &&
    other.contactId === recovery.contactId &&
    other.shopId === recovery.shopId &&
    other.id !== recovery.id &&
    other.abandonedAt.getTime() > recovery.abandonedAt.getTime() &&
    other.notContactableReason === null &&
    other.kind === "cart" &&
    recovery.kind === "cart"
  );
}
