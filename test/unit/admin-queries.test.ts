// Every Admin GraphQL document the app sends, validated against the real Admin API 2026-10 schema (introspection
// from @shopify/dev-mcp@1.16.0, test/fixtures/shopify/). Convention (app/sources/shopify/abandoned-checkouts-query.ts):
// a document is an exported string constant whose text starts with `#graphql`; documents built at run time are
// exported functions, listed in BUILT_DOCUMENTS below. This test finds the constants by scanning app/, so documents
// other engineers add are validated too, and it fails on a document literal that does not follow the convention.
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { Kind, parse, validate, type OperationDefinitionNode } from "graphql";
import { describe, expect, it } from "vitest";
import {
  ABANDONED_CHECKOUT_LINE_ITEMS,
  ABANDONED_CHECKOUTS_PAGE,
  abandonedCheckoutsBulkQuery,
  abandonedCheckoutsLineItemsQuery,
  LINE_ITEMS_COST_MODEL,
  PAGE_COST_MODEL,
} from "~/sources/shopify/abandoned-checkouts-query";
import { loadAdminSchema, requestedQueryCost } from "../../app/demo/fakes/shopify-admin";

const APP = path.resolve("app");

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return sourceFiles(full);
    return /\.(ts|tsx)$/.test(name) && !/\.test\.tsx?$/.test(name) ? [full] : [];
  });
}

/** `export const NAME = \`#graphql …` in every app file: [file, NAME]. */
function exportedDocuments(): [string, string][] {
  const out: [string, string][] = [];
  for (const file of sourceFiles(APP)) {
    const text = readFileSync(file, "utf8");
    for (const m of text.matchAll(/export const (\w+)\s*=\s*`#graphql/g)) out.push([file, m[1]!]);
  }
  return out;
}

const documents = exportedDocuments();
const BUILT_DOCUMENTS: [string, string][] = [
  ["abandonedCheckoutsBulkQuery(since, until)", abandonedCheckoutsBulkQuery(new Date("2026-10-21T12:00:00Z"), new Date("2026-11-20T12:00:00Z"))],
  ["abandonedCheckoutsBulkQuery(since)", abandonedCheckoutsBulkQuery(new Date("2026-10-21T12:00:00.123Z"))],
  ["abandonedCheckoutsLineItemsQuery(1)", abandonedCheckoutsLineItemsQuery(1)],
  ["abandonedCheckoutsLineItemsQuery(9)", abandonedCheckoutsLineItemsQuery(9)],
];

describe("Admin GraphQL documents", () => {
  it("finds the sync's documents, and any other module's, by the #graphql convention", () => {
    const names = documents.map(([, name]) => name);
    expect(names).toEqual(expect.arrayContaining(["ABANDONED_CHECKOUTS_PAGE", "ABANDONED_CHECKOUT_LINE_ITEMS", "RUN_BULK_QUERY", "BULK_OPERATION_STATUS"]));
    // The checkout pixel's activation (app/sources/pixel/activate.server.ts).
    expect(names).toEqual(expect.arrayContaining(["WEB_PIXEL_CREATE", "WEB_PIXEL_UPDATE", "CURRENT_WEB_PIXEL"]));
  });

  it.each(documents.map(([file, name]) => [`${path.relative(APP, file)}: ${name}`, file, name] as const))(
    "%s is valid against the Admin 2026-10 schema",
    async (_label, file, name) => {
      const mod = (await import(/* @vite-ignore */ file)) as Record<string, unknown>;
      const text = mod[name];
      expect(typeof text).toBe("string");
      const errors = validate(loadAdminSchema(), parse(text as string)).map((e) => e.message);
      expect(errors).toEqual([]);
    },
  );

  it.each(BUILT_DOCUMENTS)("%s is valid against the Admin 2026-10 schema", (_label, text) => {
    expect(validate(loadAdminSchema(), parse(text)).map((e) => e.message)).toEqual([]);
  });

  it("no document in app/ skips the convention (a template literal opening with query/mutation)", () => {
    const offenders = sourceFiles(APP).filter((file) => /`\s*(query|mutation)\b[\s\w$(]*[({]/.test(readFileSync(file, "utf8")));
    expect(offenders.map((f) => path.relative(APP, f))).toEqual([]);
  });
});

describe("requested cost of the sync's page query", () => {
  const schema = loadAdminSchema();
  const cost = (text: string, variables: Record<string, unknown>) => {
    const document = parse(text);
    const operation = document.definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION) as OperationDefinitionNode;
    return requestedQueryCost({ schema, operation, fragments: {}, variables });
  };

  it.each([
    [1, 10],
    [20, 10],
    [11, 20],
    [35, 5],
  ])("the pacer's cost model matches Shopify's documented rule for first=%i, lineItems=%i", (first, lineItems) => {
    const model = PAGE_COST_MODEL.connection + first * (PAGE_COST_MODEL.checkout + PAGE_COST_MODEL.lineItemsConnection + lineItems * PAGE_COST_MODEL.lineItem);
    expect(cost(ABANDONED_CHECKOUTS_PAGE, { first, lineItems, after: null, query: null })).toEqual({ cost: model, errors: [] });
  });

  it("the line-item follow-up costs what the model says", () => {
    const result = cost(ABANDONED_CHECKOUT_LINE_ITEMS, { id: "gid://shopify/AbandonedCheckout/1", first: 50 });
    expect(result.cost).toBe(LINE_ITEMS_COST_MODEL.fixed + 50 * LINE_ITEMS_COST_MODEL.lineItem);
  });

  it("the follow-up for several checkouts costs the model's amount per checkout", () => {
    const variables: Record<string, unknown> = { first: 25 };
    for (let i = 0; i < 7; i++) Object.assign(variables, { [`id${i}`]: `gid://shopify/AbandonedCheckout/${i + 1}`, [`after${i}`]: null });
    const result = cost(abandonedCheckoutsLineItemsQuery(7), variables);
    expect(result.cost).toBe(7 * (LINE_ITEMS_COST_MODEL.fixed + 25 * LINE_ITEMS_COST_MODEL.lineItem));
  });

  it("100 checkouts with 20 line items each would exceed the 1,000-point cap: pages must be sized from cost", () => {
    expect(cost(ABANDONED_CHECKOUTS_PAGE, { first: 100, lineItems: 20 }).cost).toBeGreaterThan(1000);
  });
});
