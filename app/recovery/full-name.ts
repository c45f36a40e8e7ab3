/**
 * The buyer's full name kept for search only ("Ashby", "Robin Ashby"; docs/decisions/084): "First Last" from the same
 * source object, either part may be missing; null when neither is known. Stripe gives one unsplit name, stored as given.
 */
export function fullNameOf(first: unknown, last: unknown): string | null {
  const parts = [first, last].filter((p): p is string => typeof p === "string" && p.trim() !== "").map((p) => p.trim().slice(0, 200));
  return parts.length ? parts.join(" ") : null;
}

/**
 * The buyer's name as a merchant reads it in the admin's language: family name first in Japanese ("鈴木 優希"), given name
 * first otherwise (issue 19). Only the given name when the family name is unknown (Stripe, most guests); null when
 * neither is known.
 */
export function displayName(first: string | null, last: string | null, language: string): string | null {
  if (!first?.trim()) return null;
  if (!last?.trim()) return first.trim();
  return language === "ja" ? `${last.trim()} ${first.trim()}` : `${first.trim()} ${last.trim()}`;
}
