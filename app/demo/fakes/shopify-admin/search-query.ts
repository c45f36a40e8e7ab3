// Shopify search syntax (https://shopify.dev/docs/api/usage/search-syntax) for the `query`
// argument: `field:value`, comparators `:<` `:<=` `:>` `:>=`, quoted values, AND (also implied by
// a space), OR, NOT / leading `-`, and parentheses.
//
// Unknown fields behave as Shopify's do: the term is dropped from the filter (matches everything)
// and the response gets an `extensions.search` warning
// `{field, message: "Invalid search field for this query.", code: "invalid_field"}`.
import { checkoutTotals, type CheckoutRecord, type CustomerRecord } from "./store";

export type Comparator = ":" | ":<" | ":<=" | ":>" | ":>=";

export type SearchNode =
  | { kind: "term"; field: string | null; comparator: Comparator; value: string; quoted: boolean }
  | { kind: "and" | "or"; children: SearchNode[] }
  | { kind: "not"; child: SearchNode };

export interface SearchWarning {
  field: string;
  message: string;
  code: string;
}

/** `startsQuoted`: the word opened with a quote, so it is a phrase, never `field:value`. */
type Token = { type: "word"; text: string; quoted: boolean; startsQuoted: boolean } | { type: "lparen" } | { type: "rparen" };

function tokenize(input: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < input.length) {
    const ch = input[i]!;
    if (/\s/.test(ch)) {
      i++;
    } else if (ch === "(") {
      tokens.push({ type: "lparen" });
      i++;
    } else if (ch === ")") {
      tokens.push({ type: "rparen" });
      i++;
    } else {
      // A word runs to whitespace or a parenthesis; quotes (anywhere in it) may contain both.
      let text = "";
      let quoted = false;
      const startsQuoted = ch === "'" || ch === '"';
      while (i < input.length && !/\s/.test(input[i]!) && input[i] !== "(" && input[i] !== ")") {
        const c = input[i]!;
        if (c === "'" || c === '"') {
          const end = input.indexOf(c, i + 1);
          const stop = end === -1 ? input.length : end;
          text += input.slice(i + 1, stop);
          quoted = true;
          i = stop + 1;
        } else if (c === "\\" && i + 1 < input.length) {
          text += input[i + 1];
          i += 2;
        } else {
          text += c;
          i++;
        }
      }
      tokens.push({ type: "word", text, quoted, startsQuoted });
    }
  }
  return tokens;
}

function parseTerm(text: string, quoted: boolean, startsQuoted: boolean): SearchNode {
  const match = startsQuoted ? null : /^([A-Za-z_][\w.]*):(<=|>=|<|>)?([\s\S]*)$/.exec(text);
  if (match) {
    return {
      kind: "term",
      field: match[1]!.toLowerCase(),
      comparator: (":" + (match[2] ?? "")) as Comparator,
      value: match[3]!,
      quoted,
    };
  }
  return { kind: "term", field: null, comparator: ":", value: text, quoted };
}

/** Parses a search string into a tree. Never throws: stray parentheses are ignored. */
export function parseSearchQuery(input: string): SearchNode | null {
  const tokens = tokenize(input);
  let pos = 0;
  const peekWord = (w: string) => {
    const t = tokens[pos];
    return t?.type === "word" && !t.quoted && t.text === w;
  };

  function parseOr(): SearchNode | null {
    const children: SearchNode[] = [];
    const first = parseAnd();
    if (first) children.push(first);
    while (peekWord("OR")) {
      pos++;
      const next = parseAnd();
      if (next) children.push(next);
    }
    if (children.length === 0) return null;
    return children.length === 1 ? children[0]! : { kind: "or", children };
  }

  function parseAnd(): SearchNode | null {
    const children: SearchNode[] = [];
    while (pos < tokens.length) {
      const t = tokens[pos]!;
      if (t.type === "rparen" || peekWord("OR")) break;
      if (peekWord("AND")) {
        pos++;
        continue;
      }
      const unary = parseUnary();
      if (unary) children.push(unary);
    }
    if (children.length === 0) return null;
    return children.length === 1 ? children[0]! : { kind: "and", children };
  }

  function parseUnary(): SearchNode | null {
    const t = tokens[pos]!;
    if (t.type === "word" && !t.quoted && t.text === "NOT") {
      pos++;
      const child = pos < tokens.length ? parseUnary() : null;
      return child && { kind: "not", child };
    }
    if (t.type === "lparen") {
      pos++;
      const inner = parseOr();
      if (tokens[pos]?.type === "rparen") pos++;
      return inner;
    }
    if (t.type === "rparen") {
      pos++;
      return null;
    }
    pos++;
    if (!t.quoted && t.text.startsWith("-") && t.text.length > 1) {
      return { kind: "not", child: parseTerm(t.text.slice(1), t.quoted, false) };
    }
    return parseTerm(t.text, t.quoted, t.startsQuoted);
  }

  const root = parseOr();
  // Anything left (an unmatched ')') is skipped, as a lenient search box would.
  while (pos < tokens.length) {
    pos++;
    const more = parseOr();
    if (more) return root ? { kind: "and", children: [root, more] } : more;
  }
  return root;
}

/** How Shopify echoes a parsed query in `extensions.search[].parsed`. */
export function describeParsed(node: SearchNode): Record<string, unknown> {
  switch (node.kind) {
    case "and":
      return { and: node.children.map(describeParsed) };
    case "or":
      return { or: node.children.map(describeParsed) };
    case "not":
      return { not: describeParsed(node.child) };
    case "term": {
      const field = node.field ?? "default";
      const key = { ":": "match_all", ":<": "range_lt", ":<=": "range_lte", ":>": "range_gt", ":>=": "range_gte" }[node.comparator];
      return { field, [key]: node.value };
    }
  }
}

/** A field filter: builds a predicate from comparator + value, or returns null if the value is unusable. */
export type FieldFilter<T> = (comparator: Comparator, value: string) => ((record: T) => boolean) | null;

export interface CompiledSearch<T> {
  matches: (record: T) => boolean;
  warnings: SearchWarning[];
  parsed: Record<string, unknown> | null;
}

export function compileSearch<T>(
  input: string | null | undefined,
  fields: Record<string, FieldFilter<T>>,
  freeText: (record: T, text: string) => boolean,
): CompiledSearch<T> {
  const tree = input ? parseSearchQuery(input) : null;
  const warnings: SearchWarning[] = [];
  if (!tree) return { matches: () => true, warnings, parsed: null };

  const build = (node: SearchNode): ((r: T) => boolean) => {
    switch (node.kind) {
      case "and": {
        const parts = node.children.map(build);
        return (r) => parts.every((p) => p(r));
      }
      case "or": {
        const parts = node.children.map(build);
        return (r) => parts.some((p) => p(r));
      }
      case "not": {
        const inner = build(node.child);
        return (r) => !inner(r);
      }
      case "term": {
        if (node.field === null) {
          const text = node.value.toLowerCase();
          return (r) => freeText(r, text);
        }
        const filter = fields[node.field];
        const predicate = filter?.(node.comparator, node.value);
        if (!predicate) {
          // Shopify drops terms it cannot use from the filter and says so in a warning.
          warnings.push({ field: node.field, message: "Invalid search field for this query.", code: "invalid_field" });
          return () => true;
        }
        return predicate;
      }
    }
  };
  return { matches: build(tree), warnings, parsed: describeParsed(tree) };
}

// ---------------------------------------------------------------------------------------------
// Field filters for abandonedCheckouts / abandonedCheckoutsCount

/** Parses a search date: ISO timestamp, or a date alone (the whole UTC day). */
export function parseSearchDate(value: string): { start: number; end: number } | null {
  const v = value.trim();
  if (/^\d{4}-\d{2}-\d{2}$/.test(v)) {
    const start = Date.parse(`${v}T00:00:00Z`);
    return Number.isNaN(start) ? null : { start, end: start + 86_400_000 };
  }
  if (!/^\d{4}-\d{2}-\d{2}T/.test(v)) return null;
  const t = Date.parse(v);
  return Number.isNaN(t) ? null : { start: t, end: t + 1 };
}

function compareRange(comparator: Comparator, x: number, range: { start: number; end: number }): boolean {
  switch (comparator) {
    case ":":
      return x >= range.start && x < range.end;
    case ":<":
      return x < range.start;
    case ":<=":
      return x < range.end;
    case ":>":
      return x >= range.end;
    case ":>=":
      return x >= range.start;
  }
}

function timeFilter(get: (c: CheckoutRecord) => string): FieldFilter<CheckoutRecord> {
  return (comparator, value) => {
    const range = parseSearchDate(value);
    if (!range) return null;
    return (c) => compareRange(comparator, Date.parse(get(c)), range);
  };
}

export interface CheckoutSearchRecord {
  checkout: CheckoutRecord;
  /** looked up only when a filter or sort needs it */
  readonly customer: CustomerRecord | null;
}

export const abandonedCheckoutSearchFields: Record<string, FieldFilter<CheckoutSearchRecord>> = {
  created_at: (cmp, v) => {
    const f = timeFilter((c) => c.createdAt)(cmp, v);
    return f && ((r) => f(r.checkout));
  },
  updated_at: (cmp, v) => {
    const f = timeFilter((c) => c.updatedAt)(cmp, v);
    return f && ((r) => f(r.checkout));
  },
  id: (cmp, v) => {
    const m = /(\d+)$/.exec(v.trim());
    if (!m) return null;
    const n = Number(m[1]);
    return (r) => compareRange(cmp, r.checkout.id, { start: n, end: n + 1 });
  },
  status: (cmp, v) => {
    const value = v.toLowerCase();
    if (cmp !== ":" || (value !== "open" && value !== "closed")) return null;
    return (r) => {
      const closed = r.checkout.completedAt !== null || r.checkout.closedAt !== null;
      return value === "closed" ? closed : !closed;
    };
  },
  recovery_state: (cmp, v) => {
    const value = v.toLowerCase();
    if (cmp !== ":" || (value !== "recovered" && value !== "not_recovered")) return null;
    return (r) => (r.checkout.completedAt !== null) === (value === "recovered");
  },
  email_state: (cmp, v) => {
    const value = v.toLowerCase();
    if (cmp !== ":" || !["sent", "not_sent", "scheduled", "suppressed"].includes(value)) return null;
    return (r) => r.checkout.emailState === value;
  },
};

/** Free text matches the checkout name, the buyer's email, or the customer's name. */
export function abandonedCheckoutFreeText(r: CheckoutSearchRecord, text: string): boolean {
  const haystack = [r.checkout.id.toString(), `#${r.checkout.id}`, r.checkout.email, r.customer?.email, r.customer?.firstName, r.customer?.lastName]
    .filter(Boolean)
    .join(" ")
    .toLowerCase();
  return haystack.includes(text);
}

export function compileAbandonedCheckoutSearch(query: string | null | undefined): CompiledSearch<CheckoutSearchRecord> {
  return compileSearch(query, abandonedCheckoutSearchFields, abandonedCheckoutFreeText);
}

/** Exposed for sort keys that need it. */
export function totalPriceShop(c: CheckoutRecord): number {
  return checkoutTotals(c).totalPrice.shop;
}
