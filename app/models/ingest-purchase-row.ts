import type { PurchaseObserved } from "../recovery/model";

/** The Purchase row for an observed purchase (what it was, who, and every identifier that joins it to a checkout). */
export function purchaseRow(shopId: string, e: PurchaseObserved, email: string | null, contactId: string | null) {
  return {
    shopId,
    source: e.source,
    externalId: e.externalId,
    email,
    contactId,
    checkoutToken: e.checkoutToken ?? null,
    cartToken: e.cartToken ?? null,
    recoveredFrom: e.recoveredFrom ?? null,
    paymentIntentId: e.paymentIntentId ?? null,
    amountMinor: e.amount.amountMinor,
    currency: e.amount.currency,
    shopAmountMinor: e.shopAmount?.amountMinor ?? null,
    shopCurrency: e.shopAmount?.currency ?? null,
    occurredAt: e.occurredAt,
  };
}
