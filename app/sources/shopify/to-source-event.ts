import { fullNameOf } from "../../recovery/full-name";
import type { CheckoutObserved, Consent, ConsentEvidence, LineItem } from "../../recovery/model";
import { toMinorUnits } from "../../recovery/money";
import { MAX_STORED_MINOR, storableDate } from "../../recovery/storable";

/**
 * Pure mapper from an Admin GraphQL `AbandonedCheckout` (the selection in abandoned-checkouts-query.ts) to a
 * CheckoutObserved. GraphQL knows the customer's email and consent only through `customer.defaultEmailAddress`
 * (guests have none here; their email comes from the checkouts/* webhook), and has no checkout token: the token is
 * read from the recovery URL so webhook, poll and orders join on one recovery (docs/decisions/005).
 */

export interface MoneyV2 {
  amount: string;
  currencyCode: string;
}

export interface LineItemNode {
  title: string;
  variantTitle: string | null;
  quantity: number;
  image: { url: string } | null;
  originalUnitPriceSet: { presentmentMoney: MoneyV2 } | null;
}

export interface CustomerEmailAddressNode {
  emailAddress: string | null;
  marketingState: string | null;
  marketingOptInLevel: string | null;
  marketingUpdatedAt: string | null;
}

export interface CheckoutNode {
  id: string;
  name: string | null;
  abandonedCheckoutUrl: string | null;
  completedAt: string | null;
  createdAt: string;
  updatedAt: string;
  discountCodes: string[] | null;
  customer: {
    id: string;
    firstName: string | null;
    /** Absent in nodes stored before the query selected it. */
    lastName?: string | null;
    locale: string | null;
    /** null for a customer without email, and (graphql-js) when the email was refused as protected data */
    defaultEmailAddress: CustomerEmailAddressNode | null;
  } | null;
  totalPriceSet: { shopMoney: MoneyV2; presentmentMoney: MoneyV2 };
  lineItems?: { pageInfo: { hasNextPage: boolean; endCursor: string | null }; nodes: LineItemNode[] } | null;
}

export class CheckoutNodeError extends Error {
  name = "CheckoutNodeError";
}

/**
 * What an abandoned checkout's recovery URL identifies. Live shops send `…/checkouts/ac/<cart token>/recover?key=…`:
 * the segment is the CART token (`Z2Nw…`), not the checkout `token` the webhooks carry (captured payloads,
 * test/fixtures/shopify/real/). Older shops send `…/checkouts/<checkout token>/recover?key=…`. Other two-letter
 * prefixes (`cn/`) are read like `ac/`; ingest matches a URL token against both columns anyway, so a misread kind
 * still joins. GraphQL exposes neither token, so this is how the poll joins the webhooks and orders of the same
 * checkout. Both null for any other shape.
 */
export function tokensFromRecoveryUrl(url: string | null | undefined): { checkoutToken: string | null; cartToken: string | null } {
  const none = { checkoutToken: null, cartToken: null };
  if (!url || typeof url !== "string") return none;
  let path: string;
  try {
    path = new URL(url).pathname;
  } catch {
    return none;
  }
  const match = /\/checkouts\/([a-z]{2}\/)?([^/]+)\/recover\/?$/.exec(path);
  if (!match) return none;
  let segment: string;
  try {
    segment = decodeURIComponent(match[2]!);
  } catch {
    return none;
  }
  return match[1] ? { checkoutToken: null, cartToken: segment } : { checkoutToken: segment, cartToken: null };
}

/** Shopify's email marketing state → Reclaim's consent. Only an explicit subscription is an opt-in. */
export function consentFromMarketingState(state: string | null | undefined): Consent {
  if (state === "SUBSCRIBED") return "opt_in";
  if (state === "UNSUBSCRIBED") return "opt_out";
  // NOT_SUBSCRIBED (never asked), PENDING (double opt-in not confirmed), INVALID, REDACTED: no consent either way.
  return "unknown";
}

function date(value: string | null | undefined, field: string, required: true): Date;
function date(value: string | null | undefined, field: string, required?: false): Date | null;
function date(value: string | null | undefined, field: string, required = false): Date | null {
  if (value == null) {
    if (required) throw new CheckoutNodeError(`abandoned checkout has no ${field}`);
    return null;
  }
  if (typeof value !== "string") throw new CheckoutNodeError(`abandoned checkout has an invalid ${field}`);
  const d = storableDate(new Date(value));
  if (!d) throw new CheckoutNodeError(`abandoned checkout has an invalid ${field}: ${value}`);
  return d;
}

/** A MoneyV2 in minor units (RangeError for a malformed or unstorable amount: the sync skips the checkout). */
function minorOf(money: MoneyV2, max = MAX_STORED_MINOR): number {
  if (typeof money.amount !== "string" || typeof money.currencyCode !== "string") throw new RangeError("money without an amount or currency");
  const amount = toMinorUnits(money.amount, money.currencyCode);
  if (Math.abs(amount) > max) throw new RangeError(`amount too large: ${money.amount}`);
  return amount;
}

export function lineItemFromNode(node: LineItemNode): LineItem {
  const quantity = Number.isSafeInteger(node.quantity) && node.quantity > 0 ? node.quantity : 1;
  const price = node.originalUnitPriceSet?.presentmentMoney;
  const unit = price ? minorOf(price, Number.MAX_SAFE_INTEGER) : 0;
  if (!Number.isSafeInteger(unit * quantity)) throw new RangeError("line item total too large");
  return {
    title: (node.title || "Item").slice(0, 500),
    variantTitle: node.variantTitle || null,
    quantity,
    imageUrl: node.image?.url ?? null,
    unitPriceMinor: unit,
    totalPriceMinor: unit * quantity,
  };
}

/**
 * Maps one checkout. `lineItems` is the checkout's complete list (the sync pages through line items first);
 * pass null when they could not be read, so that what is stored is kept.
 */
export function checkoutNodeToEvent(node: CheckoutNode, lineItems: LineItemNode[] | null): CheckoutObserved {
  if (!node?.id) throw new CheckoutNodeError("abandoned checkout has no id");
  const createdAt = date(node.createdAt, "createdAt", true);
  const updatedAt = date(node.updatedAt, "updatedAt", true);
  const presentment = node.totalPriceSet?.presentmentMoney;
  const shop = node.totalPriceSet?.shopMoney;
  if (!presentment || !shop) throw new CheckoutNodeError(`abandoned checkout ${node.id} has no totalPriceSet`);

  const customer = node.customer;
  const address = customer?.defaultEmailAddress ?? null;
  const consent: ConsentEvidence = {
    state: consentFromMarketingState(address?.marketingState),
    source: "shopify.customer.defaultEmailAddress",
    detail: {
      marketingState: address?.marketingState ?? null,
      marketingOptInLevel: address?.marketingOptInLevel ?? null,
    },
    at: address?.marketingUpdatedAt ?? null,
  };
  const total = { amountMinor: minorOf(presentment), currency: presentment.currencyCode };
  const shopTotal =
    shop.currencyCode === presentment.currencyCode && shop.amount === presentment.amount ? null : { amountMinor: minorOf(shop), currency: shop.currencyCode };

  return {
    kind: "checkout.observed",
    source: "shopify",
    externalId: node.id,
    ...tokensFromRecoveryUrl(node.abandonedCheckoutUrl),
    name: node.name || null,
    email: address?.emailAddress ?? null,
    firstName: customer?.firstName || null,
    fullName: fullNameOf(customer?.firstName, customer?.lastName),
    lastName: customer?.lastName || null,
    shopifyCustomerId: customer?.id ?? null,
    consent,
    lineItems: lineItems ? lineItems.filter((item) => item && typeof item === "object").map(lineItemFromNode) : null,
    total,
    shopTotal,
    locale: customer?.locale || null,
    discountCodes: Array.isArray(node.discountCodes) ? node.discountCodes.filter((c) => typeof c === "string" && c.length > 0) : [],
    recoveryUrl: node.abandonedCheckoutUrl || null,
    recoveryUrlExpiresAt: null,
    abandonedAt: createdAt,
    updatedAt,
    completedAt: date(node.completedAt, "completedAt"),
  };
}
