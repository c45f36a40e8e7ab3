/**
 * The demo's compressed clock (docs/decisions/060-local-demo.md): the whole demo process — app, job runner, fakes and
 * simulators — reads time from one global `Date` that runs `factor` times faster than real time, from a virtual start
 * that is persisted, so a rerun carries on forward in time. Timers (setTimeout, AbortSignal.timeout, socket and
 * transaction timeouts) stay in real time: only "what time is it" is compressed, never "how long do I wait".
 *
 * Installed once, before any other module of the process is loaded, so libraries that keep a reference to Date.now
 * get this one. Node's own internals (HTTP Date headers, file times) keep the real clock.
 */

export interface VirtualClock {
  readonly factor: number;
  /** Virtual now, ms since the epoch. */
  now(): number;
  /** How many real ms a virtual duration takes. */
  realMs(virtualMs: number): number;
  readonly paused: boolean;
  /** Stops virtual time (the demo's Pause): every reader sees the same instant until resume(). */
  pause(): void;
  resume(): void;
}

let installed: VirtualClock | null = null;

export function installVirtualClock(startVirtualMs: number, factor: number): VirtualClock {
  if (installed) throw new Error("the virtual clock is already installed");
  if (!(factor >= 1)) throw new RangeError("the clock factor must be at least 1");
  const RealDate = globalThis.Date;
  // Monotonic real time, so a wall-clock adjustment on the machine cannot move demo time backwards.
  const realNow = () => performance.now();
  let anchorVirtual = startVirtualMs;
  let anchorReal = realNow();
  let frozenAt: number | null = null;
  const now = () => (frozenAt !== null ? frozenAt : Math.floor(anchorVirtual + (realNow() - anchorReal) * factor));

  // A drop-in Date: `new Date()` and `Date.now()` are virtual; every other form is the real constructor. Instances are
  // ordinary Dates (same prototype), so `instanceof Date` holds across code loaded before and after.
  function VirtualDate(this: unknown, ...args: unknown[]) {
    if (!new.target) return new RealDate(now()).toString();
    return Reflect.construct(RealDate, args.length === 0 ? [now()] : args, new.target);
  }
  Object.setPrototypeOf(VirtualDate, RealDate);
  VirtualDate.prototype = RealDate.prototype;
  Object.defineProperties(VirtualDate, {
    now: { value: now, writable: true, configurable: true },
    parse: { value: RealDate.parse, writable: true, configurable: true },
    UTC: { value: RealDate.UTC, writable: true, configurable: true },
    name: { value: "Date" },
  });
  globalThis.Date = VirtualDate as unknown as DateConstructor;

  installed = {
    factor,
    now,
    realMs: (virtualMs) => Math.max(0, virtualMs / factor),
    get paused() {
      return frozenAt !== null;
    },
    pause() {
      if (frozenAt === null) frozenAt = now();
    },
    resume() {
      if (frozenAt === null) return;
      anchorVirtual = frozenAt;
      anchorReal = realNow();
      frozenAt = null;
    },
  };
  return installed;
}

/** Real-time sleep for a virtual duration (the sync's pacing waits: the fake's bucket refills in virtual time). */
export function virtualSleep(clock: VirtualClock) {
  return (ms: number, signal?: AbortSignal): Promise<void> =>
    new Promise((resolve) => {
      if (ms <= 0 || signal?.aborted) return resolve();
      const timer = setTimeout(done, clock.realMs(ms));
      function done() {
        clearTimeout(timer);
        signal?.removeEventListener("abort", done);
        resolve();
      }
      signal?.addEventListener("abort", done, { once: true });
    });
}
