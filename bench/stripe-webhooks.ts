/**
 * `npm run bench:stripe [-- --events 20000 --shops 100 --concurrency 50 --job-runner off|in-process --skip-build --skip-processing]`
 *
 * Stripe webhook ingestion under load, on the production build:
 *  1. builds the app (`remix vite:build`) into a private folder, so that a build started elsewhere in the working tree
 *     cannot change it under the server (`--skip-build` serves `build/` from `npm run build`); starts a private
 *     embedded PostgreSQL with default durability (or uses DATABASE_URL's server, bench/postgres.ts) and applies the
 *     committed migrations to a fresh database, creates S shops (default 100) and connects Stripe to each, with its own
 *     webhook secret, with the same model code as `npm run stripe:connect`;
 *  2. starts the production server (`server/index.ts`, NODE_ENV=production, loopback) as a child process;
 *  3. from this (second) process, autocannon posts N distinct signed Checkout events (built from Stripe's fixtures,
 *     signed with stripe.webhooks.generateTestHeaderString with the shop's secret) at concurrency C, spread over the
 *     shops unevenly as real shops are (Zipf: the biggest shop gets ~19% of the events with 100 shops, the smallest
 *     ~0.2%), interleaved. The mix is what a shop selling through Stripe Checkout sends (MIX below: most sessions
 *     expire unpaid, many complete, some complete through an earlier expired session's recovery link, a few are
 *     refunded); `--mix expired` sends only `checkout.session.expired` (the figures before ADR 096). They go to
 *       - the baseline, POST /webhooks/stripe-verify-only/<id> (same lookup and signature check, stores nothing), then
 *       - the endpoint,  POST /webhooks/stripe/<id> (verify, store the event and its job in one transaction, 200), then
 *       - the baseline again: the ratio uses the faster baseline run, so a disturbance (another process, a cold JIT)
 *         during one baseline run cannot flatter the ratio;
 *  4. counts the events stored (must be N), then lets the job runner process them and times it: with
 *     `--job-runner off` (default) a separate `server/worker.ts` process starts after the load; with `in-process` the
 *     server's own runner works during the load, as in the default single-process deployment. `--skip-processing`
 *     leaves this step out (quicker runs while tuning the endpoint). Processed events/s must be at least half the
 *     accepted events/s (issue 14). On the embedded PostgreSQL, pg_stat_statements counts the SQL statements the
 *     processing ran (every client: worker, queue engine; the benchmark's own polling left out); `--top-statements K`
 *     lists the K most frequent with their calls per event. The warm-up's events are removed before processing, so
 *     only the measured run's events are processed and counted. `--worker-cpu-prof <dir>` profiles the worker
 *     (node --cpu-prof). The worker polls at the deployment's JOB_POLL_INTERVAL_MS (1 s) unless `--poll-interval-ms`
 *     says otherwise (earlier runs used 50 ms, whose idle claim polls cost more database time than processing; ADR 096).
 * Prints markdown tables: accepted events/s, p50/p99 latency, errors, server CPU per event, stored rows, ratio,
 * processed events/s with worker CPU and statements per event, peak memory (VmHWM) of the server and worker, the
 * database's size, and each target with PASS or MISS. Exits 1 when any target is missed or an event was lost or refused.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import Stripe from "stripe";
import { completedSession, expiredSession, stripeEvent } from "../app/demo/fakes/stripe-api/objects";
import { refundedCharge } from "../app/demo/fakes/stripe-api/payments";
import { peakRssMb } from "./harness";
import { freePort, startBenchDatabase } from "./postgres";
import { JOBS_WITH_PAYLOAD } from "../app/jobs/queue.server";

const { values: args } = parseArgs({
  options: {
    events: { type: "string", default: "20000" },
    shops: { type: "string", default: "100" },
    concurrency: { type: "string", default: "50" },
    "job-runner": { type: "string", default: "off" },
    "skip-build": { type: "boolean", default: false },
    "skip-processing": { type: "boolean", default: false },
    mix: { type: "string", default: "checkout" },
    "top-statements": { type: "string", default: "0" },
    "worker-cpu-prof": { type: "string" },
    "poll-interval-ms": { type: "string" },
  },
});
const EVENTS = Number(args.events);
const SHOPS = Math.max(1, Number(args.shops));
const CONCURRENCY = Number(args.concurrency);
const JOB_RUNNER = args["job-runner"] === "in-process" ? "in-process" : "off";
const WARMUP = 1000;
const TOP_STATEMENTS = Number(args["top-statements"]);
/**
 * The share of each kind of event in `--mix checkout` (the default). An assumption, not a measurement: Stripe publishes
 * no such figures; checkout abandonment is commonly put at 60–70%, so most sessions expire unpaid and a good share
 * complete; a recovery link brings a few of the expired back; a few payments are refunded. Every kind is one Reclaim
 * subscribes to and acts on (no ignored types, which would flatter the rate).
 */
const MIX = { expired: 0.6, completed: 0.28, recovered: 0.08, refunded: 0.04 };
const ONLY_EXPIRED = args.mix === "expired";
const TARGET = { eventsPerSecond: 500, p99Ms: 100, ratio: 0.7, processedRatio: 0.5 };
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
function startNode(entry: string, env: Record<string, string>, ready: string | null, nodeArgs: string[] = []): Promise<ChildProcess> {
  const child = spawn(process.execPath, [...nodeArgs, "--import", "tsx", entry], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
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

/**
 * Which shop each event goes to: Zipf weights (shop i gets 1/i of the share of shop 1), so a few big shops and a long
 * tail, interleaved by a fixed pseudo-random order (the same for every run).
 */
function shopSequence(events: number, shops: number): number[] {
  const weights = Array.from({ length: shops }, (_, i) => 1 / (i + 1));
  const total = weights.reduce((a, b) => a + b, 0);
  const counts = weights.map((w) => Math.floor((w / total) * events));
  for (let i = 0; counts.reduce((a, b) => a + b, 0) < events; i++) counts[i % shops]!++;
  const sequence = counts.flatMap((n, shop) => Array.from({ length: n }, () => shop));
  let seed = 14;
  const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
  for (let i = sequence.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [sequence[i], sequence[j]] = [sequence[j]!, sequence[i]!];
  }
  return sequence;
}

interface BenchShop {
  connectionId: string;
  secret: string;
}

async function stop(child: ChildProcess | null) {
  if (!child || child.exitCode !== null) return;
  child.kill("SIGTERM");
  await new Promise((r) => child.once("exit", r));
}

type EventKind = keyof typeof MIX;
const KIND_LABEL: Record<EventKind, string> = {
  expired: "`checkout.session.expired`",
  completed: "`checkout.session.completed`",
  recovered: "`checkout.session.completed` through an earlier expired session's recovery link",
  refunded: "`charge.refunded` of an earlier completed payment",
};

/**
 * Distinct serialised events (event id, session id, email, payment intent) for a shop, from templates built once from
 * Stripe's fixtures. With the checkout mix, a completion through a recovery link names one of the shop's sessions that
 * expired earlier in the run (`recovered_from`), and a refund names one of its completed payments; until the shop has
 * one, a plain completion or expiry is sent instead.
 */
function eventFactory(prefix: string) {
  const template = (type: string, object: Record<string, unknown>) => JSON.stringify(stripeEvent(type, object, { id: "__EVENT__" }), null, 2);
  const expired = template(
    "checkout.session.expired",
    expiredSession({ id: "cs_test___SESSION__", email: "__EMAIL__", promotions: "opt_in", amountTotal: 4200 }),
  );
  const completed = template("checkout.session.completed", {
    ...completedSession({ id: "cs_test___SESSION__", email: "__EMAIL__", promotions: "opt_in", amountTotal: 4200, recoveredFrom: "__RECOVERED__" }),
    payment_intent: "pi___PI__",
  });
  const refunded = template("charge.refunded", { ...refundedCharge({ paymentIntent: "pi___PI__", amount: 4200, amountRefunded: 4200 }), id: "ch___CHARGE__" });
  const expiredOf = new Map<number, string[]>();
  const paidOf = new Map<number, string[]>();
  const sent: Record<EventKind, number> = { expired: 0, completed: 0, recovered: 0, refunded: 0 };
  let n = 0;
  let seed = 96;
  const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
  const pick = (list: string[] | undefined) => (list && list.length > 0 ? list.splice(Math.floor(random() * list.length), 1)[0]! : null);
  const next = (shop: number) => {
    n++;
    const tag = `${prefix}${n.toString().padStart(6, "0")}`;
    let kind: EventKind = "expired";
    if (!ONLY_EXPIRED) {
      const r = random();
      kind = r < MIX.expired ? "expired" : r < MIX.expired + MIX.completed ? "completed" : r < 1 - MIX.refunded ? "recovered" : "refunded";
    }
    const recoveredFrom = kind === "recovered" ? pick(expiredOf.get(shop)) : null;
    const refundOf = kind === "refunded" ? pick(paidOf.get(shop)) : null;
    if (kind === "recovered" && !recoveredFrom) kind = "completed";
    if (kind === "refunded" && !refundOf) kind = "expired";
    sent[kind]++;
    const body =
      kind === "expired"
        ? expired
        : kind === "refunded"
          ? refunded.replaceAll("pi___PI__", `pi_${refundOf}`).replace("ch___CHARGE__", `ch_${tag}`)
          : completed.replace('"__RECOVERED__"', recoveredFrom ? `"cs_test_${recoveredFrom}"` : "null").replaceAll("pi___PI__", `pi_${tag}`);
    if (kind === "expired") expiredOf.set(shop, [...(expiredOf.get(shop) ?? []), tag]);
    if (kind === "completed" || kind === "recovered") paidOf.set(shop, [...(paidOf.get(shop) ?? []), tag]);
    return body
      .replace("__EVENT__", `evt_${tag}`)
      .replaceAll("cs_test___SESSION__", `cs_test_${tag}`)
      .replace("__EMAIL__", `buyer.${tag}@example.com`)
      .replace(/"created": \d+/, `"created": ${Math.floor(Date.now() / 1000)}`);
  };
  return { next, sent };
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
  /** Events sent of each kind. */
  sentKinds: Record<EventKind, number>;
}

async function load(name: string, base: string, route: string, amount: number, shops: BenchShop[], prefix: string, serverPid: number): Promise<Run> {
  const factory = eventFactory(prefix);
  const sequence = shopSequence(amount, shops.length);
  let sent = 0;
  const cpuBefore = cpuMs(serverPid);
  // autocannon's own `duration` ends at its next 1 s sampling tick after the last response, which would quantise the
  // rate (8 or 9 s for 20,000 events is 12% apart): time the run to the last response instead.
  const startedAt = performance.now();
  let lastResponseAt = startedAt;
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: base,
        method: "POST",
        connections: CONCURRENCY,
        amount,
        timeout: 30,
        requests: [
          {
            setupRequest: (request) => {
              // Signed at send time (Stripe signs each delivery attempt), so no event is near the 300 s tolerance.
              const index = sequence[sent++ % sequence.length]!;
              const shop = shops[index]!;
              const body = factory.next(index);
              const signature = Stripe.webhooks.generateTestHeaderString({ payload: body, secret: shop.secret });
              return {
                ...request,
                path: `${route}/${shop.connectionId}`,
                body,
                headers: { "content-type": "application/json; charset=utf-8", "stripe-signature": signature },
              };
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
    sentKinds: factory.sent,
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
  // pg_stat_statements (embedded server only) counts the statements processing runs per event.
  const database = await startBenchDatabase("stripe", log, { shared_preload_libraries: "pg_stat_statements" });
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
    const shops: BenchShop[] = [];
    for (let i = 0; i < SHOPS; i++) {
      const shop = await db.shop.create({ data: { domain: `bench-store-${i + 1}.myshopify.com` } });
      const secret = `whsec_${randomBytes(24).toString("hex")}`;
      const connected = await connectStripe(db, shop.id, { webhookSecret: secret });
      if (!connected.ok) throw new Error(`could not connect Stripe: ${JSON.stringify(connected.errors)}`);
      shops.push({ connectionId: connected.connection.id, secret });
    }
    const biggest = shopSequence(EVENTS, SHOPS).filter((s) => s === 0).length;

    log(`starting the production server on 127.0.0.1:${port} (JOB_RUNNER=${JOB_RUNNER})…`);
    server = await startNode("server/index.ts", env, "Reclaim listening on");
    const pid = server.pid!;

    const base = `http://127.0.0.1:${port}`;
    const baselineRoute = "/webhooks/stripe-verify-only";
    const ingestRoute = "/webhooks/stripe";
    log("warming up…");
    await load("warm-up", base, baselineRoute, WARMUP, shops, "warmbase", pid);
    await load("warm-up", base, ingestRoute, WARMUP, shops, "warmingest", pid);
    if (JOB_RUNNER === "in-process") {
      while ((await (await import("../test/helpers/jobs")).jobTable(db).count({ where: { status: "queued" } })) > 0) await sleep(500);
    } else {
      // The warm-up's events are not the run's: removed with their jobs, so the worker processes only what is measured.
      const { completeJobs } = await import("../app/jobs/queue.server");
      const warm = await db.$queryRawUnsafe<{ id: string }[]>(
        `SELECT jobs.id::text AS id FROM ${JOBS_WITH_PAYLOAD} JOIN "InboundEvent" e ON e."id" = (jobs.payload::jsonb ->> 'inboundEventId') WHERE e."externalId" LIKE 'evt_warmingest%'`,
      );
      await completeJobs(
        db,
        warm.map((w) => w.id),
      );
      await db.inboundEvent.deleteMany({ where: { externalId: { startsWith: "evt_warmingest" } } });
    }

    log(`baseline: ${EVENTS} events at concurrency ${CONCURRENCY}…`);
    const baselineBefore = await load("verify-only baseline, before (`/webhooks/stripe-verify-only/<id>`)", base, baselineRoute, EVENTS, shops, "base", pid);
    log(`ingest: ${EVENTS} events at concurrency ${CONCURRENCY}…`);
    const ingest = await load("ingest (`/webhooks/stripe/<id>`)", base, ingestRoute, EVENTS, shops, "bench", pid);
    log(`baseline again: ${EVENTS} events at concurrency ${CONCURRENCY}…`);
    const baselineAfter = await load("verify-only baseline, after", base, baselineRoute, EVENTS, shops, "base2", pid);
    const baseline = baselineAfter.rate > baselineBefore.rate ? baselineAfter : baselineBefore;
    const stored = await db.inboundEvent.count({ where: { externalId: { startsWith: "evt_bench" } } });
    // Each stored event must have its processing job (written in the same transaction).
    const [{ jobs }] = await db.$queryRawUnsafe<[{ jobs: bigint | number }]>(
      `SELECT COUNT(*) AS jobs FROM ${JOBS_WITH_PAYLOAD} JOIN "InboundEvent" e ON e."id" = (jobs.payload::jsonb ->> 'inboundEventId')
       WHERE e."externalId" LIKE 'evt_bench%' AND jobs.task_identifier = 'process-stripe-event'`,
    );
    const storedJobs = Number(jobs);

    // Statements counted from here on (embedded server: pg_stat_statements is loaded; elsewhere it may not be).
    const statementsCounted = await db
      .$executeRawUnsafe("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
      .then(() => db.$queryRawUnsafe("SELECT pg_stat_statements_reset()"))
      .then(
        () => true,
        () => false,
      );
    let processing: {
      processed: number;
      recoveries: number;
      seconds: number;
      cpuPerEvent: number | null;
      statementsPerEvent: number | null;
    } | null = null;
    if (!args["skip-processing"]) {
      log("processing the stored events…");
      const profile = args["worker-cpu-prof"] ? ["--cpu-prof", `--cpu-prof-dir=${args["worker-cpu-prof"]}`] : [];
      // The deployment's poll interval (JOB_POLL_INTERVAL_MS, 1 s by default) unless asked: a worker with nothing it may
      // claim (every remaining job in a lane another worker holds) polls at this rate, and each poll scans those jobs.
      const poll: Record<string, string> = args["poll-interval-ms"] ? { JOB_POLL_INTERVAL_MS: args["poll-interval-ms"] } : {};
      if (JOB_RUNNER === "off") worker = await startNode("server/worker.ts", { ...env, ...poll }, "Reclaim worker", profile);
      const runnerPid = worker?.pid ?? pid;
      const cpuBefore = cpuMs(runnerPid);
      // Timed from the worker's "started" line (its start-up is not processing).
      const started = Date.now();
      let processed = 0;
      while (Date.now() - started < 900_000) {
        const [row] = await db.$queryRawUnsafe<[{ n: number }]>(
          `/* bench-poll */ SELECT count(*)::int AS n FROM "InboundEvent" WHERE "externalId" LIKE 'evt_bench%' AND "processedAt" IS NOT NULL`,
        );
        processed = row.n;
        if (processed >= stored) break;
        await sleep(250);
      }
      const seconds = (Date.now() - started) / 1000;
      const cpuAfter = cpuMs(runnerPid);
      const [{ calls }] = statementsCounted
        ? await db.$queryRawUnsafe<[{ calls: number }]>(
            `SELECT COALESCE(sum(calls), 0)::int AS calls FROM pg_stat_statements WHERE query NOT LIKE '%bench-poll%' AND query NOT LIKE '%pg_stat_statements%'`,
          )
        : [{ calls: 0 }];
      if (statementsCounted && TOP_STATEMENTS > 0) {
        const top = await db.$queryRawUnsafe<{ calls: number; ms: number; query: string }[]>(
          `SELECT calls::int AS calls, total_exec_time::float8 AS ms, left(regexp_replace(query, '\\s+', ' ', 'g'), 150) AS query FROM pg_stat_statements
           WHERE query NOT LIKE '%bench-poll%' AND query NOT LIKE '%pg_stat_statements%' ORDER BY calls DESC LIMIT $1`,
          TOP_STATEMENTS,
        );
        log("statements by calls (calls/event, database ms in all, statement):");
        for (const t of top) log(`  ${(t.calls / Math.max(1, processed)).toFixed(3)}  ${Math.round(t.ms)} ms  ${t.query}`);
      }
      const recoveries = await db.recovery.count({ where: { externalId: { startsWith: "cs_test_bench" } } });
      processing = {
        processed,
        recoveries,
        seconds,
        cpuPerEvent: cpuBefore !== null && cpuAfter !== null && processed > 0 && JOB_RUNNER === "off" ? (cpuAfter - cpuBefore) / processed : null,
        statementsPerEvent: statementsCounted && processed > 0 ? calls / processed : null,
      };
    }
    const [{ bytes }] = await db.$queryRawUnsafe<[{ bytes: bigint }]>("SELECT pg_database_size(current_database()) AS bytes");
    const serverPeakMb = server.pid ? peakRssMb(server.pid) : null;
    const workerPeakMb = worker?.pid ? peakRssMb(worker.pid) : null;
    await db.$disconnect();

    const ratio = ingest.rate / baseline.rate;
    const processedRate = processing ? processing.processed / processing.seconds : null;
    const processedRatio = processedRate !== null ? processedRate / ingest.rate : null;
    const mb = (n: number | null) => (n === null ? "n/a" : `${Math.round(n)} MB`);
    const verdict = (pass: boolean) => (pass ? "PASS" : "MISS");
    const fmt = (n: number) => Math.round(n).toLocaleString("en");
    const cores = os.cpus();
    const lines = [
      "",
      `### Stripe webhooks — ${EVENTS.toLocaleString("en")} distinct signed events over ${SHOPS} connected shops (the biggest ${fmt(biggest)} events), concurrency ${CONCURRENCY}, production build, ${database.description}, JOB_RUNNER=${JOB_RUNNER}`,
      "",
      ONLY_EXPIRED
        ? "Events: `checkout.session.expired` only (`--mix expired`)."
        : `Events (the measured run): ${(Object.keys(ingest.sentKinds) as EventKind[]).map((k) => `${fmt(ingest.sentKinds[k])} ${KIND_LABEL[k]}`).join(", ")}.`,
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
      processing && processedRate !== null && processedRatio !== null
        ? `| processed events/s ÷ accepted events/s (${fmt(processedRate)} / ${fmt(ingest.rate)}; issue 14) | ≥ ${TARGET.processedRatio} | ${processedRatio.toFixed(2)} | ${verdict(processedRatio >= TARGET.processedRatio)} |`
        : "| processed events/s ÷ accepted events/s (issue 14) | — | not run | |",
      "",
      "| processing, per event | measured |",
      "|---|---:|",
      `| processed events/s | ${processedRate !== null ? fmt(processedRate) : "n/a"} |`,
      `| worker CPU ms/event | ${processing?.cpuPerEvent?.toFixed(2) ?? "n/a"} |`,
      `| SQL statements/event (pg_stat_statements, every client) | ${processing?.statementsPerEvent?.toFixed(1) ?? "n/a"} |`,
      "",
      "| after the run | measured |",
      "|---|---:|",
      `| peak memory (VmHWM), server | ${mb(serverPeakMb)} |`,
      `| peak memory (VmHWM), worker | ${JOB_RUNNER === "off" ? mb(workerPeakMb) : "in the server"} |`,
      `| database size (pg_database_size) | ${(Number(bytes) / 1024 / 1024).toFixed(0)} MB |`,
      "",
    ];
    process.stdout.write(lines.join("\n"));
    const lost = stored !== EVENTS || storedJobs !== EVENTS || ingest.errors > 0 || ingest.accepted !== EVENTS;
    if (lost) log(`FAILED: ${EVENTS - stored} events not stored, ${EVENTS - storedJobs} jobs missing, ${ingest.errors} errors`);
    const missed =
      ingest.rate < TARGET.eventsPerSecond ||
      ingest.p99 >= TARGET.p99Ms ||
      ratio < TARGET.ratio ||
      (processing !== null && processing.processed !== stored) ||
      (processedRatio !== null && processedRatio < TARGET.processedRatio);
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
