// Bulk query operations (https://shopify.dev/docs/api/usage/bulk-operations/queries):
// bulkOperationRunQuery → BulkOperation CREATED → RUNNING → COMPLETED, with `url` pointing at a
// JSONL file. In the file every node of every connection is its own line; a node of a nested
// connection carries `__parentId` (the id of the node it belongs to) and appears after its parent.
import {
  getNamedType,
  GraphQLError,
  isCompositeType,
  isLeafType,
  Kind,
  parse,
  type DocumentNode,
  type ExecutionResult,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLField,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type FieldNode,
} from "graphql";
import { candidateTypes, collectFields, fieldDef, subSelections, type CostInput } from "./cost";
import { validateDocument } from "./errors";
import { isConnectionField } from "./schema";

export type BulkOperationStatus = "CREATED" | "RUNNING" | "COMPLETED" | "FAILED" | "CANCELED" | "CANCELING" | "EXPIRED";
export type BulkOperationErrorCode = "ACCESS_DENIED" | "INTERNAL_SERVER_ERROR" | "TIMEOUT";

export interface BulkOperationRecord {
  id: number;
  type: "QUERY";
  query: string;
  groupObjects: boolean;
  status: BulkOperationStatus;
  errorCode: BulkOperationErrorCode | null;
  createdAt: string;
  completedAt: string | null;
  objectCount: number;
  rootObjectCount: number;
  fileSize: number;
  url: string | null;
  /** the JSONL produced when the operation ran */
  jsonl: string;
  /** how many times a client has read the operation since it was created */
  polls: number;
  /** error code the operation ends with instead of COMPLETED */
  failWith: BulkOperationErrorCode | null;
}

export interface BulkUserError {
  field: string[] | null;
  message: string;
  code: "INVALID" | "OPERATION_IN_PROGRESS" | "LIMIT_REACHED";
}

export interface BulkOperationsOptions {
  schema: GraphQLSchema;
  now: () => number;
  nextId: () => number;
  /** reads (currentBulkOperation / node / bulkOperation) until COMPLETED; default 2 */
  pollsToComplete?: number;
  /** runs a bulk query document with connections unbounded */
  execute: (document: DocumentNode) => ExecutionResult;
  /** stores a JSONL file and returns the URL it is served at */
  publish: (jsonl: string) => string;
}

type FieldEntry = { def: GraphQLField<unknown, unknown>; nodes: FieldNode[] };

export class BulkOperations {
  private readonly operations: BulkOperationRecord[] = [];
  private failNextWith: BulkOperationErrorCode | null = null;
  private readonly pollsToComplete: number;

  constructor(private readonly options: BulkOperationsOptions) {
    this.pollsToComplete = Math.max(1, options.pollsToComplete ?? 2);
  }

  /** The next operation started will end FAILED with this code. */
  failNext(errorCode: BulkOperationErrorCode): void {
    this.failNextWith = errorCode;
  }

  list(): readonly BulkOperationRecord[] {
    return this.operations;
  }

  start(query: string, groupObjects: boolean): { operation: BulkOperationRecord } | { userErrors: BulkUserError[] } {
    const running = this.operations.find((op) => op.status === "CREATED" || op.status === "RUNNING");
    if (running) {
      return {
        userErrors: [
          {
            field: null,
            message: `A bulk query operation for this app and shop is already in progress: gid://shopify/BulkOperation/${running.id}.`,
            code: "OPERATION_IN_PROGRESS",
          },
        ],
      };
    }
    let document: DocumentNode;
    try {
      document = parse(query);
    } catch (e) {
      return invalid(`Invalid bulk query: ${(e as GraphQLError).message}`);
    }
    const validation = validateDocument(this.options.schema, document);
    if (validation.length > 0) return invalid(`Invalid bulk query: ${validation[0]!.message}`);
    const input = costInput(this.options.schema, document);
    if (!input) return invalid("Invalid bulk query: expected exactly one query operation");
    const shapeError = checkShape(input);
    if (shapeError) return invalid(shapeError);

    // Created when asked for, before the fake runs the query (Shopify creates the operation, then runs it).
    const createdAt = new Date(this.options.now()).toISOString();
    const result = this.options.execute(document);
    const denied = result.errors?.some((e) => e.extensions?.code === "ACCESS_DENIED");
    if (result.errors?.length && !denied) {
      return invalid(`Bulk query failed in the fake: ${result.errors[0]!.message}`);
    }
    const { lines, rootObjectCount } = flatten(input, (result.data ?? {}) as Record<string, unknown>);
    const jsonl = lines.map((l) => JSON.stringify(l)).join("\n") + (lines.length ? "\n" : "");
    const operation: BulkOperationRecord = {
      id: this.options.nextId(),
      type: "QUERY",
      query,
      groupObjects,
      status: "CREATED",
      errorCode: null,
      createdAt,
      completedAt: null,
      objectCount: lines.length,
      rootObjectCount,
      fileSize: Buffer.byteLength(jsonl),
      url: null,
      jsonl,
      polls: 0,
      failWith: denied ? "ACCESS_DENIED" : this.failNextWith,
    };
    this.failNextWith = null;
    this.operations.push(operation);
    return { operation };
  }

  /** A client read the operation: it moves one step towards completion. */
  observe(id: number): BulkOperationRecord | undefined {
    const op = this.operations.find((o) => o.id === id);
    if (op) this.advance(op);
    return op;
  }

  observeCurrent(type: string): BulkOperationRecord | undefined {
    if (type !== "QUERY") return undefined;
    const op = this.operations[this.operations.length - 1];
    if (op) this.advance(op);
    return op;
  }

  /** Finishes every pending operation now. */
  completeAll(): void {
    for (const op of this.operations) {
      while (op.status === "CREATED" || op.status === "RUNNING") this.advance(op);
    }
  }

  private advance(op: BulkOperationRecord): void {
    if (op.status !== "CREATED" && op.status !== "RUNNING") return;
    op.polls += 1;
    op.status = "RUNNING";
    if (op.polls < this.pollsToComplete) return;
    op.completedAt = new Date(this.options.now()).toISOString();
    if (op.failWith) {
      op.status = "FAILED";
      op.errorCode = op.failWith;
      return;
    }
    op.status = "COMPLETED";
    // Shopify returns a null url when the query matched nothing.
    op.url = op.objectCount > 0 ? this.options.publish(op.jsonl) : null;
  }
}

function invalid(message: string): { userErrors: BulkUserError[] } {
  return { userErrors: [{ field: ["query"], message, code: "INVALID" }] };
}

function costInput(schema: GraphQLSchema, document: DocumentNode): CostInput | undefined {
  const operations = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  if (operations.length !== 1 || operations[0]!.operation !== "query") return undefined;
  const fragments: Record<string, FragmentDefinitionNode> = {};
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments[d.name.value] = d;
  return { schema, operation: operations[0]!, fragments, variables: {} };
}

function fieldsOf(input: CostInput, type: GraphQLCompositeType, sets: readonly SelectionSetNode[]): Map<string, FieldEntry> {
  const out = new Map<string, FieldEntry>();
  for (const candidate of candidateTypes(input, type, sets)) {
    for (const [key, nodes] of collectFields(input, candidate, sets)) {
      const def = fieldDef(candidate, nodes[0]!.name.value);
      if (def && !out.has(key)) out.set(key, { def, nodes });
    }
  }
  return out;
}

/** Node type and node-level selections of a connection selection (`nodes {…}` and `edges { node {…} }`). */
function connectionParts(input: CostInput, entry: FieldEntry) {
  const connection = getNamedType(entry.def.type) as GraphQLCompositeType;
  const nodesDef = fieldDef(connection, "nodes");
  const nodeType = nodesDef && (getNamedType(nodesDef.type) as GraphQLCompositeType);
  const parts: { via: "nodes" | "edges"; key: string; nodeKey?: string; sets: SelectionSetNode[] }[] = [];
  for (const [key, nodes] of collectFields(input, connection, subSelections(entry.nodes))) {
    const name = nodes[0]!.name.value;
    if (name === "nodes") parts.push({ via: "nodes", key, sets: subSelections(nodes) });
    if (name === "edges") {
      const edgeType = getNamedType(fieldDef(connection, "edges")!.type) as GraphQLCompositeType;
      for (const [nodeKey, edgeNodes] of collectFields(input, edgeType, subSelections(nodes))) {
        if (edgeNodes[0]!.name.value === "node") parts.push({ via: "edges", key, nodeKey, sets: subSelections(edgeNodes) });
      }
    }
  }
  return { nodeType: nodeType!, parts };
}

/** Shopify's documented limits on bulk query shape. Wording of the messages is approximated. */
function checkShape(input: CostInput): string | null {
  let total = 0;
  let problem: string | null = null;
  const visit = (type: GraphQLCompositeType, sets: readonly SelectionSetNode[], depth: number) => {
    const fields = fieldsOf(input, type, sets);
    const nestedHere: string[] = [];
    for (const [key, entry] of fields) {
      const named = getNamedType(entry.def.type);
      if (isLeafType(named) || !isCompositeType(named)) continue;
      if (isConnectionField(entry.def)) {
        total += 1;
        if (depth + 1 > 2) problem ??= "Bulk queries cannot contain connections with a nesting depth greater than 2.";
        if (depth >= 1) nestedHere.push(key);
        const { nodeType, parts } = connectionParts(input, entry);
        for (const part of parts) visit(nodeType, part.sets, depth + 1);
      } else {
        visit(named, subSelections(entry.nodes), depth);
      }
    }
    if (nestedHere.length > 0) {
      const id = fields.get("id");
      if (!id || id.nodes[0]!.alias) {
        problem ??=
          "The parent 'node' field for a nested connection must select the 'id' field without an alias and must be of 'ID' return type. " +
          `Connection fields without 'id': ${nestedHere.join(", ")}.`;
      }
    }
  };
  visit(input.schema.getQueryType()!, [input.operation.selectionSet], 0);
  if (total === 0) return "Bulk queries must contain at least one connection.";
  if (total > 5) problem ??= "Bulk queries cannot contain more than 5 connections.";
  return problem;
}

/** Turns the result of a bulk query into JSONL lines. */
export function flatten(input: CostInput, data: Record<string, unknown>): { lines: Record<string, unknown>[]; rootObjectCount: number } {
  const lines: Record<string, unknown>[] = [];
  let rootObjectCount = 0;

  const emitConnection = (entry: FieldEntry, value: unknown, parentId: unknown, root: boolean) => {
    if (!value || typeof value !== "object") return;
    const { nodeType, parts } = connectionParts(input, entry);
    // The same node can be selected through `nodes` and `edges.node`: merge by position.
    const merged: { value: Record<string, unknown>; sets: SelectionSetNode[] }[] = [];
    for (const part of parts) {
      const list = (value as Record<string, unknown>)[part.key];
      if (!Array.isArray(list)) continue;
      list.forEach((item, i) => {
        const node = part.via === "nodes" ? item : (item as Record<string, unknown> | null)?.[part.nodeKey!];
        if (!node || typeof node !== "object") return;
        const slot = (merged[i] ??= { value: {}, sets: [] });
        Object.assign(slot.value, node);
        slot.sets.push(...part.sets);
      });
    }
    for (const item of merged) {
      if (!item) continue;
      if (root) rootObjectCount += 1;
      emitNode(nodeType, item.sets, item.value, parentId);
    }
  };

  const strip = (type: GraphQLCompositeType, sets: readonly SelectionSetNode[], value: Record<string, unknown>) => {
    const obj: Record<string, unknown> = {};
    const nested: { entry: FieldEntry; value: unknown }[] = [];
    for (const [key, entry] of fieldsOf(input, type, sets)) {
      if (!(key in value)) continue;
      const v = value[key];
      const named = getNamedType(entry.def.type);
      if (isConnectionField(entry.def)) {
        nested.push({ entry, value: v });
      } else if (isCompositeType(named) && v && typeof v === "object") {
        const one = (x: unknown) => {
          if (!x || typeof x !== "object") return x;
          const inner = strip(named, subSelections(entry.nodes), x as Record<string, unknown>);
          nested.push(...inner.nested);
          return inner.obj;
        };
        obj[key] = Array.isArray(v) ? v.map(one) : one(v);
      } else {
        obj[key] = v;
      }
    }
    return { obj, nested };
  };

  const emitNode = (type: GraphQLCompositeType, sets: readonly SelectionSetNode[], value: Record<string, unknown>, parentId: unknown) => {
    const { obj, nested } = strip(type, sets, value);
    if (parentId !== undefined) obj.__parentId = parentId;
    lines.push(obj);
    for (const n of nested) emitConnection(n.entry, n.value, obj.id, false);
  };

  const root = input.schema.getQueryType()!;
  for (const [key, entry] of fieldsOf(input, root, [input.operation.selectionSet])) {
    if (isConnectionField(entry.def)) {
      emitConnection(entry, data[key], undefined, true);
    } else if (data[key] && typeof data[key] === "object") {
      // A root object (e.g. `shop { … }`): its connections become root lines.
      const named = getNamedType(entry.def.type) as GraphQLCompositeType;
      const { nested } = strip(named, subSelections(entry.nodes), data[key] as Record<string, unknown>);
      for (const n of nested) emitConnection(n.entry, n.value, undefined, true);
    }
  }
  return { lines, rootObjectCount };
}
