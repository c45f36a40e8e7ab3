/**
 * `npm run bench:dashboard`: the overview and recoveries loaders at 1,000,000 recoveries.
 * The production build's real loaders are called through Remix's request handler with signed session tokens (auth,
 * session load, queries, JSON), in process, against a SQLite file seeded with bench/seed-sqlite.ts.
 * Target: p95 < 200 ms for each loader.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, rmSync } from "node:fs";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { TEST_ENV } from "../test/setup/test-env";
import { seedDashboardData } from "./seed-sqlite";

const RECOVERIES = Number(process.env.BENCH_RECOVERIES ?? 1_000_000);
const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 40);
const dir = path.resolve("bench/results/dashboard");
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
const file = path.join(dir, "bench.sqlite");
const buildDir = path.join(dir, "build");
Object.assign(process.env, TEST_ENV, { NODE_ENV: "production", DATABASE_URL: `file:${file}`, REMIX_BUILD_DIR: buildDir, LOG_LEVEL: "error" });

execFileSync("node_modules/.bin/prisma", ["migrate", "deploy"], { env: { ...process.env, CHECKPOINT_DISABLE: "1" }, stdio: "pipe" });
console.error(`seeding ${RECOVERIES.toLocaleString()} recoveries…`);
const now = Date.now();
let t0 = performance.now();
seedDashboardData({ file, shopDomain: "bench-shop.myshopify.com", recoveries: RECOVERIES, now, days: 365 });
console.error(`seeded in ${((performance.now() - t0) / 1000).toFixed(1)} s; building…`);
execFileSync("node_modules/.bin/remix", ["vite:build"], { env: process.env, stdio: "pipe" });

const { createRequestHandler } = await import("@remix-run/node");
const build = await import(path.join(buildDir, "server/index.js"));
const handler = createRequestHandler(build, "production");
const { signSessionToken, offlineSession } = await import("../test/helpers/shopify");
const { PrismaSessionStorage } = await import("@shopify/shopify-app-session-storage-prisma");
const { createPrismaClient } = await import("../app/db.server");
const db = createPrismaClient(`file:${file}`);
await new PrismaSessionStorage(db).storeSession(offlineSession("bench-shop.myshopify.com"));
await db.$disconnect();

async function measure(label: string, pathWithQuery: string, routeId: string) {
  const times: number[] = [];
  let rows = 0;
  for (let i = 0; i < ITERATIONS + 3; i++) {
    const url = new URL(pathWithQuery, TEST_ENV.SHOPIFY_APP_URL);
    url.searchParams.set("_data", routeId);
    const request = new Request(url, { headers: { authorization: `Bearer ${signSessionToken({ shop: "bench-shop.myshopify.com" })}` } });
    const started = performance.now();
    const response = await handler(request);
    const body = await response.json();
    const ms = performance.now() - started;
    if (response.status !== 200) throw new Error(`${label}: HTTP ${response.status}`);
    rows = body.rows?.length ?? body.overview?.total.abandoned ?? 0;
    if (i >= 3) times.push(ms); // the first few warm caches and JIT
  }
  times.sort((a, b) => a - b);
  const pct = (p: number) => times[Math.min(times.length - 1, Math.ceil((p / 100) * times.length) - 1)]!;
  return { label, p50: pct(50), p95: pct(95), max: times.at(-1)!, rows };
}

const results = [
  await measure("overview, last 30 days", "/app?period=30", "routes/app._index"),
  await measure("overview, last 12 months", "/app?period=365", "routes/app._index"),
  await measure("recoveries, first page", "/app/recoveries", "routes/app.recoveries._index"),
  await measure("recoveries, Stripe + has consent", "/app/recoveries?source=stripe&hasConsent=yes", "routes/app.recoveries._index"),
  await measure("recoveries, email search", "/app/recoveries?q=buyer4242", "routes/app.recoveries._index"),
];
// Deep pagination: the cursor of page 1,000.
{
  const { listRecoveries } = await import("../app/models/dashboard.server");
  const client = createPrismaClient(`file:${file}`);
  const shop = await client.shop.findFirstOrThrow();
  let after: string | null = null;
  for (let i = 0; i < 1000; i++) after = (await listRecoveries(client, { shopId: shop.id, filters: {}, after })).nextCursor;
  await client.$disconnect();
  results.push(await measure("recoveries, page 1,001 (cursor)", `/app/recoveries?after=${after}`, "routes/app.recoveries._index"));
}

console.log(`\nDashboard loaders at ${RECOVERIES.toLocaleString()} recoveries (SQLite, production build, ${ITERATIONS} requests each, Node ${process.version})\n`);
console.log("| loader | p50 ms | p95 ms | max ms | target p95 | result |");
console.log("| --- | ---: | ---: | ---: | ---: | --- |");
for (const r of results) {
  console.log(`| ${r.label} | ${r.p50.toFixed(1)} | ${r.p95.toFixed(1)} | ${r.max.toFixed(1)} | 200 | ${r.p95 < 200 ? "pass" : "FAIL"} |`);
}
rmSync(dir, { recursive: true, force: true });
