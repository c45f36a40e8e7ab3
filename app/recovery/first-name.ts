/** The most of a buyer-typed first name that reaches a shop-branded subject or body (grapheme-safe enough: code points). */
export const MAX_FIRST_NAME_CHARS = 40;

/**
 * A buyer's first name as templates receive it: control characters (newlines included, so a name cannot forge header
 * lines or push text onto a new line of a subject) and format characters (bidi overrides) become spaces, runs of
 * whitespace collapse, and the result is cut at 40 characters. An empty result is null (the template's fallback).
 */
export function boundedFirstName(name: string | null | undefined): string | null {
  if (!name) return null;
  const clean = name
    .replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu, " ")
    .replace(/\s+/g, " ")
    .trim();
  const cut = Array.from(clean).slice(0, MAX_FIRST_NAME_CHARS).join("").trim();
  return cut || null;
}
