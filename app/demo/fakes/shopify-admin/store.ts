// In-memory data for one fake shop: abandoned checkouts, customers, and what mutations received.
// Money is kept as integer minor units per currency; GraphQL and webhook views format it.
import { randomBytes } from "node:crypto";

export type EmailMarketingState = "SUBSCRIBED" | "NOT_SUBSCRIBED" | "PENDING" | "UNSUBSCRIBED" | "INVALID";
export type MarketingOptInLevel = "SINGLE_OPT_IN" | "CONFIRMED_OPT_IN" | "UNKNOWN";

/** An amount in the shop's currency and in the buyer's (presentment) currency, minor units. */
export interface MoneyPair {
  shop: number;
  presentment: number;
}

export interface AddressRecord {
  firstName: string | null;
  lastName: string | null;
  company: string | null;
  address1: string | null;
  address2: string | null;
  city: string | null;
  province: string | null;
  provinceCode: string | null;
  country: string | null;
  countryCode: string | null;
  zip: string | null;
  phone: string | null;
}

export interface CustomerRecord {
  id: number;
  firstName: string | null;
  lastName: string | null;
  email: string | null;
  phone: string | null;
  marketingState: EmailMarketingState;
  marketingOptInLevel: MarketingOptInLevel | null;
  marketingUpdatedAt: string | null;
  locale: string;
  createdAt: string;
  updatedAt: string;
  tags: string[];
}

export interface LineItemRecord {
  id: number;
  title: string;
  variantTitle: string | null;
  quantity: number;
  sku: string | null;
  vendor: string | null;
  image: { url: string; altText: string | null } | null;
  /** null for custom items and deleted variants */
  variantId: number | null;
  productId: number | null;
  unitPrice: MoneyPair;
  /** unit price after line-level and code discounts */
  discountedUnitPrice: MoneyPair;
  requiresShipping: boolean;
  taxable: boolean;
  grams: number;
}

export interface DiscountCodeApplication {
  code: string;
  type: "percentage" | "fixed_amount";
  amount: MoneyPair;
}

export type AbandonmentEmailState = "sent" | "not_sent" | "scheduled" | "suppressed";

export interface CheckoutRecord {
  /** numeric part of gid://shopify/AbandonedCheckout/<id> */
  id: number;
  /** checkout token: not in GraphQL (as on Shopify), but in the recovery URL and webhooks */
  token: string;
  cartToken: string | null;
  /** the `key` query parameter of the recovery URL */
  recoveryKey: string;
  createdAt: string;
  updatedAt: string;
  completedAt: string | null;
  closedAt: string | null;
  /** email typed at checkout (guests too); GraphQL cannot see it, webhooks can */
  email: string | null;
  phone: string | null;
  buyerAcceptsMarketing: boolean;
  buyerAcceptsSmsMarketing: boolean;
  customerId: number | null;
  customerLocale: string;
  /** shop currency at checkout time */
  currency: string;
  presentmentCurrency: string;
  lineItems: LineItemRecord[];
  discountCodes: DiscountCodeApplication[];
  totalTax: MoneyPair;
  shippingPrice: MoneyPair;
  taxesIncluded: boolean;
  note: string;
  customAttributes: { key: string; value: string | null }[];
  billingAddress: AddressRecord | null;
  shippingAddress: AddressRecord | null;
  landingSite: string | null;
  referringSite: string | null;
  sourceName: string;
  emailState: AbandonmentEmailState;
  /** When Shopify's own abandoned-checkout email went out (`Abandonment.emailSentAt`); unset = not sent. */
  emailSentAt?: string | null;
}

/** A checkout as returned by the store: the record plus its customer, copied. */
export interface StoredCheckout extends CheckoutRecord {
  customer: CustomerRecord | null;
}

/** Input to upsertCheckout: anything left out keeps its old value or a default. */
export type CheckoutInput = Partial<Omit<CheckoutRecord, "customerId">> & {
  /** a customer to attach (stored/updated in the shop's customers), or null for a guest */
  customer?: CustomerRecord | null;
  customerId?: number | null;
};

export interface CheckoutTotals {
  totalLineItemsPrice: MoneyPair;
  totalDiscounts: MoneyPair;
  subtotalPrice: MoneyPair;
  totalTax: MoneyPair;
  totalPrice: MoneyPair;
}

export interface ShopInfo {
  domain: string;
  /** numeric shop id; also the first path segment of recovery URLs */
  id: number;
  name: string;
  email: string;
  contactEmail: string;
  currencyCode: string;
  ianaTimezone: string;
  /** The shop's primary language (`shopLocales { locale primary }`). */
  primaryLocale: string;
  billingAddress: AddressRecord;
  /** Base URL of the storefront in recovery links; default https://<domain> (the demo serves its own). */
  storefrontUrl?: string;
}

export interface RecordedDiscount {
  id: string;
  code: string;
  title: string;
  input: Record<string, unknown>;
  createdAt: string;
}

export interface RecordedCall<T = Record<string, unknown>> {
  at: string;
  input: T;
}

export interface RecordedFlowTrigger {
  at: string;
  handle: string | null;
  payload: unknown;
  body: string | null;
  /** false when the fake was told to fail this call */
  accepted: boolean;
}

export interface RecordedWebPixel {
  id: string;
  settings: unknown;
  at: string;
}

const sum = (a: MoneyPair, b: MoneyPair): MoneyPair => ({ shop: a.shop + b.shop, presentment: a.presentment + b.presentment });
const times = (a: MoneyPair, n: number): MoneyPair => ({ shop: a.shop * n, presentment: a.presentment * n });
const minus = (a: MoneyPair, b: MoneyPair): MoneyPair => ({ shop: a.shop - b.shop, presentment: a.presentment - b.presentment });
export const ZERO: MoneyPair = { shop: 0, presentment: 0 };

/** Totals the way Shopify's AbandonedCheckout defines them (see README.md). */
export function checkoutTotals(c: CheckoutRecord): CheckoutTotals {
  let totalLineItemsPrice = ZERO;
  let discounted = ZERO;
  for (const li of c.lineItems) {
    totalLineItemsPrice = sum(totalLineItemsPrice, times(li.unitPrice, li.quantity));
    discounted = sum(discounted, times(li.discountedUnitPrice, li.quantity));
  }
  const totalDiscounts = minus(totalLineItemsPrice, discounted);
  const subtotalPrice = discounted;
  const totalPrice = sum(sum(subtotalPrice, c.shippingPrice), c.taxesIncluded ? ZERO : c.totalTax);
  return { totalLineItemsPrice, totalDiscounts, subtotalPrice, totalTax: c.totalTax, totalPrice };
}

export function numericId(id: number | string): number {
  if (typeof id === "number") return id;
  const match = /(\d+)(?:\?.*)?$/.exec(id);
  if (!match) throw new Error(`not an id: ${id}`);
  return Number(match[1]);
}

function fallbackToken(): string {
  return randomBytes(16).toString("hex");
}

/**
 * A cart token in the shape live shops send (rudder-transformer's captures, test/fixtures/shopify/README.md):
 * base64 of `gcp-<region>:01<24 Crockford characters>`, e.g. `Z2NwLXVzLWVhc3QxOjAxSkJaTUVRSjgzNUJUN1BTNjEzRFdRUFFQ`.
 * Made from 128 random bits given as 32 hex characters (the generator passes its seeded ones, so its data stays the same).
 */
export function realisticCartToken(randomHex: string = randomBytes(16).toString("hex")): string {
  const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
  const bits = BigInt(`0x${randomHex}`);
  let ulid = "01";
  for (let i = 0; i < 24; i++) ulid += alphabet[Number((bits >> BigInt(i * 5)) & 31n)];
  return Buffer.from(`gcp-us-east1:${ulid}`).toString("base64").replace(/=+$/, "");
}

export class ShopStore {
  private readonly checkouts = new Map<number, CheckoutRecord>();
  /** checkouts ascending by id; rebuilt after an insert or delete */
  private sorted: CheckoutRecord[] | null = null;
  private readonly customers = new Map<number, CustomerRecord>();
  private sequence = 1_000;
  readonly discounts: RecordedDiscount[] = [];
  readonly consentUpdates: RecordedCall[] = [];
  readonly flowTriggers: RecordedFlowTrigger[] = [];
  readonly webPixels: RecordedWebPixel[] = [];

  constructor(
    readonly shop: ShopInfo,
    private readonly now: () => number = Date.now,
  ) {}

  /** A fresh id for things the fake creates (discounts, pixels, bulk operations). */
  nextId(): number {
    this.sequence += 1;
    return this.sequence;
  }

  nowIso(): string {
    return new Date(this.now()).toISOString();
  }

  /**
   * Recovery link as live shops send it: https://<shop>/<shop id>/checkouts/ac/<CART token>/recover?key=<key> — the
   * path segment is the cart token, not the checkout `token` (captured payloads, test/fixtures/shopify/real/). A
   * checkout without a cart token gets the older shape, whose segment is the checkout token: /checkouts/<token>/recover.
   */
  recoveryUrl(c: Pick<CheckoutRecord, "token" | "cartToken" | "recoveryKey">): string {
    const base = this.shop.storefrontUrl ?? `https://${this.shop.domain}`;
    return c.cartToken
      ? `${base}/${this.shop.id}/checkouts/ac/${c.cartToken}/recover?key=${c.recoveryKey}`
      : `${base}/${this.shop.id}/checkouts/${c.token}/recover?key=${c.recoveryKey}`;
  }

  upsertCustomer(customer: CustomerRecord): CustomerRecord {
    const copy = structuredClone(customer);
    this.customers.set(copy.id, copy);
    return structuredClone(copy);
  }

  getCustomer(id: number | string): CustomerRecord | undefined {
    const c = this.customers.get(numericId(id));
    return c && structuredClone(c);
  }

  /** Changes a stored customer in place (used by the consent mutation). */
  updateCustomer(id: number, change: Partial<CustomerRecord>): CustomerRecord | undefined {
    const c = this.customers.get(id);
    if (!c) return undefined;
    Object.assign(c, change, { id });
    return structuredClone(c);
  }

  upsertCheckout(input: CheckoutInput): StoredCheckout {
    const { customer, customerId, ...fields } = input;
    const id = fields.id ?? this.nextId();
    const existing = this.checkouts.get(id);
    const now = this.nowIso();
    let resolvedCustomerId = customerId !== undefined ? customerId : (existing?.customerId ?? null);
    if (customer !== undefined) {
      if (customer) this.upsertCustomer(customer);
      resolvedCustomerId = customer ? customer.id : null;
    }
    const record: CheckoutRecord = {
      token: fallbackToken(),
      cartToken: realisticCartToken(),
      recoveryKey: fallbackToken(),
      createdAt: now,
      completedAt: null,
      closedAt: null,
      email: null,
      phone: null,
      buyerAcceptsMarketing: false,
      buyerAcceptsSmsMarketing: false,
      customerLocale: "en",
      currency: this.shop.currencyCode,
      presentmentCurrency: this.shop.currencyCode,
      lineItems: [],
      discountCodes: [],
      totalTax: ZERO,
      shippingPrice: ZERO,
      taxesIncluded: false,
      note: "",
      customAttributes: [],
      billingAddress: null,
      shippingAddress: null,
      landingSite: null,
      referringSite: null,
      sourceName: "web",
      emailState: "not_sent",
      ...existing,
      ...structuredClone(fields),
      id,
      customerId: resolvedCustomerId,
      // An upsert is a change: bump updatedAt unless the caller set it.
      updatedAt: fields.updatedAt ?? (existing ? now : (fields.createdAt ?? now)),
    };
    // The record is a new object: the sorted cache would keep serving the old one (a touched checkout's old
    // updatedAt to searches), so it is rebuilt on the next read.
    this.sorted = null;
    this.checkouts.set(id, record);
    return this.resolve(record);
  }

  upsertCheckouts(inputs: Iterable<CheckoutInput>): number {
    let n = 0;
    for (const input of inputs) {
      this.upsertCheckout(input);
      n += 1;
    }
    return n;
  }

  private resolve(record: CheckoutRecord): StoredCheckout {
    const customer = record.customerId != null ? (this.customers.get(record.customerId) ?? null) : null;
    return { ...structuredClone(record), customer: customer && structuredClone(customer) };
  }

  getCheckout(id: number | string): StoredCheckout | undefined {
    const record = this.checkouts.get(numericId(id));
    return record && this.resolve(record);
  }

  getCheckoutByToken(token: string): StoredCheckout | undefined {
    for (const record of this.checkouts.values()) if (record.token === token) return this.resolve(record);
    return undefined;
  }

  /** The checkout a recovery URL names: live URLs carry the cart token (…/checkouts/ac/<cart token>/recover). */
  getCheckoutByCartToken(cartToken: string): StoredCheckout | undefined {
    for (const record of this.checkouts.values()) if (record.cartToken !== null && record.cartToken === cartToken) return this.resolve(record);
    return undefined;
  }

  /** Every checkout, ascending by id. */
  listCheckouts(): StoredCheckout[] {
    return this.rawCheckouts().map((r) => this.resolve(r));
  }

  get checkoutCount(): number {
    return this.checkouts.size;
  }

  /** The buyer completed the checkout: sets completedAt and bumps updatedAt. */
  completeCheckout(id: number | string, at: Date | string = new Date(this.now())): StoredCheckout {
    const record = this.mustGet(id);
    const iso = new Date(at).toISOString();
    record.completedAt = iso;
    record.updatedAt = iso;
    return this.resolve(record);
  }

  /** Something about the checkout changed (cart edit, contact info): bumps updatedAt. */
  touchCheckout(id: number | string, at: Date | string = new Date(this.now()), change: CheckoutInput = {}): StoredCheckout {
    this.mustGet(id);
    return this.upsertCheckout({ ...change, id: numericId(id), updatedAt: new Date(at).toISOString() });
  }

  /**
   * Shopify's own abandoned-checkout automation acted on the checkout: `sent` (at `sentAt`, default now), `scheduled`,
   * `not_sent` or `suppressed`. Read back by `abandonmentByAbandonedCheckoutId` and the `email_state:` search. It does
   * not bump updatedAt (whether Shopify does is not documented; the app does not rely on it).
   */
  setEmailState(
    id: number | string,
    state: AbandonmentEmailState,
    sentAt: Date | string | null = state === "sent" ? new Date(this.now()) : null,
  ): StoredCheckout {
    const record = this.mustGet(id);
    record.emailState = state;
    record.emailSentAt = sentAt === null ? null : new Date(sentAt).toISOString();
    return this.resolve(record);
  }

  deleteCheckout(id: number | string): boolean {
    this.sorted = null;
    return this.checkouts.delete(numericId(id));
  }

  private mustGet(id: number | string): CheckoutRecord {
    const record = this.checkouts.get(numericId(id));
    if (!record) throw new Error(`no abandoned checkout ${id} in ${this.shop.domain}`);
    return record;
  }

  /** Internal, read-only access for resolvers (no copying on hot paths), ascending by id. */
  rawCheckouts(): readonly CheckoutRecord[] {
    this.sorted ??= [...this.checkouts.values()].sort((a, b) => a.id - b.id);
    return this.sorted;
  }

  rawCheckout(id: number): CheckoutRecord | undefined {
    return this.checkouts.get(id);
  }

  rawCustomer(id: number | null): CustomerRecord | null {
    return id == null ? null : (this.customers.get(id) ?? null);
  }
}
