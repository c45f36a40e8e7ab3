/**
 * The buyer's full name kept for search only ("Ashby", "Robin Ashby"; docs/decisions/084): "First Last" from the same
 * source object, either part may be missing; null when neither is known. Stripe gives one unsplit name, stored as given.
 */
export function fullNameOf(first: unknown, last: unknown): string | null {
  const parts = [first, last].filter((p): p is string => typeof p === "string" && p.trim() !== "").map((p) => p.trim().slice(0, 200));
  return parts.length ? parts.join(" ") : null;
}
