/**
 * `npm run bench:dashboard [-- --check-daily-stats]`: the overview and recoveries loaders at 1,000,000 recoveries.
 * The production build's real loaders are called through Remix's request handler with signed session tokens (auth,
 * session load, queries, JSON), in process, against PostgreSQL seeded with bench/seed.ts (bench/postgres.ts: a private
 * embedded cluster with default durability, fsync on, unless DATABASE_URL is set, then a fresh database on that server).
 * Target: p95 < 100 ms for each loader; the run exits 1 when a loader misses it.
 * `--check-daily-stats` seeds BENCH_RECOVERIES (default 20,000) twice, once with the "DailyStat" triggers running and
 * once with the seeder's one-statement recount, and exits 1 unless the two agree row for row.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { TEST_ENV } from "../test/setup/test-env";
import { databaseSizeMb, peakRssMb } from "./harness";
import { startBenchDatabase } from "./postgres";
import { dailyStatLines, seedDashboardData } from "./seed";

const CHECK = process.argv.includes("--check-daily-stats");
const RECOVERIES = Number(process.env.BENCH_RECOVERIES ?? (CHECK ? 20_000 : 1_000_000));
const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 40);
const TARGET_P95_MS = 100;
const log = (line: string) => process.stderr.write(`[bench:dashboard] ${line}\n`);

const database = await startBenchDatabase("dashboard", log);
process.once("SIGINT", () => void database.stop().finally(() => process.exit(130)));
const dir = path.resolve("bench/results/dashboard");
try {
  if (CHECK) {
    const now = Date.now();
    const other = await database.createDatabase("triggers");
    log(`seeding ${RECOVERIES.toLocaleString("en")} recoveries twice (triggers, recount)…`);
    const viaTriggers = await seedDashboardData({
      url: other,
      shopDomain: "bench-shop.myshopify.com",
      recoveries: RECOVERIES,
      now,
      days: 365,
      dailyStats: "triggers",
    });
    const viaRecount = await seedDashboardData({ url: database.url, shopDomain: "bench-shop.myshopify.com", recoveries: RECOVERIES, now, days: 365 });
    const a = await dailyStatLines(other, viaTriggers.shopId);
    const b = await dailyStatLines(database.url, viaRecount.shopId);
    const differing = a.filter((line, i) => line !== b[i]).length + Math.abs(a.length - b.length);
    console.log(
      `DailyStat: ${a.length} rows from the triggers, ${b.length} from the recount, ${differing} differing; counts ${JSON.stringify(viaRecount.counts)}`,
    );
    process.exitCode = differing === 0 && a.length > 0 ? 0 : 1;
  } else {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const buildDir = path.join(dir, "build");
    Object.assign(process.env, TEST_ENV, { NODE_ENV: "production", DATABASE_URL: database.url, REMIX_BUILD_DIR: buildDir, LOG_LEVEL: "error" });

    log(`seeding ${RECOVERIES.toLocaleString("en")} recoveries…`);
    const now = Date.now();
    const t0 = performance.now();
    const seeded = await seedDashboardData({ url: database.url, shopDomain: "bench-shop.myshopify.com", recoveries: RECOVERIES, now, days: 365 });
    const seedSeconds = (performance.now() - t0) / 1000;
    log(`seeded in ${seedSeconds.toFixed(1)} s (${JSON.stringify(seeded.counts)}); building…`);
    execFileSync("node_modules/.bin/remix", ["vite:build"], { env: process.env, stdio: "pipe" });

    const { createRequestHandler } = await import("@remix-run/node");
    const build = await import(path.join(buildDir, "server/index.js"));
    const handler = createRequestHandler(build, "production");
    const { signSessionToken, offlineSession } = await import("../test/helpers/shopify");
    const { PrismaSessionStorage } = await import("@shopify/shopify-app-session-storage-prisma");
    const { createPrismaClient } = await import("../app/db.server");
    const db = createPrismaClient(database.url);
    await new PrismaSessionStorage(db).storeSession(offlineSession("bench-shop.myshopify.com"));
    await db.$disconnect();

    const measure = async (label: string, pathWithQuery: string, routeId: string) => {
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
    };

    const loadBefore = os.loadavg();
    const results = [
      await measure("overview, last 30 days", "/app?period=30", "routes/app._index"),
      await measure("overview, last 12 months", "/app?period=365", "routes/app._index"),
      await measure("recoveries, first page", "/app/recoveries", "routes/app.recoveries._index"),
      await measure("recoveries, Stripe + has consent", "/app/recoveries?source=stripe&hasConsent=yes", "routes/app.recoveries._index"),
      await measure("recoveries, email search", "/app/recoveries?q=buyer4242", "routes/app.recoveries._index"),
    ];
    // Deep pagination: the cursor of page 1,000.
    {
      const { listRecoveries } = await import("../app/models/recovery-list.server");
      const client = createPrismaClient(database.url);
      let after: string | null = null;
      for (let i = 0; i < 1000; i++) after = (await listRecoveries(client, { shopId: seeded.shopId, filters: {}, after })).nextCursor;
      await client.$disconnect();
      results.push(await measure("recoveries, page 1,001 (cursor)", `/app/recoveries?after=${after}`, "routes/app.recoveries._index"));
    }
    const load = (l: number[]) => l.map((x) => x.toFixed(1)).join(" / ");
    console.log(
      `\nDashboard loaders at ${RECOVERIES.toLocaleString("en")} recoveries (${database.description}, production build, ${ITERATIONS} requests each, Node ${process.version})`,
    );
    console.log(
      `Data: ${Object.entries(seeded.counts)
        .map(([k, v]) => `${v.toLocaleString("en")} ${k}`)
        .join(
          ", ",
        )}; seeded in ${seedSeconds.toFixed(0)} s (not measured). Load average before / after: ${load(loadBefore)} → ${load(os.loadavg())} (${os.cpus().length} CPUs).\n`,
    );
    console.log("| loader | p50 ms | p95 ms | max ms | target p95 | result |");
    console.log("| --- | ---: | ---: | ---: | ---: | --- |");
    for (const r of results) {
      console.log(
        `| ${r.label} | ${r.p50.toFixed(1)} | ${r.p95.toFixed(1)} | ${r.max.toFixed(1)} | ${TARGET_P95_MS} | ${r.p95 < TARGET_P95_MS ? "pass" : "FAIL"} |`,
      );
    }
    console.log(
      `\nPeak memory (this process, serving the loaders in process): ${peakRssMb()!.toFixed(0)} MB; database size: ${(await databaseSizeMb(database.url)).toFixed(0)} MB.`,
    );
    const failed = results.filter((r) => r.p95 >= TARGET_P95_MS);
    if (failed.length) {
      console.log(`\nTARGET MISSED (p95 < ${TARGET_P95_MS} ms): ${failed.map((r) => r.label).join("; ")}`);
      process.exitCode = 1;
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
  await database.stop();
}
