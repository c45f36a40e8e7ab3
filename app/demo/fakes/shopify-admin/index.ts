// A faithful fake of Shopify's Admin GraphQL API 2026-10 for tests, the demo and benchmarks.
// See README.md for what is faithful, what is simplified, and where each rule comes from.
import { FakeShopifyAdminServer, type FakeShopifyAdminOptions } from "./server";

export type FakeShopifyAdmin = FakeShopifyAdminServer;

/** Starts the fake on 127.0.0.1 (port 0 by default) and resolves once it is listening. */
export async function startFakeShopifyAdmin(options: FakeShopifyAdminOptions = {}): Promise<FakeShopifyAdmin> {
  const fake = new FakeShopifyAdminServer(options);
  await fake.listen();
  return fake;
}

export {
  fakeShopifyFetch,
  SHOP_HEADER,
  type AddShopOptions,
  type DocumentOutcome,
  type FailNextOptions,
  type FakeShopifyAdminOptions,
  type LoggedDocument,
  type ShopStats,
  type TimeoutNextOptions,
} from "./server";
export { ADMIN_API_VERSION, adminSchemaLoadTiming, loadAdminSchema } from "./schema";
export { LeakyBucket, type ThrottleStatus } from "./bucket";
export { actualQueryCost, requestedQueryCost, MUTATION_COST, type CostInput } from "./cost";
export { compileAbandonedCheckoutSearch, parseSearchQuery, type SearchNode, type SearchWarning } from "./search-query";
export { decodeCursor, encodeCursor } from "./pagination";
export { generateCheckouts, MARKETING_STATES, OPT_IN_LEVELS, prng, type GenerateOptions } from "./generator";
export { checkoutWebhookPayload, orderCreatePayload, restTime, webhookHeaders, type OrderPayloadOptions, type WebhookHeaderOptions } from "./webhook-payloads";
export { decimalAmount, restAmount } from "./money";
export type { BulkOperationErrorCode, BulkOperationRecord, BulkOperationStatus } from "./bulk";
export type { ProtectedDataGrants } from "./resolvers";
export {
  checkoutTotals,
  ShopStore,
  type AddressRecord,
  type CheckoutInput,
  type CheckoutRecord,
  type CustomerRecord,
  type EmailMarketingState,
  type LineItemRecord,
  type MarketingOptInLevel,
  type MoneyPair,
  type ShopInfo,
  type StoredCheckout,
} from "./store";
