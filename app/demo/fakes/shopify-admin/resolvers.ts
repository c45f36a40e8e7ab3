// Resolvers for the part of the Admin API the app uses. Data objects are plain "views" whose
// properties are values or functions (args, context, info); `fieldResolver` reads them and turns
// any field a view lacks into a "fake does not implement Type.field" error — never a silent null.
import { GraphQLError, type GraphQLFieldResolver, type GraphQLTypeResolver } from "graphql";
import type { BulkOperationRecord, BulkOperations } from "./bulk";
import { notImplemented, protectedFieldError } from "./errors";
import { decimalAmount } from "./money";
import { encodeCursor, paginate, type CursorPosition, type PageArgs } from "./pagination";
import { compileAbandonedCheckoutSearch, totalPriceShop, type CheckoutSearchRecord, type SearchWarning } from "./search-query";
import {
  checkoutTotals,
  numericId,
  type AddressRecord,
  type CheckoutRecord,
  type CustomerRecord,
  type EmailMarketingState,
  type LineItemRecord,
  type MarketingOptInLevel,
  type MoneyPair,
  type ShopStore,
} from "./store";

/** Which protected customer data the app has been granted (Shopify's level-2 fields). */
export interface ProtectedDataGrants {
  email: boolean;
  name: boolean;
  phone: boolean;
  address: boolean;
}

export interface SearchExtension {
  path: (string | number)[];
  query: string;
  parsed: Record<string, unknown> | null;
  warnings: SearchWarning[];
}

export interface ShopRuntime {
  store: ShopStore;
  grants: ProtectedDataGrants;
  bulk: BulkOperations;
  /** remaining flowTriggerReceive calls that must fail, and how */
  flowFailures: { remaining: number; message: string };
  /** access scopes granted to the app (comma-separated, as in the OAuth answer) */
  scope: string;
}

/** Shopify's `requiredAccess` text for abandonedCheckouts / abandonedCheckoutsCount (2026-10 schema metadata). */
const ABANDONED_CHECKOUTS_ACCESS =
  "`read_orders` access scope. Also: The user must have manage_abandoned_checkouts permission. When called by Shopify POS, the user must have the view_abandoned_checkouts retail permission.";

/** requiredAccess of webPixelCreate / webPixelUpdate / webPixel in the 2026-10 schema: both scopes are needed. */
const WEB_PIXEL_ACCESS = "`write_pixels` access scope. Also: The app requires read_customer_events access scope and user access permission.";

function requirePixelScopes(ctx: ResolverContext, field: string): void {
  requireScope(ctx, "write_pixels", field, WEB_PIXEL_ACCESS);
  requireScope(ctx, "read_customer_events", field, WEB_PIXEL_ACCESS);
}

const webPixelView = (pixel: { id: string; settings: unknown }) => ({ __typename: "WebPixel", id: pixel.id, settings: pixel.settings });

/** A root field the app's scopes do not cover: Shopify's "Access denied for <field> field" error (ACCESS_DENIED). */
function requireScope(ctx: ResolverContext, scope: string, field: string, requiredAccess: string): void {
  const granted = ctx.shop.scope.split(",").map((s) => s.trim());
  // write_X implies read_X, as on Shopify.
  if (granted.includes(scope) || granted.includes(scope.replace(/^read_/, "write_"))) return;
  throw new GraphQLError(`Access denied for ${field} field. Required access: ${requiredAccess}`, {
    extensions: { code: "ACCESS_DENIED", documentation: "https://shopify.dev/api/usage/access-scopes", requiredAccess },
  });
}

export interface ResolverContext {
  shop: ShopRuntime;
  /** inside a bulk operation: connections return every row, page sizes are ignored */
  bulk: boolean;
  /** `extensions.search` entries collected while resolving */
  search: SearchExtension[];
  now: () => number;
}

type Args = Record<string, unknown>;
type ResolverFn = (args: Args, ctx: ResolverContext, info: Parameters<GraphQLFieldResolver<unknown, ResolverContext>>[3]) => unknown;

export const fieldResolver: GraphQLFieldResolver<unknown, ResolverContext> = (source, args, ctx, info) => {
  if (source === null || typeof source !== "object") {
    throw notImplemented(`${info.parentType.name}.${info.fieldName}`);
  }
  const record = source as Record<string, unknown>;
  if (!(info.fieldName in record)) {
    throw notImplemented(`${info.parentType.name}.${info.fieldName}`);
  }
  const value = record[info.fieldName];
  return typeof value === "function" ? (value as ResolverFn)(args, ctx, info) : value;
};

export const typeResolver: GraphQLTypeResolver<unknown, ResolverContext> = (value, _ctx, _info, abstractType) => {
  const name = value && typeof value === "object" ? (value as { __typename?: unknown }).__typename : undefined;
  if (typeof name === "string") return name;
  throw new GraphQLError(`fake cannot tell which ${abstractType.name} this is`);
};

export const gid = (type: string, id: number | string) => `gid://shopify/${type}/${id}`;

/** Shopify prints DateTime without milliseconds: 2026-11-20T10:00:00Z. */
export function dateTime(iso: string | null | undefined): string | null {
  if (!iso) return null;
  return new Date(iso).toISOString().replace(/\.\d{3}Z$/, "Z");
}

// ---------------------------------------------------------------------------------------------
// Views

function moneyBag(pair: MoneyPair, shopCurrency: string, presentmentCurrency: string) {
  return {
    __typename: "MoneyBag",
    shopMoney: { __typename: "MoneyV2", amount: decimalAmount(pair.shop, shopCurrency), currencyCode: shopCurrency },
    presentmentMoney: {
      __typename: "MoneyV2",
      amount: decimalAmount(pair.presentment, presentmentCurrency),
      currencyCode: presentmentCurrency,
    },
  };
}

function guarded(ctx: ResolverContext, grant: keyof ProtectedDataGrants, field: string, value: unknown): unknown {
  if (!ctx.shop.grants[grant]) throw protectedFieldError(field);
  return value;
}

function addressView(a: AddressRecord | null, typename = "MailingAddress") {
  if (!a) return null;
  const name = [a.firstName, a.lastName].filter(Boolean).join(" ") || null;
  const g =
    (grant: keyof ProtectedDataGrants, field: string, value: unknown): ResolverFn =>
    (_args, ctx) =>
      guarded(ctx, grant, field, value);
  return {
    __typename: typename,
    id: gid(typename, 1),
    firstName: g("name", "firstName", a.firstName),
    lastName: g("name", "lastName", a.lastName),
    name: g("name", "name", name),
    company: a.company,
    address1: g("address", "address1", a.address1),
    address2: g("address", "address2", a.address2),
    city: a.city,
    province: a.province,
    provinceCode: a.provinceCode,
    country: a.country,
    countryCode: a.countryCode,
    countryCodeV2: a.countryCode,
    zip: g("address", "zip", a.zip),
    phone: g("phone", "phone", a.phone),
    formattedArea: [a.city, a.province, a.country].filter(Boolean).join(", ") || null,
    coordinatesValidated: false,
    latitude: null,
    longitude: null,
  };
}

/** The `marketingUnsubscribeUrl` Shopify hosts; its exact path is not documented. */
function unsubscribeUrl(domain: string, customerId: number) {
  return `https://${domain}/account/unsubscribe?customer_id=${customerId}`;
}

export function customerView(store: ShopStore, c: CustomerRecord | null) {
  if (!c) return null;
  const displayName = [c.firstName, c.lastName].filter(Boolean).join(" ") || c.email || "";
  const emailAddress = c.email
    ? {
        __typename: "CustomerEmailAddress",
        emailAddress: ((_a, ctx) => guarded(ctx, "email", "emailAddress", c.email)) as ResolverFn,
        marketingState: c.marketingState,
        marketingOptInLevel: c.marketingOptInLevel,
        marketingUpdatedAt: dateTime(c.marketingUpdatedAt),
        validFormat: /^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(c.email),
        marketingUnsubscribeUrl: unsubscribeUrl(store.shop.domain, c.id),
        openTrackingLevel: "UNKNOWN",
      }
    : null;
  return {
    __typename: "Customer",
    id: gid("Customer", c.id),
    legacyResourceId: String(c.id),
    firstName: ((_a, ctx) => guarded(ctx, "name", "firstName", c.firstName)) as ResolverFn,
    lastName: ((_a, ctx) => guarded(ctx, "name", "lastName", c.lastName)) as ResolverFn,
    displayName: ((_a, ctx) => guarded(ctx, "name", "displayName", displayName)) as ResolverFn,
    email: ((_a, ctx) => guarded(ctx, "email", "email", c.email)) as ResolverFn,
    phone: ((_a, ctx) => guarded(ctx, "phone", "phone", c.phone)) as ResolverFn,
    defaultEmailAddress: emailAddress,
    // Deprecated in favour of defaultEmailAddress, still served.
    emailMarketingConsent: c.email
      ? {
          __typename: "CustomerEmailMarketingConsentState",
          marketingState: c.marketingState,
          marketingOptInLevel: c.marketingOptInLevel,
          consentUpdatedAt: dateTime(c.marketingUpdatedAt),
        }
      : null,
    locale: c.locale,
    tags: c.tags,
    createdAt: dateTime(c.createdAt),
    updatedAt: dateTime(c.updatedAt),
    verifiedEmail: c.email !== null,
    validEmailAddress: c.email !== null,
    state: "ENABLED",
  };
}

function productStub(li: LineItemRecord) {
  if (li.productId == null) return null;
  return {
    __typename: "Product",
    id: gid("Product", li.productId),
    legacyResourceId: String(li.productId),
    title: li.title,
    handle: li.title
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "-")
      .replace(/^-|-$/g, ""),
    vendor: li.vendor,
  };
}

function variantStub(li: LineItemRecord, shopCurrency: string) {
  if (li.variantId == null) return null;
  const title = li.variantTitle ?? "Default Title";
  return {
    __typename: "ProductVariant",
    id: gid("ProductVariant", li.variantId),
    legacyResourceId: String(li.variantId),
    title,
    displayName: `${li.title} - ${title}`,
    sku: li.sku,
    price: decimalAmount(li.unitPrice.shop, shopCurrency),
    product: productStub(li),
  };
}

const emptyConnection: ResolverFn = (args, ctx) =>
  paginate(
    [],
    args as PageArgs,
    () => ({ last_id: 0, last_value: 0 }),
    (x) => x,
    { unbounded: ctx.bulk },
  );

function lineItemView(li: LineItemRecord, c: CheckoutRecord) {
  const bag = (p: MoneyPair) => moneyBag(p, c.currency, c.presentmentCurrency);
  const times = (p: MoneyPair) => ({ shop: p.shop * li.quantity, presentment: p.presentment * li.quantity });
  return {
    __typename: "AbandonedCheckoutLineItem",
    id: gid("AbandonedCheckoutLineItem", li.id),
    title: li.title,
    variantTitle: li.variantTitle,
    quantity: li.quantity,
    sku: li.sku,
    image: li.image ? { __typename: "Image", id: null, url: li.image.url, altText: li.image.altText, width: null, height: null } : null,
    variant: variantStub(li, c.currency),
    product: productStub(li),
    originalUnitPriceSet: bag(li.unitPrice),
    originalTotalPriceSet: bag(times(li.unitPrice)),
    discountedUnitPriceSet: bag(li.discountedUnitPrice),
    discountedTotalPriceSet: bag(times(li.discountedUnitPrice)),
    discountedUnitPriceWithCodeDiscount: bag(li.discountedUnitPrice),
    discountedTotalPriceWithCodeDiscount: bag(times(li.discountedUnitPrice)),
    customAttributes: [],
    components: null,
    parentRelationship: null,
    discountAllocations: emptyConnection,
  };
}

export function checkoutView(store: ShopStore, c: CheckoutRecord) {
  const totals = checkoutTotals(c);
  const bag = (p: MoneyPair) => moneyBag(p, c.currency, c.presentmentCurrency);
  return {
    __typename: "AbandonedCheckout",
    id: gid("AbandonedCheckout", c.id),
    name: `#${c.id}`,
    abandonedCheckoutUrl: store.recoveryUrl(c),
    completedAt: dateTime(c.completedAt),
    createdAt: dateTime(c.createdAt),
    updatedAt: dateTime(c.updatedAt),
    customer: () => customerView(store, store.rawCustomer(c.customerId)),
    discountCodes: c.discountCodes.map((d) => d.code),
    note: c.note,
    customAttributes: c.customAttributes.map((a) => ({ __typename: "Attribute", ...a })),
    billingAddress: addressView(c.billingAddress),
    shippingAddress: addressView(c.shippingAddress),
    taxesIncluded: c.taxesIncluded,
    taxLines:
      c.totalTax.shop > 0
        ? [
            {
              __typename: "TaxLine",
              title: "Tax",
              source: "Shopify",
              channelLiable: false,
              rate: null,
              ratePercentage: null,
              priceSet: bag(c.totalTax),
              price: decimalAmount(c.totalTax.shop, c.currency),
            },
          ]
        : [],
    subtotalPriceSet: bag(totals.subtotalPrice),
    totalPriceSet: bag(totals.totalPrice),
    totalLineItemsPriceSet: bag(totals.totalLineItemsPrice),
    totalDiscountSet: bag(totals.totalDiscounts),
    totalTaxSet: bag(totals.totalTax),
    totalDutiesSet: null,
    lineItemsQuantity: c.lineItems.reduce((n, li) => n + li.quantity, 0),
    defaultCursor: encodeCursor({ last_id: c.id, last_value: c.id }),
    lineItems: ((args, ctx) =>
      paginate(
        c.lineItems.map((li, index) => ({ li, index })),
        args as PageArgs,
        ({ li, index }) => ({ last_id: li.id, last_value: index }),
        ({ li }) => lineItemView(li, c),
        { unbounded: ctx.bulk },
      )) as ResolverFn,
  };
}

/** Store email state → `AbandonmentEmailState` (which has no SUPPRESSED: a suppressed email is one Shopify will not send). */
const ABANDONMENT_EMAIL_STATE = { sent: "SENT", scheduled: "SCHEDULED", not_sent: "NOT_SENT", suppressed: "NOT_SENT" } as const;

/**
 * `Abandonment` for an abandoned checkout: what Shopify's own abandoned-checkout automation did (emailState,
 * emailSentAt). Fields the fake cannot derive (products viewed, order history…) are left out and answer "not implemented".
 */
export function abandonmentView(store: ShopStore, c: CheckoutRecord) {
  const state = ABANDONMENT_EMAIL_STATE[c.emailState] ?? "NOT_SENT";
  return {
    __typename: "Abandonment",
    id: gid("Abandonment", c.id),
    emailState: state,
    emailSentAt: state === "SENT" ? dateTime(c.emailSentAt ?? c.updatedAt) : null,
    abandonmentType: "CHECKOUT",
    mostRecentStep: "CHECKOUT",
    createdAt: dateTime(c.createdAt),
    lastCheckoutAbandonmentDate: dateTime(c.createdAt),
    isFromOnlineStore: c.sourceName === "web",
    abandonedCheckoutPayload: () => checkoutView(store, c),
    customer: () => customerView(store, store.rawCustomer(c.customerId)),
  };
}

function shopView(store: ShopStore) {
  const s = store.shop;
  return {
    __typename: "Shop",
    id: gid("Shop", s.id),
    name: s.name,
    email: s.email,
    contactEmail: s.contactEmail,
    currencyCode: s.currencyCode,
    ianaTimezone: s.ianaTimezone,
    myshopifyDomain: s.domain,
    url: `https://${s.domain}`,
    primaryDomain: { __typename: "Domain", id: gid("Domain", s.id), host: s.domain, url: `https://${s.domain}`, sslEnabled: true },
    // The shop's own address is not customer data: no protected-data checks here.
    billingAddress: {
      ...addressView(s.billingAddress, "ShopAddress")!,
      firstName: s.billingAddress.firstName,
      lastName: s.billingAddress.lastName,
      name: [s.billingAddress.firstName, s.billingAddress.lastName].filter(Boolean).join(" ") || null,
      address1: s.billingAddress.address1,
      address2: s.billingAddress.address2,
      zip: s.billingAddress.zip,
      phone: s.billingAddress.phone,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// abandonedCheckouts

type SortKey = "ID" | "CHECKOUT_ID" | "CREATED_AT" | "CUSTOMER_NAME" | "RELEVANCE" | "TOTAL_PRICE";

function sortPosition(sortKey: SortKey, r: CheckoutSearchRecord): CursorPosition {
  const c = r.checkout;
  switch (sortKey) {
    case "CREATED_AT":
      return { last_id: c.id, last_value: Date.parse(c.createdAt) };
    case "TOTAL_PRICE":
      return { last_id: c.id, last_value: totalPriceShop(c) };
    case "CUSTOMER_NAME":
      return {
        last_id: c.id,
        last_value: [r.customer?.lastName, r.customer?.firstName].filter(Boolean).join(" ").toLowerCase(),
      };
    default:
      // ID, CHECKOUT_ID, and RELEVANCE (no relevance model in the fake: falls back to id order)
      return { last_id: c.id, last_value: c.id };
  }
}

/** A checkout being filtered; its customer is looked up only if a filter or sort asks. */
class SearchRow implements CheckoutSearchRecord {
  constructor(
    readonly checkout: CheckoutRecord,
    private readonly store: ShopStore,
  ) {}

  get customer(): CustomerRecord | null {
    return this.store.rawCustomer(this.checkout.customerId);
  }
}

function searchCheckouts(ctx: ResolverContext, query: string | null | undefined, path: (string | number)[]) {
  const compiled = compileAbandonedCheckoutSearch(query);
  if (query && compiled.warnings.length > 0) {
    ctx.search.push({ path, query, parsed: compiled.parsed, warnings: compiled.warnings });
  }
  const store = ctx.shop.store;
  const rows: CheckoutSearchRecord[] = [];
  for (const checkout of store.rawCheckouts()) {
    const row = new SearchRow(checkout, store);
    if (compiled.matches(row)) rows.push(row);
  }
  return rows;
}

function responsePath(info: Parameters<GraphQLFieldResolver<unknown, ResolverContext>>[3]): (string | number)[] {
  const out: (string | number)[] = [];
  for (let p: typeof info.path | undefined = info.path; p; p = p.prev) out.unshift(p.key);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Mutations

function discountInputErrors(input: Record<string, unknown>, store: ShopStore) {
  const errors: { field: string[]; message: string; code: string; extraInfo: null }[] = [];
  const err = (field: string, message: string, code: string) => errors.push({ field: ["basicCodeDiscount", field], message, code, extraInfo: null });
  const code = typeof input.code === "string" ? input.code.trim() : "";
  if (!code) err("code", "Code can't be blank", "BLANK");
  if (!input.title) err("title", "Title can't be blank", "BLANK");
  if (!input.startsAt) err("startsAt", "Starts at can't be blank", "BLANK");
  if (!input.customerGets) err("customerGets", "Customer gets can't be blank", "BLANK");
  if (!input.context && !input.customerSelection) err("context", "Context can't be blank", "BLANK");
  const pct = (input.customerGets as { value?: { percentage?: number } } | undefined)?.value?.percentage;
  if (typeof pct === "number" && (pct < 0 || pct > 1)) {
    errors.push({
      field: ["basicCodeDiscount", "customerGets", "value", "percentage"],
      message: "Value must be between 0.0 and 1.0",
      code: "VALUE_OUTSIDE_RANGE",
      extraInfo: null,
    });
  }
  if (input.endsAt && input.startsAt && Date.parse(String(input.endsAt)) < Date.parse(String(input.startsAt))) {
    err("endsAt", "Ends at needs to be after starts_at", "END_DATE_BEFORE_START_DATE");
  }
  if (code && store.discounts.some((d) => d.code.toLowerCase() === code.toLowerCase())) {
    err("code", "Code must be unique. Please try a different code.", "TAKEN");
  }
  return errors;
}

function discountNodeView(store: ShopStore, d: (typeof store.discounts)[number], now: number) {
  const input = d.input as { startsAt?: string; endsAt?: string | null; usageLimit?: number | null; appliesOncePerCustomer?: boolean };
  const startsAt = String(input.startsAt);
  const endsAt = input.endsAt ?? null;
  const status = Date.parse(startsAt) > now ? "SCHEDULED" : endsAt && Date.parse(endsAt) < now ? "EXPIRED" : "ACTIVE";
  const numeric = numericId(d.id);
  const redeemCode = { __typename: "DiscountRedeemCode", id: gid("DiscountRedeemCode", numeric), code: d.code, asyncUsageCount: 0 };
  return {
    __typename: "DiscountCodeNode",
    id: d.id,
    codeDiscount: {
      __typename: "DiscountCodeBasic",
      title: d.title,
      status,
      startsAt: dateTime(startsAt),
      endsAt: dateTime(endsAt),
      usageLimit: input.usageLimit ?? null,
      appliesOncePerCustomer: input.appliesOncePerCustomer ?? false,
      asyncUsageCount: 0,
      createdAt: dateTime(d.createdAt),
      updatedAt: dateTime(d.createdAt),
      summary: d.title,
      shortSummary: d.title,
      codes: ((args, ctx) =>
        paginate(
          [redeemCode],
          args as PageArgs,
          () => ({ last_id: numeric, last_value: numeric }),
          (x) => x,
          {
            unbounded: ctx.bulk,
          },
        )) as ResolverFn,
      codesCount: { __typename: "Count", count: 1, precision: "EXACT" },
    },
  };
}

/** GraphQL `CustomerEmailMarketingState` (input) → `CustomerEmailAddressMarketingState` (read). */
function readState(state: string): EmailMarketingState {
  return state === "REDACTED" ? "UNSUBSCRIBED" : (state as EmailMarketingState);
}

export function bulkOperationView(op: BulkOperationRecord | undefined | null) {
  if (!op) return null;
  return {
    __typename: "BulkOperation",
    id: gid("BulkOperation", op.id),
    status: op.status,
    errorCode: op.errorCode,
    createdAt: dateTime(op.createdAt),
    completedAt: dateTime(op.completedAt),
    objectCount: String(op.status === "COMPLETED" ? op.objectCount : op.status === "RUNNING" ? Math.floor(op.objectCount / 2) : 0),
    rootObjectCount: String(op.status === "COMPLETED" ? op.rootObjectCount : 0),
    fileSize: op.status === "COMPLETED" && op.url ? String(op.fileSize) : null,
    url: op.status === "COMPLETED" ? op.url : null,
    partialDataUrl: null,
    query: op.query,
    type: op.type,
  };
}

// ---------------------------------------------------------------------------------------------
// Roots

/** `optional_scopes` of shopify.app.toml, as `App.optionalAccessScopes` reports them. */
const FAKE_APP_OPTIONAL_SCOPES = ["write_customers"];

export const queryRoot = {
  shop: ((_args, ctx) => shopView(ctx.shop.store)) as ResolverFn,

  /** The shop's languages: the fake has one, its primary, published (`published: true` or not, the same answer). */
  shopLocales: ((_args, ctx) => {
    requireScope(ctx, "read_locales", "shopLocales", "`read_locales` access scope or `read_markets_home` access scope.");
    const locale = ctx.shop.store.shop.primaryLocale;
    return [{ __typename: "ShopLocale", locale, name: locale, primary: true, published: true, marketWebPresences: [] }];
  }) as ResolverFn,

  /**
   * The calling app (what the Remix library's `scopes.query()` reads): its granted scopes are the shop's current ones
   * (`setScopes`). The fake knows no app configuration, so the optional scopes are those of shopify.app.toml.
   */
  app: ((args, ctx) => {
    if (args.id) throw notImplemented("QueryRoot.app(id)");
    const scope = (handle: string) => ({ __typename: "AccessScope", handle, description: handle });
    const granted = ctx.shop.scope
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean);
    return {
      __typename: "App",
      requestedAccessScopes: granted.filter((s) => !FAKE_APP_OPTIONAL_SCOPES.includes(s)).map(scope),
      optionalAccessScopes: FAKE_APP_OPTIONAL_SCOPES.map(scope),
      installation: { __typename: "AppInstallation", accessScopes: granted.map(scope) },
    };
  }) as ResolverFn,

  /** The app's pixel on this shop (by id, or the app's only one without an id), null when there is none. */
  webPixel: ((args, ctx) => {
    // The field has no requiredAccess of its own; its type WebPixel needs read_pixels (write_pixels implies it).
    requireScope(ctx, "read_pixels", "webPixel", "`read_pixels` access scope.");
    const pixels = ctx.shop.store.webPixels;
    const pixel = args.id ? pixels.find((p) => p.id === args.id) : pixels[0];
    return pixel ? webPixelView(pixel) : null;
  }) as ResolverFn,

  abandonedCheckouts: ((args, ctx, info) => {
    requireScope(ctx, "read_orders", "abandonedCheckouts", ABANDONED_CHECKOUTS_ACCESS);
    const rows = searchCheckouts(ctx, args.query as string | null, responsePath(info));
    const sortKey = (args.sortKey as SortKey | undefined) ?? "ID";
    return paginate(
      rows,
      args as PageArgs,
      (r) => sortPosition(sortKey, r),
      (r) => checkoutView(ctx.shop.store, r.checkout),
      {
        unbounded: ctx.bulk,
      },
    );
  }) as ResolverFn,

  abandonedCheckoutsCount: ((args, ctx, info) => {
    requireScope(ctx, "read_orders", "abandonedCheckoutsCount", ABANDONED_CHECKOUTS_ACCESS);
    if (args.savedSearchId) throw notImplemented("QueryRoot.abandonedCheckoutsCount(savedSearchId)");
    const count = searchCheckouts(ctx, args.query as string | null, responsePath(info)).length;
    const limit = args.limit as number | null | undefined;
    if (limit != null && count > limit) return { __typename: "Count", count: limit, precision: "AT_LEAST" };
    return { __typename: "Count", count, precision: "EXACT" };
  }) as ResolverFn,

  customer: ((args, ctx) => customerView(ctx.shop.store, ctx.shop.store.rawCustomer(numericId(String(args.id))))) as ResolverFn,

  /** null for an id that is not an abandoned checkout of this shop (as Shopify answers an unknown id). */
  abandonmentByAbandonedCheckoutId: ((args, ctx) => {
    const match = /^gid:\/\/shopify\/AbandonedCheckout\/(\d+)$/.exec(String(args.abandonedCheckoutId));
    const c = match ? ctx.shop.store.rawCheckout(Number(match[1])) : undefined;
    return c ? abandonmentView(ctx.shop.store, c) : null;
  }) as ResolverFn,

  node: ((args, ctx) => nodeById(ctx, String(args.id))) as ResolverFn,

  nodes: ((args, ctx) => (args.ids as string[]).map((id) => nodeById(ctx, id))) as ResolverFn,

  bulkOperation: ((args, ctx) => bulkOperationView(ctx.shop.bulk.observe(numericId(String(args.id))))) as ResolverFn,

  currentBulkOperation: ((args, ctx) => bulkOperationView(ctx.shop.bulk.observeCurrent(String(args.type ?? "QUERY")))) as ResolverFn,
};

function nodeById(ctx: ResolverContext, id: string) {
  const match = /^gid:\/\/shopify\/(\w+)\/(\d+)/.exec(id);
  if (!match) return null;
  const [, type, n] = match;
  const store = ctx.shop.store;
  switch (type) {
    case "AbandonedCheckout": {
      const c = store.rawCheckout(Number(n));
      return c ? checkoutView(store, c) : null;
    }
    case "Customer":
      return customerView(store, store.rawCustomer(Number(n)));
    case "BulkOperation":
      return bulkOperationView(ctx.shop.bulk.observe(Number(n)));
    case "DiscountCodeNode": {
      const d = store.discounts.find((x) => x.id === id);
      return d ? discountNodeView(store, d, ctx.now()) : null;
    }
    default:
      throw notImplemented(`QueryRoot.node for ${type}`);
  }
}

export const mutationRoot = {
  discountCodeBasicCreate: ((args, ctx) => {
    // requiredAccess of discountCodeBasicCreate in the 2026-10 schema.
    requireScope(ctx, "write_discounts", "discountCodeBasicCreate", "Apps must have `write_discounts` access scope.");
    const store = ctx.shop.store;
    const input = args.basicCodeDiscount as Record<string, unknown>;
    const userErrors = discountInputErrors(input, store);
    if (userErrors.length > 0) return { codeDiscountNode: null, userErrors };
    const record = {
      id: gid("DiscountCodeNode", store.nextId()),
      code: String(input.code).trim(),
      title: String(input.title),
      input: structuredClone(input),
      createdAt: new Date(ctx.now()).toISOString(),
    };
    store.discounts.push(record);
    return { codeDiscountNode: discountNodeView(store, record, ctx.now()), userErrors: [] };
  }) as ResolverFn,

  customerEmailMarketingConsentUpdate: ((args, ctx) => {
    const store = ctx.shop.store;
    const input = args.input as {
      customerId: string;
      emailMarketingConsent: { marketingState: string; marketingOptInLevel?: MarketingOptInLevel | null; consentUpdatedAt?: string | null };
    };
    const at = new Date(ctx.now()).toISOString();
    store.consentUpdates.push({ at, input: structuredClone(input) as unknown as Record<string, unknown> });
    const id = /^gid:\/\/shopify\/Customer\/(\d+)$/.exec(input.customerId)?.[1];
    const existing = id ? store.rawCustomer(Number(id)) : null;
    if (!existing) {
      return {
        customer: null,
        userErrors: [{ field: ["input", "customerId"], message: "Customer does not exist", code: "INVALID" }],
      };
    }
    if (!existing.email) {
      return {
        customer: null,
        userErrors: [{ field: ["input", "customerId"], message: "Customer must have an email address", code: "INVALID" }],
      };
    }
    const consent = input.emailMarketingConsent;
    const updated = store.updateCustomer(existing.id, {
      marketingState: readState(consent.marketingState),
      marketingOptInLevel: consent.marketingOptInLevel ?? existing.marketingOptInLevel,
      marketingUpdatedAt: consent.consentUpdatedAt ?? at,
      updatedAt: at,
    });
    return { customer: customerView(store, updated ?? null), userErrors: [] };
  }) as ResolverFn,

  flowTriggerReceive: ((args, ctx) => {
    const store = ctx.shop.store;
    const at = new Date(ctx.now()).toISOString();
    const failures = ctx.shop.flowFailures;
    const handle = (args.handle as string | undefined) ?? null;
    const body = (args.body as string | undefined) ?? null;
    const payload = args.payload ?? null;
    const size = Buffer.byteLength(JSON.stringify(payload ?? body ?? ""));
    let userErrors: { field: string[]; message: string }[] = [];
    if (failures.remaining > 0) {
      failures.remaining -= 1;
      userErrors = [{ field: ["body"], message: failures.message }];
    } else if (!handle && !body) {
      userErrors = [{ field: ["handle"], message: "Handle can't be blank" }];
    } else if (size > 50_000) {
      userErrors = [{ field: ["payload"], message: "Payload exceeds the maximum size of 50 KB" }];
    }
    store.flowTriggers.push({ at, handle, payload: structuredClone(payload), body, accepted: userErrors.length === 0 });
    return { userErrors };
  }) as ResolverFn,

  webPixelCreate: ((args, ctx) => {
    requirePixelScopes(ctx, "webPixelCreate");
    const store = ctx.shop.store;
    const settings = (args.webPixel as { settings: unknown }).settings;
    if (store.webPixels.length > 0) {
      return { webPixel: null, userErrors: [{ field: ["webPixel"], message: "Web pixel is taken.", code: "TAKEN" }] };
    }
    const parsed = typeof settings === "string" ? safeJson(settings) : settings;
    if (parsed === undefined || parsed === null || typeof parsed !== "object") {
      return {
        webPixel: null,
        userErrors: [{ field: ["webPixel", "settings"], message: "Settings must be a JSON object", code: "INVALID_SETTINGS" }],
      };
    }
    const pixel = { id: gid("WebPixel", store.nextId()), settings: structuredClone(settings), at: new Date(ctx.now()).toISOString() };
    store.webPixels.push(pixel);
    return { webPixel: webPixelView(pixel), userErrors: [] };
  }) as ResolverFn,

  webPixelUpdate: ((args, ctx) => {
    requirePixelScopes(ctx, "webPixelUpdate");
    const pixel = ctx.shop.store.webPixels.find((p) => p.id === args.id);
    if (!pixel) return { webPixel: null, userErrors: [{ field: ["id"], message: "Web pixel not found", code: "NOT_FOUND" }] };
    const settings = (args.webPixel as { settings: unknown }).settings;
    const parsed = typeof settings === "string" ? safeJson(settings) : settings;
    if (parsed === undefined || parsed === null || typeof parsed !== "object") {
      return { webPixel: null, userErrors: [{ field: ["webPixel", "settings"], message: "Settings must be a JSON object", code: "INVALID_SETTINGS" }] };
    }
    pixel.settings = structuredClone(settings);
    return { webPixel: webPixelView(pixel), userErrors: [] };
  }) as ResolverFn,

  bulkOperationRunQuery: ((args, ctx) => {
    const result = ctx.shop.bulk.start(String(args.query), Boolean(args.groupObjects));
    if ("userErrors" in result) return { bulkOperation: null, userErrors: result.userErrors };
    return { bulkOperation: bulkOperationView(result.operation), userErrors: [] };
  }) as ResolverFn,
};

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
