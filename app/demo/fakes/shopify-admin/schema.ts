// Loads the real Admin GraphQL 2026-10 schema from its introspection dump, once per process.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import { buildClientSchema, getNamedType, isObjectType, type GraphQLField, type GraphQLObjectType, type GraphQLSchema, type IntrospectionQuery } from "graphql";

export const ADMIN_API_VERSION = "2026-10";

export const ADMIN_SCHEMA_FIXTURE = fileURLToPath(new URL("../../../../test/fixtures/shopify/admin_2026-10.json.gz", import.meta.url));

export interface SchemaLoadTiming {
  /** read + gunzip + JSON.parse, in ms */
  parseMs: number;
  /** buildClientSchema, in ms */
  buildMs: number;
}

let cached: GraphQLSchema | undefined;
let timing: SchemaLoadTiming | undefined;

/**
 * The Admin API 2026-10 schema. The first call reads and builds the 11 MB introspection
 * (a few hundred ms); later calls return the same object.
 */
export function loadAdminSchema(): GraphQLSchema {
  if (cached) return cached;
  const t0 = performance.now();
  const json = JSON.parse(gunzipSync(readFileSync(ADMIN_SCHEMA_FIXTURE)).toString("utf8")) as {
    data: IntrospectionQuery;
  };
  const t1 = performance.now();
  // assumeValid: the dump comes from Shopify; re-validating 3,500 types costs time for nothing.
  cached = buildClientSchema(json.data, { assumeValid: true });
  const t2 = performance.now();
  timing = { parseMs: t1 - t0, buildMs: t2 - t1 };
  return cached;
}

/** How long the first `loadAdminSchema()` took, or undefined if it has not run yet. */
export function adminSchemaLoadTiming(): SchemaLoadTiming | undefined {
  return timing;
}

/**
 * A Relay connection field the way Shopify builds them: returns `XxxConnection` with `pageInfo`
 * and takes `first`/`last`.
 */
export function isConnectionField(field: GraphQLField<unknown, unknown>): boolean {
  const named = getNamedType(field.type);
  return isObjectType(named) && named.name.endsWith("Connection") && "pageInfo" in named.getFields() && field.args.some((a) => a.name === "first");
}

/** The node type of a connection type (the type of its `nodes` list). */
export function connectionNodeType(connection: GraphQLObjectType): GraphQLObjectType | undefined {
  const nodes = connection.getFields().nodes;
  if (!nodes) return undefined;
  const named = getNamedType(nodes.type);
  return isObjectType(named) ? named : undefined;
}
