import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { inQuietHours, localMinuteOfDay, quietHoursEnd, utcOffsetMs, zonedParts } from "./quiet-hours";

const ZONES = [
  "UTC",
  "America/New_York",
  "America/Los_Angeles",
  "Europe/London",
  "Europe/Berlin",
  "Asia/Kathmandu",
  "Australia/Lord_Howe",
  "Pacific/Chatham",
  "America/Sao_Paulo",
];

describe("quiet hours", () => {
  it.each([
    [0, { startMinute: 21 * 60, endMinute: 8 * 60 }, true],
    [7 * 60 + 59, { startMinute: 21 * 60, endMinute: 8 * 60 }, true],
    [8 * 60, { startMinute: 21 * 60, endMinute: 8 * 60 }, false],
    [21 * 60, { startMinute: 21 * 60, endMinute: 8 * 60 }, true],
    [12 * 60, { startMinute: 12 * 60, endMinute: 13 * 60 }, true],
    [13 * 60, { startMinute: 12 * 60, endMinute: 13 * 60 }, false],
    [600, { startMinute: 600, endMinute: 600 }, false],
  ])("minute %i in %o → %s", (minute, quiet, expected) => {
    expect(inQuietHours(minute, quiet)).toBe(expected);
  });

  it("reads wall-clock time in the zone, DST included", () => {
    expect(zonedParts(new Date("2026-07-01T12:00:00Z"), "Europe/Berlin").hour).toBe(14); // CEST
    expect(zonedParts(new Date("2026-12-01T12:00:00Z"), "Europe/Berlin").hour).toBe(13); // CET
    expect(localMinuteOfDay(new Date("2026-12-01T12:00:00Z"), "Asia/Kathmandu")).toBe(17 * 60 + 45);
    expect(utcOffsetMs(new Date("2026-12-01T12:00:00Z"), "America/New_York")).toBe(-5 * 3_600_000);
  });

  it("defers across the spring-forward night to the real local end", () => {
    // US DST starts 2026-03-08 02:00 local. 01:00 EST (06:00 UTC) with quiet 21:00–08:00 → 08:00 EDT = 12:00 UTC.
    expect(quietHoursEnd(new Date("2026-03-08T06:00:00Z"), "America/New_York", { startMinute: 21 * 60, endMinute: 8 * 60 })?.toISOString()).toBe(
      "2026-03-08T12:00:00.000Z",
    );
  });

  it("an end inside the DST gap lands just after the gap", () => {
    // 02:30 does not exist in New York on 2026-03-08.
    const end = quietHoursEnd(new Date("2026-03-08T06:30:00Z"), "America/New_York", { startMinute: 0, endMinute: 150 })!;
    expect(inQuietHours(localMinuteOfDay(end, "America/New_York"), { startMinute: 0, endMinute: 150 })).toBe(false);
    expect(end.getTime() - new Date("2026-03-08T06:30:00Z").getTime()).toBeLessThanOrEqual(2 * 3_600_000);
  });

  it("property: the hold ends outside quiet hours, after now, within a day, and at the end minute unless DST moved it", () => {
    fc.assert(
      fc.property(
        fc.date({ min: new Date("2026-01-01T00:00:00Z"), max: new Date("2028-01-01T00:00:00Z"), noInvalidDate: true }),
        fc.constantFrom(...ZONES),
        fc.integer({ min: 0, max: 1439 }),
        fc.integer({ min: 0, max: 1439 }),
        (now, zone, startMinute, endMinute) => {
          const quiet = { startMinute, endMinute };
          const end = quietHoursEnd(now, zone, quiet);
          const quietNow = inQuietHours(localMinuteOfDay(now, zone), quiet);
          expect(end === null).toBe(!quietNow);
          if (!end) return;
          expect(end.getTime()).toBeGreaterThan(now.getTime());
          expect(end.getTime() - now.getTime()).toBeLessThanOrEqual(25 * 3_600_000);
          expect(inQuietHours(localMinuteOfDay(end, zone), quiet)).toBe(false);
          if (utcOffsetMs(now, zone) === utcOffsetMs(end, zone)) expect(localMinuteOfDay(end, zone)).toBe(endMinute);
        },
      ),
      { numRuns: 2000 },
    );
  });
});
