// Relay connections with opaque cursors, the way Shopify paginates.
// A cursor is base64(JSON {last_id, last_value}) — the shape Shopify's own cursors decode to —
// and marks a position in the sort order, so rows added or removed between pages do not shift it.
import { GraphQLError } from "graphql";

export interface PageArgs {
  first?: number | null;
  last?: number | null;
  after?: string | null;
  before?: string | null;
  reverse?: boolean | null;
}

export interface CursorPosition {
  last_id: number;
  last_value: string | number;
}

export interface Connection<N> {
  edges: { cursor: string; node: N }[];
  nodes: N[];
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
}

export function encodeCursor(position: CursorPosition): string {
  return Buffer.from(JSON.stringify(position)).toString("base64");
}

export function decodeCursor(cursor: string): CursorPosition {
  try {
    const value = JSON.parse(Buffer.from(cursor, "base64").toString("utf8")) as CursorPosition;
    if (typeof value?.last_id !== "number" || !("last_value" in value)) throw new Error("shape");
    return value;
  } catch {
    throw new GraphQLError(`Invalid cursor for current pagination sort.`, { extensions: { code: "BAD_REQUEST" } });
  }
}

function compare(a: CursorPosition, b: CursorPosition): number {
  if (a.last_value !== b.last_value) {
    if (typeof a.last_value !== typeof b.last_value) {
      throw new GraphQLError(`Invalid cursor for current pagination sort.`, { extensions: { code: "BAD_REQUEST" } });
    }
    return a.last_value < b.last_value ? -1 : 1;
  }
  return a.last_id - b.last_id;
}

/**
 * Pages through `items` (in any order). `positionOf` gives each item's sort value and id; items
 * are ordered by (value, id), reversed when `reverse` is set. With `unbounded` (bulk operations)
 * `first`/`last` are ignored and everything is returned.
 */
export function paginate<T, N>(
  items: readonly T[],
  args: PageArgs,
  positionOf: (item: T) => CursorPosition,
  toNode: (item: T) => N,
  options: { unbounded?: boolean } = {},
): Connection<N> {
  const direction = args.reverse ? -1 : 1;
  const positioned = items.map((item) => ({ item, position: positionOf(item) }));
  positioned.sort((a, b) => direction * compare(a.position, b.position));

  let lo = 0;
  let hi = positioned.length;
  if (args.after) {
    const after = decodeCursor(args.after);
    while (lo < hi && direction * compare(positioned[lo]!.position, after) <= 0) lo++;
  }
  if (args.before) {
    const before = decodeCursor(args.before);
    while (hi > lo && direction * compare(positioned[hi - 1]!.position, before) >= 0) hi--;
  }
  let start = lo;
  let end = hi;
  if (!options.unbounded) {
    if (args.first != null) end = Math.min(end, start + args.first);
    if (args.last != null) start = Math.max(start, end - args.last);
  }
  const page = positioned.slice(start, end);
  const edges = page.map(({ item, position }) => ({ cursor: encodeCursor(position), node: toNode(item) }));
  return {
    edges,
    nodes: edges.map((e) => e.node),
    pageInfo: {
      hasNextPage: end < positioned.length,
      hasPreviousPage: start > 0,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges[edges.length - 1]?.cursor ?? null,
    },
  };
}
