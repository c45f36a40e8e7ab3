import type { CheckoutNode, LineItemNode } from "./to-source-event";

/**
 * Reading a bulk operation's JSONL one checkout at a time. With `groupObjects: true` Shopify writes each node of a
 * nested connection on its own line, with `__parentId`, directly after its parent; so a checkout is complete when
 * the next root line (or the end of the file) arrives, and memory stays at one checkout whatever the file size.
 * A child that arrives for a parent already passed (should not happen with grouping) is reported, not lost: the
 * sync re-reads that checkout by id.
 */

export interface AssembledCheckout {
  node: CheckoutNode;
  lineItems: LineItemNode[];
}

export class BulkCheckoutAssembler {
  private current: AssembledCheckout | null = null;
  /** ids of checkouts whose line items arrived out of order */
  readonly orphanParents = new Set<string>();
  /** root objects seen so far */
  roots = 0;

  /** Feeds one parsed line; returns the checkout this line completed, if any. */
  push(line: Record<string, unknown>): AssembledCheckout | null {
    const parentId = line.__parentId;
    if (typeof parentId === "string") {
      if (this.current && this.current.node.id === parentId) {
        const { __parentId: _, ...item } = line;
        this.current.lineItems.push(item as unknown as LineItemNode);
      } else {
        this.orphanParents.add(parentId);
      }
      return null;
    }
    const done = this.current;
    this.current = { node: line as unknown as CheckoutNode, lineItems: [] };
    this.roots += 1;
    return done;
  }

  /** The last checkout, at the end of the file. */
  finish(): AssembledCheckout | null {
    const done = this.current;
    this.current = null;
    return done;
  }
}

/** A line of a JSONL file and where it starts: its byte offset in the whole file. */
export interface OffsetLine {
  text: string;
  /** byte offset of the line's first byte in the file */
  offset: number;
  /** byte offset just after the line (and its newline): where the next line starts */
  next: number;
}

const NEWLINE = 0x0a;

/**
 * Splits a byte stream into lines (UTF-8) with the byte offset where each line starts, without holding more than one
 * chunk and one partial line. `start` is the offset of the stream's first byte in the file (a `Range` response starts
 * there). Splitting on the newline byte is safe in UTF-8: 0x0A never occurs inside a multi-byte character, so each
 * line is decoded whole and the offsets are exact.
 */
export async function* readLinesWithOffsets(body: ReadableStream<Uint8Array>, start = 0): AsyncGenerator<OffsetLine> {
  const decoder = new TextDecoder();
  const reader = body.getReader();
  let partial: Uint8Array[] = [];
  let partialStart = start;
  let position = start;
  const take = (tail: Uint8Array, next: number): OffsetLine | null => {
    const bytes = partial.length === 0 ? tail : concat([...partial, tail]);
    partial = [];
    const text = decoder.decode(bytes);
    return text.trim() ? { text, offset: partialStart, next } : null;
  };
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      let from = 0;
      let newline = value.indexOf(NEWLINE);
      while (newline !== -1) {
        const line = take(value.subarray(from, newline), position + newline + 1);
        partialStart = position + newline + 1;
        if (line) yield line;
        from = newline + 1;
        newline = value.indexOf(NEWLINE, from);
      }
      if (from < value.length) partial.push(value.slice(from));
      position += value.length;
    }
    if (partial.length > 0) {
      const line = take(new Uint8Array(0), position);
      if (line) yield line;
    }
  } finally {
    reader.releaseLock();
    await body.cancel().catch(() => {});
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Splits a byte stream into lines (UTF-8), without holding more than one chunk and one partial line. */
export async function* readLines(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  for await (const line of readLinesWithOffsets(body)) yield line.text;
}
