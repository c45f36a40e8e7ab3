/**
 * `npm run demo` — Reclaim end to end on this machine, with no Shopify or Stripe account and no network
 * (docs/decisions/060-local-demo.md). Refuses to run with NODE_ENV=production or unless enabled explicitly; nothing
 * else is loaded before those checks, and the demo clock is installed before any of the app's modules.
 */
import { demoRefusal } from "./guard";

const argv = process.argv.slice(2);
const refusal = demoRefusal(process.env, argv);
if (refusal) {
  console.error(refusal);
  process.exit(2);
}
// The demo is a development run of the app (one Prisma client per process, detailed errors), whatever the shell says.
process.env.NODE_ENV = "development";

const { DemoConfigError, parseDemoConfig, USAGE } = await import("./config");
let config: import("./config").DemoConfig;
try {
  config = parseDemoConfig(argv, process.env);
} catch (error) {
  if (!(error instanceof DemoConfigError)) throw error;
  console.error(error.message);
  process.exit(2);
}
if (config.help) {
  console.log(USAGE);
  process.exit(0);
}
// Before anything loads nodemailer and before the clock is installed (app/demo/real-time.ts).
const { keepRealTimeFor } = await import("./real-time");
keepRealTimeFor();
const { runDemo } = await import("./run");
await runDemo(config);
