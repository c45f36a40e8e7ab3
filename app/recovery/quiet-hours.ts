/**
 * Wall-clock time in a shop's IANA time zone, with nothing but Intl (no time-zone library, no server clock).
 * Quiet hours are minutes after local midnight, [start, end), and may wrap midnight (21:00–08:00).
 */

export interface QuietHours {
  /** Minutes after local midnight when quiet hours begin (inclusive). */
  startMinute: number;
  /** Minutes after local midnight when they end (exclusive). */
  endMinute: number;
}

interface ZonedParts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    });
    formatters.set(timeZone, f);
  }
  return f;
}

export function isValidTimeZone(timeZone: string): boolean {
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

/** The local calendar date and time of an instant in a time zone. */
export function zonedParts(date: Date, timeZone: string): ZonedParts {
  const out: Record<string, number> = {};
  for (const part of formatter(timeZone).formatToParts(date)) {
    if (part.type !== "literal") out[part.type] = Number(part.value);
  }
  return { year: out.year!, month: out.month!, day: out.day!, hour: out.hour! % 24, minute: out.minute!, second: out.second! };
}

/** Minutes after local midnight (0–1439). */
export function localMinuteOfDay(date: Date, timeZone: string): number {
  const p = zonedParts(date, timeZone);
  return p.hour * 60 + p.minute;
}

/** The zone's offset from UTC at an instant, in ms (positive east of Greenwich). */
export function utcOffsetMs(date: Date, timeZone: string): number {
  const p = zonedParts(date, timeZone);
  const wallAsUtc = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  return wallAsUtc - Math.floor(date.getTime() / 1000) * 1000;
}

export function inQuietHours(minuteOfDay: number, quiet: QuietHours): boolean {
  const { startMinute: start, endMinute: end } = quiet;
  if (start === end) return false; // an empty window, not a 24-hour one
  return start < end ? minuteOfDay >= start && minuteOfDay < end : minuteOfDay >= start || minuteOfDay < end;
}

/**
 * When the quiet hours that `now` falls in end (the next local `endMinute`), or null when `now` is not quiet.
 * Across a DST change the wall-clock end is converted with the offset in force at that time; when the end falls in
 * a spring-forward gap (it does not exist that day), the result is the first instant after the gap.
 */
export function quietHoursEnd(now: Date, timeZone: string, quiet: QuietHours): Date | null {
  const p = zonedParts(now, timeZone);
  const minute = p.hour * 60 + p.minute;
  if (!inQuietHours(minute, quiet)) return null;
  const dayOffset = quiet.endMinute > minute ? 0 : 1;
  const wall = Date.UTC(p.year, p.month - 1, p.day + dayOffset, 0, quiet.endMinute);
  // Two rounds: the offset at the guessed instant may differ from the one at `now` (DST).
  let guess = wall - utcOffsetMs(new Date(wall), timeZone);
  guess = wall - utcOffsetMs(new Date(guess), timeZone);
  let end = new Date(guess);
  // In a gap the converted time can land before the gap, still inside quiet hours: step past it.
  for (let i = 0; i < 4 && inQuietHours(localMinuteOfDay(end, timeZone), quiet); i++) end = new Date(end.getTime() + 30 * 60_000);
  return end.getTime() > now.getTime() ? end : new Date(now.getTime() + 60_000);
}

/** "21:00" for 1260. */
export function formatMinuteOfDay(minute: number): string {
  return `${String(Math.floor(minute / 60)).padStart(2, "0")}:${String(minute % 60).padStart(2, "0")}`;
}
