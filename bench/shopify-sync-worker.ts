/**
 * One profile of `npm run bench:sync` (see bench/shopify-sync.ts), in its own process so that its peak RSS is its
 * own: starts the fake Admin API as a child process, points the app's Shopify library at it, and runs the app's real
 * sync job (job runner → sync → unauthenticated.admin → admin.graphql) on real time until the shop is caught up.
 * Prints one JSON line with the measurements.
 */
import { fork } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";

interface WorkerConfig {
  profile: string;
  mode: "poll" | "bulk";
  count: number;
  bucketSize: number;
  restoreRate: number;
  databaseUrl: string;
  seed: number;
}

const config = JSON.parse(process.argv[2]!) as WorkerConfig;

/** This process's peak resident memory: VmHWM from /proc (Linux), else getrusage's maxRSS. */
function peakRssMb(): number {
  try {
    const kb = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync("/proc/self/status", "utf8"))?.[1];
    if (kb) return Number(kb) / 1024;
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS / 1024;
}
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
const DOMAIN = "bench-sync.myshopify.com";
const TOKEN = "shpat_bench_offline_token";

// The app's environment (bench-only values; nothing here is a credential).
Object.assign(process.env, {
  NODE_ENV: "production",
  SHOPIFY_API_KEY: "bench-api-key",
  SHOPIFY_API_SECRET: "bench-api-secret-0123456789abcdef",
  SHOPIFY_APP_URL: "https://reclaim.bench.invalid",
  SCOPES: "read_orders,read_customers,write_discounts",
  DATABASE_URL: config.databaseUrl,
  ENCRYPTION_KEYS: `bench:${randomBytes(32).toString("base64")}`,
  LINK_SIGNING_SECRET: randomBytes(32).toString("hex"),
  JOB_RUNNER: "off",
  LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? "warn",
});

const fake = fork(
  path.join(root, "bench/shopify-sync-fake.ts"),
  [
    JSON.stringify({
      domain: DOMAIN,
      accessToken: TOKEN,
      count: config.count,
      seed: config.seed,
      bucketSize: config.bucketSize,
      restoreRate: config.restoreRate,
      bulkPollsToComplete: 2,
    }),
  ],
  { execArgv: ["--import", "tsx"], stdio: ["ignore", "inherit", "inherit", "ipc"] },
);
const ask = <T>(message: { type: string }, reply: string) =>
  new Promise<T>((resolve) => {
    const on = (m: { type: string }) => {
      if (m.type === reply) {
        fake.off("message", on);
        resolve(m as T);
      }
    };
    fake.on("message", on);
    if (message.type) fake.send(message);
  });
const ready = await ask<{ url: string; checkouts: number }>({ type: "" }, "ready");

const { db } = await import("../app/db.server");
const { sessionStorage } = await import("../app/shopify.server");
const { Session } = await import("@shopify/shopify-api");
const { setAbstractFetchFunc } = await import("@shopify/shopify-api/runtime");
const { fakeShopifyFetch } = await import("../app/demo/fakes/shopify-admin/server");
const { JobRunner } = await import("../test/helpers/jobs");
const { makeSyncShopifyCheckoutsJob } = await import("../app/jobs/definitions/sync-shopify-checkouts.server");
const { SHOPIFY_SYNC_JOB, requestShopifySync } = await import("../app/sources/shopify/sync-request.server");
const { startShopifySync } = await import("../app/sources/shopify/sync.server");

// After shopify.server is imported (its node adapter installs the real fetch): Shopify calls go to the fake.
setAbstractFetchFunc(fakeShopifyFetch(ready.url));
await sessionStorage.storeSession(
  new Session({
    id: `offline_${DOMAIN}`,
    shop: DOMAIN,
    state: "",
    isOnline: false,
    scope: process.env.SCOPES,
    accessToken: TOKEN,
    expires: new Date(Date.now() + 86_400_000),
  }),
);
const shop = await db.shop.create({ data: { domain: DOMAIN } });
// The install step's default campaign (3 steps, enabled), so storing a checkout also schedules its messages, as on
// every installed shop (without it, scheduling is skipped and the benchmark measures less than production does).
const { ensureDefaultCampaign } = await import("../app/models/campaign.server");
await ensureDefaultCampaign(db, shop.id);
if (config.mode === "poll") {
  // Catching up through the poll: a watermark older than every checkout, the backfill already done.
  await db.sourceSync.create({ data: { shopId: shop.id, source: "shopify", watermark: new Date(Date.now() - 31 * 86_400_000), backfillStatus: "done" } });
  await requestShopifySync(db, shop.id);
} else {
  // A new install: the poll finds nothing new, the backfill brings the 30 days of history by bulk operation.
  await startShopifySync(shop.id, db);
}

const runner = new JobRunner({ db, definitions: [makeSyncShopifyCheckoutsJob({ bulkPollIntervalMs: 1000 })] });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
await ask({ type: "refill" }, "refilled");
const started = performance.now();
const cpuStart = process.cpuUsage();
// Other work on the machine slows storing (CPU-bound): the load is reported next to the timings.
const loadSamples: number[] = [];
const sampler = setInterval(() => loadSamples.push(os.loadavg()[0]!), 5000);
for (;;) {
  await runner.drain();
  const next = await (
    await import("../test/helpers/jobs")
  )
    .jobTable(db)
    .findFirst({ where: { name: SHOPIFY_SYNC_JOB, shopId: shop.id, status: "queued" }, orderBy: { runAt: "asc" } });
  const wait = next ? next.runAt.getTime() - Date.now() : Infinity;
  if (wait >= 60_000) break; // caught up: the next run is the periodic one
  await sleep(Math.max(0, wait));
}
const wallMs = performance.now() - started;
const endedAt = Date.now();
const cpu = process.cpuUsage(cpuStart);
clearInterval(sampler);
loadSamples.push(os.loadavg()[0]!);
const stats = await ask<{
  stats: { requests: number; graphqlRequests: number; throttled: number; actualCost: number; requestedCost: number };
  bulk: { status: string; objectCount: number; fileSize: number; createdAt: string }[];
}>({ type: "stats" }, "stats");
const stored = await db.recovery.count({ where: { shopId: shop.id } });
const scheduled = await db.message.count({ where: { shopId: shop.id } });
const contacts = await db.contact.count({ where: { shopId: shop.id } });
const sync = await db.sourceSync.findFirstOrThrow({ where: { shopId: shop.id } });
fake.send({ type: "close" });

process.stdout.write(
  JSON.stringify({
    profile: config.profile,
    mode: config.mode,
    checkouts: ready.checkouts,
    stored,
    wallMs,
    // The backfill's own time: from the bulk operation's start (the fake's clock is this machine's) to caught up. The
    // run's poll of recent checkouts comes first (app/sources/shopify/sync.server.ts) and is paced by the rate limit.
    backfillMs: stats.bulk[0] ? endedAt - Date.parse(stats.bulk[0].createdAt) : null,
    cpuMs: (cpu.user + cpu.system) / 1000,
    loadAverage: loadSamples.reduce((a, b) => a + b, 0) / loadSamples.length,
    cpus: os.cpus().length,
    requests: stats.stats.graphqlRequests,
    throttled: stats.stats.throttled,
    actualCost: stats.stats.actualCost,
    requestedCost: stats.stats.requestedCost,
    bucketSize: config.bucketSize,
    restoreRate: config.restoreRate,
    peakRssMb: peakRssMb(),
    scheduled,
    contacts,
    bulk: stats.bulk,
    syncStatus: sync.status,
    lastError: sync.lastError,
  }) + "\n",
);
await db.$disconnect();
process.exit(0);
