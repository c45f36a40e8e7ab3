import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { TEST_ENV } from "../setup/test-env";
import { signSessionToken, TEST_SHOP } from "./shopify";

/**
 * The browser the tests drive: `CHROMIUM_PATH` when set (e.g. Debian's /usr/bin/chromium), otherwise the Chromium that
 * `npm ci` brought in `@sparticuz/chromium` (no apt step, no download), unpacked once per machine.
 */
export interface ChromiumBuild {
  executablePath: string;
  /** Where it came from, for messages. */
  source: "CHROMIUM_PATH" | "@sparticuz/chromium";
  /** Extra environment for the browser process (fonts for the npm build). */
  env: Record<string, string>;
}

export function resolveChromium(environment: NodeJS.ProcessEnv = process.env): ChromiumBuild {
  const configured = environment.CHROMIUM_PATH?.trim();
  if (configured) {
    if (!existsSync(configured))
      throw new Error(`CHROMIUM_PATH is ${configured}, which does not exist: unset it to use the Chromium from npm (@sparticuz/chromium)`);
    return { executablePath: configured, source: "CHROMIUM_PATH", env: {} };
  }
  const dir = unpackNpmChromium();
  return { executablePath: path.join(dir, "chromium"), source: "@sparticuz/chromium", env: { FONTCONFIG_FILE: path.join(dir, "reclaim-fonts.conf") } };
}

/**
 * `@sparticuz/chromium` ships Chromium brotli-compressed; `executablePath()` unpacks it into os.tmpdir() and returns the
 * binary once the file *exists*, so two test files unpacking at once could launch a half-written binary. Each caller
 * unpacks into a private folder (its TMPDIR) in a child process and renames it into place; a loser of the race drops
 * its copy. Versioned, so an upgrade of the package unpacks afresh.
 */
function unpackNpmChromium(): string {
  // The package does not export its package.json; tests run from the project root (as buildApp assumes too).
  const version = (JSON.parse(readFileSync(path.resolve("node_modules/@sparticuz/chromium/package.json"), "utf8")) as { version: string }).version;
  // "-cjk": the fonts.conf below also names a Japanese font (screenshots of the Japanese admin, issue 19).
  const dir = path.join(tmpdir(), `reclaim-chromium-${version}-cjk`);
  if (existsSync(path.join(dir, "chromium"))) return dir;
  const staging = `${dir}.tmp-${process.pid}-${Date.now()}`;
  mkdirSync(staging, { recursive: true });
  try {
    const script = `const { default: c } = await import("@sparticuz/chromium"); process.stdout.write(await c.executablePath());`;
    const binary = execFileSync(process.execPath, ["--input-type=module", "-e", script], {
      env: { ...process.env, TMPDIR: staging },
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
    if (binary !== path.join(staging, "chromium")) throw new Error(`@sparticuz/chromium unpacked to ${binary}, not into ${staging}`);
    // The package's fonts.conf names /tmp/fonts; ours names the unpacked fonts, after the system's when it has any, and
    // Noto Sans JP from npm (the package has no CJK font: Japanese pages would be screenshots of empty boxes).
    const japanese = ["400Regular", "700Bold"]
      .map((weight) => `  <dir>${path.resolve("node_modules/@expo-google-fonts/noto-sans-jp", weight)}</dir>\n`)
      .join("");
    writeFileSync(
      path.join(staging, "reclaim-fonts.conf"),
      `<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig>\n  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>\n  <dir>${path.join(dir, "fonts")}</dir>\n${japanese}  <cachedir>${path.join(dir, "fonts-cache")}</cachedir>\n</fontconfig>\n`,
    );
    renameSync(staging, dir);
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    if (existsSync(path.join(dir, "chromium"))) return dir; // another process renamed its copy first
    throw new Error(`could not unpack the Chromium of @sparticuz/chromium: ${error instanceof Error ? error.message : String(error)}`);
  }
  return dir;
}

/**
 * Builds the app for production into `dir` as `npm run build` does (`remix vite:build`, then the compiled Node entry
 * points of scripts/build-node.mjs into `dir/node`), once per test run: test files run in parallel, and two builds
 * writing one folder leave a manifest that names files the other removed. The first file to ask builds into a private
 * folder and renames it into place; the others wait for it.
 */
export function buildApp(dir: string) {
  const done = path.join(dir, "node", "server", "index.js");
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
    const env: NodeJS.ProcessEnv = { ...process.env, REMIX_BUILD_DIR: tmp, NODE_ENV: "production" };
    execFileSync(path.resolve("node_modules/.bin/remix"), ["vite:build"], { env, stdio: "pipe" });
    execFileSync(process.execPath, ["scripts/build-node.mjs"], { env, stdio: "pipe" });
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

/**
 * Starts the production server as `npm start` does: the compiled server/index.ts (`<buildDir>/node/server/index.js`)
 * under plain `node`, no tsx, on a random loopback port.
 */
export async function startServer(options: {
  buildDir: string;
  databaseUrl: string;
  env?: Record<string, string>;
  /** How long it may take to listen (default 30 s; a start while other processes are busy on this machine takes longer). */
  startTimeoutMs?: number;
}): Promise<{ url: string; process: ChildProcess; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, [path.join(options.buildDir, "node/server/index.js")], {
    env: {
      ...withoutLoaders(process.env),
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
    setTimeout(() => reject(new Error(`server did not start:\n${output}`)), options.startTimeoutMs ?? 30_000);
  });
  return {
    url,
    process: child,
    stop: () =>
      new Promise((resolve) => {
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}

/**
 * The environment of a production process started from a test: without NODE_OPTIONS, so that a loader the test runner
 * may have put there (tsx) cannot make TypeScript run where production runs plain JavaScript.
 */
export function withoutLoaders(environment: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { NODE_OPTIONS: _ignored, ...rest } = environment;
  return rest;
}

/**
 * Launches Chromium (see resolveChromium). Not `@sparticuz/chromium`'s own `args`: they are for AWS Lambda and switch
 * off what the tests look at (`--disable-web-security`, `--allow-running-insecure-content`, site isolation) or make
 * the browser fragile with several pages (`--single-process`). What it needs here: no sandbox (containers, root),
 * no GPU, and nothing that reaches the network on its own.
 */
export function launchBrowser(): Promise<Browser> {
  const build = resolveChromium();
  return chromium.launch({
    executablePath: build.executablePath,
    env: { ...process.env, ...build.env },
    args: [
      "--headless=new",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
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
  page.on("console", (message) => {
    if (message.type() === "error") consoleErrors.push(message.text());
  });
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
