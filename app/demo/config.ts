import path from "node:path";
import { parseArgs } from "node:util";

/** What `npm run demo -- <options>` can change. Every option also has an environment variable (flags win). */
export interface DemoConfig {
  /** Where the demo keeps its database, secrets, inbox and simulator state. */
  dataDir: string;
  /** Where the app is built (reused while the sources are unchanged). */
  buildDir: string;
  reset: boolean;
  /** 0 = any free port. */
  ports: { portal: number; app: number; smtp: number; database: number };
  /** Virtual ms per real ms: 360 turns the campaign's 1 h delay into 10 s. */
  speed: number;
  /** Real seconds between new abandoned carts, per source. */
  paceSeconds: number;
  /** Whether the demo shopper opens some emails and buys. */
  shopper: boolean;
  help: boolean;
}

export class DemoConfigError extends Error {
  name = "DemoConfigError";
}

export const USAGE = `Usage: npm run demo [-- options]

Runs Reclaim end to end on this machine: a demo shop on a fake Shopify Admin API, a Stripe simulator, a local SMTP
inbox, the real app and job runner on a compressed clock. Everything listens on 127.0.0.1 only.

Options (environment variable in brackets):
  --reset               start over: delete the demo's data (database, inbox, simulators) first
  --port <n>            the demo admin, inbox and checkout pages [DEMO_PORT] (default 4000; 0 = any free port)
  --app-port <n>        the Reclaim app [DEMO_APP_PORT] (default 4001)
  --smtp-port <n>       the SMTP server that captures emails [DEMO_SMTP_PORT] (default 4025)
  --db-port <n>         the demo's own embedded PostgreSQL [DEMO_DB_PORT] (default 4032)
  --speed <factor>      demo seconds per real second [DEMO_SPEED] (default 360: 1 h of campaign delay = 10 s)
  --pace <seconds>      real seconds between new abandoned carts, per source [DEMO_PACE] (default 5)
  --no-shopper          no simulated buyer opening emails and purchasing [DEMO_SHOPPER=off]
  --data-dir <dir>      [DEMO_DATA_DIR] (default data/demo)
  --build-dir <dir>     [DEMO_BUILD_DIR] (default <data dir>/build)
`;

function port(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined || value === "") return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new DemoConfigError(`${name} must be a port number (0–65535, 0 = any free port), got "${value}"`);
  return n;
}

function positive(name: string, value: string | undefined, fallback: number, max: number): number {
  if (value === undefined || value === "") return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || n > max) throw new DemoConfigError(`${name} must be a number above 0 and at most ${max}, got "${value}"`);
  return n;
}

export function parseDemoConfig(argv: readonly string[], env: Record<string, string | undefined>, cwd = process.cwd()): DemoConfig {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    throw new DemoConfigError(`${(error as Error).message}\n\n${USAGE}`);
  }
  const v = parsed.values;
  const dataDir = path.resolve(cwd, v["data-dir"] ?? env.DEMO_DATA_DIR ?? "data/demo");
  const shopperEnv = env.DEMO_SHOPPER?.toLowerCase();
  if (shopperEnv && !["on", "off"].includes(shopperEnv)) throw new DemoConfigError(`DEMO_SHOPPER must be on or off, got "${env.DEMO_SHOPPER}"`);
  const speed = positive("--speed", v.speed ?? env.DEMO_SPEED, 360, 100_000);
  if (speed < 1) throw new DemoConfigError("--speed must be at least 1 (1 = real time)");
  return {
    dataDir,
    buildDir: path.resolve(cwd, v["build-dir"] ?? env.DEMO_BUILD_DIR ?? path.join(dataDir, "build")),
    reset: v.reset ?? false,
    ports: {
      portal: port("--port", v.port ?? env.DEMO_PORT, 4000),
      app: port("--app-port", v["app-port"] ?? env.DEMO_APP_PORT, 4001),
      smtp: port("--smtp-port", v["smtp-port"] ?? env.DEMO_SMTP_PORT, 4025),
      database: port("--db-port", v["db-port"] ?? env.DEMO_DB_PORT, 4032),
    },
    speed,
    paceSeconds: positive("--pace", v.pace ?? env.DEMO_PACE, 5, 3600),
    shopper: v["no-shopper"] ? false : shopperEnv !== "off",
    help: v.help ?? false,
  };
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      "enable-demo": { type: "boolean" },
      reset: { type: "boolean" },
      port: { type: "string" },
      "app-port": { type: "string" },
      "smtp-port": { type: "string" },
      "db-port": { type: "string" },
      speed: { type: "string" },
      pace: { type: "string" },
      "no-shopper": { type: "boolean" },
      "data-dir": { type: "string" },
      "build-dir": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
}
