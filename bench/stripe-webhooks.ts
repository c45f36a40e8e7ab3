/**
 * `npm run bench:stripe [-- --events 20000 --concurrency 50 --job-runner off|in-process --skip-build --skip-processing]`
 *
 * Stripe webhook ingestion under load, on the production build:
 *  1. builds the app (`remix vite:build`) into a private folder, so that a build started elsewhere in the working tree
 *     cannot change it under the server (`--skip-build` serves `build/` from `npm run build`); starts a private
 *     embedded PostgreSQL with default durability (or uses DATABASE_URL's server, bench/postgres.ts) and applies the
 *     committed migrations to a fresh database, creates a shop and connects Stripe to it with the same model code as
 *     `npm run stripe:connect`;
 *  2. starts the production server (`server/index.ts`, NODE_ENV=production, loopback) as a child process;
 *  3. from this (second) process, autocannon posts N distinct signed `checkout.session.expired` events (built from
 *     Stripe's fixtures, signed with stripe.webhooks.generateTestHeaderString) at concurrency C to
 *       - the baseline, POST /webhooks/stripe-verify-only/<id> (same lookup and signature check, stores nothing), then
 *       - the endpoint,  POST /webhooks/stripe/<id> (verify, store the event and its job in one transaction, 200), then
 *       - the baseline again: the ratio uses the faster baseline run, so a disturbance (another process, a cold JIT)
 *         during one baseline run cannot flatter the ratio;
 *  4. counts the events stored (must be N), then lets the job runner process them and times it: with
 *     `--job-runner off` (default) a separate `server/worker.ts` process starts after the load; with `in-process` the
 *     server's own runner works during the load, as in the default single-process deployment. `--skip-processing`
 *     leaves this step out (quicker runs while tuning the endpoint).
 * Prints markdown tables: accepted events/s, p50/p99 latency, errors, server CPU per event, stored rows, ratio, and
 * each target with PASS or MISS. Exits 1 when any target is missed or an event was lost or refused.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import Stripe from "stripe";
import { expiredSession, stripeEvent } from "../app/demo/fakes/stripe-api/objects";
import { freePort, startBenchDatabase } from "./postgres";
import { JOBS_WITH_PAYLOAD } from "../app/jobs/queue.server";

const { values: args } = parseArgs({
  options: {
    events: { type: "string", default: "20000" },
    concurrency: { type: "string", default: "50" },
    "job-runner": { type: "string", default: "off" },
    "skip-build": { type: "boolean", default: false },
    "skip-processing": { type: "boolean", default: false },
  },
});
const EVENTS = Number(args.events);
const CONCURRENCY = Number(args.concurrency);
const JOB_RUNNER = args["job-runner"] === "in-process" ? "in-process" : "off";
const WARMUP = 1000;
const TARGET = { eventsPerSecond: 500, p99Ms: 100, ratio: 0.7 };
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
const bin = (name: string) => path.join(root, "node_modules/.bin", name);
const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** CPU time (ms) a process has used so far, from /proc (Linux); null elsewhere. */
function cpuMs(pid: number): number | null {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime + stime, in USER_HZ (100/s)
  } catch {
    return null;
  }
}

/** Starts a Node process running a TypeScript entry (tsx loader in the same process, so its pid is the server's). */
function startNode(entry: string, env: Record<string, string>, ready: string | null): Promise<ChildProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", entry], { cwd: root, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "inherit"] });
  if (!ready) {
    child.stdout!.resume();
    return Promise.resolve(child);
  }
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${entry} did not start within 60 s`)), 60_000);
    child.stdout!.on("data", (chunk: Buffer) => {
      if (chunk.toString().includes(ready)) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.once("exit", (code) => reject(new Error(`${entry} exited with ${code}`)));
  });
}

async function stop(child: ChildProcess | null) {
  if (!child || child.exitCode !== null) return;
  child.kill("SIGTERM");
  await new Promise((r) => child.once("exit", r));
}

/** Distinct serialised events (event id, session id, email), from a template built once from Stripe's fixtures. */
function eventFactory(prefix: string) {
  const template = JSON.stringify(
    stripeEvent("checkout.session.expired", expiredSession({ id: "cs_test___SESSION__", email: "__EMAIL__", promotions: "opt_in", amountTotal: 4200 }), {
      id: "__EVENT__",
    }),
    null,
    2,
  );
  let n = 0;
  return () => {
    n++;
    const tag = `${prefix}${n.toString().padStart(6, "0")}`;
    return template
      .replace("__EVENT__", `evt_${tag}`)
      .replaceAll("cs_test___SESSION__", `cs_test_${tag}`)
      .replace("__EMAIL__", `buyer.${tag}@example.com`)
      .replace(/"created": \d+/, `"created": ${Math.floor(Date.now() / 1000)}`);
  };
}

interface Run {
  name: string;
  sent: number;
  accepted: number;
  errors: number;
  rate: number;
  p50: number;
  p99: number;
  cpuPerEvent: number | null;
}

async function load(name: string, url: string, amount: number, secret: string, prefix: string, serverPid: number): Promise<Run> {
  const next = eventFactory(prefix);
  const cpuBefore = cpuMs(serverPid);
  // autocannon's own `duration` ends at its next 1 s sampling tick after the last response, which would quantise the
  // rate (8 or 9 s for 20,000 events is 12% apart): time the run to the last response instead.
  const startedAt = performance.now();
  let lastResponseAt = startedAt;
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url,
        method: "POST",
        connections: CONCURRENCY,
        amount,
        timeout: 30,
        requests: [
          {
            setupRequest: (request) => {
              // Signed at send time (Stripe signs each delivery attempt), so no event is near the 300 s tolerance.
              const body = next();
              const signature = Stripe.webhooks.generateTestHeaderString({ payload: body, secret });
              return { ...request, body, headers: { "content-type": "application/json; charset=utf-8", "stripe-signature": signature } };
            },
          },
        ],
      },
      (error, r) => (error ? reject(error) : resolve(r)),
    );
    instance.on("response", () => (lastResponseAt = performance.now()));
  });
  const cpuAfter = cpuMs(serverPid);
  const accepted = result["2xx"];
  return {
    name,
    sent: result.requests.total,
    accepted,
    errors: result.non2xx + result.errors + result.timeouts,
    rate: accepted / ((lastResponseAt - startedAt) / 1000),
    p50: result.latency.p50,
    p99: result.latency.p99,
    cpuPerEvent: cpuBefore !== null && cpuAfter !== null && accepted > 0 ? (cpuAfter - cpuBefore) / accepted : null,
  };
}

async function main() {
  // Inside the repository, so that the server bundle resolves its packages from node_modules/.
  const buildDir = args["skip-build"] ? path.join(root, "build") : path.join(root, "node_modules/.cache/reclaim-bench", `build-${process.pid}`);
  if (!args["skip-build"]) {
    log(`building the app (remix vite:build) into ${path.relative(root, buildDir)}…`);
    execFileSync(bin("remix"), ["vite:build"], {
      cwd: root,
      env: { ...process.env, NODE_ENV: "production", REMIX_BUILD_DIR: buildDir },
      stdio: ["ignore", "ignore", "inherit"],
    });
  }
  const database = await startBenchDatabase("stripe", log);
  const port = await freePort();
  const env: Record<string, string> = {
    NODE_ENV: "production",
    REMIX_BUILD_DIR: buildDir,
    SHOPIFY_API_KEY: "bench-api-key",
    SHOPIFY_API_SECRET: randomBytes(24).toString("hex"),
    SHOPIFY_APP_URL: `http://127.0.0.1:${port}`,
    DATABASE_URL: database.url,
    ENCRYPTION_KEYS: `bench:${randomBytes(32).toString("base64")}`,
    LINK_SIGNING_SECRET: randomBytes(32).toString("hex"),
    HOST: "127.0.0.1",
    PORT: String(port),
    JOB_RUNNER,
    LOG_LEVEL: "warn",
    STRIPE_VERIFY_ONLY_ENDPOINT: "on",
  };
  let server: ChildProcess | null = null;
  let worker: ChildProcess | null = null;
  try {
    // Seed with the app's own code, in the environment the server will share the file with.
    Object.assign(process.env, env);
    const { db } = await import("../app/db.server");
    const { connectStripe } = await import("../app/models/stripe-connection.server");
    const shop = await db.shop.create({ data: { domain: "bench-store.myshopify.com" } });
    const secret = `whsec_${randomBytes(24).toString("hex")}`;
    const connected = await connectStripe(db, shop.id, { webhookSecret: secret });
    if (!connected.ok) throw new Error(`could not connect Stripe: ${JSON.stringify(connected.errors)}`);
    const connectionId = connected.connection.id;

    log(`starting the production server on 127.0.0.1:${port} (JOB_RUNNER=${JOB_RUNNER})…`);
    server = await startNode("server/index.ts", env, "Reclaim listening on");
    const pid = server.pid!;

    const base = `http://127.0.0.1:${port}`;
    const baselineUrl = `${base}/webhooks/stripe-verify-only/${connectionId}`;
    const ingestUrl = `${base}/webhooks/stripe/${connectionId}`;
    log("warming up…");
    await load("warm-up", baselineUrl, WARMUP, secret, "warmbase", pid);
    await load("warm-up", ingestUrl, WARMUP, secret, "warmingest", pid);
    if (JOB_RUNNER === "in-process") {
      while ((await (await import("../test/helpers/jobs")).jobTable(db).count({ where: { status: "queued" } })) > 0) await sleep(500);
    }

    log(`baseline: ${EVENTS} events at concurrency ${CONCURRENCY}…`);
    const baselineBefore = await load("verify-only baseline, before (`/webhooks/stripe-verify-only/<id>`)", baselineUrl, EVENTS, secret, "base", pid);
    log(`ingest: ${EVENTS} events at concurrency ${CONCURRENCY}…`);
    const ingest = await load("ingest (`/webhooks/stripe/<id>`)", ingestUrl, EVENTS, secret, "bench", pid);
    log(`baseline again: ${EVENTS} events at concurrency ${CONCURRENCY}…`);
    const baselineAfter = await load("verify-only baseline, after", baselineUrl, EVENTS, secret, "base2", pid);
    const baseline = baselineAfter.rate > baselineBefore.rate ? baselineAfter : baselineBefore;
    const stored = await db.inboundEvent.count({ where: { externalId: { startsWith: "evt_bench" } } });
    // Each stored event must have its processing job (written in the same transaction).
    const [{ jobs }] = await db.$queryRawUnsafe<[{ jobs: bigint | number }]>(
      `SELECT COUNT(*) AS jobs FROM ${JOBS_WITH_PAYLOAD} JOIN "InboundEvent" e ON e."id" = (jobs.payload::jsonb ->> 'inboundEventId')
       WHERE e."externalId" LIKE 'evt_bench%' AND jobs.task_identifier = 'process-stripe-event'`,
    );
    const storedJobs = Number(jobs);

    let processing: { processed: number; recoveries: number; seconds: number } | null = null;
    if (!args["skip-processing"]) {
      log("processing the stored events…");
      if (JOB_RUNNER === "off") worker = await startNode("server/worker.ts", { ...env, JOB_POLL_INTERVAL_MS: "50" }, null);
      const started = Date.now();
      let processed = 0;
      while (Date.now() - started < 900_000) {
        processed = await db.inboundEvent.count({ where: { externalId: { startsWith: "evt_bench" }, processedAt: { not: null } } });
        if (processed >= stored) break;
        await sleep(500);
      }
      const recoveries = await db.recovery.count({ where: { externalId: { startsWith: "cs_test_bench" } } });
      processing = { processed, recoveries, seconds: (Date.now() - started) / 1000 };
    }
    await db.$disconnect();

    const ratio = ingest.rate / baseline.rate;
    const verdict = (pass: boolean) => (pass ? "PASS" : "MISS");
    const fmt = (n: number) => Math.round(n).toLocaleString("en");
    const cores = os.cpus();
    const lines = [
      "",
      `### Stripe webhooks — ${EVENTS.toLocaleString("en")} distinct signed events, concurrency ${CONCURRENCY}, production build, ${database.description}, JOB_RUNNER=${JOB_RUNNER}`,
      "",
      `${cores.length} × ${cores[0]?.model.trim() ?? "cpu"}, Node ${process.version}; load generator and server on the same machine; load average at the end ${os
        .loadavg()
        .map((l) => l.toFixed(1))
        .join(" / ")}.`,
      "",
      "| endpoint | sent | accepted (2xx) | errors | accepted events/s | p50 ms | p99 ms | server CPU ms/event |",
      "|---|---:|---:|---:|---:|---:|---:|---:|",
      ...[baselineBefore, ingest, baselineAfter].map(
        (r) =>
          `| ${r.name} | ${fmt(r.sent)} | ${fmt(r.accepted)} | ${r.errors} | ${fmt(r.rate)} | ${r.p50} | ${r.p99} | ${r.cpuPerEvent?.toFixed(2) ?? "n/a"} |`,
      ),
      "",
      "| target (issue #4) | required | measured | |",
      "|---|---|---:|---|",
      `| accepted events/s | ≥ ${TARGET.eventsPerSecond} | ${fmt(ingest.rate)} | ${verdict(ingest.rate >= TARGET.eventsPerSecond)} |`,
      `| p99 latency | < ${TARGET.p99Ms} ms | ${ingest.p99} ms | ${verdict(ingest.p99 < TARGET.p99Ms)} |`,
      `| ratio to the verify-only baseline (${fmt(ingest.rate)} / ${fmt(baseline.rate)}, the faster baseline run) | ≥ ${TARGET.ratio} | ${ratio.toFixed(2)} | ${verdict(ratio >= TARGET.ratio)} |`,
      `| errors (non-2xx, timeouts) | 0 | ${ingest.errors} | ${verdict(ingest.errors === 0)} |`,
      `| events stored afterwards | ${fmt(EVENTS)} | ${fmt(stored)} | ${verdict(stored === EVENTS)} |`,
      `| jobs queued with them | ${fmt(EVENTS)} | ${fmt(storedJobs)} | ${verdict(storedJobs === EVENTS)} |`,
      processing
        ? `| processed by the job runner (${JOB_RUNNER === "off" ? "separate worker, after the load" : "in-process, during and after the load"}) | all | ${fmt(processing.processed)} (${fmt(processing.recoveries)} recoveries), ${processing.seconds.toFixed(0)} s after the load | ${verdict(processing.processed === stored)} |`
        : "| processed by the job runner | — | not run (`--skip-processing`) | |",
      "",
    ];
    process.stdout.write(lines.join("\n"));
    const lost = stored !== EVENTS || storedJobs !== EVENTS || ingest.errors > 0 || ingest.accepted !== EVENTS;
    if (lost) log(`FAILED: ${EVENTS - stored} events not stored, ${EVENTS - storedJobs} jobs missing, ${ingest.errors} errors`);
    const missed =
      ingest.rate < TARGET.eventsPerSecond || ingest.p99 >= TARGET.p99Ms || ratio < TARGET.ratio || (processing !== null && processing.processed !== stored);
    if (missed) log("FAILED: a target was missed (see MISS above)");
    process.exitCode = lost || missed ? 1 : 0;
  } finally {
    await stop(worker);
    await stop(server);
    await database.stop();
    if (!args["skip-build"]) rmSync(buildDir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
