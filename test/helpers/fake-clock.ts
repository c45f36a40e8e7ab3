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
