/**
 * `npm run bench:pipeline [-- --recoveries 150000 --send 6000 --latency-ms 150 --profile <dir>]` (`--profile`: a V8 CPU
 * profile of this process's main thread per sending phase, for `chrome://inspect` or speedscope)
 *
 * The recovery pipeline at scale, the realistic case (issue 14, docs/decisions/085-sends-in-flight.md), on PostgreSQL
 * (bench/postgres.ts: a private embedded cluster with default durability, fsync on, unless DATABASE_URL is set):
 *  1. migrates a fresh database, then bulk-loads it inside PostgreSQL (bench/seed.ts; not measured): **100 shops**, each
 *     with the default campaign (step 3 with an incentive: a Stripe promotion code), contacts with three recoveries each
 *     (one from ten days ago, fully emailed; one superseded five days ago; the newest), half Shopify, half Stripe;
 *     `--send` × 2 contacts have their newest recovery's next step due, **mixed steps** (1, 2, and 3 with its incentive
 *     for Stripe carts; 1 and 2 for Shopify carts, whose discount codes come from the Admin API, not in this benchmark);
 *  2. times the due-message sweep (one send job per shop with due emails) with nothing due and with every shop due;
 *  3. sends for real with the worker as shipped (`startJobRunner`, every setting at its default) to an SMTP sink in
 *     another process that answers each message after `--latency-ms` (a real provider's ~150 ms), then the same again
 *     against a sink that answers at once; reports sustained emails/s for each and their ratio.
 * Targets: ≥ 300 emails/s sustained at 150 ms on this 2-core machine, ratio ≥ 0.8, sweep p95 < 50 ms, none unsent.
 * Prints markdown tables; exits 1 when a target is missed.
 */
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import pg from "pg";
import { databaseSizeMb, peakRssMb, reportMisses, resourceRows, runBench, startSinkProcess, type SinkProcess } from "./harness";
import { benchAppEnv, startBenchDatabase, type BenchDatabase } from "./postgres";
import { bulkLoad, connect, recomputeDailyStats, tsFromMs } from "./seed";

const { values: args } = parseArgs({
  options: {
    recoveries: { type: "string", default: "150000" },
    send: { type: "string", default: "6000" },
    "latency-ms": { type: "string", default: "150" },
    /** Writes a V8 CPU profile of each sending phase (this process's main thread) into this directory. */
    profile: { type: "string" },
  },
});
const SHOPS = 100;
const RECOVERIES = Number(args.recoveries);
/** Emails sent in each phase (each phase has its own due set). */
const SEND = Number(args.send);
const LATENCY_MS = Number(args["latency-ms"]);
const TARGET = { sweepMs: 50, emailsPerSecond: 300, ratio: 0.8 };
const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);
const H = 3_600_000;
const DAY = 24 * H;
/** Phase B's due emails wait this far in the future until phase A is done. */
const PARKED_MS = 30 * DAY;
const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))]!;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Statements this process sends to PostgreSQL (Prisma's adapter, the job queue, this script), by their first words. */
const statements = new Map<string, number>();
const query = pg.Client.prototype.query;
pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
  const first = args[0] as string | { text?: string } | undefined;
  const text = typeof first === "string" ? first : (first?.text ?? "");
  const key = text.replace(/\s+/g, " ").trim().slice(0, 70);
  statements.set(key, (statements.get(key) ?? 0) + 1);
  return (query as (...a: unknown[]) => unknown).apply(this, args);
} as typeof pg.Client.prototype.query;
const statementCount = () => [...statements.values()].reduce((a, b) => a + b, 0);

let database: BenchDatabase | null = null;
/** Child processes to stop if the run fails half-way. */
const cleanup: (() => void)[] = [];

async function main() {
  database = await startBenchDatabase("pipeline", log);
  Object.assign(process.env, {
    ...benchAppEnv(database.url),
    // The local sinks are on loopback: the operator's switch for private SMTP hosts (SECURITY.md).
    SMTP_ALLOW_PRIVATE_HOSTS: "true",
  });
  const slow = await startSinkProcess(LATENCY_MS);
  const fast = await startSinkProcess(0);
  cleanup.push(
    () => slow.stop(),
    () => fast.stop(),
  );
  const now = Date.now();
  const seedStarted = performance.now();
  const { DEFAULT_STEPS } = await import("../app/recovery/campaign-defaults");
  const raw = await connect(database.url);
  const at = tsFromMs("$1::bigint");
  for (let s = 0; s < SHOPS; s++) {
    await raw.query(
      `INSERT INTO "Shop" ("id", "domain", "name", "timezone", "emailTransport", "smtpHost", "smtpPort", "smtpSecure", "senderName", "senderEmail", "postalAddress", "grantedScopes", "createdAt", "updatedAt", "installedAt")
       VALUES ($2, $2 || '.myshopify.com', 'Bench ' || $2, 'UTC', 'smtp', '127.0.0.1', $3, false, 'Bench ' || $2, 'hello@' || $2 || '.test', '1 Market Street, Springfield, USA', 'read_orders', ${at}, ${at}, ${at})`,
      [now, `shop${s}`, slow.port],
    );
    await raw.query(
      `INSERT INTO "Campaign" ("id", "shopId", "name", "isDefault", "enabled", "sources", "currencies", "createdAt", "updatedAt") VALUES ($2 || '-camp', $2, 'Default', true, true, 'both', '', ${at}, ${at})`,
      [now, `shop${s}`],
    );
    for (const step of DEFAULT_STEPS) {
      await raw.query(
        `INSERT INTO "CampaignStep" ("id", "campaignId", "position", "delayMinutes", "subject", "bodyTemplate", "incentiveType", "incentiveValue", "incentiveExpiresDays", "stripePromotionCode", "createdAt", "updatedAt")
         VALUES ($2 || '-step' || $3::int, $2 || '-camp', $3::int, $4, $5, $6, $7, $8, $9, CASE WHEN $7::text IS NOT NULL THEN 'COMEBACK15' END, ${at}, ${at})`,
        [
          now,
          `shop${s}`,
          step.position,
          step.delayMinutes,
          step.subject,
          step.bodyTemplate,
          step.incentiveType,
          step.incentiveValue,
          step.incentiveExpiresDays,
        ],
      );
    }
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

  // Recovery i belongs to contact k = i / 3 in shop k % 100; j = i % 3 is which of the contact's three it is:
  // 0 = ten days old, all three steps sent (lost); 1 = five days old, superseded after its first email; 2 = the newest:
  // for contacts k < 2 × SEND its step `due_step` is due (phase A: k < SEND; phase B: parked 30 days ahead until phase A
  // is done), for the others all steps are ahead. Contacts alternate Shopify (even k) and Stripe (odd k).
  await bulkLoad(raw, ["Contact", "Recovery", "Message"], async () => {
    const CHUNK = 150_000;
    const contacts = Math.ceil(RECOVERIES / 3);
    await raw.query(
      `INSERT INTO "Contact" ("id", "shopId", "email", "firstName", "createdAt", "updatedAt")
       SELECT 'c' || k, 'shop' || (k % ${SHOPS}), 'buyer' || k || '@example.com', 'Robin', ${at}, ${at} FROM generate_series(0, $2::int - 1) AS k`,
      [now - 11 * DAY, contacts],
    );
    for (let from = 0; from < RECOVERIES; from += CHUNK) {
      const to = Math.min(RECOVERIES, from + CHUNK);
      await raw.query(
        `CREATE TEMP TABLE seed ON COMMIT DROP AS
         SELECT i, k, j, k % 2 = 1 AS stripe, 'shop' || (k % ${SHOPS}) AS shop, 'buyer' || k || '@example.com' AS email,
           CASE WHEN j < 2 THEN NULL WHEN k < 2 * $3::int THEN 1 + (k / 2) % (CASE WHEN k % 2 = 1 THEN 3 ELSE 2 END) END AS due_step,
           k >= $3::int AS parked
         FROM (SELECT i, i / 3 AS k, i % 3 AS j FROM generate_series($1::int, $2::int - 1) AS i) x`,
        [from, to, SEND],
      );
      await raw.query(
        `ALTER TABLE seed ADD COLUMN abandoned_ms bigint;
         UPDATE seed SET abandoned_ms = CASE
           WHEN j = 0 THEN $1::bigint - 10 * ${DAY}::bigint - (k % 3600) * 1000
           WHEN j = 1 THEN $1::bigint - 5 * ${DAY}::bigint - (k % 3600) * 1000
           WHEN due_step IS NOT NULL THEN $1::bigint - ($2::bigint[])[due_step] - 60000 - (k % 600) * 1000
           ELSE $1::bigint - (k % 3000) * 1000 END`
          .replaceAll("$1", String(now))
          .replaceAll("$2::bigint[]", `ARRAY[${delays.join(",")}]::bigint[]`),
      );
      await raw.query(
        `INSERT INTO "Recovery" ("id", "shopId", "source", "externalId", "checkoutToken", "contactId", "email", "firstName", "consent", "consentEvidence", "lineItems", "totalMinor", "currency", "locale", "recoveryUrl", "recoveryUrlExpiresAt", "abandonedAt", "sourceUpdatedAt", "status", "sourceMetadata", "shopifyEmailState", "shopifyEmailCheckedAt", "createdAt", "updatedAt")
         SELECT 'r' || i, shop, CASE WHEN stripe THEN 'stripe' ELSE 'shopify' END, CASE WHEN stripe THEN 'cs_bench_' || i ELSE 'gid://shopify/AbandonedCheckout/' || i END,
           CASE WHEN stripe THEN NULL ELSE 'tok' || i END, 'c' || k, email, 'Robin', 'opt_in', CASE WHEN stripe THEN $1 ELSE $2 END, $3, 10050,
           CASE WHEN stripe THEN 'EUR' ELSE 'USD' END, CASE WHEN stripe THEN 'de-DE' ELSE 'en' END,
           CASE WHEN stripe THEN 'https://checkout.stripe.com/c/pay/cs_bench_' || i ELSE 'https://' || shop || '.myshopify.com/1/checkouts/ac/tok' || i || '/recover?key=k' || i END,
           CASE WHEN stripe THEN ${tsFromMs(`$4::bigint + 60 * ${DAY}::bigint`)} END, ${tsFromMs("abandoned_ms")}, ${tsFromMs("abandoned_ms")},
           -- Ten days old, every email out and the attribution window past: already closed as lost by earlier sweeps.
           CASE WHEN j = 1 THEN 'superseded' WHEN j = 0 THEN 'lost' WHEN due_step > 1 THEN 'contacting' ELSE 'open' END,
           CASE WHEN stripe THEN '{"allow_promotion_codes":true}' ELSE '{}' END,
           -- Shopify carts: the sync has just read that Shopify sent no email of its own (ADR 075), so no look-up at send.
           CASE WHEN stripe THEN NULL ELSE 'NOT_SENT' END, CASE WHEN stripe THEN NULL ELSE ${tsFromMs("$4::bigint")} END,
           ${tsFromMs("abandoned_ms")}, ${tsFromMs("abandoned_ms")}
         FROM seed`,
        [stripeEvidence, shopifyEvidence, lineItemsJson, now],
      );
      await raw.query(
        `INSERT INTO "Message" ("id", "shopId", "recoveryId", "campaignId", "stepId", "position", "status", "scheduledFor", "claimedAt", "sentAt", "skipReason", "toEmail", "attempts", "createdAt", "updatedAt")
         SELECT 'm' || i || '_' || s, shop, 'r' || i, shop || '-camp', shop || '-step' || s, s, status,
           CASE WHEN status = 'scheduled' AND parked AND s = due_step THEN due + ${PARKED_MS}::bigint * interval '1 millisecond' ELSE due END,
           CASE WHEN status = 'sent' THEN due END, CASE WHEN status = 'sent' THEN due END, CASE WHEN status = 'cancelled' THEN 'superseded' END, email,
           (status = 'sent')::int, ${tsFromMs("abandoned_ms")}, ${tsFromMs("abandoned_ms")}
         FROM (
           SELECT seed.*, s, ${tsFromMs("abandoned_ms + ($1::bigint[])[s]")} AS due,
             CASE WHEN j = 0 THEN 'sent' WHEN j = 1 THEN CASE WHEN s = 1 THEN 'sent' ELSE 'cancelled' END
                  WHEN due_step IS NOT NULL AND s < due_step THEN 'sent' ELSE 'scheduled' END AS status
           FROM seed CROSS JOIN generate_series(1, 3) AS s
         ) m`,
        [delays],
      );
      await raw.query("DROP TABLE seed");
      log(`seeded ${to.toLocaleString("en")} recoveries`);
    }
    log("rebuilding indexes, foreign keys and DailyStat");
    for (let s = 0; s < SHOPS; s++) await recomputeDailyStats(raw, `shop${s}`);
  });
  const { rows: countRows } = await raw.query<Record<string, string>>(
    `SELECT (SELECT count(*) FROM "Recovery") AS recoveries, (SELECT count(*) FROM "Contact") AS contacts, (SELECT count(*) FROM "Message") AS messages,
       (SELECT count(*) FROM "Message" WHERE "status" = 'scheduled') AS scheduled,
       (SELECT count(*) FROM "Message" WHERE "status" = 'scheduled' AND "scheduledFor" <= ${tsFromMs("$1::bigint")}) AS due,
       (SELECT count(*) FROM "Message" WHERE "status" = 'scheduled' AND "scheduledFor" <= ${tsFromMs("$1::bigint")} AND "position" = 3) AS "dueIncentive"`,
    [Date.now()],
  );
  const counts = Object.fromEntries(Object.entries(countRows[0]!).map(([k, v]) => [k, Number(v)]));
  await raw.end();
  const seedSeconds = (performance.now() - seedStarted) / 1000;
  log(`seeded in ${seedSeconds.toFixed(1)} s: ${JSON.stringify(counts)}`);

  // ---------------------------------------------------------------------------------------------------------------
  // The sweep
  const { db } = await import("../app/db.server");
  const { env } = await import("../app/env.server");
  const { sendDueMessages } = await import("../app/jobs/definitions/send-due-messages.server");
  const { SWEEP_BATCH, ENQUEUE_DUE_SQL, SEND_SHOP_JOB } = await import("../app/models/message-sweep.server");
  const { jobTable } = await import("../test/helpers/jobs");
  const plan = (await db.$queryRawUnsafe(`EXPLAIN ${ENQUEUE_DUE_SQL}`, new Date(), SWEEP_BATCH)) as { "QUERY PLAN": string }[];
  const sweepOnce = async (ms: number) => {
    const job = await jobTable(db).create({ data: { name: "send-due-messages", payload: "{}", runAt: new Date(ms) } });
    const t0 = performance.now();
    await sendDueMessages.run({
      payload: {},
      db,
      clock: { now: () => new Date(ms) },
      job: { id: job.id, name: job.name, attempts: 1, shopId: null },
      signal: new AbortController().signal,
    });
    const elapsed = performance.now() - t0;
    await jobTable(db).deleteMany({ where: { name: "send-due-messages" } });
    return elapsed;
  };
  const idle: number[] = [];
  for (let i = 0; i < 30; i++) idle.push(await sweepOnce(now - 20 * DAY));
  const full: number[] = [];
  let enqueued = 0;
  for (let i = 0; i < 20; i++) {
    full.push(await sweepOnce(Date.now()));
    enqueued = await jobTable(db).count({ where: { name: SEND_SHOP_JOB } });
    await jobTable(db).deleteMany({ where: { name: SEND_SHOP_JOB } });
  }
  log(`sweep idle p50 ${quantile(idle, 0.5).toFixed(2)} ms, every shop due p50 ${quantile(full, 0.5).toFixed(2)} ms (${enqueued} jobs)`);

  // ---------------------------------------------------------------------------------------------------------------
  // Sending, with the worker as shipped
  const { startJobRunner } = await import("../app/jobs/start-runner.server");
  const { emailsInFlight } = await import("../app/email/transport.server");

  interface Phase {
    label: string;
    delivered: number;
    emailsPerSecond: number;
    sendSeconds: number;
    wallSeconds: number;
    cpuMsPerEmail: number;
    sinkCpuMsPerEmail: number;
    loadBefore: string;
    loadAfter: string;
    notSent: number;
    byStep: string;
    /** Shops' send jobs running at once, sampled every 250 ms: mean and max (at most SEND_CONCURRENCY). */
    sendingAtOnce: { mean: number; max: number };
    /** Emails handed to SMTP at once across the process, sampled every 250 ms: mean and max (at most SEND_MAX_IN_FLIGHT). */
    inFlight: { mean: number; max: number };
    /** Statements this process sent to PostgreSQL during the phase (the benchmark's own progress polls included). */
    sqlStatements: number;
  }
  const loadavg = () =>
    os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(" / ");
  async function sendPhase(label: string, sink: SinkProcess): Promise<Phase> {
    await db.$executeRawUnsafe(`UPDATE "Shop" SET "smtpPort" = $1`, sink.port);
    const before = await sink.report();
    const loadBefore = loadavg();
    const phaseStart = new Date();
    const profiler = args.profile ? new Session() : null;
    if (profiler) {
      profiler.connect();
      await profiler.post("Profiler.enable");
      await profiler.post("Profiler.start");
    }
    const cpuBefore = process.cpuUsage();
    statements.clear();
    const started = performance.now();
    const worker = await startJobRunner();
    const newlySent = { status: "sent", sentAt: { gte: phaseStart } };
    let sent = 0;
    let lastProgress = performance.now();
    const running: number[] = [];
    const inFlight: number[] = [];
    while (sent < SEND) {
      await sleep(250);
      inFlight.push(emailsInFlight());
      running.push(await jobTable(db).count({ where: { name: SEND_SHOP_JOB, status: "running" } }));
      const now = await db.message.count({ where: newlySent });
      if (now > sent) lastProgress = performance.now();
      sent = now;
      if (performance.now() - lastProgress > 60_000) throw new Error(`${label}: stuck at ${sent} of ${SEND} sent`);
    }
    const wallSeconds = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    const sqlStatements = statementCount();
    log(`${label}: top statements ${JSON.stringify([...statements].sort((x, y) => y[1] - x[1]).slice(0, 14))}`);
    const loadAfter = loadavg();
    await worker.stop();
    if (profiler) {
      const { profile } = await profiler.post("Profiler.stop");
      const file = path.join(args.profile!, `pipeline-${LATENCY_MS}ms-${label.includes("once") ? "instant" : "latency"}.cpuprofile`);
      writeFileSync(file, JSON.stringify(profile));
      profiler.disconnect();
      log(`CPU profile written: ${file}`);
    }
    const span = await db.message.aggregate({ where: newlySent, _min: { sentAt: true }, _max: { sentAt: true } });
    // Sustained: from the first email to the last (start-up excluded, which the wall time includes).
    const sendSeconds = Math.max(0.001, (span._max.sentAt!.getTime() - span._min.sentAt!.getTime()) / 1000);
    const after = await sink.report();
    const delivered = after.received - before.received;
    const notSent = await db.message.count({ where: { status: { in: ["failed", "skipped"] }, updatedAt: { gte: phaseStart } } });
    const steps = await db.$queryRawUnsafe<{ position: number; n: number }[]>(
      `SELECT "position", count(*)::int AS n FROM "Message" WHERE "status" = 'sent' AND "sentAt" >= $1 GROUP BY 1 ORDER BY 1`,
      phaseStart,
    );
    return {
      label,
      delivered,
      emailsPerSecond: (delivered - 1) / sendSeconds,
      sendSeconds,
      wallSeconds,
      cpuMsPerEmail: (cpu.user + cpu.system) / 1000 / delivered,
      sinkCpuMsPerEmail: (after.cpuMs - before.cpuMs) / delivered,
      loadBefore,
      loadAfter,
      notSent,
      byStep: steps.map((s) => `step ${s.position}: ${s.n}`).join(", "),
      sqlStatements,
      inFlight: { mean: inFlight.reduce((a, b) => a + b, 0) / Math.max(1, inFlight.length), max: Math.max(0, ...inFlight) },
      sendingAtOnce: { mean: running.reduce((a, b) => a + b, 0) / Math.max(1, running.length), max: Math.max(0, ...running) },
    };
  }
  const slowPhase = await sendPhase(`SMTP answering in ${LATENCY_MS} ms`, slow);
  // Phase B's due emails come due now.
  await db.$executeRawUnsafe(
    `UPDATE "Message" SET "scheduledFor" = "scheduledFor" - ${PARKED_MS} * interval '1 millisecond' WHERE "status" = 'scheduled' AND "scheduledFor" > $1`,
    new Date(Date.now() + PARKED_MS - 2 * DAY),
  );
  const fastPhase = await sendPhase("SMTP answering at once", fast);
  const { closeQueuePools } = await import("../app/jobs/engine.server");
  await closeQueuePools();
  await db.$disconnect();
  // The worker ran in this process; the sinks in theirs.
  const resources = resourceRows(
    [
      { what: "worker (this process)", mb: peakRssMb() },
      { what: "SMTP sink", mb: Math.max(slow.peakRssMb() ?? 0, fast.peakRssMb() ?? 0) || null },
    ],
    await databaseSizeMb(database.url),
  );

  const ratio = slowPhase.emailsPerSecond / fastPhase.emailsPerSecond;
  const yes = (ok: boolean) => (ok ? "pass" : "MISS");
  const row = (ph: Phase, target: string, ok: boolean | null) =>
    `| sustained sending, ${ph.label} (${ph.byStep}); load ${ph.loadBefore} → ${ph.loadAfter} | ${ph.emailsPerSecond.toFixed(0)} emails/s (${ph.delivered.toLocaleString("en")} in ${ph.sendSeconds.toFixed(1)} s; wall ${(ph.delivered / ph.wallSeconds).toFixed(0)}/s) | ${target} | ${ok === null ? "" : yes(ok)} |
| ↳ CPU per email, sender / SMTP sink | ${ph.cpuMsPerEmail.toFixed(2)} ms / ${ph.sinkCpuMsPerEmail.toFixed(2)} ms | — | |
| ↳ statements to PostgreSQL per email (this process, progress polls included) | ${(ph.sqlStatements / ph.delivered).toFixed(2)} | — | |
| ↳ emails in flight to SMTP (mean / max, sampled every 250 ms) | ${ph.inFlight.mean.toFixed(1)} / ${ph.inFlight.max} | — | |
| ↳ shops sending at once (mean / max, sampled every 250 ms) | ${ph.sendingAtOnce.mean.toFixed(1)} / ${ph.sendingAtOnce.max} | — | |
| ↳ not sent (failed or skipped) | ${ph.notSent} | 0 | ${yes(ph.notSent === 0)} |`;
  console.log(`
### Recovery pipeline benchmark (\`npm run bench:pipeline\`)

Machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? "cpu"}, Node ${process.version}, ${database.description}. Worker as shipped (\`startJobRunner\`: JOB_CONCURRENCY=${env.JOB_CONCURRENCY}, SEND_CONCURRENCY=${env.SEND_CONCURRENCY}, SMTP_MAX_CONNECTIONS=${env.SMTP_MAX_CONNECTIONS}, SEND_MAX_IN_FLIGHT=${env.SEND_MAX_IN_FLIGHT}, SEND_BATCH_SIZE=${env.SEND_BATCH_SIZE}, SEND_BATCH_MS=${env.SEND_BATCH_MS}, JOB_POLL_INTERVAL_MS=${env.JOB_POLL_INTERVAL_MS}).
Data: ${SHOPS} shops, ${counts.contacts!.toLocaleString("en")} contacts with 3 recoveries each (${counts.recoveries!.toLocaleString("en")}), ${counts.messages!.toLocaleString("en")} messages (${counts.scheduled!.toLocaleString("en")} scheduled; ${SEND.toLocaleString("en")} due per phase, ${counts.dueIncentive!.toLocaleString("en")} of the first phase's at the incentive step), seeded in ${seedSeconds.toFixed(0)} s (not measured).

| measure | result | target | |
|---|---|---|---|
| sweep, nothing due (p50 / p95 of ${idle.length}) | ${quantile(idle, 0.5).toFixed(2)} ms / ${quantile(idle, 0.95).toFixed(2)} ms | < ${TARGET.sweepMs} ms | ${yes(quantile(idle, 0.95) < TARGET.sweepMs)} |
| sweep, every shop due → ${enqueued} send jobs (p50 / p95 of ${full.length}) | ${quantile(full, 0.5).toFixed(2)} ms / ${quantile(full, 0.95).toFixed(2)} ms | < ${TARGET.sweepMs} ms | ${yes(quantile(full, 0.95) < TARGET.sweepMs)} |
${row(slowPhase, `≥ ${TARGET.emailsPerSecond} emails/s`, slowPhase.emailsPerSecond >= TARGET.emailsPerSecond)}
${row(fastPhase, "—", null)}
| ratio, ${LATENCY_MS} ms / at once | ${ratio.toFixed(2)} | ≥ ${TARGET.ratio} | ${yes(ratio >= TARGET.ratio)} |
${resources}

Sweep query plan (EXPLAIN, every shop due):

\`\`\`
${plan.map((r) => r["QUERY PLAN"]).join("\n")}
\`\`\`
`);
  reportMisses([
    quantile(idle, 0.95) >= TARGET.sweepMs && "sweep, nothing due",
    quantile(full, 0.95) >= TARGET.sweepMs && "sweep, every shop due",
    slowPhase.emailsPerSecond < TARGET.emailsPerSecond && `sustained sending at ${LATENCY_MS} ms`,
    ratio < TARGET.ratio && "ratio to a sink answering at once",
    (slowPhase.notSent > 0 || fastPhase.notSent > 0) && "emails not sent",
  ]);
}

runBench(main, async () => {
  for (const stop of cleanup) stop();
  await database?.stop();
});
