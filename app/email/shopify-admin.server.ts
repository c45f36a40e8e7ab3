/**
 * The two Admin API calls the email pipeline makes, through `unauthenticated.admin(shop)` (the shop's offline
 * session; background work has no request): create a recovery discount code, mirror an unsubscribe to Shopify.
 * Failures come back as values that say whether trying again can help.
 */
import { unauthenticated } from "../shopify.server";
import { DISCOUNT_CODE_BASIC_CREATE, discountCodeBasicInput, type DiscountInputFacts } from "../recovery/incentive";
import type { CostPacer, QueryCost } from "../sources/shopify/cost-pacer";
import { pacerForShop } from "../sources/shopify/sync-run-context.server";

export const CUSTOMER_EMAIL_UNSUBSCRIBE = `#graphql
mutation ReclaimMirrorUnsubscribe($input: CustomerEmailMarketingConsentUpdateInput!) {
  customerEmailMarketingConsentUpdate(input: $input) {
    customer { id }
    userErrors { field message }
  }
}`;

export const CUSTOMER_BY_EMAIL = `#graphql
query ReclaimCustomerByEmail($identifier: CustomerIdentifierInput!) {
  customerByIdentifier(identifier: $identifier) { id }
}`;

export function unsubscribeConsentInput(customerId: string, at: Date) {
  return { customerId, emailMarketingConsent: { marketingState: "UNSUBSCRIBED", consentUpdatedAt: at.toISOString() } };
}

export type AdminCallFailure = { ok: false; permanent: boolean; message: string };

/** Reads what the Shopify library threw: only throttling, 5xx and network errors are worth another try. */
export function adminFailure(error: unknown): AdminCallFailure {
  const e = error as {
    name?: string;
    message?: string;
    response?: { code?: number };
    body?: { errors?: { graphQLErrors?: { extensions?: { code?: string } }[] } };
  };
  // The library's error classes all keep `name === "Error"`; the class is only visible through the constructor.
  const kind = (error as { constructor?: { name?: string } } | null)?.constructor?.name ?? e.name ?? "Error";
  const message = `${kind}: ${e.message ?? String(error)}`.slice(0, 500);
  switch (kind) {
    case "SessionNotFoundError":
    case "InvalidShopError":
      return { ok: false, permanent: true, message };
    case "GraphqlQueryError": {
      const code = e.body?.errors?.graphQLErrors?.[0]?.extensions?.code;
      return { ok: false, permanent: code !== "THROTTLED" && code !== "INTERNAL_SERVER_ERROR", message };
    }
    case "HttpResponseError":
      return { ok: false, permanent: e.response?.code !== undefined && e.response.code < 500 && e.response.code !== 429, message };
    default:
      // HttpRequestError (network), HttpRetriableError, HttpThrottlingError, HttpInternalError, HttpMaxRetriesError…
      return { ok: false, permanent: false, message };
  }
}

async function adminGraphql(shopDomain: string, query: string, variables: Record<string, unknown>) {
  const { admin } = await unauthenticated.admin(shopDomain);
  const response = await admin.graphql(query, { variables, signal: AbortSignal.timeout(20_000) });
  return (await response.json()) as { data?: any; extensions?: { cost?: QueryCost } };
}

/** What Shopify charges a mutation (its documented cost rule: 10 points), asked of the bucket before the call. */
export const DISCOUNT_CREATE_COST = 10;

/**
 * Creates the recovery's single-use code. Idempotent with the code chosen beforehand: if an earlier attempt created
 * it before a crash, Shopify answers TAKEN and that counts as created.
 *
 * Paced against the shop's Admin API budget, the one the sync uses (its CostPacer, which every response updates): when
 * the bucket lacks the mutation's cost the call is not made, and the answer says how long until it refills (`waitMs`),
 * so the caller waits or comes back, rather than being THROTTLED or starving the sync.
 */
export async function createRecoveryDiscount(
  shopDomain: string,
  facts: DiscountInputFacts,
  pacer: CostPacer = pacerForShop(shopDomain),
): Promise<{ ok: true; existed: boolean } | (AdminCallFailure & { waitMs?: number })> {
  const waitMs = pacer.waitMsForSmallCall(DISCOUNT_CREATE_COST, facts.now.getTime());
  if (waitMs > 0) return { ok: false, permanent: false, waitMs, message: `the shop's Shopify API budget is in use (refills in ${Math.ceil(waitMs / 1000)} s)` };
  try {
    const body = await adminGraphql(shopDomain, DISCOUNT_CODE_BASIC_CREATE, { basicCodeDiscount: discountCodeBasicInput(facts) });
    // On the caller's clock, as the sync observes on its job clock (one clock per pacer).
    if (body.extensions?.cost) pacer.observe(body.extensions.cost, facts.now.getTime());
    const result = body.data?.discountCodeBasicCreate;
    const errors: { field?: string[]; code?: string; message: string }[] = result?.userErrors ?? [];
    if (errors.length === 0 && result?.codeDiscountNode?.id) return { ok: true, existed: false };
    if (errors.length > 0 && errors.every((e) => e.code === "TAKEN" && e.field?.includes("code"))) return { ok: true, existed: true };
    return { ok: false, permanent: true, message: errors.map((e) => e.message).join("; ") || "discountCodeBasicCreate returned no discount" };
  } catch (error) {
    return adminFailure(error);
  }
}

/** Marks the customer UNSUBSCRIBED in Shopify (needs write_customers). Finds the customer by email when needed. */
export async function mirrorUnsubscribeToShopify(
  shopDomain: string,
  contact: { email: string; shopifyCustomerId: string | null },
  at: Date,
): Promise<{ ok: true; customerId: string | null } | AdminCallFailure> {
  try {
    let customerId = contact.shopifyCustomerId;
    if (!customerId) {
      const found = await adminGraphql(shopDomain, CUSTOMER_BY_EMAIL, { identifier: { emailAddress: contact.email } });
      customerId = found.data?.customerByIdentifier?.id ?? null;
      // Not a Shopify customer (e.g. a Stripe-only buyer): nothing to mirror.
      if (!customerId) return { ok: true, customerId: null };
    }
    const body = await adminGraphql(shopDomain, CUSTOMER_EMAIL_UNSUBSCRIBE, { input: unsubscribeConsentInput(customerId, at) });
    const errors: { message: string }[] = body.data?.customerEmailMarketingConsentUpdate?.userErrors ?? [];
    if (errors.length > 0) return { ok: false, permanent: true, message: errors.map((e) => e.message).join("; ") };
    return { ok: true, customerId };
  } catch (error) {
    return adminFailure(error);
  }
}
