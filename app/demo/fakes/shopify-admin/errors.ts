// Error bodies in the shapes Shopify's Admin API sends. Sources are in README.md.
import {
  FieldsOnCorrectTypeRule,
  KnownArgumentNamesRule,
  KnownTypeNamesRule,
  NoUndefinedVariablesRule,
  NoUnusedVariablesRule,
  ProvidedRequiredArgumentsRule,
  ScalarLeafsRule,
  specifiedRules,
  validate,
  GraphQLError,
  type ASTNode,
  type DocumentNode,
  type GraphQLSchema,
  type SourceLocation,
  type ValidationRule,
} from "graphql";

/** One entry of a GraphQL `errors` array, as serialised. */
export interface ShopifyGraphQLError {
  message: string;
  locations?: readonly SourceLocation[];
  path?: readonly (string | number)[];
  extensions?: Record<string, unknown>;
}

export const INVALID_TOKEN_BODY = {
  errors: "[API] Invalid API key or access token (unrecognized login or wrong password)",
};

export const RATE_LIMITS_DOC = "https://shopify.dev/api/usage/rate-limits";

export function throttledError(): ShopifyGraphQLError {
  return { message: "Throttled", extensions: { code: "THROTTLED", documentation: RATE_LIMITS_DOC } };
}

/** Text copied from a captured Shopify response (see README.md). */
export function maxCostExceededError(cost: number, maxCost: number): ShopifyGraphQLError {
  return {
    message:
      `Query cost is ${cost}, which exceeds the single query max cost limit (${maxCost}).\n\n` +
      "See https://shopify.dev/concepts/about-apis/rate-limits for more information on how the\n" +
      "cost of a query is calculated.\n\n" +
      "To query larger amounts of data with fewer limits, bulk operations should be used instead.\n" +
      "See https://shopify.dev/api/usage/bulk-operations/queries for usage details.\n",
    extensions: { code: "MAX_COST_EXCEEDED", cost, maxCost, documentation: RATE_LIMITS_DOC },
  };
}

/** Thrown from resolvers for schema fields the fake does not serve; never a silent null. */
export function notImplemented(coordinate: string): GraphQLError {
  return new GraphQLError(`fake does not implement ${coordinate}`, {
    extensions: { code: "FAKE_NOT_IMPLEMENTED" },
  });
}

/**
 * Protected customer data refused. The message follows Shopify's protected-customer-data page
 * ("This app is not approved to use the <field> field. See … for more details."); the
 * ACCESS_DENIED code is what live responses captured by others carry.
 */
export function protectedFieldError(field: string): GraphQLError {
  return new GraphQLError(
    `This app is not approved to use the ${field} field. See https://shopify.dev/docs/apps/launch/protected-customer-data for more details.`,
    {
      extensions: {
        code: "ACCESS_DENIED",
        documentation: "https://shopify.dev/docs/apps/launch/protected-customer-data",
      },
    },
  );
}

type Mapper = (error: GraphQLError) => ShopifyGraphQLError;

function base(error: GraphQLError, message: string, extensions: Record<string, unknown>): ShopifyGraphQLError {
  const out: ShopifyGraphQLError = { message };
  if (error.locations) out.locations = error.locations;
  out.extensions = extensions;
  return out;
}

function quoted(message: string): string[] {
  return [...message.matchAll(/"([^"]*)"/g)].map((m) => m[1]!);
}

/**
 * graphql-js and graphql-ruby (Shopify) word validation errors differently. The rules an app
 * realistically trips are translated to graphql-ruby's wording and `extensions.code`; the rest
 * keep graphql-js's message with a camelCase code derived from the rule name.
 */
const MAPPERS = new Map<ValidationRule, Mapper>([
  [
    FieldsOnCorrectTypeRule,
    (e) => {
      const [field, type] = quoted(e.message);
      return base(e, `Field '${field}' doesn't exist on type '${type}'`, {
        code: "undefinedField",
        typeName: type,
        fieldName: field,
      });
    },
  ],
  [
    KnownArgumentNamesRule,
    (e) => {
      const [arg, coordinate] = quoted(e.message);
      const field = coordinate?.split(".").pop() ?? "";
      return base(e, `Field '${field}' doesn't accept argument '${arg}'`, {
        code: "argumentNotAccepted",
        name: field,
        typeName: "Field",
        argumentName: arg,
      });
    },
  ],
  [
    ProvidedRequiredArgumentsRule,
    (e) => {
      const [coordinate, arg] = quoted(e.message);
      const field = coordinate?.split(".").pop() ?? "";
      return base(e, `Field '${field}' is missing required arguments: ${arg}`, {
        code: "missingRequiredArguments",
        className: "Field",
        name: field,
        arguments: arg,
      });
    },
  ],
  [
    ScalarLeafsRule,
    (e) => {
      const [field, type] = quoted(e.message);
      if (e.message.startsWith("Field") && e.message.includes("must not have a selection")) {
        return base(e, `Selections can't be made on scalars (field '${field}' returns ${type} but has selections)`, {
          code: "selectionMismatch",
          nodeName: `field '${field}'`,
          typeName: type,
        });
      }
      return base(e, `Field must have selections (field '${field}' returns ${type} but has no selections. Did you mean '${field} { ... }'?)`, {
        code: "selectionMismatch",
        nodeName: `field '${field}'`,
        typeName: type,
      });
    },
  ],
  [
    KnownTypeNamesRule,
    (e) => {
      const [type] = quoted(e.message);
      return base(e, `No such type ${type}, so it can't be a fragment condition`, {
        code: "undefinedType",
        typeName: type,
      });
    },
  ],
  [
    NoUndefinedVariablesRule,
    (e) => {
      const [variable, operation] = quoted(e.message);
      return base(e, `Variable ${variable} is used by ${operation ?? "anonymous query"} but not declared`, {
        code: "variableNotDefined",
        variableName: variable?.replace(/^\$/, ""),
      });
    },
  ],
  [
    NoUnusedVariablesRule,
    (e) => {
      const [variable, operation] = quoted(e.message);
      return base(e, `Variable ${variable} is declared by ${operation ?? "anonymous query"} but not used`, {
        code: "variableNotUsed",
        variableName: variable?.replace(/^\$/, ""),
      });
    },
  ],
]);

function ruleCode(rule: ValidationRule): string {
  const name = rule.name.replace(/Rule$/, "");
  return name.charAt(0).toLowerCase() + name.slice(1);
}

/**
 * Validates a document against the schema. Returns [] when valid. The full rule set runs in
 * one pass; only on failure does each rule run alone, to learn which rule each error came from.
 */
export function validateDocument(schema: GraphQLSchema, document: DocumentNode): ShopifyGraphQLError[] {
  const all = validate(schema, document);
  if (all.length === 0) return [];
  const out: ShopifyGraphQLError[] = [];
  for (const rule of specifiedRules) {
    for (const error of validate(schema, document, [rule])) {
      const mapper = MAPPERS.get(rule);
      out.push(mapper ? mapper(error) : base(error, error.message, { code: ruleCode(rule) }));
    }
  }
  return out.length > 0 ? out : all.map((e) => base(e, e.message, { code: "invalid" }));
}

/** graphql-ruby words parse errors as `Parse error on "x" (TOKEN) at [line, column]`. */
export function syntaxError(error: GraphQLError): ShopifyGraphQLError {
  const loc = error.locations?.[0];
  const detail = error.message.replace(/^Syntax Error: /, "");
  return {
    message: loc ? `Parse error: ${detail} at [${loc.line}, ${loc.column}]` : `Parse error: ${detail}`,
    ...(error.locations ? { locations: error.locations } : {}),
  };
}

/** A GraphQLError thrown before execution (static checks), serialised. */
export function staticError(message: string, node: ASTNode | undefined, path: (string | number)[], extensions?: Record<string, unknown>): ShopifyGraphQLError {
  const error = new GraphQLError(message, { nodes: node ? [node] : undefined });
  const out: ShopifyGraphQLError = { message };
  if (error.locations) out.locations = error.locations;
  if (path.length) out.path = path;
  if (extensions) out.extensions = extensions;
  return out;
}
