// Tests of the fake Shopify Admin API itself: if these pass, tests that run the app's sync code
// against the fake are exercising Shopify's rules, not the fake's accidents.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  checkoutWebhookPayload,
  generateCheckouts,
  loadAdminSchema,
  MARKETING_STATES,
  OPT_IN_LEVELS,
  orderCreatePayload,
  startFakeShopifyAdmin,
  type CheckoutInput,
  type CustomerRecord,
  type FakeShopifyAdmin,
  type LineItemRecord,
} from "../../app/demo/fakes/shopify-admin";

const T0 = Date.parse("2026-11-20T12:00:00Z");
let clock = T0;
let fake: FakeShopifyAdmin;
let shopCounter = 0;

beforeAll(async () => {
  fake = await startFakeShopifyAdmin({ now: () => clock });
}, 30_000);

afterAll(async () => {
  await fake?.close();
});

/** A fresh shop per test, so buckets and stores never leak between tests. */
function newShop(options: Partial<Parameters<FakeShopifyAdmin["addShop"]>[0]> = {}) {
  shopCounter += 1;
  const domain = `fake-test-${shopCounter}.myshopify.com`;
  const store = fake.addShop({ domain, accessToken: `token-${shopCounter}`, ...options });
  return { domain, store, token: `token-${shopCounter}` };
}

function seed(store: ReturnType<typeof newShop>["store"], count: number, seedValue = 7) {
  store.upsertCheckouts(generateCheckouts({ shop: store.shop, count, seed: seedValue, now: T0, days: 30 }));
}

const money = (shop: number, presentment = shop) => ({ shop, presentment });

function line(id: number, withVariant = true): LineItemRecord {
  return {
    id,
    title: withVariant ? "Canvas Tote" : "Gift wrapping",
    variantTitle: withVariant ? "Oat" : null,
    quantity: 1,
    sku: withVariant ? "TOTE-1" : null,
    vendor: null,
    image: null,
    variantId: withVariant ? 9000 + id : null,
    productId: withVariant ? 8000 : null,
    unitPrice: money(2500),
    discountedUnitPrice: money(2500),
    requiresShipping: true,
    taxable: true,
    grams: 100,
  };
}

function customer(id: number, email: string | null = `buyer${id}@example.com`): CustomerRecord {
  return {
    id,
    firstName: "Ana",
    lastName: "Silva",
    email,
    phone: null,
    marketingState: "SUBSCRIBED",
    marketingOptInLevel: "SINGLE_OPT_IN",
    marketingUpdatedAt: "2026-01-01T00:00:00Z",
    locale: "en",
    createdAt: "2025-06-01T00:00:00Z",
    updatedAt: "2025-06-01T00:00:00Z",
    tags: [],
  };
}

async function allPages(domain: string, sortKey: "ID" | "CREATED_AT", options: { reverse?: boolean; query?: string; pageSize?: number } = {}) {
  const ids: string[] = [];
  const rows: { id: string; createdAt: string }[] = [];
  let after: string | null = null;
  let pages = 0;
  for (;;) {
    const res = await fake.graphql(
      domain,
      `query Page($after: String, $sortKey: AbandonedCheckoutSortKeys, $reverse: Boolean, $q: String, $n: Int) {
        abandonedCheckouts(first: $n, after: $after, sortKey: $sortKey, reverse: $reverse, query: $q) {
          pageInfo { hasNextPage endCursor }
          edges { cursor node { id createdAt } }
        }
      }`,
      { after, sortKey, reverse: options.reverse ?? false, q: options.query ?? null, n: options.pageSize ?? 25 },
    );
    expect(res.status).toBe(200);
    expect(res.body.errors).toBeUndefined();
    const conn = res.body.data.abandonedCheckouts;
    for (const edge of conn.edges) {
      ids.push(edge.node.id);
      rows.push(edge.node);
    }
    pages += 1;
    if (!conn.pageInfo.hasNextPage) break;
    expect(conn.pageInfo.endCursor).toBe(conn.edges[conn.edges.length - 1].cursor);
    after = conn.pageInfo.endCursor;
    // Each page costs up to 27 points; let the bucket refill so paging never throttles here.
    clock += 1000;
  }
  return { ids, rows, pages };
}

describe("schema", () => {
  it("loads the real 2026-10 Admin schema once and reuses it", () => {
    const a = loadAdminSchema();
    expect(loadAdminSchema()).toBe(a);
    const field = a.getQueryType()!.getFields().abandonedCheckouts!;
    expect(field.args.map((x) => x.name).sort()).toEqual(["after", "before", "first", "last", "query", "reverse", "savedSearchId", "sortKey"]);
  });

  it("rejects a document that does not fit the schema, in Shopify's error shape, without charging", async () => {
    const { domain } = newShop();
    const res = await fake.graphql(domain, `{ shop { name nam } }`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      errors: [
        {
          message: "Field 'nam' doesn't exist on type 'Shop'",
          locations: [{ line: 1, column: 15 }],
          extensions: { code: "undefinedField", typeName: "Shop", fieldName: "nam" },
        },
      ],
    });
    expect(fake.bucket(domain).currentlyAvailable()).toBe(2000);
    expect(fake.stats(domain).invalidDocuments).toBe(1);

    const missingArg = await fake.graphql(domain, `{ node { id } }`);
    expect(missingArg.body.errors[0]).toMatchObject({
      message: "Field 'node' is missing required arguments: id",
      extensions: { code: "missingRequiredArguments" },
    });
    const syntax = await fake.graphql(domain, `{ shop { name }`);
    expect(syntax.body.errors[0].message).toMatch(/^Parse error/);
  });

  it("answers fields the fake does not serve with a clear error, never a silent null", async () => {
    const { domain } = newShop();
    const res = await fake.graphql(domain, `{ shop { name } orders(first: 1) { nodes { id } } }`);
    expect(res.body.errors).toEqual([expect.objectContaining({ message: "fake does not implement QueryRoot.orders", path: ["orders"] })]);
  });
});

describe("calculated query cost", () => {
  it("computes requested cost from the document and actual cost from what came back", async () => {
    const { domain, store } = newShop();
    store.upsertCheckout({ id: 101, customer: customer(1), lineItems: [line(1), line(2)], createdAt: "2026-11-01T00:00:00Z" });
    store.upsertCheckout({ id: 102, customer: null, lineItems: [line(3, false)], createdAt: "2026-11-02T00:00:00Z" });
    store.upsertCheckout({ id: 103, customer: customer(2), lineItems: [line(4), line(5), line(6)], createdAt: "2026-11-03T00:00:00Z" });

    const res = await fake.graphql(
      domain,
      `{
        shop { name billingAddress { city } }
        abandonedCheckouts(first: 10) {
          pageInfo { hasNextPage }
          edges { cursor node {
            id
            customer { id defaultEmailAddress { emailAddress } }
            totalPriceSet { shopMoney { amount } }
            lineItems(first: 5) { nodes { title variant { id } } }
          } }
        }
      }`,
    );
    expect(res.body.errors).toBeUndefined();
    // Requested, by hand:
    //   shop 1 + billingAddress 1                                             =   2
    //   per checkout: node 1 + customer (1 + defaultEmailAddress 1) 2
    //                 + totalPriceSet (1 + shopMoney 1) 2
    //                 + lineItems 2 + 5 × (node 1 + variant 1) = 12          =  17
    //   abandonedCheckouts: 2 + 10 × 17                                       = 172
    //   total                                                                 = 174
    // Actual (3 checkouts came back):
    //   101: 1 + 2 + 2 + (2 + 2 × 2) = 11;  102 (guest, custom line without variant): 1 + 0 + 2 + (2 + 1) = 6
    //   103: 1 + 2 + 2 + (2 + 3 × 2) = 13;  total = 2 + 2 + 11 + 6 + 13 = 34
    expect(res.body.extensions.cost).toEqual({
      requestedQueryCost: 174,
      actualQueryCost: 34,
      throttleStatus: { maximumAvailable: 2000, currentlyAvailable: 2000 - 34, restoreRate: 100 },
    });
    expect(fake.stats(domain)).toMatchObject({ requestedCost: 174, actualCost: 34, graphqlRequests: 1 });
    expect(fake.documents(domain)).toEqual([
      expect.objectContaining({ apiVersion: "2026-10", outcome: "ok", requestedQueryCost: 174, actualQueryCost: 34, variables: null }),
    ]);
  });

  it("charges a mutation 10 points", async () => {
    const { domain } = newShop();
    const res = await fake.graphql(
      domain,
      `mutation { webPixelCreate(webPixel: {settings: "{\\"accountID\\":\\"1\\"}"}) { userErrors { message } webPixel { id } } }`,
    );
    expect(res.body.extensions.cost).toMatchObject({ requestedQueryCost: 10, actualQueryCost: 10 });
  });

  it("refuses a query above the single-query cap with MAX_COST_EXCEEDED, before touching the bucket", async () => {
    const { domain } = newShop();
    const res = await fake.graphql(domain, `{ abandonedCheckouts(first: 250) { nodes { id lineItems(first: 10) { nodes { id } } } } }`);
    // 2 + 250 × (1 + 2 + 10 × 1) = 3252
    expect(res.status).toBe(200);
    expect(res.body.data).toBeUndefined();
    expect(res.body.errors).toHaveLength(1);
    expect(res.body.errors[0].extensions).toEqual({
      code: "MAX_COST_EXCEEDED",
      cost: 3252,
      maxCost: 1000,
      documentation: "https://shopify.dev/api/usage/rate-limits",
    });
    expect(res.body.errors[0].message).toMatch(/^Query cost is 3252, which exceeds the single query max cost limit \(1000\)\./);
    expect(fake.bucket(domain).currentlyAvailable()).toBe(2000);
    expect(fake.stats(domain).maxCostExceeded).toBe(1);
  });

  it("rejects page sizes above 250 and connections without first/last", async () => {
    const { domain } = newShop();
    const big = await fake.graphql(domain, `{ abandonedCheckouts(first: 251) { nodes { id } } }`);
    expect(big.body.errors[0]).toMatchObject({ path: ["abandonedCheckouts"] });
    expect(big.body.errors[0].message).toContain("250");
    const none = await fake.graphql(domain, `{ abandonedCheckouts { nodes { id } } }`);
    expect(none.body.errors[0].message).toBe("you must provide one of first or last");
  });
});

describe("leaky bucket", () => {
  it("drains, answers THROTTLED in Shopify's exact shape, and restores at restoreRate", async () => {
    const { domain, store } = newShop({ bucketSize: 200, restoreRate: 50 });
    seed(store, 60);
    const query = `{ abandonedCheckouts(first: 49) { nodes { id } } }`; // 2 + 49 = 51 requested and actual
    const available: number[] = [];
    for (let i = 0; i < 3; i++) {
      const ok = await fake.graphql(domain, query);
      expect(ok.body.extensions.cost.actualQueryCost).toBe(51);
      available.push(ok.body.extensions.cost.throttleStatus.currentlyAvailable);
    }
    expect(available).toEqual([149, 98, 47]);

    const throttled = await fake.graphql(domain, query);
    expect(throttled.status).toBe(200);
    expect(throttled.body).toEqual({
      errors: [{ message: "Throttled", extensions: { code: "THROTTLED", documentation: "https://shopify.dev/api/usage/rate-limits" } }],
      extensions: {
        cost: {
          requestedQueryCost: 51,
          actualQueryCost: null,
          throttleStatus: { maximumAvailable: 200, currentlyAvailable: 47, restoreRate: 50 },
        },
      },
    });

    clock += 60; // +3 points → 50, still short of 51
    expect((await fake.graphql(domain, query)).body.errors?.[0]?.extensions?.code).toBe("THROTTLED");
    clock += 20; // +1 point → 51
    const recovered = await fake.graphql(domain, query);
    expect(recovered.body.errors).toBeUndefined();
    expect(recovered.body.extensions.cost.throttleStatus.currentlyAvailable).toBe(0);

    clock += 10_000; // 500 points restored, capped at the bucket size
    expect(fake.bucket(domain).status()).toEqual({ maximumAvailable: 200, currentlyAvailable: 200, restoreRate: 50 });
    expect(fake.stats(domain)).toMatchObject({ throttled: 2, graphqlRequests: 6, requestedCost: 4 * 51, actualCost: 4 * 51 });
  });
});

describe("abandonedCheckouts pagination and search", () => {
  it("returns every checkout exactly once across pages, for both sort keys and both directions", async () => {
    const { domain, store } = newShop();
    seed(store, 137);
    // Ids and creation times disagree for these two, so ID and CREATED_AT orders differ.
    store.upsertCheckout({ id: 99_000_000_000_000, createdAt: "2026-10-01T00:00:00Z", lineItems: [line(77)] });
    store.upsertCheckout({ id: 1_000, createdAt: "2026-11-19T00:00:00Z", lineItems: [line(78)] });
    const expected = store.listCheckouts().map((c) => `gid://shopify/AbandonedCheckout/${c.id}`);
    expect(expected).toHaveLength(139);

    const byId = await allPages(domain, "ID");
    expect(byId.ids).toEqual(expected); // ascending id, no gaps, no repeats
    expect(byId.pages).toBe(6);

    const byCreated = await allPages(domain, "CREATED_AT", { pageSize: 10 });
    expect(new Set(byCreated.ids).size).toBe(139);
    expect([...byCreated.ids].sort()).toEqual([...expected].sort());
    const keys = byCreated.rows.map((r) => [Date.parse(r.createdAt), Number(r.id.split("/").pop())] as const);
    for (let i = 1; i < keys.length; i++) {
      const [t0, id0] = keys[i - 1]!;
      const [t1, id1] = keys[i]!;
      expect(t1 > t0 || (t1 === t0 && id1 > id0)).toBe(true);
    }
    expect(byCreated.ids).not.toEqual(byId.ids);
    // The generator makes same-second checkouts, so the id tie-break is exercised.
    expect(keys.some(([t], i) => i > 0 && t === keys[i - 1]![0])).toBe(true);

    const reversed = await allPages(domain, "CREATED_AT", { reverse: true, pageSize: 50 });
    expect(reversed.ids).toEqual([...byCreated.ids].reverse());
  });

  it("pages backwards with last/before and keeps cursors stable when rows are added", async () => {
    const { domain, store } = newShop();
    seed(store, 30);
    const first = await fake.graphql(
      domain,
      `{ abandonedCheckouts(first: 10) { edges { cursor node { id } } pageInfo { endCursor hasNextPage hasPreviousPage } } }`,
    );
    const page1 = first.body.data.abandonedCheckouts;
    expect(page1.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false });
    // A checkout that sorts before the cursor must not shift the next page.
    store.upsertCheckout({ id: 5, createdAt: "2026-11-01T00:00:00Z" });
    const second = await fake.graphql(domain, `query($a: String) { abandonedCheckouts(first: 10, after: $a) { nodes { id } pageInfo { hasPreviousPage } } }`, {
      a: page1.pageInfo.endCursor,
    });
    const all = store.listCheckouts().map((c) => `gid://shopify/AbandonedCheckout/${c.id}`);
    const afterCursor = all.slice(all.indexOf(page1.edges[9].node.id) + 1, all.indexOf(page1.edges[9].node.id) + 11);
    expect(second.body.data.abandonedCheckouts.nodes.map((n: { id: string }) => n.id)).toEqual(afterCursor);
    expect(second.body.data.abandonedCheckouts.pageInfo.hasPreviousPage).toBe(true);

    const back = await fake.graphql(domain, `query($b: String) { abandonedCheckouts(last: 3, before: $b) { nodes { id } } }`, { b: page1.edges[5].cursor });
    const index = all.indexOf(page1.edges[5].node.id);
    expect(back.body.data.abandonedCheckouts.nodes.map((n: { id: string }) => n.id)).toEqual(all.slice(index - 3, index));
  });

  it("filters with updated_at:>= (quoted ISO), status and id, and counts the same way", async () => {
    const { domain, store } = newShop();
    seed(store, 80);
    const threshold = "2026-11-10T00:00:00Z";
    // An old checkout completed after the threshold moves into the window.
    const old = store.listCheckouts().find((c) => c.completedAt === null && Date.parse(c.updatedAt) < Date.parse(threshold))!;
    store.completeCheckout(old.id, "2026-11-15T08:30:00Z");

    const expected = store
      .listCheckouts()
      .filter((c) => Date.parse(c.updatedAt) >= Date.parse(threshold))
      .map((c) => `gid://shopify/AbandonedCheckout/${c.id}`);
    expect(expected.length).toBeGreaterThan(5);
    expect(expected.length).toBeLessThan(80);
    expect(expected).toContain(`gid://shopify/AbandonedCheckout/${old.id}`);

    const { ids } = await allPages(domain, "ID", { query: `updated_at:>='${threshold}'` });
    expect(ids).toEqual(expected);

    const count = await fake.graphql(domain, `query($q: String) { abandonedCheckoutsCount(query: $q) { count precision } }`, {
      q: `updated_at:>='${threshold}'`,
    });
    expect(count.body.data.abandonedCheckoutsCount).toEqual({ count: expected.length, precision: "EXACT" });

    const open = store.listCheckouts().filter((c) => Date.parse(c.updatedAt) >= Date.parse(threshold) && c.completedAt === null);
    const openIds = await allPages(domain, "ID", { query: `updated_at:>='${threshold}' AND status:open` });
    expect(openIds.ids).toEqual(open.map((c) => `gid://shopify/AbandonedCheckout/${c.id}`));

    const pivot = store.listCheckouts()[40]!.id;
    const fromId = await allPages(domain, "ID", { query: `id:>=${pivot}` });
    expect(fromId.ids).toHaveLength(40);

    const capped = await fake.graphql(domain, `{ abandonedCheckoutsCount(limit: 7) { count precision } }`);
    expect(capped.body.data.abandonedCheckoutsCount).toEqual({ count: 7, precision: "AT_LEAST" });
  });

  it("ignores unknown search fields and says so in extensions.search, as Shopify does", async () => {
    const { domain, store } = newShop();
    seed(store, 12);
    const res = await fake.graphql(domain, `{ abandonedCheckoutsCount(query: "status:open colour:red") { count } }`);
    const open = store.listCheckouts().filter((c) => c.completedAt === null).length;
    expect(res.body.data.abandonedCheckoutsCount.count).toBe(open);
    expect(res.body.extensions.search).toEqual([
      {
        path: ["abandonedCheckoutsCount"],
        query: "status:open colour:red",
        parsed: {
          and: [
            { field: "status", match_all: "open" },
            { field: "colour", match_all: "red" },
          ],
        },
        warnings: [{ field: "colour", message: "Invalid search field for this query.", code: "invalid_field" }],
      },
    ]);
  });
});

describe("auth, fetch hook and faults", () => {
  it("answers 401 with Shopify's body for a missing or wrong access token", async () => {
    const { domain } = newShop();
    const wrong = await fake.graphql(domain, `{ shop { name } }`, undefined, { accessToken: "nope" });
    expect(wrong).toEqual({ status: 401, body: { errors: "[API] Invalid API key or access token (unrecognized login or wrong password)" } });
    const missing = await fetch(fake.graphqlUrl(domain), {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: '{"query":"{ shop { name } }"}',
    });
    expect(missing.status).toBe(401);
    expect(fake.stats(domain).unauthorized).toBe(2);
  });

  it("serves https://<shop>/admin/api/2026-10/graphql.json through fetchFor(), and injects a 500 once", async () => {
    const { domain, token } = newShop({ name: "Reclaim Demo" });
    const shopFetch = fake.fetchFor();
    const call = () =>
      shopFetch(`https://${domain}/admin/api/2026-10/graphql.json`, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-Shopify-Access-Token": token },
        body: JSON.stringify({ query: "{ shop { name myshopifyDomain currencyCode } }" }),
      });
    fake.failNext({ status: 500 });
    const failed = await call();
    expect(failed.status).toBe(500);
    expect(await failed.json()).toEqual({ errors: "Internal Server Error" });
    const ok = await call();
    expect(ok.status).toBe(200);
    expect(ok.headers.get("x-shopify-api-version")).toBe("2026-10");
    expect((await ok.json()).data.shop).toEqual({ name: "Reclaim Demo", myshopifyDomain: domain, currencyCode: "USD" });
    expect(fake.stats(domain)).toMatchObject({ requests: 2, faultsInjected: 1, graphqlRequests: 1 });
    await expect(shopFetch("https://example.com/")).rejects.toThrow(/refusing to reach/);
  });

  it("works behind @shopify/shopify-api's abstract fetch (the app's real client)", async () => {
    const { domain, token, store } = newShop();
    seed(store, 3);
    await import("@shopify/shopify-api/adapters/node");
    const { shopifyApi, Session } = await import("@shopify/shopify-api");
    const { setAbstractFetchFunc } = await import("@shopify/shopify-api/runtime");
    const api = shopifyApi({
      apiKey: "key",
      apiSecretKey: "secret",
      apiVersion: "2026-10" as never,
      hostName: "app.example.com",
      isEmbeddedApp: true,
      logger: { level: 0 },
    });
    setAbstractFetchFunc(fake.fetchFor());
    try {
      const session = new Session({ id: `offline_${domain}`, shop: domain, state: "", isOnline: false, accessToken: token });
      const client = new api.clients.Graphql({ session });
      const res = await client.request(`{ abandonedCheckouts(first: 5) { nodes { id } } }`);
      expect(res.data?.abandonedCheckouts.nodes).toHaveLength(3);
      expect(res.extensions?.cost.requestedQueryCost).toBe(7);
    } finally {
      setAbstractFetchFunc(globalThis.fetch);
    }
  });

  it("holds a response past a client timeout, and can drop the connection", async () => {
    const { domain } = newShop();
    fake.timeoutNext({ ms: 400 });
    await expect(fake.graphql(domain, `{ shop { name } }`, undefined, { signal: AbortSignal.timeout(100) })).rejects.toThrow();
    fake.timeoutNext({ mode: "destroy" });
    await expect(fake.graphql(domain, `{ shop { name } }`)).rejects.toThrow();
    expect((await fake.graphql(domain, `{ shop { name } }`)).status).toBe(200);
  });

  it("refreshes expiring offline tokens (60 min) and rotates the refresh token", async () => {
    const { domain } = newShop({ refreshToken: "shprt_initial", clientId: "key", clientSecret: "secret" });
    const shopFetch = fake.fetchFor();
    const refresh = (refreshToken: string) =>
      shopFetch(`https://${domain}/admin/oauth/access_token`, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ client_id: "key", client_secret: "secret", grant_type: "refresh_token", refresh_token: refreshToken }),
      });
    const first = await refresh("shprt_initial");
    expect(first.status).toBe(200);
    const pair = await first.json();
    expect(pair).toMatchObject({ expires_in: 3600, refresh_token_expires_in: 7_776_000 });
    expect(pair.refresh_token).not.toBe("shprt_initial");
    expect((await fake.graphql(domain, `{ shop { name } }`, undefined, { accessToken: pair.access_token })).status).toBe(200);

    const second = await (await refresh(pair.refresh_token)).json();
    // The first refresh token is spent once its successor has been used.
    expect((await refresh("shprt_initial")).status).toBe(400);
    clock += 61 * 60 * 1000;
    expect((await fake.graphql(domain, `{ shop { name } }`, undefined, { accessToken: second.access_token })).status).toBe(401);
    expect(fake.stats(domain).tokenRefreshes).toBe(2);
  });
});

describe("protected customer data", () => {
  it("nulls email fields with an ACCESS_DENIED error per field when email is not granted", async () => {
    const { domain, store } = newShop({ protectedCustomerData: { email: false } });
    store.upsertCheckout({ id: 500, customer: customer(42), lineItems: [line(1)] });
    const res = await fake.graphql(
      domain,
      `{ abandonedCheckouts(first: 1) { nodes { id customer { id firstName email defaultEmailAddress { emailAddress marketingState } } } } }`,
    );
    expect(res.body.data.abandonedCheckouts.nodes[0].customer).toEqual({
      id: "gid://shopify/Customer/42",
      firstName: "Ana",
      email: null,
      defaultEmailAddress: null,
    });
    expect(res.body.errors).toHaveLength(2);
    expect(res.body.errors).toContainEqual(
      expect.objectContaining({
        message: expect.stringMatching(/^This app is not approved to use the emailAddress field\./),
        path: ["abandonedCheckouts", "nodes", 0, "customer", "defaultEmailAddress", "emailAddress"],
        extensions: expect.objectContaining({ code: "ACCESS_DENIED" }),
      }),
    );
    fake.setProtectedCustomerData(domain, {});
    const granted = await fake.graphql(domain, `{ abandonedCheckouts(first: 1) { nodes { customer { defaultEmailAddress { emailAddress } } } } }`);
    expect(granted.body.errors).toBeUndefined();
    expect(granted.body.data.abandonedCheckouts.nodes[0].customer.defaultEmailAddress.emailAddress).toBe("buyer42@example.com");
  });
});

describe("mutations", () => {
  it("records discountCodeBasicCreate and refuses a duplicate code like Shopify", async () => {
    const { domain, store } = newShop();
    const mutation = `mutation($d: DiscountCodeBasicInput!) { discountCodeBasicCreate(basicCodeDiscount: $d) {
      codeDiscountNode { id codeDiscount { ... on DiscountCodeBasic { title codes(first: 1) { nodes { code } } } } }
      userErrors { field code message } } }`;
    const input = {
      title: "Come back 10%",
      code: "BACK-7F3K",
      startsAt: "2026-11-20T00:00:00Z",
      usageLimit: 1,
      customerGets: { value: { percentage: 0.1 }, items: { all: true } },
      context: { all: "ALL" },
    };
    const created = await fake.graphql(domain, mutation, { d: input });
    expect(created.body.data.discountCodeBasicCreate).toEqual({
      codeDiscountNode: {
        id: expect.stringMatching(/^gid:\/\/shopify\/DiscountCodeNode\/\d+$/),
        codeDiscount: { title: "Come back 10%", codes: { nodes: [{ code: "BACK-7F3K" }] } },
      },
      userErrors: [],
    });
    expect(store.discounts).toHaveLength(1);
    expect(store.discounts[0]!.input).toMatchObject({ code: "BACK-7F3K", usageLimit: 1 });

    const dup = await fake.graphql(domain, mutation, { d: { ...input, code: "back-7f3k" } });
    expect(dup.body.data.discountCodeBasicCreate).toEqual({
      codeDiscountNode: null,
      userErrors: [{ field: ["basicCodeDiscount", "code"], code: "TAKEN", message: "Code must be unique. Please try a different code." }],
    });
  });

  it("applies customerEmailMarketingConsentUpdate and records it", async () => {
    const { domain, store } = newShop();
    store.upsertCheckout({ id: 9, customer: customer(77) });
    const res = await fake.graphql(
      domain,
      `mutation($i: CustomerEmailMarketingConsentUpdateInput!) { customerEmailMarketingConsentUpdate(input: $i) {
        customer { defaultEmailAddress { marketingState marketingUpdatedAt } } userErrors { field message code } } }`,
      { i: { customerId: "gid://shopify/Customer/77", emailMarketingConsent: { marketingState: "UNSUBSCRIBED", consentUpdatedAt: "2026-11-20T11:00:00Z" } } },
    );
    expect(res.body.data.customerEmailMarketingConsentUpdate).toEqual({
      customer: { defaultEmailAddress: { marketingState: "UNSUBSCRIBED", marketingUpdatedAt: "2026-11-20T11:00:00Z" } },
      userErrors: [],
    });
    expect(store.getCustomer(77)!.marketingState).toBe("UNSUBSCRIBED");
    expect(store.consentUpdates).toHaveLength(1);
  });

  it("fails flowTriggerReceive the number of times it is told to, then accepts", async () => {
    const { domain, store } = newShop();
    fake.failFlowTrigger(domain, { count: 2 });
    const send = () =>
      fake.graphql(domain, `mutation($p: JSON) { flowTriggerReceive(handle: "cart-abandoned", payload: $p) { userErrors { field message } } }`, {
        p: { checkout_id: 1 },
      });
    const results = [await send(), await send(), await send()].map((r) => r.body.data.flowTriggerReceive.userErrors.length);
    expect(results).toEqual([1, 1, 0]);
    expect(store.flowTriggers.map((t) => t.accepted)).toEqual([false, false, true]);
  });
});

describe("bulk operations", () => {
  it("runs CREATED → RUNNING → COMPLETED and serves JSONL with __parentId lines", async () => {
    const { domain, store } = newShop();
    seed(store, 25);
    const run = await fake.graphql(
      domain,
      `mutation($q: String!) { bulkOperationRunQuery(query: $q, groupObjects: false) { bulkOperation { id status } userErrors { field message } } }`,
      {
        q: `{ abandonedCheckouts { edges { node { id name totalPriceSet { shopMoney { amount currencyCode } } lineItems { edges { node { id title quantity } } } } } } }`,
      },
    );
    const op = run.body.data.bulkOperationRunQuery;
    expect(op.userErrors).toEqual([]);
    expect(op.bulkOperation.status).toBe("CREATED");

    const poll = `{ currentBulkOperation { id status errorCode objectCount rootObjectCount url } }`;
    expect((await fake.graphql(domain, poll)).body.data.currentBulkOperation.status).toBe("RUNNING");
    const done = (
      await fake.graphql(domain, `query($id: ID!) { node(id: $id) { ... on BulkOperation { id status errorCode objectCount rootObjectCount url } } }`, {
        id: op.bulkOperation.id,
      })
    ).body.data.node;
    expect(done.status).toBe("COMPLETED");
    expect(done.errorCode).toBeNull();

    const checkouts = store.listCheckouts();
    const lineCount = checkouts.reduce((n, c) => n + c.lineItems.length, 0);
    expect(done.objectCount).toBe(String(checkouts.length + lineCount));
    expect(done.rootObjectCount).toBe(String(checkouts.length));

    const text = await (await fetch(done.url)).text();
    const lines = text
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(checkouts.length + lineCount);
    const seen = new Set<string>();
    for (const l of lines) {
      if (l.id.includes("/AbandonedCheckout/")) {
        expect(l.__parentId).toBeUndefined();
        expect(l.lineItems).toBeUndefined();
        expect(l.totalPriceSet.shopMoney.currencyCode).toBe("USD");
        seen.add(l.id);
      } else {
        expect(l.id).toMatch(/\/AbandonedCheckoutLineItem\//);
        expect(seen.has(l.__parentId)).toBe(true); // the parent came earlier
      }
    }
    const first = checkouts[0]!;
    expect(lines.filter((l) => l.__parentId === `gid://shopify/AbandonedCheckout/${first.id}`).map((l) => l.title)).toEqual(
      first.lineItems.map((li) => li.title),
    );
  });

  it("serves result files by byte range as Cloud Storage does: 206 with Content-Range, 416 past the end, 200 when Range is off", async () => {
    const { domain, store } = newShop();
    seed(store, 8);
    await fake.graphql(
      domain,
      `mutation($q: String!) { bulkOperationRunQuery(query: $q, groupObjects: true) { bulkOperation { id } userErrors { message } } }`,
      { q: `{ abandonedCheckouts { edges { node { id name lineItems { edges { node { id title } } } } } } }` },
    );
    fake.completeBulkOperations(domain);
    const url = (await fake.graphql(domain, `{ currentBulkOperation { url } }`)).body.data.currentBulkOperation.url as string;
    const whole = Buffer.from(await (await fetch(url)).arrayBuffer());
    expect(whole.length).toBeGreaterThan(100);

    const from = await fetch(url, { headers: { Range: "bytes=100-" } });
    expect(from.status).toBe(206);
    expect(from.headers.get("content-range")).toBe(`bytes 100-${whole.length - 1}/${whole.length}`);
    expect(Buffer.from(await from.arrayBuffer()).equals(whole.subarray(100))).toBe(true);
    const middle = await fetch(url, { headers: { Range: "bytes=10-19" } });
    expect([middle.status, middle.headers.get("content-length")]).toEqual([206, "10"]);
    expect(Buffer.from(await middle.arrayBuffer()).equals(whole.subarray(10, 20))).toBe(true);
    const suffix = await fetch(url, { headers: { Range: "bytes=-5" } });
    expect(Buffer.from(await suffix.arrayBuffer()).equals(whole.subarray(whole.length - 5))).toBe(true);
    const past = await fetch(url, { headers: { Range: `bytes=${whole.length}-` } });
    expect([past.status, past.headers.get("content-range")]).toEqual([416, `bytes */${whole.length}`]);
    await past.arrayBuffer();
    const several = await fetch(url, { headers: { Range: "bytes=0-1,5-6" } });
    expect(several.status).toBe(200);
    await several.arrayBuffer();

    fake.setBulkFileRanges(false);
    try {
      const ignored = await fetch(url, { headers: { Range: "bytes=100-" } });
      expect(ignored.status).toBe(200);
      expect(Buffer.from(await ignored.arrayBuffer()).equals(whole)).toBe(true);
    } finally {
      fake.setBulkFileRanges(true);
    }
    expect(
      fake
        .bulkFileDownloads()
        .slice(-7)
        .map((d) => [d.range, d.status]),
    ).toEqual([
      [null, 200],
      ["bytes=100-", 206],
      ["bytes=10-19", 206],
      ["bytes=-5", 206],
      [`bytes=${whole.length}-`, 416],
      ["bytes=0-1,5-6", 200],
      ["bytes=100-", 200],
    ]);
  });

  it("refuses a nested connection whose parent does not select id", async () => {
    const { domain } = newShop();
    const res = await fake.graphql(
      domain,
      `mutation { bulkOperationRunQuery(query: "{ abandonedCheckouts { nodes { name lineItems { nodes { id } } } } }", groupObjects: false) { bulkOperation { id } userErrors { field message } } }`,
    );
    expect(res.body.data.bulkOperationRunQuery.bulkOperation).toBeNull();
    expect(res.body.data.bulkOperationRunQuery.userErrors[0].message).toMatch(/must select the 'id' field/);
  });
});

describe("data generator and webhook payloads", () => {
  it("is deterministic and covers guests, every marketing state and opt-in level, currencies and cart sizes", () => {
    const options = { shop: "USD", count: 300, seed: 42, now: T0, days: 30 } as const;
    const a = generateCheckouts(options);
    expect(generateCheckouts(options)).toEqual(a);
    expect(generateCheckouts({ ...options, seed: 43 })).not.toEqual(a);

    const customers = a.map((c) => c.customer).filter((c): c is CustomerRecord => !!c);
    expect(new Set(customers.map((c) => c.marketingState))).toEqual(new Set(MARKETING_STATES));
    expect(new Set(customers.map((c) => c.marketingOptInLevel).filter(Boolean))).toEqual(new Set(OPT_IN_LEVELS));
    expect(a.filter((c) => c.customer === null).length).toBeGreaterThan(50);
    expect(a.some((c) => c.presentmentCurrency !== "USD")).toBe(true);
    const sizes = a.map((c) => c.lineItems!.length);
    expect(Math.min(...sizes)).toBe(1);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(20);
    expect(Math.max(...sizes)).toBeGreaterThan(10);
    const completed = a.filter((c) => c.completedAt);
    expect(completed.length).toBeGreaterThan(30);
    for (const c of completed as Required<CheckoutInput>[]) expect(Date.parse(c.completedAt!)).toBeGreaterThan(Date.parse(c.createdAt));
    for (const c of a) expect(Date.parse(c.createdAt!)).toBeGreaterThanOrEqual(T0 - 30 * 86_400_000);
  });

  it("builds checkouts/* and orders/create payloads that join to the GraphQL checkout the way live shops' do: by the cart token in the URL", async () => {
    const { domain, store } = newShop({ ianaTimezone: "America/Toronto" });
    seed(store, 5);
    const c = store.listCheckouts()[2]!;
    const res = await fake.graphql(
      domain,
      `query($id: ID!) { node(id: $id) { ... on AbandonedCheckout { abandonedCheckoutUrl name totalPriceSet { presentmentMoney { amount currencyCode } } } } }`,
      {
        id: `gid://shopify/AbandonedCheckout/${c.id}`,
      },
    );
    const node = res.body.data.node;
    const hook = checkoutWebhookPayload(store, c.id);
    expect(hook).not.toHaveProperty("id");
    // As captured from a live shop (test/fixtures/shopify/real/): the URL carries the cart token, `token` is another
    // 32-hex string, and the cart token is base64 of `gcp-<region>:01…`.
    expect(hook.cart_token).toBeTruthy();
    expect(node.abandonedCheckoutUrl).toContain(`/checkouts/ac/${hook.cart_token}/recover?key=`);
    expect(hook.token).toMatch(/^[0-9a-f]{32}$/);
    expect(hook.cart_token).not.toBe(hook.token);
    expect(Buffer.from(hook.cart_token!, "base64").toString()).toMatch(/^gcp-[a-z0-9-]+:01[0-9A-Z]{24}$/);
    expect(hook.abandoned_checkout_url).toBe(node.abandonedCheckoutUrl);
    expect(hook.name).toBe(node.name);
    expect(hook.presentment_currency).toBe(node.totalPriceSet.presentmentMoney.currencyCode);
    expect(Number(hook.total_price)).toBeCloseTo(Number(node.totalPriceSet.presentmentMoney.amount), 5);
    expect(hook.created_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}-0[45]:00$/);
    expect(hook.line_items).toHaveLength(c.lineItems.length);

    store.completeCheckout(c.id, "2026-11-20T11:00:00Z");
    const order = orderCreatePayload(store, c.id, { orderId: 5_500_000_000_001, orderNumber: 1042 });
    expect(order).toMatchObject({
      id: 5_500_000_000_001,
      admin_graphql_api_id: "gid://shopify/Order/5500000000001",
      checkout_token: hook.token,
      cart_token: hook.cart_token,
      email: c.email ?? "",
      name: "#1042",
    });
  });
});
