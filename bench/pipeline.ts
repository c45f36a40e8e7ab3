/**
 * `npm run bench:pipeline [-- --recoveries 1000000 --send 3000 --concurrency 8]`
 *
 * The recovery pipeline at scale, on PostgreSQL (bench/postgres.ts: a private embedded cluster with default durability,
 * fsync on, unless DATABASE_URL is set, then a fresh database on that server):
 *  1. migrates a fresh database with applyMigrations, then bulk-loads it inside PostgreSQL (INSERT … SELECT FROM
 *     generate_series, bench/seed.ts; seeding is not what is measured): 1 shop, the default campaign, N contacts,
 *     N recoveries (half Shopify, half Stripe) and 3N messages — most scheduled in the future, a realistic share
 *     already sent or skipped, and `--send` of them due now;
 *  2. times the due-message sweep (the job `send-due-messages`: recover interrupted sends + enqueue one send job per
 *     due message) with nothing due, and with a full batch (500) due;
 *  3. sends the due messages for real: the job runner (claim → decide → render the default Liquid template → SMTP)
 *     to a local smtp-server sink in another process, and reports sustained emails per second.
 * Prints a markdown table with the targets (sweep p95 < 50 ms, ≥ 200 emails/s on a 2-core machine, none unsent); exits
 * 1 when one is missed.
 */
import { spawn } from "node:child_process";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { benchAppEnv, startBenchDatabase, type BenchDatabase } from "./postgres";
import { bulkLoad, connect, recomputeDailyStats, tsFromMs } from "./seed";

const { values: args } = parseArgs({
  options: {
    recoveries: { type: "string", default: "1000000" },
    send: { type: "string", default: "3000" },
    concurrency: { type: "string", default: "8" },
    workers: { type: "string", default: "0" },
  },
});
const RECOVERIES = Number(args.recoveries);
const SEND = Number(args.send);
const CONCURRENCY = Number(args.concurrency);
/** Worker processes (`npm run worker`, as deployed); 0 runs the job runner inside this process. */
const WORKERS = Number(args.workers);
const TARGET = { sweepMs: 50, emailsPerSecond: 200 };
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);
const H = 3_600_000;
const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))]!;

async function startSink(): Promise<{ port: number; report(): Promise<{ received: number; bytes: number; cpuMs: number }>; stop(): void }> {
  const child = spawn(process.execPath, ["--import", "tsx", path.join(root, "bench/smtp-sink.ts")], { stdio: ["pipe", "pipe", "inherit"] });
  let buffer = "";
  const waiters: ((line: string) => void)[] = [];
  child.stdout.setEncoding("utf8");
  child.stdout.on("data", (chunk: string) => {
    buffer += chunk;
    let nl: number;
    while ((nl = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      waiters.shift()?.(line);
    }
  });
  const nextLine = () => new Promise<string>((resolve) => waiters.push(resolve));
  const port = Number((await nextLine()).split(" ")[1]);
  return {
    port,
    async report() {
      const line = nextLine();
      child.stdin.write("report\n");
      const [, received, bytes, cpuMs] = (await line).split(" ");
      return { received: Number(received), bytes: Number(bytes), cpuMs: Number(cpuMs) };
    },
    stop: () => child.kill("SIGTERM"),
  };
}

let database: BenchDatabase | null = null;

async function main() {
  database = await startBenchDatabase("pipeline", log);
  Object.assign(process.env, benchAppEnv(database.url));
  const sink = await startSink();
  cleanup.push(() => sink.stop());
  const now = Date.now();
  const seedStarted = performance.now();
  const { DEFAULT_STEPS } = await import("../app/recovery/campaign-defaults");
  const raw = await connect(database.url);
  const at = tsFromMs("$1::bigint");
  await raw.query(
    `INSERT INTO "Shop" ("id", "domain", "name", "timezone", "emailTransport", "smtpHost", "smtpPort", "smtpSecure", "senderName", "senderEmail", "postalAddress", "grantedScopes", "createdAt", "updatedAt", "installedAt")
     VALUES ('shop1', 'bench-shop.myshopify.com', 'Bench Outfitters', 'UTC', 'smtp', '127.0.0.1', $2, false, 'Bench Outfitters', 'hello@bench.test', '1 Market Street, Springfield, USA', 'read_orders', ${at}, ${at}, ${at})`,
    [now, sink.port],
  );
  await raw.query(
    `INSERT INTO "Campaign" ("id", "shopId", "name", "isDefault", "enabled", "sources", "currencies", "createdAt", "updatedAt") VALUES ('camp1', 'shop1', 'Default', true, true, 'both', '', ${at}, ${at})`,
    [now],
  );
  for (const s of DEFAULT_STEPS) {
    await raw.query(
      `INSERT INTO "CampaignStep" ("id", "campaignId", "position", "delayMinutes", "subject", "bodyTemplate", "incentiveType", "incentiveValue", "incentiveExpiresDays", "createdAt", "updatedAt")
       VALUES ($2, 'camp1', $3, $4, $5, $6, $7, $8, $9, ${at}, ${at})`,
      [now, `step${s.position}`, s.position, s.delayMinutes, s.subject, s.bodyTemplate, s.incentiveType, s.incentiveValue, s.incentiveExpiresDays],
    );
  }
  const lineItemsJson = JSON.stringify([
    {
      title: "Linen shirt",
      variantTitle: "Sand / L",
      quantity: 1,
      imageUrl: "https://cdn.shopify.com/s/files/shirt.jpg",
      unitPriceMinor: 6450,
      totalPriceMinor: 6450,
    },
    { title: "Canvas tote", variantTitle: null, quantity: 2, imageUrl: null, unitPriceMinor: 1800, totalPriceMinor: 3600 },
  ]);
  const shopifyEvidence = JSON.stringify({ state: "opt_in", source: "shopify.checkout.buyer_accepts_marketing", detail: { buyer_accepts_marketing: true } });
  const stripeEvidence = JSON.stringify({ state: "opt_in", source: "stripe.consent.promotions", detail: { promotions: "opt_in" } });
  const delays = DEFAULT_STEPS.map((s) => s.delayMinutes * 60_000);

  // Generated in PostgreSQL, in chunks (one transaction; triggers, secondary indexes and foreign keys off meanwhile:
  // bench/seed.ts). The first SEND recoveries have step 1 due now; about half of the rest are 30 h old (steps 1–2
  // done, step 3 scheduled in 42 h); the others were abandoned in the last 50 minutes (all three steps ahead). Due ones
  // were abandoned over the last hour (a second apart), like real traffic. Odd recoveries are Stripe's.
  await bulkLoad(raw, ["Contact", "Recovery", "Message"], async () => {
    const CHUNK = 250_000;
    for (let from = 0; from < RECOVERIES; from += CHUNK) {
      const to = Math.min(RECOVERIES, from + CHUNK);
      await raw.query(
        `CREATE TEMP TABLE seed ON COMMIT DROP AS
         SELECT i, i % 2 = 1 AS stripe, kind, 'buyer' || i || '@example.com' AS email,
           $1::bigint - CASE kind WHEN 'due' THEN 61 * 60000 + (i % 3600) * 1000 WHEN 'older' THEN 30 * ${H}::bigint + (i % 3600) * 1000 ELSE (i % 3000) * 1000 END AS abandoned_ms
         FROM (SELECT i, CASE WHEN i < $4 THEN 'due' WHEN i % 2 = 0 THEN 'older' ELSE 'fresh' END AS kind FROM generate_series($2::int, $3::int - 1) AS i) k`,
        [now, from, to, SEND],
      );
      await raw.query(
        `INSERT INTO "Contact" ("id", "shopId", "email", "firstName", "createdAt", "updatedAt") SELECT 'c' || i, 'shop1', email, 'Robin', ${tsFromMs("abandoned_ms")}, ${tsFromMs("abandoned_ms")} FROM seed`,
      );
      await raw.query(
        `INSERT INTO "Recovery" ("id", "shopId", "source", "externalId", "checkoutToken", "contactId", "email", "firstName", "consent", "consentEvidence", "lineItems", "totalMinor", "currency", "locale", "recoveryUrl", "recoveryUrlExpiresAt", "abandonedAt", "sourceUpdatedAt", "status", "createdAt", "updatedAt")
         SELECT 'r' || i, 'shop1', CASE WHEN stripe THEN 'stripe' ELSE 'shopify' END, CASE WHEN stripe THEN 'cs_bench_' || i ELSE 'gid://shopify/AbandonedCheckout/' || i END,
           CASE WHEN stripe THEN NULL ELSE 'tok' || i END, 'c' || i, email, 'Robin', 'opt_in', CASE WHEN stripe THEN $1 ELSE $2 END, $3, 10050,
           CASE WHEN stripe THEN 'EUR' ELSE 'USD' END, CASE WHEN stripe THEN 'de-DE' ELSE 'en' END,
           CASE WHEN stripe THEN 'https://checkout.stripe.com/c/pay/cs_bench_' || i ELSE 'https://bench-shop.myshopify.com/1/checkouts/ac/tok' || i || '/recover?key=k' || i END,
           CASE WHEN stripe THEN ${tsFromMs(`abandoned_ms + 30 * 24 * ${H}::bigint`)} END, ${tsFromMs("abandoned_ms")}, ${tsFromMs("abandoned_ms")},
           CASE WHEN kind = 'older' THEN 'contacting' ELSE 'open' END, ${tsFromMs("abandoned_ms")}, ${tsFromMs("abandoned_ms")}
         FROM seed`,
        [stripeEvidence, shopifyEvidence, lineItemsJson],
      );
      await raw.query(
        `INSERT INTO "Message" ("id", "shopId", "recoveryId", "campaignId", "stepId", "position", "status", "scheduledFor", "claimedAt", "sentAt", "skipReason", "toEmail", "attempts", "createdAt", "updatedAt")
         SELECT 'm' || i || '_' || s, 'shop1', 'r' || i, 'camp1', 'step' || s, s, status, due, CASE WHEN done THEN due END, CASE WHEN status = 'sent' THEN due END,
           CASE WHEN status = 'skipped' THEN 'frequency_cap' END, email, done::int, ${tsFromMs("abandoned_ms")}, ${tsFromMs("abandoned_ms")}
         FROM (
           SELECT seed.*, s, ${tsFromMs("abandoned_ms + ($1::bigint[])[s]")} AS due, kind = 'older' AND s < 3 AS done,
             CASE WHEN kind = 'older' AND s < 3 THEN CASE WHEN s = 2 AND i % 10 = 0 THEN 'skipped' ELSE 'sent' END ELSE 'scheduled' END AS status
           FROM seed CROSS JOIN generate_series(1, 3) AS s
         ) m`,
        [delays],
      );
      await raw.query("DROP TABLE seed");
      if ((from / CHUNK) % 2 === 0 || to === RECOVERIES) log(`seeded ${to.toLocaleString("en")} recoveries`);
    }
    log("rebuilding indexes, foreign keys and DailyStat");
    await recomputeDailyStats(raw, "shop1");
  });
  const { rows: countRows } = await raw.query<Record<string, string>>(
    `SELECT (SELECT count(*) FROM "Recovery") AS recoveries, (SELECT count(*) FROM "Message") AS messages, (SELECT count(*) FROM "Message" WHERE "status" = 'scheduled') AS scheduled,
       (SELECT count(*) FROM "Message" WHERE "status" = 'scheduled' AND "scheduledFor" <= ${tsFromMs("$1::bigint")}) AS due`,
    [Date.now()],
  );
  const counts = Object.fromEntries(Object.entries(countRows[0]!).map(([k, v]) => [k, Number(v)]));
  await raw.end();
  const seedSeconds = (performance.now() - seedStarted) / 1000;
  log(`seeded in ${seedSeconds.toFixed(1)} s: ${JSON.stringify(counts)}`);

  // ---------------------------------------------------------------------------------------------------------------
  // The sweep
  const { db } = await import("../app/db.server");
  const { sendDueMessages } = await import("../app/jobs/definitions/send-due-messages.server");
  const messageModel = await import("../app/models/message.server");
  const { SWEEP_BATCH, ENQUEUE_DUE_SQL } = messageModel;
  // The plan of the sweep's query with the due batch waiting (EXPLAIN only: nothing is inserted), with the arguments
  // enqueueDueSendJobs passes (now, batch, and the per-shop cap where the query has one).
  const perShop = (messageModel as Record<string, unknown>).SWEEP_PER_SHOP ?? SWEEP_BATCH;
  const parameters = Math.max(...[...ENQUEUE_DUE_SQL.matchAll(/\$(\d+)/g)].map((m) => Number(m[1])));
  const plan = (await db.$queryRawUnsafe(`EXPLAIN ${ENQUEUE_DUE_SQL}`, ...[new Date(), SWEEP_BATCH, perShop].slice(0, parameters))) as {
    "QUERY PLAN": string;
  }[];
  const clockAt = (ms: number) => ({ now: () => new Date(ms) });
  const sweepOnce = async (ms: number) => {
    const job = await (await import("../test/helpers/jobs")).jobTable(db).create({ data: { name: "send-due-messages", payload: "{}", runAt: new Date(ms) } });
    const t0 = performance.now();
    await sendDueMessages.run({
      payload: {},
      db,
      clock: clockAt(ms),
      job: { id: job.id, name: job.name, attempts: 1, shopId: null },
      signal: new AbortController().signal,
    });
    const elapsed = performance.now() - t0;
    await (await import("../test/helpers/jobs")).jobTable(db).deleteMany({ where: { name: "send-due-messages" } });
    return elapsed;
  };
  // Nothing due: the clock an hour and a half ago (before the earliest scheduled message).
  const idle: number[] = [];
  for (let i = 0; i < 30; i++) idle.push(await sweepOnce(now - 90 * 60_000));
  // A full batch due: enqueue 500 send jobs, then remove them so the next run does the same work.
  const full: number[] = [];
  let enqueued = 0;
  for (let i = 0; i < 20; i++) {
    full.push(await sweepOnce(Date.now()));
    enqueued = await (await import("../test/helpers/jobs")).jobTable(db).count({ where: { name: "send-message" } });
    await (await import("../test/helpers/jobs")).jobTable(db).deleteMany({ where: { name: "send-message" } });
  }
  log(`sweep idle p50 ${quantile(idle, 0.5).toFixed(2)} ms, full batch p50 ${quantile(full, 0.5).toFixed(2)} ms (${enqueued} jobs)`);

  // ---------------------------------------------------------------------------------------------------------------
  // Sending
  const { renderEmail } = await import("../app/email/render");
  const { sampleTemplateInput, templateVariables } = await import("../app/recovery/template");
  const vars = templateVariables(sampleTemplateInput());
  const renderStarted = performance.now();
  for (let i = 0; i < 2000; i++) renderEmail(DEFAULT_STEPS[i % 3]!, vars);
  const rendersPerSecond = 2000 / ((performance.now() - renderStarted) / 1000);

  const { ensureSweepScheduled } = await import("../app/models/message.server");
  const { jobDefinitions } = await import("../app/jobs/registry.server");
  const { JobRunner } = await import("../test/helpers/jobs");
  const { closeTransports } = await import("../app/email/transport.server");

  interface Phase {
    label: string;
    delivered: number;
    emailsPerSecond: number;
    sendSeconds: number;
    wallSeconds: number;
    cpuMsPerEmail: number;
    sinkCpuMsPerEmail: number;
    loadBefore: number;
    loadAfter: number;
    failed: number;
  }
  async function sendPhase(label: string, makeRunner: (() => InstanceType<typeof JobRunner>) | null): Promise<Phase> {
    const before = await sink.report();
    const loadBefore = os.loadavg()[0]!;
    const phaseStart = new Date();
    const cpuBefore = process.cpuUsage();
    const sendStarted = performance.now();
    const stopWorkers: (() => Promise<void>)[] = [];
    await ensureSweepScheduled(db, new Date());
    if (makeRunner) {
      const runner = makeRunner();
      runner.start();
      stopWorkers.push(async () => {
        await runner.stop();
        closeTransports();
      });
    } else {
      for (let w = 0; w < WORKERS; w++) {
        const child = spawn(process.execPath, ["--import", "tsx", path.join(root, "server/worker.ts")], {
          cwd: root,
          env: { ...process.env, JOB_CONCURRENCY: String(CONCURRENCY), JOB_POLL_INTERVAL_MS: "20" },
          stdio: ["ignore", "ignore", "inherit"],
        });
        cleanup.push(() => child.kill("SIGTERM"));
        stopWorkers.push(
          () => new Promise<void>((resolve) => (child.exitCode !== null ? resolve() : (child.once("exit", () => resolve()), child.kill("SIGTERM")))),
        );
      }
    }
    const newlySent = { shopId: "shop1", sentAt: { gte: phaseStart }, status: "sent" };
    let sent = 0;
    while (sent < SEND) {
      await new Promise((r) => setTimeout(r, 200));
      sent = await db.message.count({ where: newlySent });
      if (performance.now() - sendStarted > 600_000) throw new Error(`only ${sent} of ${SEND} sent after 10 minutes`);
    }
    const wallSeconds = (performance.now() - sendStarted) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    const loadAfter = os.loadavg()[0]!;
    await Promise.all(stopWorkers.map((stop) => stop()));
    const span = await db.message.aggregate({ where: newlySent, _min: { sentAt: true }, _max: { sentAt: true } });
    // Sustained: from the first email to the last (start-up excluded, which the wall time includes).
    const sendSeconds = Math.max(0.001, (span._max.sentAt!.getTime() - span._min.sentAt!.getTime()) / 1000);
    const after = await sink.report();
    const delivered = after.received - before.received;
    const failed = await db.message.count({ where: { status: { in: ["failed", "skipped"] }, updatedAt: { gte: phaseStart }, position: 1 } });
    return {
      label,
      delivered,
      emailsPerSecond: (delivered - 1) / sendSeconds,
      sendSeconds,
      wallSeconds,
      // CPU time is what other processes on a shared machine can't take away (in-process runner only).
      cpuMsPerEmail: makeRunner ? (cpu.user + cpu.system) / 1000 / delivered : NaN,
      sinkCpuMsPerEmail: (after.cpuMs - before.cpuMs) / delivered,
      loadBefore,
      loadAfter,
      failed,
    };
  }

  const makeShipped = () => new JobRunner({ db, definitions: jobDefinitions, concurrency: CONCURRENCY, pollIntervalMs: 10, workerId: "bench" });
  const phases: Phase[] = [];
  phases.push(
    await sendPhase(WORKERS === 0 ? "in-process job runner (as shipped)" : `${WORKERS} × \`npm run worker\` (as shipped)`, WORKERS === 0 ? makeShipped : null),
  );
  await db.$disconnect();
  sink.stop();

  const shipped = phases[0]!;
  const sweepFullP50 = quantile(full, 0.5);
  const yes = (ok: boolean) => (ok ? "✅" : "❌");
  const planText = plan.map((r) => r["QUERY PLAN"]).join("\n");
  const rows = phases
    .map((ph) =>
      [
        `| Sustained sending, ${ph.label}: ${ph.delivered.toLocaleString("en")} emails, claim → decide → Liquid render → SMTP (concurrency ${CONCURRENCY}), first to last email; load ${ph.loadBefore.toFixed(1)}→${ph.loadAfter.toFixed(1)} | ${ph.emailsPerSecond.toFixed(0)} emails/s (${ph.sendSeconds.toFixed(1)} s; wall ${(ph.delivered / ph.wallSeconds).toFixed(0)}/s) | ≥ ${TARGET.emailsPerSecond} emails/s | ${yes(ph.emailsPerSecond >= TARGET.emailsPerSecond)} |`,
        Number.isFinite(ph.cpuMsPerEmail)
          ? `| ↳ CPU per email, sender / SMTP sink; what one whole core would sustain (1000 / sender ms) | ${ph.cpuMsPerEmail.toFixed(2)} ms / ${ph.sinkCpuMsPerEmail.toFixed(2)} ms; ${(1000 / ph.cpuMsPerEmail).toFixed(0)} emails/s | ≥ ${TARGET.emailsPerSecond} emails/s | ${yes(1000 / ph.cpuMsPerEmail >= TARGET.emailsPerSecond)} |`
          : "",
        `| ↳ not sent (failed or skipped) | ${ph.failed} | 0 | ${yes(ph.failed === 0)} |`,
      ]
        .filter(Boolean)
        .join("\n"),
    )
    .join("\n");
  console.log(`
### Recovery pipeline benchmark (\`npm run bench:pipeline\`)

Machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? "cpu"}, Node ${process.version}, ${database.description} via Prisma 6.19 + @prisma/adapter-pg. The 1-minute load average is shown per run: other processes on the machine slow every wall-clock figure, CPU time per email is what they can't take away.
Data: ${counts.recoveries!.toLocaleString("en")} recoveries, ${counts.messages!.toLocaleString("en")} messages (${counts.scheduled!.toLocaleString("en")} scheduled, ${counts.due!.toLocaleString("en")} due), seeded in ${seedSeconds.toFixed(0)} s (not measured).

| Measure | Result | Target | |
|---|---|---|---|
| Sweep, nothing due (p50 / p95 of ${idle.length}) | ${quantile(idle, 0.5).toFixed(2)} ms / ${quantile(idle, 0.95).toFixed(2)} ms | < ${TARGET.sweepMs} ms | ${yes(quantile(idle, 0.95) < TARGET.sweepMs)} |
| Sweep, full batch of ${SWEEP_BATCH} due → ${enqueued} send jobs (p50 / p95 of ${full.length}) | ${sweepFullP50.toFixed(2)} ms / ${quantile(full, 0.95).toFixed(2)} ms | < ${TARGET.sweepMs} ms | ${yes(quantile(full, 0.95) < TARGET.sweepMs)} |
${rows}
| Ratio sending (as shipped) / target | ${(shipped.emailsPerSecond / TARGET.emailsPerSecond).toFixed(2)}× | ≥ 1.00× | |
| Rendering alone (default templates, HTML + text) | ${rendersPerSecond.toFixed(0)} emails/s | — | |

Sweep query plan (EXPLAIN, ${SWEEP_BATCH} due):

\`\`\`
${planText}
\`\`\`
`);
  // Every stated target gates the run.
  const misses = [
    quantile(idle, 0.95) >= TARGET.sweepMs && "sweep, nothing due",
    quantile(full, 0.95) >= TARGET.sweepMs && "sweep, full batch",
    shipped.emailsPerSecond < TARGET.emailsPerSecond && "sustained sending",
    phases.some((ph) => ph.failed > 0) && "emails not sent",
  ].filter(Boolean);
  if (misses.length) {
    console.log(`TARGET MISSED: ${misses.join("; ")}`);
    process.exitCode = 1;
  }
}

/** Child processes to stop if the run fails half-way. */
const cleanup: (() => void)[] = [];
main()
  .catch((error) => {
    console.error(error);
    for (const stop of cleanup) stop();
    process.exitCode = 1;
  })
  .finally(() => database?.stop());
