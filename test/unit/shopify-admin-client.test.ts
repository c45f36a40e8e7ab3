// What the Shopify library throws, turned into values the sync acts on; and the fake Admin API behaviours the sync's
// tests rely on that were added or fixed for them (scopes, a touched checkout found by updated_at, client aborts).
import { GraphqlQueryError, HttpInternalError, HttpRequestError, HttpResponseError, HttpThrottlingError } from "@shopify/shopify-api";
import { SessionNotFoundError } from "@shopify/shopify-app-remix/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { classifyAdminError } from "~/sources/shopify/admin-client.server";
import { ABANDONED_CHECKOUTS_PAGE } from "~/sources/shopify/abandoned-checkouts-query";
import { fakeShopifyFetch, generateCheckouts, startFakeShopifyAdmin, type FakeShopifyAdmin } from "../../app/demo/fakes/shopify-admin";

const cost = { requestedQueryCost: 962, actualQueryCost: null, throttleStatus: { maximumAvailable: 2000, currentlyAvailable: 12, restoreRate: 100 } };
const graphqlError = (errors: unknown[], data: unknown = null) =>
  new GraphqlQueryError({
    message: "GraphQL error",
    response: {},
    headers: {},
    body: { data, extensions: { cost }, errors: { graphQLErrors: errors } } as never,
  });

describe("classifying Admin API failures", () => {
  it("THROTTLED keeps the cost extension (to wait exactly as long as needed)", () => {
    expect(classifyAdminError(graphqlError([{ message: "Throttled", extensions: { code: "THROTTLED" } }]))).toEqual({ kind: "throttled", cost });
  });

  it("MAX_COST_EXCEEDED reports the requested cost and the cap", () => {
    const outcome = classifyAdminError(
      graphqlError([{ message: "Query cost is 1802 …", extensions: { code: "MAX_COST_EXCEEDED", cost: 1802, maxCost: 1000 } }]),
    );
    expect(outcome).toMatchObject({ kind: "max_cost", requested: 1802, maxCost: 1000 });
  });

  it("protected customer data refused on some fields: the rest of the data is kept", () => {
    const data = { abandonedCheckouts: { nodes: [{ id: "gid://shopify/AbandonedCheckout/1", customer: { defaultEmailAddress: null } }] } };
    const denied = {
      message: "This app is not approved to use the emailAddress field.",
      path: ["abandonedCheckouts", "nodes", 0, "customer", "defaultEmailAddress", "emailAddress"],
      extensions: { code: "ACCESS_DENIED" },
    };
    expect(classifyAdminError(graphqlError([denied], data))).toEqual({ kind: "ok", data, cost, denied: [denied] });
  });

  it("ACCESS_DENIED with no data (a missing scope) is access_denied", () => {
    expect(classifyAdminError(graphqlError([{ message: "Access denied for abandonedCheckouts field.", extensions: { code: "ACCESS_DENIED" } }]))).toMatchObject(
      { kind: "access_denied" },
    );
  });

  it("5xx, 429 (with Retry-After) and network errors are transient; 401/403 and a missing session are not", () => {
    expect(classifyAdminError(new HttpInternalError({ message: "boom", code: 503, statusText: "Service Unavailable" }))).toMatchObject({
      kind: "transient",
      status: 503,
    });
    expect(classifyAdminError(new HttpThrottlingError({ message: "slow down", code: 429, statusText: "Too Many Requests", retryAfter: 2 }))).toMatchObject({
      kind: "transient",
      retryAfterMs: 2000,
    });
    expect(classifyAdminError(new HttpRequestError("Http request error, no response available: The operation was aborted due to timeout"))).toMatchObject({
      kind: "transient",
    });
    expect(classifyAdminError(new HttpResponseError({ message: "no", code: 401, statusText: "Unauthorized" }))).toMatchObject({ kind: "unauthorized" });
    expect(classifyAdminError(new SessionNotFoundError("none"))).toMatchObject({ kind: "unauthorized" });
    expect(
      classifyAdminError(graphqlError([{ message: "Field 'x' doesn't exist on type 'AbandonedCheckout'", extensions: { code: "undefinedField" } }])),
    ).toMatchObject({ kind: "failed" });
  });
});

describe("fake Admin API, as the sync uses it", () => {
  let fake: FakeShopifyAdmin;
  let clock = Date.parse("2026-11-20T12:00:00Z");
  beforeAll(async () => {
    fake = await startFakeShopifyAdmin({ now: () => clock });
  });
  afterAll(() => fake?.close());

  it("answers abandonedCheckouts with Shopify's ACCESS_DENIED when read_orders is not granted", async () => {
    fake.addShop({ domain: "no-orders.myshopify.com", accessToken: "t1", scope: "read_customers" });
    const res = await fake.graphql("no-orders.myshopify.com", ABANDONED_CHECKOUTS_PAGE, { first: 1, lineItems: 1 });
    expect(res.body.data).toBeNull();
    expect(res.body.errors[0]).toMatchObject({
      message: expect.stringMatching(/^Access denied for abandonedCheckouts field\. Required access: `read_orders` access scope/),
      extensions: { code: "ACCESS_DENIED" },
    });
    fake.setScopes("no-orders.myshopify.com", "read_orders");
    expect((await fake.graphql("no-orders.myshopify.com", ABANDONED_CHECKOUTS_PAGE, { first: 1, lineItems: 1 })).body.errors).toBeUndefined();
  });

  it("a checkout touched after being listed is found by its new updated_at", async () => {
    const store = fake.addShop({ domain: "touched.myshopify.com", accessToken: "t2" });
    const [first] = generateCheckouts({ shop: store.shop, count: 3, seed: 9, now: clock, days: 3 });
    store.upsertCheckouts(generateCheckouts({ shop: store.shop, count: 3, seed: 9, now: clock, days: 3 }));
    const query = `updated_at:>='2026-11-20T12:30:00Z'`;
    expect(
      (await fake.graphql("touched.myshopify.com", ABANDONED_CHECKOUTS_PAGE, { first: 5, lineItems: 1, query })).body.data.abandonedCheckouts.nodes,
    ).toHaveLength(0);
    clock += 3600_000;
    store.touchCheckout(first!.id!, new Date(clock));
    const nodes = (await fake.graphql("touched.myshopify.com", ABANDONED_CHECKOUTS_PAGE, { first: 5, lineItems: 1, query })).body.data.abandonedCheckouts.nodes;
    expect(nodes.map((n: { id: string }) => n.id)).toEqual([`gid://shopify/AbandonedCheckout/${first!.id}`]);
  });

  it("fakeShopifyFetch carries the caller's abort (a client timeout) through to the held request", async () => {
    fake.addShop({ domain: "held.myshopify.com", accessToken: "t3" });
    fake.timeoutNext({ count: 1, ms: 10_000, shop: "held.myshopify.com" });
    const fetchFake = fakeShopifyFetch(fake.url);
    const started = Date.now();
    await expect(
      fetchFake("https://held.myshopify.com/admin/api/2026-10/graphql.json", {
        method: "POST",
        headers: { "content-type": "application/json", "x-shopify-access-token": "t3" },
        body: JSON.stringify({ query: "{ shop { name } }" }),
        signal: AbortSignal.timeout(150),
      }),
    ).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(2000);
  });
});
