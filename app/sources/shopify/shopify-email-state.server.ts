/**
 * Shopify's own abandoned-checkout email for one checkout, read right before Reclaim emails its buyer
 * (docs/decisions/075-shopify-own-email.md): `abandonmentByAbandonedCheckoutId(abandonedCheckoutId)` →
 * `Abandonment { emailState emailSentAt }`. One call of requested cost 1, paced against the shop's Admin API bucket
 * with the sync's own pacer (cost-pacer.ts: this call may use the reserve the sync leaves for the app's other calls),
 * and every response's `throttleStatus` is fed back to it so the sync sees what the sends used.
 *
 * Failures come back as values: `retry` (THROTTLED, 5xx, network, or the bucket needs more than a moment to refill)
 * and `refused` (no session, access denied, an answer we do not understand), never thrown.
 */
import { adminGraphqlFor, type AdminGraphql } from "./admin-client.server";
import type { CostPacer } from "./cost-pacer";
import { pacerForShop } from "./sync-run-context.server";

export const SHOPIFY_EMAIL_STATE_QUERY = `#graphql
query ReclaimShopifyEmailState($abandonedCheckoutId: ID!) {
  abandonmentByAbandonedCheckoutId(abandonedCheckoutId: $abandonedCheckoutId) {
    id
    emailState
    emailSentAt
  }
}`;

/** Requested cost of the query (one object of scalar fields; Shopify's documented rule, and the fake's). */
export const SHOPIFY_EMAIL_STATE_COST = 1;
/** Waits shorter than this for the bucket happen in the job; longer ones give the message back for later. */
const MAX_INLINE_WAIT_MS = 1_000;

export type ShopifyEmailState = "SENT" | "SCHEDULED" | "NOT_SENT" | "NONE";

export type ShopifyEmailLookup =
  { kind: "found"; state: ShopifyEmailState; sentAt: Date | null } | { kind: "retry"; message: string } | { kind: "refused"; message: string };

export interface LookupOptions {
  now: () => Date;
  graphql?: AdminGraphql;
  pacer?: CostPacer;
  sleep?: (ms: number) => Promise<void>;
}

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function lookupShopifyEmailState(shopDomain: string, abandonedCheckoutId: string, options: LookupOptions): Promise<ShopifyEmailLookup> {
  const pacer = options.pacer ?? pacerForShop(shopDomain);
  const wait = pacer.waitMsForSmallCall(SHOPIFY_EMAIL_STATE_COST, options.now().getTime());
  if (wait > MAX_INLINE_WAIT_MS) return { kind: "retry", message: `the shop's Shopify API budget is in use (needs ${Math.ceil(wait / 1000)} s to refill)` };
  if (wait > 0) await (options.sleep ?? realSleep)(wait);

  type Data = { abandonmentByAbandonedCheckoutId: { id: string; emailState: string | null; emailSentAt: string | null } | null };
  const graphql = options.graphql ?? adminGraphqlFor(shopDomain);
  const outcome = await graphql<Data>(SHOPIFY_EMAIL_STATE_QUERY, { abandonedCheckoutId }, { timeoutMs: 15_000 });
  const at = options.now().getTime();
  switch (outcome.kind) {
    case "ok": {
      pacer.observe(outcome.cost, at);
      const abandonment = outcome.data?.abandonmentByAbandonedCheckoutId;
      if (!abandonment) return { kind: "found", state: "NONE", sentAt: null };
      const state = abandonment.emailState;
      const sentAt = abandonment.emailSentAt ? new Date(abandonment.emailSentAt) : null;
      if (state === "SENT" || state === "SCHEDULED" || state === "NOT_SENT")
        return { kind: "found", state, sentAt: sentAt && !Number.isNaN(sentAt.getTime()) ? sentAt : null };
      // A null state with a send time is still a sent email; with neither, Shopify has not emailed.
      if (state === null) return sentAt ? { kind: "found", state: "SENT", sentAt } : { kind: "found", state: "NOT_SENT", sentAt: null };
      return { kind: "refused", message: `Shopify answered an unknown email state ${JSON.stringify(state).slice(0, 40)}` };
    }
    case "throttled":
      pacer.observe(outcome.cost, at);
      return { kind: "retry", message: "Shopify rate-limited the request (THROTTLED)" };
    case "transient":
      return {
        kind: "retry",
        message: outcome.status ? `Shopify answered HTTP ${outcome.status}` : `Shopify did not answer (${outcome.message.slice(0, 200)})`,
      };
    case "max_cost":
    case "failed":
      // Not expected for a one-point query; worth another try later (an incident, or an API change we will see in logs).
      return { kind: "retry", message: `Shopify refused the query (${outcome.message.slice(0, 200)})` };
    case "access_denied":
      return { kind: "refused", message: `Shopify refused access (${outcome.message.slice(0, 200)})` };
    case "unauthorized":
      return { kind: "refused", message: `Reclaim has no access to the store (${outcome.message.slice(0, 200)})` };
  }
}
