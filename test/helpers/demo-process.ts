// Drives `npm run demo` (app/demo/main.ts) as a child process for the demo's tests: random loopback ports, its own
// data folder, the build shared between the test files of one run.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { registerTestSecret } from "../setup/secret-scan";

export interface DemoStatus {
  paused: boolean;
  demoTime: string;
  speed: number;
  shop: string;
  urls: { admin: string; inbox: string; app: string; smtp: string; shopifyAdminApi: string; stripeApi: string };
  inbox: { emails: number };
  shopify: { checkouts: number; completed: number; webhooksPending: number };
  stripe: { sessions: number; expired: number; recovered: number; webhooksPending: number };
  shopper: { clicked: number; bought: number } | null;
}

export interface DemoProcess {
  child: ChildProcess;
  /** The URL the demo prints for the browser (the demo admin). */
  url: string;
  dataDir: string;
  output(): string;
  status(): Promise<DemoStatus>;
  post(pathname: string): Promise<Response>;
  /** Sends a signal and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** The app's variables the test process carries; the demo sets its own, so none may leak into it. */
const APP_VARIABLES = [
  "NODE_ENV",
  "DATABASE_URL",
  "SHOPIFY_API_KEY",
  "SHOPIFY_API_SECRET",
  "SHOPIFY_APP_URL",
  "SCOPES",
  "ENCRYPTION_KEYS",
  "LINK_SIGNING_SECRET",
  "LINK_SIGNING_SECRETS",
  "HOST",
  "PORT",
  "JOB_RUNNER",
  "LOG_LEVEL",
  "STRIPE_API_BASE",
  "DEMO_INBOX_URL",
];

export function demoEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of APP_VARIABLES) delete env[name];
  return { ...env, ...extra };
}

/** Runs app/demo/main.ts with the given arguments as they are (no flag added) and collects what it prints. */
export function spawnDemo(args: string[], env: NodeJS.ProcessEnv = demoEnv()): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, ["--import", "tsx", "app/demo/main.ts", ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout!.on("data", (c: Buffer) => (output += c.toString()));
  child.stderr!.on("data", (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { child, output: () => output, exited };
}

/** A test demo's arguments: enabled, every port chosen by the system, its own data and build folders, then `extra`. */
export const demoArgs = (o: { dataDir: string; buildDir: string }, extra: string[] = []) => [
  "--enable-demo",
  "--port",
  "0",
  "--app-port",
  "0",
  "--smtp-port",
  "0",
  "--db-port",
  "0",
  "--data-dir",
  o.dataDir,
  "--build-dir",
  o.buildDir,
  ...extra,
];

export async function startDemo(o: { dataDir: string; buildDir: string; args?: string[]; timeoutMs?: number }): Promise<DemoProcess> {
  const { child, output, exited } = spawnDemo(demoArgs(o, o.args));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the demo did not start within ${o.timeoutMs ?? 180_000} ms:\n${output()}`)), o.timeoutMs ?? 180_000);
    const onData = () => {
      const match = /Open (http:\/\/127\.0\.0\.1:\d+)\/ in your browser/.exec(output());
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    };
    child.stdout!.on("data", onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`the demo exited (${code}) before it was ready:\n${output()}`));
    });
  });
  // Its generated secrets are looked for in every log line of the run (test/setup/secret-scan.ts).
  const secretsFile = path.join(o.dataDir, "secrets.json");
  if (existsSync(secretsFile)) {
    for (const [name, value] of Object.entries(JSON.parse(readFileSync(secretsFile, "utf8")) as Record<string, string>)) {
      registerTestSecret(`demo ${name}`, name === "encryptionKeys" ? value.split(":")[1]! : value);
    }
  }
  return {
    child,
    url,
    dataDir: o.dataDir,
    output,
    status: async () => (await fetch(`${url}/api/status`)).json() as Promise<DemoStatus>,
    post: (pathname) => fetch(`${url}${pathname}`, { method: "POST" }),
    stop: (signal = "SIGINT") => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
