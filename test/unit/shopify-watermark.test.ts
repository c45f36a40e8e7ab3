import { describe, expect, it } from "vitest";
import { nextWatermark } from "~/sources/shopify/sync-poll-backfill.server";

const OVERLAP = 2 * 60_000;
const start = "2026-11-20T12:00:00.000Z";
const at = (iso: string) => new Date(iso);

describe("where the watermark moves after a complete poll", () => {
  it("to the newest updatedAt seen, when it is recent (Shopify's clock, no skew involved)", () => {
    expect(nextWatermark({ startedAt: start, maxSeen: "2026-11-20T11:59:30.000Z" }, at("2026-11-20T11:00:00Z"), OVERLAP)).toEqual(at("2026-11-20T11:59:30Z"));
  });

  it("never past the poll's start: something updated behind the cursor meanwhile is newer than the start", () => {
    expect(nextWatermark({ startedAt: start, maxSeen: "2026-11-20T12:03:00.000Z" }, null, OVERLAP)).toEqual(at(start));
  });

  it("at least to the start minus the overlap, so an old burst of changes is not read again on every poll", () => {
    expect(nextWatermark({ startedAt: start, maxSeen: "2026-11-20T10:00:00.000Z" }, at("2026-11-20T09:00:00Z"), OVERLAP)).toEqual(at("2026-11-20T11:58:00Z"));
    expect(nextWatermark({ startedAt: start, maxSeen: null }, at("2026-11-20T09:00:00Z"), OVERLAP)).toEqual(at("2026-11-20T11:58:00Z"));
  });

  it("never backwards", () => {
    expect(nextWatermark({ startedAt: start, maxSeen: null }, at("2026-11-20T11:59:00Z"), OVERLAP)).toBeNull();
  });
});
