/**
 * Limits for bodies that reach Reclaim from outside (webhooks, the pixel collector, forms): refuse what is too large or
 * too deeply nested before anything parses or stores it. Shared so every public endpoint answers the same way.
 */

/** Shopify and Stripe payloads are a few kilobytes; nothing legitimate comes near this. */
export const MAX_BODY_BYTES = 1024 * 1024;
/** Real payloads nest fewer than 10 levels; a recursive parser or walker must never see thousands. */
export const MAX_JSON_DEPTH = 64;

export type BodyRead = { ok: true; text: string } | { ok: false; status: 413; reason: string };

/** The raw bytes of a body, or null as soon as it passes `maxBytes` (declared or counted). Never buffers past the cap. */
async function readBytesWithLimit(request: Request, maxBytes: number): Promise<Buffer | null> {
  const declared = Number(request.headers.get("content-length") ?? "");
  if (Number.isFinite(declared) && declared > maxBytes) return null;
  if (!request.body) return Buffer.alloc(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      // Cancelled so the rest is never read into memory.
      await reader.cancel().catch(() => undefined);
      return null;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}

/**
 * Reads a request body as UTF-8, stopping as soon as it passes `maxBytes` (a declared Content-Length over the limit is
 * refused without reading at all). The stream is cancelled on refusal so the rest is never buffered.
 */
export async function readBodyWithLimit(request: Request, maxBytes = MAX_BODY_BYTES): Promise<BodyRead> {
  const bytes = await readBytesWithLimit(request, maxBytes);
  if (!bytes) return { ok: false, status: 413, reason: `body too large (limit ${maxBytes} bytes)` };
  return { ok: true, text: bytes.toString("utf8") };
}

/**
 * The deepest nesting of arrays and objects in a JSON text, counted without parsing (strings are skipped, escapes
 * respected). Stops early once `limit` is passed. Linear in the text, no recursion.
 */
export function jsonNestingDepth(text: string, limit = Number.POSITIVE_INFINITY): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      depth++;
      if (depth > deepest) {
        deepest = depth;
        if (deepest > limit) return deepest;
      }
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) depth--;
  }
  return deepest;
}

export type JsonParse = { ok: true; value: unknown } | { ok: false; problem: "too_deep" | "malformed"; reason: string };

/** JSON.parse with a nesting limit checked first; never throws. */
export function parseJsonWithLimits(text: string, maxDepth = MAX_JSON_DEPTH): JsonParse {
  if (jsonNestingDepth(text, maxDepth) > maxDepth) return { ok: false, problem: "too_deep", reason: `JSON nested deeper than ${maxDepth} levels` };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false, problem: "malformed", reason: "malformed JSON" };
  }
}

/**
 * A form post (urlencoded or multipart) read with the body cap, for admin actions and public forms. Throws a Response
 * a route lets escape: 413 when the body is over `maxBytes`, 400 when it is not a readable form (a truncated or
 * malformed multipart body makes `request.formData()` throw, which would otherwise be a 500).
 */
export async function readFormWithLimit(request: Request, maxBytes = MAX_BODY_BYTES): Promise<FormData> {
  const bytes = await readBytesWithLimit(request, maxBytes);
  if (!bytes) throw new Response(`Form too large (limit ${maxBytes} bytes)`, { status: 413 });
  const headers = new Headers();
  const type = request.headers.get("content-type");
  if (type) headers.set("content-type", type);
  try {
    return await new Request(request.url, { method: "POST", headers, body: new Uint8Array(bytes) }).formData();
  } catch {
    throw new Response("The form could not be read", { status: 400 });
  }
}
