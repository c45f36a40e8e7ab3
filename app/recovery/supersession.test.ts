import { describe, expect, it } from "vitest";
import { supersedes, type SupersessionFacts } from "./supersession";

const T = new Date("2026-11-20T10:00:00.000Z");
const H = 3_600_000;
const older: SupersessionFacts = { id: "r-a", shopId: "s1", contactId: "c1", abandonedAt: T, notContactableReason: null, kind: "cart" };
const newer = (over: Partial<SupersessionFacts> = {}): SupersessionFacts => ({ ...older, id: "r-b", abandonedAt: new Date(T.getTime() + H), ...over });

describe("supersession: the buyer's newest checkout replaces the older ones", () => {
  it("a later contactable checkout of the same contact supersedes, and not the other way round", () => {
    expect(supersedes(newer(), older)).toBe(true);
    expect(supersedes(older, newer())).toBe(false);
  });

  it("a completed newer checkout still supersedes (the buyer checked out a newer cart)", () => {
    // SupersessionFacts has no completedAt: completion is not part of the rule (it used to be in one query only).
    expect(supersedes({ ...newer(), completedAt: new Date() } as SupersessionFacts, older)).toBe(true);
  });

  it("needs the same contact, the same shop, another recovery, and a newer one Reclaim can contact", () => {
    expect(supersedes(newer({ contactId: "c2" }), older)).toBe(false);
    expect(supersedes(newer({ shopId: "s2" }), older)).toBe(false);
    expect(supersedes(older, older)).toBe(false);
    expect(supersedes(newer({ notContactableReason: "no_email" }), older)).toBe(false);
    // A failed subscription payment is not a newer cart, and a cart does not replace a payment notice.
    expect(supersedes(newer({ kind: "payment" }), older)).toBe(false);
    expect(supersedes(newer(), { ...older, kind: "payment" })).toBe(false);
    // A recovery with no contact is never superseded, and never supersedes.
    expect(supersedes(newer({ contactId: null }), { ...older, contactId: null })).toBe(false);
  });

  it("two checkouts abandoned at the same instant supersede neither, whichever arrived first", () => {
    const twin = newer({ abandonedAt: T });
    expect([supersedes(twin, older), supersedes(older, twin)]).toEqual([false, false]);
  });
});
