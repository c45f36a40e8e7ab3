/**
 * `npm run bench:vitals`: Core Web Vitals of the admin pages in real Chromium at 4× CPU slowdown, against Shopify's
 * "Built for Shopify" bars: LCP ≤ 2.5 s, CLS ≤ 0.1, INP ≤ 200 ms. Exits 1 when a page misses a bar.
 *
 * The production build (the same `remix vite:build` as `npm run build`) is served by the real server (server/index.ts)
 * on a private PostgreSQL seeded with BENCH_RECOVERIES (default 20,000) recoveries over 90 days (bench/seed.ts), framed
 * as the Shopify admin frames it (test/helpers/browser.ts: App Bridge stand-in, session tokens, nothing leaves the
 * machine). Each page is loaded BENCH_RUNS times (default 5) in a fresh browser context (cold cache) with
 * CDP `Emulation.setCPUThrottlingRate {rate: 4}`, and a merchant's interactions are played on it:
 * - Overview: the Period select changed with the keyboard, the chart hovered, "Sync now" clicked;
 * - Recoveries: filtered by Source (a native select) and back, a search typed, a row opened.
 * Measured in the page with PerformanceObserver, as the `web-vitals` library does: LCP = the last
 * `largest-contentful-paint` entry before the first input; CLS = the largest session window of `layout-shift` entries
 * without recent input; INP = the longest `event` entry with an interactionId (fewer than 50 interactions, so the
 * worst one). The table shows the median run, and the worst run's figures beside it; a bar is judged on the median.
 */
import os from "node:os";
import path from "node:path";
import { mkdirSync, rmSync } from "node:fs";
import type { Page } from "playwright-core";
import { TEST_ENV } from "../test/setup/test-env";
import { buildApp, launchBrowser, openEmbedded, startServer } from "../test/helpers/browser";
import { startBenchDatabase } from "./postgres";
import { seedDashboardData } from "./seed";

const RECOVERIES = Number(process.env.BENCH_RECOVERIES ?? 20_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const SHOP = "bench-shop.myshopify.com";
const BARS = { lcp: 2500, cls: 0.1, inp: 200 };
const log = (line: string) => process.stderr.write(`[bench:vitals] ${line}\n`);

/** Installed before any page script: collects the entries web-vitals reads. */
const OBSERVE = `(() => {
  const v = { lcp: 0, shifts: [], inp: 0, interactions: 0, firstInputAt: Infinity, steps: [] };
  window.__vitals = v;
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) if (e.startTime < v.firstInputAt) v.lcp = e.startTime;
  }).observe({ type: "largest-contentful-paint", buffered: true });
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      if (e.hadRecentInput) continue;
      v.shifts.push([e.startTime, e.value]);
      // What moved, during which step (printed for the page's largest shifts).
      (v.shiftSources ||= []).push({ at: e.startTime, value: e.value, step: stepAt(e.startTime), nodes: (e.sources || []).map((x) => describe(x.node)).join(", ") });
    }
  }).observe({ type: "layout-shift", buffered: true });
  // Each interaction's slowest entry, labelled with the step the script was playing when it started (v.steps, by time;
  // entries arrive a frame or more later) and its target, split as web-vitals' attribution build does: input delay,
  // processing, presentation delay.
  const stepAt = (t) => {
    let name = "(load)";
    for (const [at, n] of v.steps) if (at <= t) name = n;
    return name;
  };
  const byId = new Map();
  v.entries = [];
  const describe = (t) => {
    if (!t || !t.tagName) return "(removed)";
    const name = t.getAttribute("aria-label") || t.getAttribute("placeholder") || (t.textContent || "").trim().slice(0, 24);
    return t.tagName.toLowerCase() + (name ? ' "' + name + '"' : "");
  };
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      if (!e.interactionId) continue;
      v.firstInputAt = Math.min(v.firstInputAt, e.startTime);
      v.inp = Math.max(v.inp, e.duration);
      const row = {
        step: stepAt(e.startTime),
        event: e.name,
        target: describe(e.target),
        duration: e.duration,
        inputDelay: e.processingStart - e.startTime,
        processing: e.processingEnd - e.processingStart,
        presentation: Math.max(0, e.startTime + e.duration - e.processingEnd),
        start: e.startTime,
        frames: "",
      };
      const seen = byId.get(e.interactionId);
      if (!seen) {
        v.interactions++;
        byId.set(e.interactionId, row);
        v.entries.push(row);
      } else if (row.duration > seen.duration) Object.assign(seen, row);
    }
  }).observe({ type: "event", durationThreshold: 16, buffered: true });
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) v.firstInputAt = Math.min(v.firstInputAt, e.startTime);
  }).observe({ type: "first-input", buffered: true });
  // Long animation frames (> 50 ms) with the scripts that ran in them: where an interaction's time went.
  v.loafs = [];
  try {
    new PerformanceObserver((list) => {
      for (const f of list.getEntries()) {
        const end = f.startTime + f.duration;
        v.loafs.push({
          start: f.startTime,
          end,
          layout: f.styleAndLayoutStart ? end - f.styleAndLayoutStart : 0,
          scripts: f.scripts.map((s) => ({
            name: (s.invoker || s.invokerType || "?") + " @ " + ((s.sourceURL || "").split("/").pop() || "?") + (s.sourceFunctionName ? ":" + s.sourceFunctionName : ""),
            duration: s.duration,
            forced: s.forcedStyleAndLayoutDuration || 0,
          })),
        });
      }
    }).observe({ type: "long-animation-frame", buffered: true });
  } catch {}
})();`;

interface Interaction {
  step: string;
  event: string;
  target: string;
  duration: number;
  inputDelay: number;
  processing: number;
  presentation: number;
  start: number;
  /** The long animation frames it overlapped: top scripts (ms) and style/layout time. */
  frames: string;
}

interface Vitals {
  lcp: number;
  cls: number;
  inp: number;
  interactions: number;
  jsKb: number;
  entries: Interaction[];
  /** Every layout shift counted (no recent input): when, how much, in which step, and what moved. */
  shifts: { at: number; value: number; step: string; nodes: string }[];
}

/** Names the step of the merchant's script that the next interactions belong to (for the breakdown). */
const step = (page: Page, name: string) =>
  page.evaluate((n) => (window as unknown as { __vitals: { steps: [number, string][] } }).__vitals.steps.push([performance.now(), n]), name);

async function readVitals(page: Page): Promise<Omit<Vitals, "jsKb">> {
  // Let the last event entries be reported (they are delivered after the next frame).
  await page.waitForTimeout(500);
  return page.evaluate(() => {
    const v = (window as unknown as { __vitals: { lcp: number; shifts: [number, number][]; inp: number; interactions: number; entries: Interaction[] } })
      .__vitals;
    // CLS: the largest session window (shifts < 1 s apart, window ≤ 5 s).
    let cls = 0;
    let current = 0;
    let start = 0;
    let last = -Infinity;
    for (const [at, value] of v.shifts) {
      if (at - last > 1000 || at - start > 5000) {
        current = 0;
        start = at;
      }
      current += value;
      last = at;
      cls = Math.max(cls, current);
    }
    // Each interaction's overlapping long frames: the scripts that took longest, and the style/layout time.
    const loafs = (v as unknown as { loafs: { start: number; end: number; layout: number; scripts: { name: string; duration: number; forced: number }[] }[] })
      .loafs;
    for (const e of v.entries) {
      const frames = loafs.filter((f) => f.start < e.start + e.duration && f.end > e.start);
      const byScript = new Map<string, number>();
      for (const s of frames.flatMap((f) => f.scripts)) byScript.set(s.name, (byScript.get(s.name) ?? 0) + s.duration);
      const forced = frames.flatMap((f) => f.scripts).reduce((t, s) => t + s.forced, 0);
      const layout = frames.reduce((t, f) => t + f.layout, 0);
      const top = [...byScript].sort((a, b) => b[1] - a[1]).slice(0, 2);
      e.frames = frames.length
        ? `${top.map(([n, d]) => `${n} ${d.toFixed(0)}`).join("; ")}; style+layout ${layout.toFixed(0)}${forced ? ` (forced ${forced.toFixed(0)})` : ""}`
        : "no long frame";
    }
    const shifts = (v as unknown as { shiftSources?: Vitals["shifts"] }).shiftSources ?? [];
    return { lcp: v.lcp, cls, inp: v.inp, interactions: v.interactions, entries: v.entries, shifts };
  });
}

async function measure(
  browser: Awaited<ReturnType<typeof launchBrowser>>,
  baseUrl: string,
  path: string,
  interact: (page: Page) => Promise<void>,
): Promise<Vitals> {
  const view = await openEmbedded(browser, baseUrl, SHOP);
  const { page } = view;
  let jsBytes = 0;
  page.on("response", (response) => {
    // Scripts and module preloads alike (a modulepreload is not a "script" resource to Playwright).
    if (/javascript/.test(response.headers()["content-type"] ?? ""))
      void response.body().then(
        (b) => (jsBytes += b.length),
        () => {},
      );
  });
  await page.addInitScript({ content: OBSERVE });
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Emulation.setCPUThrottlingRate", { rate: 4 });
  await view.goto(path);
  await interact(page);
  const vitals = await readVitals(page);
  if (view.consoleErrors.length) throw new Error(`${path}: console errors: ${view.consoleErrors.join("; ")}`);
  await page.context().close();
  return { ...vitals, jsKb: jsBytes / 1024 };
}

const overview = async (page: Page) => {
  await page.getByRole("heading", { name: "Abandoned and recovered per day" }).waitFor();
  await step(page, "hover chart");
  await page.locator("figure svg").hover();
  await step(page, "period select");
  await page.getByLabel("Period").focus();
  await page.keyboard.press("ArrowUp"); // 30 → 7 days: a Remix navigation with the new figures
  await page.waitForURL(/period=7/);
  await page.waitForLoadState("networkidle");
  await step(page, "sync now");
  await page.getByRole("button", { name: "Sync now" }).first().click();
  await page.waitForLoadState("networkidle");
};

const recoveries = async (page: Page) => {
  const rows = page.locator(".Polaris-IndexTable__TableRow");
  await rows.first().waitFor();
  // Source is a native select (it was a Filters popover, the page's slowest interaction): choosing Shopify is a Remix
  // navigation with the filtered rows; the search and the row below are within that filter. Chosen with the keyboard, as
  // the Overview's Period is: a real key press is input to the browser, so Event Timing measures it and shifts right
  // after it are expected, whereas Playwright's selectOption() only dispatches events (not measured for INP, and the
  // rows replaced after it counted as unexpected shifts).
  await step(page, "filter by Source");
  await page.getByLabel("Source").focus();
  await page.keyboard.press("ArrowDown"); // All → Shopify
  await page.waitForURL(/source=shopify/);
  await page.waitForLoadState("networkidle");
  await step(page, "type search");
  await page.getByPlaceholder("Search by email, name, checkout or order number").pressSequentially("buyer12", { delay: 80 });
  await page.waitForURL(/q=buyer12/);
  await page.waitForLoadState("networkidle");
  await step(page, "open row");
  await rows.first().locator("a").first().click();
  await page.getByRole("heading", { name: "Timeline" }).waitFor();
};

/** The slowest interactions of a page over all runs, grouped by step, event and target: where INP comes from. */
function breakdown(label: string, runs: Vitals[]) {
  const groups = new Map<string, Interaction[]>();
  for (const e of runs.flatMap((r) => r.entries)) {
    const key = `${e.step} | ${e.event} | ${e.target}`;
    groups.set(key, [...(groups.get(key) ?? []), e]);
  }
  const inpOf = runs.map((r) => r.entries.reduce<Interaction | undefined>((w, e) => (!w || e.duration > w.duration ? e : w), undefined));
  console.log(
    `\n${label}: slowest interactions over ${runs.length} runs (ms; median of the group, worst in brackets; delay / processing / presentation of the median)`,
  );
  console.log(`INP per run came from: ${inpOf.map((e) => (e ? `${e.step} ${e.event} ${e.duration.toFixed(0)}` : "none")).join("; ")}`);
  console.log("Long animation frames of those interactions (scripts: invoker @ file, ms):");
  for (const [i, e] of inpOf.entries()) if (e) console.log(`- run ${i + 1}, ${e.step}: ${e.frames.replaceAll("|", "/")}`);
  // Where CLS comes from: the largest shifts of the first run.
  const largest = [...(runs[0]?.shifts ?? [])].sort((a, b) => b.value - a.value).slice(0, 3);
  console.log(
    `Largest layout shifts (run 1): ${largest.length ? largest.map((x) => `${x.step} ${x.value.toFixed(3)} [${x.nodes.replaceAll("|", "/") || "?"}]`).join("; ") : "none"}`,
  );
  console.log("");
  console.log("| step | event | target | n | duration | input delay | processing | presentation |");
  console.log("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |");
  const rows = [...groups].map(([key, es]) => {
    const sorted = [...es].sort((a, b) => a.duration - b.duration);
    return { key, n: es.length, mid: sorted[Math.floor(sorted.length / 2)]!, worst: sorted.at(-1)! };
  });
  rows.sort((a, b) => b.mid.duration - a.mid.duration);
  for (const r of rows.slice(0, 10)) {
    const [s, ev, target] = r.key.split(" | ");
    console.log(
      `| ${s} | ${ev} | ${target?.replaceAll("|", "/")} | ${r.n} | ${r.mid.duration.toFixed(0)} (${r.worst.duration.toFixed(0)}) | ${r.mid.inputDelay.toFixed(0)} | ${r.mid.processing.toFixed(0)} | ${r.mid.presentation.toFixed(0)} |`,
    );
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const database = await startBenchDatabase("web-vitals", log);
process.once("SIGINT", () => void database.stop().finally(() => process.exit(130)));
const dir = path.resolve("bench/results/web-vitals");
let server: Awaited<ReturnType<typeof startServer>> | undefined;
let browser: Awaited<ReturnType<typeof launchBrowser>> | undefined;
try {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  log(`seeding ${RECOVERIES.toLocaleString("en")} recoveries…`);
  await seedDashboardData({ url: database.url, shopDomain: SHOP, recoveries: RECOVERIES, now: Date.now(), days: 90 });
  Object.assign(process.env, TEST_ENV, { DATABASE_URL: database.url });
  const { createPrismaClient } = await import("../app/db.server");
  const { PrismaSessionStorage } = await import("@shopify/shopify-app-session-storage-prisma");
  const { offlineSession } = await import("../test/helpers/shopify");
  const db = createPrismaClient(database.url);
  await new PrismaSessionStorage(db).storeSession(offlineSession(SHOP));
  await db.$disconnect();
  log("building…");
  const buildDir = path.join(dir, "build");
  buildApp(buildDir);
  server = await startServer({ buildDir, databaseUrl: database.url, env: { LOG_LEVEL: "error" } });
  browser = await launchBrowser();

  const loadBefore = os.loadavg();
  const pages = [
    { label: "Overview (/app)", path: "/app", interact: overview },
    { label: "Recoveries (/app/recoveries)", path: "/app/recoveries", interact: recoveries },
  ];
  const results: { label: string; runs: Vitals[] }[] = [];
  for (const p of pages) {
    const runs: Vitals[] = [];
    for (let i = 0; i < RUNS; i++) {
      runs.push(await measure(browser, server.url, p.path, p.interact));
      const { entries, ...figures } = runs.at(-1)!;
      log(`${p.label} run ${i + 1}: ${JSON.stringify(figures)}, slowest: ${JSON.stringify([...entries].sort((a, b) => b.duration - a.duration).slice(0, 3))}`);
    }
    results.push({ label: p.label, runs });
  }
  const load = (l: number[]) => l.map((x) => x.toFixed(1)).join(" / ");
  const version = (await browser.newBrowserCDPSession().then((s) => s.send("Browser.getVersion"))).product;
  console.log(
    `\nWeb vitals at 4× CPU slowdown (${version}, production build, ${RECOVERIES.toLocaleString("en")} recoveries, median of ${RUNS} cold loads; worst run in brackets)`,
  );
  console.log(`Load average before / after: ${load(loadBefore)} → ${load(os.loadavg())} (${os.cpus().length} CPUs).\n`);
  console.log(`| page | LCP ms (≤ ${BARS.lcp}) | CLS (≤ ${BARS.cls}) | INP ms (≤ ${BARS.inp}) | interactions | JS KB (decoded) | result |`);
  console.log("| --- | ---: | ---: | ---: | ---: | ---: | --- |");
  let missed = false;
  for (const r of results) {
    const m = (k: Exclude<keyof Vitals, "entries" | "shifts">) => median(r.runs.map((x) => x[k]));
    const worst = (k: Exclude<keyof Vitals, "entries" | "shifts">) => Math.max(...r.runs.map((x) => x[k]));
    const pass = m("lcp") <= BARS.lcp && m("cls") <= BARS.cls && m("inp") <= BARS.inp && m("interactions") > 0;
    missed ||= !pass;
    console.log(
      `| ${r.label} | ${m("lcp").toFixed(0)} (${worst("lcp").toFixed(0)}) | ${m("cls").toFixed(3)} (${worst("cls").toFixed(3)}) | ${m("inp").toFixed(0)} (${worst("inp").toFixed(0)}) | ${m("interactions")} | ${m("jsKb").toFixed(0)} | ${pass ? "pass" : "MISS"} |`,
    );
  }
  for (const r of results) breakdown(r.label, r.runs);
  if (missed) {
    console.log("\nA Built for Shopify bar was missed (or no interaction was measured).");
    process.exitCode = 1;
  }
} finally {
  await browser?.close().catch(() => {});
  await server?.stop().catch(() => {});
  rmSync(dir, { recursive: true, force: true });
  await database.stop();
}
