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

/** Splits a byte stream into lines (UTF-8), without holding more than one chunk and one partial line. */
export async function* readLines(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffer = "";
  const reader = body.getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let start = 0;
      let newline = buffer.indexOf("\n");
      while (newline !== -1) {
        const line = buffer.slice(start, newline);
        if (line.trim()) yield line;
        start = newline + 1;
        newline = buffer.indexOf("\n", start);
      }
      buffer = buffer.slice(start);
    }
    buffer += decoder.decode();
    if (buffer.trim()) yield buffer;
  } finally {
    reader.releaseLock();
    await body.cancel().catch(() => {});
  }
}
