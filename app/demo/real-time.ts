/**
 * Real-time islands on the demo's compressed clock (docs/decisions/060). A library that measures how long something
 * takes with Date.now() would see `factor` times too much time pass: nodemailer bounds connecting and waiting for the
 * greeting by a deadline it computes that way (15 s, which at ×360 is 42 real ms — a busy event loop misses it and
 * the email fails). Those modules are loaded with the real Date in their scope; everything else keeps the demo clock.
 * The email's own Date header is written by nodemailer's mime-node, which is not listed: emails carry demo time.
 */
import { register } from "node:module";

export const REAL_TIME_MODULES = [
  "/node_modules/nodemailer/dist/esm/smtp-connection/",
  "/node_modules/nodemailer/dist/esm/smtp-pool/",
  "/node_modules/nodemailer/dist/esm/smtp-transport/",
  "/node_modules/nodemailer/dist/esm/shared/",
];

/** Call before the demo clock is installed and before any listed module is imported. */
export function keepRealTimeFor(patterns: string[] = REAL_TIME_MODULES): void {
  (globalThis as Record<symbol, unknown>)[Symbol.for("reclaim-demo.real-date")] = globalThis.Date;
  register(new URL("./real-time-hooks.mjs", import.meta.url), { data: { patterns } });
}
