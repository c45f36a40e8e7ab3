// Calculated query cost, following Shopify's documented defaults (sources in README.md):
//   scalar / enum field            0
//   object field                   1 + cost of its selection
//   interface / union field        1 + the most expensive of the possible selections
//   connection field               2 + (first | last) × (1 + cost of the node selection)
//   mutation root field            10
// `requested` is computed from the document and variables before execution; `actual` walks the
// data that came back, so absent objects and short pages cost less (the refund).
import {
  GraphQLIncludeDirective,
  GraphQLSkipDirective,
  getArgumentValues,
  getDirectiveValues,
  getNamedType,
  isAbstractType,
  isCompositeType,
  isInterfaceType,
  isLeafType,
  isObjectType,
  Kind,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from "graphql";
import { staticError, type ShopifyGraphQLError } from "./errors";
import { isConnectionField } from "./schema";

export const MUTATION_COST = 10;
export const CONNECTION_BASE_COST = 2;
export const OBJECT_COST = 1;

export interface CostInput {
  schema: GraphQLSchema;
  operation: OperationDefinitionNode;
  fragments: Record<string, FragmentDefinitionNode>;
  /** coerced variable values */
  variables: Record<string, unknown>;
}

type FieldMap = Map<string, FieldNode[]>;

function included(node: { directives?: readonly unknown[] }, variables: Record<string, unknown>): boolean {
  if (!node.directives || node.directives.length === 0) return true;
  const skip = getDirectiveValues(GraphQLSkipDirective, node as FieldNode, variables);
  if (skip?.if === true) return false;
  const include = getDirectiveValues(GraphQLIncludeDirective, node as FieldNode, variables);
  return include?.if !== false;
}

function conditionApplies(schema: GraphQLSchema, condition: GraphQLNamedType | undefined, type: GraphQLCompositeType): boolean {
  if (!condition) return true;
  if (condition === type) return true;
  if (isAbstractType(condition) && (isObjectType(type) || isInterfaceType(type))) {
    return schema.isSubType(condition, type);
  }
  return false;
}

/** Like graphql-js's collectFields: response key → field nodes, for one parent type. */
export function collectFields(
  input: CostInput,
  type: GraphQLCompositeType,
  selectionSets: readonly SelectionSetNode[],
  out: FieldMap = new Map(),
  visited = new Set<string>(),
): FieldMap {
  for (const selectionSet of selectionSets) {
    for (const selection of selectionSet.selections) {
      if (!included(selection, input.variables)) continue;
      if (selection.kind === Kind.FIELD) {
        const key = selection.alias?.value ?? selection.name.value;
        const list = out.get(key);
        if (list) list.push(selection);
        else out.set(key, [selection]);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        const condition = selection.typeCondition ? input.schema.getType(selection.typeCondition.name.value) : undefined;
        if (conditionApplies(input.schema, condition ?? undefined, type)) {
          collectFields(input, type, [selection.selectionSet], out, visited);
        }
      } else {
        const name = selection.name.value;
        if (visited.has(name)) continue;
        const fragment = input.fragments[name];
        if (!fragment) continue;
        const condition = input.schema.getType(fragment.typeCondition.name.value);
        if (conditionApplies(input.schema, condition ?? undefined, type)) {
          visited.add(name);
          collectFields(input, type, [fragment.selectionSet], out, visited);
        }
      }
    }
  }
  return out;
}

/** Types a selection on an abstract type may resolve to, as far as the document distinguishes them. */
export function candidateTypes(input: CostInput, type: GraphQLCompositeType, selectionSets: readonly SelectionSetNode[]): GraphQLCompositeType[] {
  if (!isAbstractType(type)) return [type];
  const found = new Set<GraphQLCompositeType>([type]);
  const visit = (sets: readonly SelectionSetNode[], seen: Set<string>) => {
    for (const set of sets) {
      for (const s of set.selections) {
        if (s.kind === Kind.INLINE_FRAGMENT) {
          const t = s.typeCondition ? input.schema.getType(s.typeCondition.name.value) : undefined;
          if (t && isCompositeType(t)) found.add(t);
          visit([s.selectionSet], seen);
        } else if (s.kind === Kind.FRAGMENT_SPREAD && !seen.has(s.name.value)) {
          seen.add(s.name.value);
          const fragment = input.fragments[s.name.value];
          if (!fragment) continue;
          const t = input.schema.getType(fragment.typeCondition.name.value);
          if (t && isCompositeType(t)) found.add(t);
          visit([fragment.selectionSet], seen);
        }
      }
    }
  };
  visit(selectionSets, new Set());
  return [...found];
}

export function fieldDef(type: GraphQLCompositeType, name: string): GraphQLField<unknown, unknown> | undefined {
  if (name.startsWith("__")) return undefined;
  if (isObjectType(type) || isInterfaceType(type)) return type.getFields()[name];
  return undefined;
}

export function subSelections(nodes: readonly FieldNode[]): SelectionSetNode[] {
  return nodes.flatMap((n) => (n.selectionSet ? [n.selectionSet] : []));
}

function pageSize(input: CostInput, def: GraphQLField<unknown, unknown>, node: FieldNode): { first?: number; last?: number } {
  const args = getArgumentValues(def, node, input.variables) as { first?: number | null; last?: number | null };
  return { first: args.first ?? undefined, last: args.last ?? undefined };
}

interface WalkOptions {
  /** report `first`/`last` problems (not in bulk queries, which ignore page sizes) */
  checkPageSize: boolean;
  maxPageSize: number;
  errors: ShopifyGraphQLError[];
}

class RequestedCost {
  constructor(
    private readonly input: CostInput,
    private readonly options: WalkOptions,
  ) {}

  selection(type: GraphQLCompositeType, sets: readonly SelectionSetNode[], path: (string | number)[]): number {
    let best = 0;
    for (const candidate of candidateTypes(this.input, type, sets)) {
      let sum = 0;
      for (const [key, nodes] of collectFields(this.input, candidate, sets)) {
        sum += this.field(candidate, nodes, [...path, key]);
      }
      best = Math.max(best, sum);
    }
    return best;
  }

  field(parent: GraphQLCompositeType, nodes: FieldNode[], path: (string | number)[]): number {
    const node = nodes[0]!;
    const def = fieldDef(parent, node.name.value);
    if (!def) return 0;
    const named = getNamedType(def.type);
    if (isLeafType(named) || !isCompositeType(named)) return 0;
    const sets = subSelections(nodes);
    if (isConnectionField(def) && isObjectType(named)) {
      const { first, last } = pageSize(this.input, def, node);
      this.checkPage(node, path, first, last);
      const size = first ?? last ?? 0;
      return CONNECTION_BASE_COST + size * (OBJECT_COST + this.connectionChildren(named, sets, path));
    }
    return OBJECT_COST + this.selection(named, sets, path);
  }

  /** Cost of one node of a connection: its `nodes { … }` and `edges { node { … } }` selections. */
  private connectionChildren(connection: GraphQLCompositeType, sets: readonly SelectionSetNode[], path: (string | number)[]): number {
    let sum = 0;
    for (const [key, nodes] of collectFields(this.input, connection, sets)) {
      const name = nodes[0]!.name.value;
      const def = fieldDef(connection, name);
      if (!def) continue;
      const named = getNamedType(def.type);
      if (!isCompositeType(named)) continue;
      if (name === "nodes") {
        sum += this.selection(named, subSelections(nodes), [...path, key]);
      } else if (name === "edges") {
        for (const [edgeKey, edgeNodes] of collectFields(this.input, named, subSelections(nodes))) {
          if (edgeNodes[0]!.name.value !== "node") continue;
          const nodeDef = fieldDef(named, "node");
          const nodeType = nodeDef && getNamedType(nodeDef.type);
          if (nodeType && isCompositeType(nodeType)) {
            sum += this.selection(nodeType, subSelections(edgeNodes), [...path, key, edgeKey]);
          }
        }
      }
      // pageInfo is part of the connection's base cost.
    }
    return sum;
  }

  private checkPage(node: FieldNode, path: (string | number)[], first?: number, last?: number) {
    if (!this.options.checkPageSize) return;
    const { errors, maxPageSize } = this.options;
    const push = (message: string) => {
      if (!errors.some((e) => e.message === message && e.path?.join(".") === path.join("."))) {
        errors.push(staticError(message, node, path));
      }
    };
    if (first === undefined && last === undefined) push("you must provide one of first or last");
    for (const [name, value] of [
      ["first", first],
      ["last", last],
    ] as const) {
      if (value === undefined) continue;
      if (value < 0) push(`The ${name} argument must be a non-negative integer.`);
      if (value > maxPageSize) push(`The ${name} argument cannot exceed ${maxPageSize} (requested ${value}).`);
    }
  }
}

export interface RequestedCostResult {
  cost: number;
  /** page-size problems found while walking (Shopify rejects these before running the query) */
  errors: ShopifyGraphQLError[];
}

export function requestedQueryCost(input: CostInput, options: { maxPageSize?: number; checkPageSize?: boolean } = {}): RequestedCostResult {
  const errors: ShopifyGraphQLError[] = [];
  const walker = new RequestedCost(input, {
    checkPageSize: options.checkPageSize ?? true,
    maxPageSize: options.maxPageSize ?? 250,
    errors,
  });
  const { schema, operation } = input;
  if (operation.operation === "mutation") {
    const root = schema.getMutationType()!;
    const fields = collectFields(input, root, [operation.selectionSet]);
    return { cost: MUTATION_COST * fields.size, errors };
  }
  const root = schema.getQueryType()!;
  return { cost: walker.selection(root, [operation.selectionSet], []), errors };
}

/** Cost of what was actually returned: missing objects cost nothing, short pages cost less. */
export function actualQueryCost(input: CostInput, data: Record<string, unknown> | null | undefined): number {
  const { schema, operation } = input;
  if (!data) return 0;
  if (operation.operation === "mutation") {
    const fields = collectFields(input, schema.getMutationType()!, [operation.selectionSet]);
    return MUTATION_COST * fields.size;
  }
  return actualSelection(input, schema.getQueryType()!, [operation.selectionSet], data);
}

function actualSelection(input: CostInput, type: GraphQLCompositeType, sets: readonly SelectionSetNode[], value: unknown): number {
  if (value === null || typeof value !== "object") return 0;
  const record = value as Record<string, unknown>;
  let best = 0;
  for (const candidate of candidateTypes(input, type, sets)) {
    let sum = 0;
    for (const [key, nodes] of collectFields(input, candidate, sets)) {
      if (!(key in record)) continue;
      sum += actualField(input, candidate, nodes, record[key]);
    }
    best = Math.max(best, sum);
  }
  return best;
}

function actualField(input: CostInput, parent: GraphQLCompositeType, nodes: FieldNode[], value: unknown): number {
  const def = fieldDef(parent, nodes[0]!.name.value);
  if (!def || value === null || value === undefined) return 0;
  const named = getNamedType(def.type);
  if (!isCompositeType(named)) return 0;
  const sets = subSelections(nodes);
  if (isConnectionField(def) && isObjectType(named)) {
    return CONNECTION_BASE_COST + actualConnectionChildren(input, named, sets, value as Record<string, unknown>);
  }
  if (Array.isArray(value)) {
    // Plain lists of objects are charged like one object (Shopify documents no list rule).
    if (value.length === 0) return 0;
    return OBJECT_COST + Math.max(...value.map((v) => actualSelection(input, named, sets, v)));
  }
  return OBJECT_COST + actualSelection(input, named, sets, value);
}

function actualConnectionChildren(
  input: CostInput,
  connection: GraphQLCompositeType,
  sets: readonly SelectionSetNode[],
  value: Record<string, unknown>,
): number {
  // Per returned item: 1 + the cost of whatever was selected on it through `nodes` and `edges.node`.
  const perItem: number[] = [];
  const add = (index: number, cost: number) => {
    perItem[index] = (perItem[index] ?? OBJECT_COST) + cost;
  };
  for (const [key, nodes] of collectFields(input, connection, sets)) {
    const name = nodes[0]!.name.value;
    const def = fieldDef(connection, name);
    const list = value[key];
    if (!def || !Array.isArray(list)) continue;
    const named = getNamedType(def.type);
    if (!isCompositeType(named)) continue;
    if (name === "nodes") {
      list.forEach((item, i) => add(i, actualSelection(input, named, subSelections(nodes), item)));
    } else if (name === "edges") {
      const nodeDef = fieldDef(named, "node");
      const nodeType = nodeDef && getNamedType(nodeDef.type);
      for (const [edgeKey, edgeNodes] of collectFields(input, named, subSelections(nodes))) {
        if (edgeNodes[0]!.name.value !== "node" || !nodeType || !isCompositeType(nodeType)) continue;
        list.forEach((edge, i) => {
          const node = edge && typeof edge === "object" ? (edge as Record<string, unknown>)[edgeKey] : undefined;
          add(i, actualSelection(input, nodeType, subSelections(edgeNodes), node));
        });
      }
      list.forEach((_, i) => add(i, 0));
    }
  }
  return perItem.reduce((a, b) => a + (b ?? 0), 0);
}
