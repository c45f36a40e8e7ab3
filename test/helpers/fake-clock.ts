/** A clock tests move by hand (the JobRunner and every job take time from it). Starts at a whole minute near real time. */
export class FakeClock {
  private ms: number;

  constructor(start: Date | number = Math.floor(Date.now() / 60_000) * 60_000) {
    this.ms = typeof start === "number" ? start : start.getTime();
  }

  now(): Date {
    return new Date(this.ms);
  }

  set(at: Date): void {
    this.ms = at.getTime();
  }

  advance(ms: number): Date {
    this.ms += ms;
    return this.now();
  }

  advanceMinutes(minutes: number): Date {
    return this.advance(minutes * 60_000);
  }

  advanceHours(hours: number): Date {
    return this.advance(hours * 3_600_000);
  }
}

/**
 * A whole-minute start for a FakeClock ahead of real time, for tests whose webhook deliveries are stored (and their
 * jobs queued) at real time and must already be due when the test clock runs them. The margin is wide because on a
 * loaded CI machine a file's setup (app build, database) took over a minute between import and its first test, and
 * a one-minute margin then left every delivery in the future.
 */
export function startAheadOfRealTime(minutes = 15): Date {
  return new Date(Math.ceil(Date.now() / 60_000) * 60_000 + minutes * 60_000);
}
