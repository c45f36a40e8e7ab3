/**
 * The Admin GraphQL documents the Shopify sync sends (API 2026-10). Convention for every document the app sends:
 * an exported string constant whose text starts with `#graphql` (test/unit/admin-queries.test.ts finds them all and
 * validates them against the real schema). Documents built at run time (the bulk query embeds its filter) are
 * exported as functions and validated by name in that test.
 *
 * Selection = what recovery needs and nothing more, because every object selected costs points on every page:
 * id, name, recovery link, times, customer (email + consent), totals in shop and presentment money, line items
 * (title, variant, quantity, image, unit price) and discount codes. GraphQL has no email/consent for guests; the
 * `checkouts/*` webhooks bring those (app/sources/shopify/webhook-mapping.ts).
 */

/** Fields of one AbandonedCheckout, shared by the paged query and the bulk query. Line items are separate. */
const CHECKOUT_FIELDS = `
      id
      name
      abandonedCheckoutUrl
      completedAt
      createdAt
      updatedAt
      discountCodes
      customer {
        id
        firstName
        lastName
        locale
        defaultEmailAddress { emailAddress marketingState marketingOptInLevel marketingUpdatedAt }
      }
      totalPriceSet {
        shopMoney { amount currencyCode }
        presentmentMoney { amount currencyCode }
      }`;

/** Fields of one AbandonedCheckoutLineItem. The line total is unit × quantity (as the webhook's line_price). */
const LINE_ITEM_FIELDS = `
          title
          variantTitle
          quantity
          image { url }
          originalUnitPriceSet { presentmentMoney { amount currencyCode } }`;

/**
 * One page of abandoned checkouts changed since `$query`'s `updated_at` (or created since, for a paged backfill),
 * in ID order, with the first `$lineItems` line items of each. `$first` and `$lineItems` are sized by the pacer
 * (cost-pacer.ts) so the page stays under the single-query cost cap.
 */
export const ABANDONED_CHECKOUTS_PAGE = `#graphql
query ReclaimAbandonedCheckouts($first: Int!, $after: String, $query: String, $lineItems: Int!) {
  abandonedCheckouts(first: $first, after: $after, query: $query, sortKey: ID) {
    pageInfo { hasNextPage endCursor }
    nodes {${CHECKOUT_FIELDS}
      lineItems(first: $lineItems) {
        pageInfo { hasNextPage endCursor }
        nodes {${LINE_ITEM_FIELDS}
        }
      }
    }
  }
}`;

/** The rest of a checkout's line items, when it has more than fitted on its page. */
export const ABANDONED_CHECKOUT_LINE_ITEMS = `#graphql
query ReclaimAbandonedCheckoutLineItems($id: ID!, $first: Int!, $after: String) {
  node(id: $id) {
    ... on AbandonedCheckout {
      id
      lineItems(first: $first, after: $after) {
        pageInfo { hasNextPage endCursor }
        nodes {${LINE_ITEM_FIELDS}
        }
      }
    }
  }
}`;

/**
 * The rest of several checkouts' line items in one request (one aliased `node` per checkout: c0, c1, …), so a page
 * whose carts are large costs one follow-up request rather than one per cart. Each alias costs what
 * ABANDONED_CHECKOUT_LINE_ITEMS costs (LINE_ITEMS_COST_MODEL); variables `$first`, `$id<i>`, `$after<i>`.
 */
export function abandonedCheckoutsLineItemsQuery(checkouts: number): string {
  const n = Math.max(1, Math.floor(checkouts));
  const variables = Array.from({ length: n }, (_, i) => `$id${i}: ID!, $after${i}: String`).join(", ");
  const fields = Array.from(
    { length: n },
    (_, i) => `
  c${i}: node(id: $id${i}) {
    ... on AbandonedCheckout {
      id
      lineItems(first: $first, after: $after${i}) {
        pageInfo { hasNextPage endCursor }
        nodes {${LINE_ITEM_FIELDS}
        }
      }
    }
  }`,
  ).join("");
  return `#graphql
query ReclaimAbandonedCheckoutsLineItems($first: Int!, ${variables}) {${fields}
}`;
}

/** Starts a bulk query (its document is a string argument, so it is built by abandonedCheckoutsBulkQuery). */
export const RUN_BULK_QUERY = `#graphql
mutation ReclaimRunBulkQuery($query: String!) {
  bulkOperationRunQuery(query: $query, groupObjects: true) {
    bulkOperation { id status }
    userErrors { field message code }
  }
}`;

/** Polls a bulk operation. */
export const BULK_OPERATION_STATUS = `#graphql
query ReclaimBulkOperation($id: ID!) {
  bulkOperation(id: $id) {
    id
    status
    errorCode
    objectCount
    rootObjectCount
    url
    partialDataUrl
  }
}`;

/** Shopify's search syntax wants quoted times; Shopify prints them without milliseconds. */
const searchTime = (d: Date) => `'${d.toISOString().replace(/\.\d{3}Z$/, "Z")}'`;

export function updatedSinceFilter(since: Date): string {
  return `updated_at:>=${searchTime(since)}`;
}

export function createdSinceFilter(since: Date): string {
  return `created_at:>=${searchTime(since)}`;
}

export function createdBeforeFilter(until: Date): string {
  return `created_at:<${searchTime(until)}`;
}

/**
 * The backfill as a bulk query: every checkout created since `since` (and before `until`), with all its line items. Bulk queries take no
 * variables and ignore page sizes, so the filter is written into the document (a quoted ISO time: nothing else
 * can reach it). `groupObjects: true` in RUN_BULK_QUERY keeps each checkout's line items right after it in the
 * JSONL, so the file can be streamed one checkout at a time (docs/decisions/032).
 */
export function abandonedCheckoutsBulkQuery(since: Date, until?: Date): string {
  const filter = until ? `${createdSinceFilter(since)} AND ${createdBeforeFilter(until)}` : createdSinceFilter(since);
  return `#graphql
query ReclaimAbandonedCheckoutsBackfill {
  abandonedCheckouts(query: ${JSON.stringify(filter)}, sortKey: ID) {
    edges {
      node {${CHECKOUT_FIELDS}
        lineItems {
          edges {
            node {${LINE_ITEM_FIELDS}
            }
          }
        }
      }
    }
  }
}`;
}

/**
 * Requested cost of ABANDONED_CHECKOUTS_PAGE by Shopify's documented rule (object 1, connection 2 + first × (1 +
 * node)), used until the first response says what Shopify really charges:
 *   per checkout: 1 (node) + customer 1 + defaultEmailAddress 1 + totalPriceSet 3 + lineItems (2 + L × per line)
 *   per line item: 1 (node) + image 1 + originalUnitPriceSet 2
 * The unit test checks these numbers against the fake's cost calculator, which implements the same rule.
 */
export const PAGE_COST_MODEL = {
  /** the abandonedCheckouts connection itself */
  connection: 2,
  /** one checkout without its line items connection */
  checkout: 6,
  /** the lineItems connection of one checkout */
  lineItemsConnection: 2,
  /** one line item */
  lineItem: 4,
} as const;

/** Requested cost of ABANDONED_CHECKOUT_LINE_ITEMS: node (1) + lineItems connection (2) + first × per line item. */
export const LINE_ITEMS_COST_MODEL = { fixed: 3, lineItem: 4 } as const;
