import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { TEST_ENV } from "../setup/test-env";
import { signSessionToken, TEST_SHOP } from "./shopify";

/** Debian's chromium package (installed by .ci/run); override with CHROMIUM_PATH. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

export function requireChromium() {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium not found at ${CHROMIUM}: install Debian's chromium package (apt-get install chromium) or set CHROMIUM_PATH`);
  }
}

/**
 * Builds the app for production into `dir` (the same `remix vite:build` as `npm run build`), once per test run: test
 * files run in parallel, and two builds writing one folder leave a manifest that names files the other removed. The
 * first file to ask builds into a private folder and renames it into place; the others wait for it.
 */
export function buildApp(dir: string) {
  const done = path.join(dir, "server", "index.js");
  if (existsSync(done)) return;
  const failed = `${dir}.failed`;
  try {
    mkdirSync(`${dir}.lock`);
  } catch {
    const deadline = Date.now() + 300_000;
    const pause = new Int32Array(new SharedArrayBuffer(4));
    while (!existsSync(done)) {
      if (existsSync(failed)) throw new Error(`the production build failed in another test file: ${readFileSync(failed, "utf8").slice(0, 2000)}`);
      if (Date.now() > deadline) throw new Error(`waited 5 minutes for another test file's production build into ${dir}`);
      Atomics.wait(pause, 0, 0, 200);
    }
    return;
  }
  const tmp = `${dir}.tmp-${process.pid}`;
  try {
    execFileSync(path.resolve("node_modules/.bin/remix"), ["vite:build"], { env: { ...process.env, REMIX_BUILD_DIR: tmp, NODE_ENV: "production" }, stdio: "pipe" });
    renameSync(tmp, dir);
  } catch (error) {
    const detail = (error as { stderr?: Buffer }).stderr?.toString() || String(error);
    writeFileSync(failed, detail);
    throw error;
  }
}

/**
 * What a browser test file needs: this run's production build, served by the real server on this file's database, and
 * Chromium. Seed the database before or after; `stop()` closes both.
 */
export async function startBrowserApp() {
  const buildDir = path.join(process.env.RECLAIM_TEST_RUN_DIR!, "build");
  buildApp(buildDir);
  const server = await startServer({ buildDir, databaseUrl: process.env.DATABASE_URL! });
  const browser = await launchBrowser();
  return {
    server,
    browser,
    async stop() {
      await browser.close();
      await server.stop();
    },
  };
}

/** Starts the production server (server/index.ts) on a random loopback port. */
export async function startServer(options: { buildDir: string; databaseUrl: string; env?: Record<string, string> }): Promise<{ url: string; process: ChildProcess; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, ["--import", "tsx", "server/index.ts"], {
    env: {
      ...process.env,
      ...TEST_ENV,
      NODE_ENV: "production",
      REMIX_BUILD_DIR: options.buildDir,
      DATABASE_URL: options.databaseUrl,
      HOST: "127.0.0.1",
      PORT: "0",
      JOB_RUNNER: "off",
      ...options.env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const url = await new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/[\d.]+:\d+)/.exec(output);
      if (match) resolve(match[1]!);
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.on("exit", (code) => reject(new Error(`server exited (${code}):\n${output}`)));
    setTimeout(() => reject(new Error(`server did not start:\n${output}`)), 30_000);
  });
  return {
    url,
    process: child,
    stop: () => new Promise((resolve) => { child.once("exit", () => resolve()); child.kill("SIGTERM"); }),
  };
}

export function launchBrowser(): Promise<Browser> {
  requireChromium();
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}

const STAND_IN = readFileSync(path.resolve("test/helpers/app-bridge-stand-in.js"), "utf8");

export interface EmbeddedPage {
  page: Page;
  consoleErrors: string[];
  goto(pathname: string): Promise<void>;
}

/**
 * A page as the Shopify admin would frame it: App Bridge (the test stand-in) and fresh session tokens. Requests to any
 * other host are answered locally (fonts) or refused, so nothing leaves the machine.
 */
export async function openEmbedded(browser: Browser, baseUrl: string, shop = TEST_SHOP): Promise<EmbeddedPage> {
  // Headless Chromium says "HeadlessChrome" in its user agent, which the Shopify library treats as a bot (410 Gone)
  // before any auth; a merchant's browser does not, so the test presents an ordinary desktop Chrome user agent.
  const userAgent = (await browser.newBrowserCDPSession().then((s) => s.send("Browser.getVersion"))).userAgent.replace("HeadlessChrome", "Chrome");
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, userAgent });
  const page = await context.newPage();
  const consoleErrors: string[] = [];
  page.on("console", (message) => { if (message.type() === "error") consoleErrors.push(message.text()); });
  page.on("pageerror", (error) => consoleErrors.push(String(error)));
  await page.exposeFunction("__reclaimTestToken", () => signSessionToken({ shop }));
  await context.route("**/*", (route) => {
    const url = new URL(route.request().url());
    if (url.origin === new URL(baseUrl).origin) return route.continue();
    if (url.href.startsWith("https://cdn.shopify.com/shopifycloud/app-bridge.js")) return route.fulfill({ contentType: "text/javascript", body: STAND_IN });
    if (url.hostname === "cdn.shopify.com" && url.pathname.endsWith(".css")) return route.fulfill({ contentType: "text/css", body: "" });
    return route.abort();
  });
  return {
    page,
    consoleErrors,
    async goto(pathname: string) {
      const url = new URL(pathname, baseUrl);
      url.searchParams.set("embedded", "1");
      url.searchParams.set("shop", shop);
      url.searchParams.set("host", Buffer.from(`admin.shopify.com/store/${shop.split(".")[0]}`).toString("base64"));
      url.searchParams.set("id_token", signSessionToken({ shop }));
      await page.goto(url.toString(), { waitUntil: "networkidle" });
    },
  };
}

export function screenshotPath(name: string) {
  const dir = path.resolve("test-results/screenshots");
  mkdirSync(dir, { recursive: true });
  return path.join(dir, `${name}.png`);
}
