/**
 * The one module through which the Shopify sync talks to the Admin API: `unauthenticated.admin(shop)` (the shop's
 * offline session, refreshed by the library when it is about to expire) and `admin.graphql()`.
 *
 * `admin.graphql()` throws on any GraphQL `errors`, THROTTLED included, and on HTTP errors; this module turns every
 * answer into a value the sync can act on (docs/decisions/031-cost-pacing.md):
 * - `ok` with the data, `extensions.cost`, and the fields refused as protected customer data (partial data);
 * - `throttled` with the cost extension (to wait exactly as long as the bucket needs);
 * - `max_cost` (the page was too big for the single-query cap);
 * - `transient` (5xx, 429, network errors, timeouts: back off and retry);
 * - `access_denied` / `unauthorized` (the merchant must act: scopes, permissions, reinstall);
 * - `failed` (anything else: a bug or an API change; reported, retried later).
 */
import { GraphqlQueryError, HttpResponseError, HttpThrottlingError } from "@shopify/shopify-api";
import { SessionNotFoundError } from "@shopify/shopify-app-remix/server";
import { unauthenticated } from "../../shopify.server";
import type { QueryCost } from "./cost-pacer";

export interface GraphqlErrorEntry {
  message: string;
  path?: (string | number)[];
  extensions?: { code?: string; [key: string]: unknown };
}

export type AdminOutcome<T> =
  | { kind: "ok"; data: T; cost: QueryCost | null; denied: GraphqlErrorEntry[] }
  | { kind: "throttled"; cost: QueryCost | null }
  | { kind: "max_cost"; requested: number | null; maxCost: number | null; message: string }
  | { kind: "transient"; message: string; status?: number; retryAfterMs?: number }
  | { kind: "access_denied"; message: string }
  | { kind: "unauthorized"; message: string }
  | { kind: "failed"; message: string };

export type AdminGraphql = <T>(query: string, variables: Record<string, unknown>, options?: { timeoutMs?: number }) => Promise<AdminOutcome<T>>;

const DEFAULT_TIMEOUT_MS = 30_000;

/** An Admin GraphQL caller for one shop, through its offline session. */
export function adminGraphqlFor(shopDomain: string): AdminGraphql {
  return async <T>(query: string, variables: Record<string, unknown>, options: { timeoutMs?: number } = {}) => {
    try {
      const { admin } = await unauthenticated.admin(shopDomain);
      const response = await admin.graphql(query, { variables, signal: AbortSignal.timeout(options.timeoutMs ?? DEFAULT_TIMEOUT_MS) });
      const body = (await response.json()) as { data?: T; extensions?: { cost?: QueryCost } };
      return { kind: "ok", data: body.data as T, cost: body.extensions?.cost ?? null, denied: [] };
    } catch (error) {
      return classifyAdminError<T>(error);
    }
  };
}

const named = (error: unknown, name: string) => error instanceof Error && (error.name === name || error.constructor?.name === name);

/** String(value) throws for objects whose toString is not callable (e.g. a parsed body `{"toString": 1}`). */
function safeString(value: unknown): string {
  try {
    return String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

/** Turns what `unauthenticated.admin()` / `admin.graphql()` threw into an AdminOutcome. Exported for tests. */
export function classifyAdminError<T>(error: unknown): AdminOutcome<T> {
  const message = error instanceof Error ? error.message : safeString(error);
  if (error instanceof SessionNotFoundError || named(error, "SessionNotFoundError")) {
    return { kind: "unauthorized", message: "no offline session is stored for this shop" };
  }
  if (error instanceof GraphqlQueryError || named(error, "GraphqlQueryError")) {
    const body = (error as GraphqlQueryError).body as
      { data?: T | null; extensions?: { cost?: QueryCost }; errors?: { graphQLErrors?: GraphqlErrorEntry[] } } | undefined;
    // Read defensively: this runs on whatever came back, and must classify it rather than throw.
    const listed: unknown = body?.errors?.graphQLErrors;
    const errors = (Array.isArray(listed) ? listed : []).filter((e): e is GraphqlErrorEntry => Boolean(e) && typeof e === "object");
    const codes = errors.map((e) => e.extensions?.code);
    const cost = body?.extensions?.cost ?? null;
    if (codes.includes("THROTTLED")) return { kind: "throttled", cost };
    const maxCost = errors.find((e) => e.extensions?.code === "MAX_COST_EXCEEDED");
    if (maxCost) {
      const ext = maxCost.extensions as { cost?: number; maxCost?: number };
      return { kind: "max_cost", requested: ext.cost ?? null, maxCost: ext.maxCost ?? null, message: maxCost.message };
    }
    if (errors.length > 0 && codes.every((c) => c === "ACCESS_DENIED")) {
      // Protected customer data refused on some fields: the rest of the data is good.
      if (body?.data) return { kind: "ok", data: body.data, cost, denied: errors };
      return { kind: "access_denied", message: errors.map((e) => e.message).join(" ") };
    }
    if (codes.includes("INTERNAL_SERVER_ERROR") || codes.includes("SERVICE_UNAVAILABLE")) {
      return { kind: "transient", message: errors.map((e) => e.message).join("; ") };
    }
    return { kind: "failed", message: errors.map((e) => e.message).join("; ") || message };
  }
  if (error instanceof HttpThrottlingError || named(error, "HttpThrottlingError")) {
    const retryAfter = (error as HttpThrottlingError).response?.retryAfter;
    return { kind: "transient", status: 429, message, ...(retryAfter ? { retryAfterMs: retryAfter * 1000 } : {}) };
  }
  if (error instanceof HttpResponseError || named(error, "HttpResponseError") || named(error, "HttpInternalError")) {
    const status = (error as HttpResponseError).response?.code;
    if (status === 401 || status === 403) return { kind: "unauthorized", message: `Shopify answered HTTP ${status}` };
    if (status === 402) return { kind: "unauthorized", message: "Shopify answered HTTP 402: the store is frozen (unpaid)" };
    if (status === 404 || status === 423) return { kind: "unauthorized", message: `Shopify answered HTTP ${status}: the store is unavailable` };
    if (status !== undefined && status >= 500) return { kind: "transient", status, message: `Shopify answered HTTP ${status}` };
    if (status === 429) return { kind: "transient", status, message: "Shopify answered HTTP 429" };
    return { kind: "failed", message: `Shopify answered HTTP ${status ?? "?"}` };
  }
  // HttpRequestError (network, timeout), HttpMaxRetriesError, and anything thrown on the way (DNS, sockets).
  return { kind: "transient", message };
}
