/**
 * `npm run bench:pipeline [-- --recoveries 1000000 --send 3000 --concurrency 8]`
 *
 * The recovery pipeline at scale, on SQLite (the embedded default):
 *  1. migrates a fresh database file with `prisma migrate deploy`, then bulk-loads it with better-sqlite3 prepared
 *     statements in transactions (seeding is not what is measured): 1 shop, the default campaign, N contacts,
 *     N recoveries (half Shopify, half Stripe) and 3N messages — most scheduled in the future, a realistic share
 *     already sent or skipped, and `--send` of them due now;
 *  2. times the due-message sweep (the job `send-due-messages`: recover interrupted sends + enqueue one send job per
 *     due message) with nothing due, and with a full batch (500) due;
 *  3. sends the due messages for real: the job runner (claim → decide → render the default Liquid template → SMTP)
 *     to a local smtp-server sink in another process, and reports sustained emails per second.
 * Prints a markdown table with the targets (sweep < 50 ms, ≥ 200 emails/s on a 2-core machine).
 */
import { sqlTime } from "../app/models/sql-time";
import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import Database from "better-sqlite3";

const { values: args } = parseArgs({
  options: {
    recoveries: { type: "string", default: "1000000" },
    send: { type: "string", default: "3000" },
    concurrency: { type: "string", default: "8" },
    workers: { type: "string", default: "0" },
    keep: { type: "boolean", default: false },
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
const sqliteDate = (ms: number) => sqlTime(new Date(ms));
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

async function main() {
  const dir = mkdtempSync(path.join(os.tmpdir(), "reclaim-bench-pipeline-"));
  const file = path.join(dir, "bench.sqlite");
  Object.assign(process.env, {
    NODE_ENV: "production",
    DATABASE_URL: `file:${file}`,
    SHOPIFY_API_KEY: "bench-api-key",
    SHOPIFY_API_SECRET: "bench-api-secret",
    SHOPIFY_APP_URL: "https://reclaim.bench",
    ENCRYPTION_KEYS: `bench:${randomBytes(32).toString("base64")}`,
    LINK_SIGNING_SECRET: randomBytes(32).toString("hex"),
    JOB_RUNNER: "off",
    LOG_LEVEL: "silent",
  });
  log(`migrating ${file}`);
  execFileSync(path.join(root, "node_modules/.bin/prisma"), ["migrate", "deploy"], { cwd: root, env: process.env, stdio: "pipe" });

  const sink = await startSink();
  cleanup.push(() => sink.stop());
  const now = Date.now();
  const seedStarted = performance.now();
  const { DEFAULT_STEPS } = await import("../app/recovery/campaign-defaults");
  const raw = new Database(file);
  raw.pragma("journal_mode = OFF");
  raw.pragma("synchronous = OFF");
  // Secondary indexes are dropped during the load and rebuilt after it, exactly as the migration defines them.
  const indexes = raw
    .prepare(`SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN ('Contact', 'Recovery', 'Message')`)
    .all() as { name: string; sql: string }[];
  for (const index of indexes) raw.exec(`DROP INDEX "${index.name}"`);

  const at = sqliteDate(now);
  raw.prepare(
    `INSERT INTO "Shop" (id, domain, name, timezone, emailTransport, smtpHost, smtpPort, smtpSecure, senderName, senderEmail, postalAddress, grantedScopes, createdAt, updatedAt, installedAt)
     VALUES ('shop1', 'bench-shop.myshopify.com', 'Bench Outfitters', 'UTC', 'smtp', '127.0.0.1', ?, 0, 'Bench Outfitters', 'hello@bench.test', '1 Market Street, Springfield, USA', 'read_orders', ?, ?, ?)`,
  ).run(sink.port, at, at, at);
  raw.prepare(`INSERT INTO "Campaign" (id, shopId, name, isDefault, enabled, sources, currencies, createdAt, updatedAt) VALUES ('camp1', 'shop1', 'Default', 1, 1, 'both', '', ?, ?)`).run(at, at);
  const insertStep = raw.prepare(
    `INSERT INTO "CampaignStep" (id, campaignId, position, delayMinutes, subject, bodyTemplate, incentiveType, incentiveValue, incentiveExpiresDays, createdAt, updatedAt) VALUES (?, 'camp1', ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  for (const s of DEFAULT_STEPS) insertStep.run(`step${s.position}`, s.position, s.delayMinutes, s.subject, s.bodyTemplate, s.incentiveType, s.incentiveValue, s.incentiveExpiresDays, at, at);

  const insertContact = raw.prepare(`INSERT INTO "Contact" (id, shopId, email, firstName, createdAt, updatedAt) VALUES (?, 'shop1', ?, ?, ?, ?)`);
  const insertRecovery = raw.prepare(
    `INSERT INTO "Recovery" (id, shopId, source, externalId, checkoutToken, contactId, email, firstName, consent, consentEvidence, lineItems, totalMinor, currency, locale, recoveryUrl, recoveryUrlExpiresAt, abandonedAt, sourceUpdatedAt, status, createdAt, updatedAt)
     VALUES (?, 'shop1', ?, ?, ?, ?, ?, ?, 'opt_in', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const insertMessage = raw.prepare(
    `INSERT INTO "Message" (id, shopId, recoveryId, campaignId, stepId, position, status, scheduledFor, claimedAt, sentAt, skipReason, toEmail, attempts, createdAt, updatedAt)
     VALUES (?, 'shop1', ?, 'camp1', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const lineItemsJson = JSON.stringify([
    { title: "Linen shirt", variantTitle: "Sand / L", quantity: 1, imageUrl: "https://cdn.shopify.com/s/files/shirt.jpg", unitPriceMinor: 6450, totalPriceMinor: 6450 },
    { title: "Canvas tote", variantTitle: null, quantity: 2, imageUrl: null, unitPriceMinor: 1800, totalPriceMinor: 3600 },
  ]);
  const shopifyEvidence = JSON.stringify({ state: "opt_in", source: "shopify.checkout.buyer_accepts_marketing", detail: { buyer_accepts_marketing: true } });
  const stripeEvidence = JSON.stringify({ state: "opt_in", source: "stripe.consent.promotions", detail: { promotions: "opt_in" } });
  const delays = DEFAULT_STEPS.map((s) => s.delayMinutes * 60_000);

  const load = raw.transaction((from: number, to: number) => {
    for (let i = from; i < to; i++) {
      const stripe = i % 2 === 1;
      const email = `buyer${i}@example.com`;
      // The first SEND recoveries have step 1 due now; about half of the rest are 30 h old (steps 1–2 done, step 3
      // scheduled in 42 h); the others were abandoned in the last 50 minutes (all three steps ahead).
      const kind = i < SEND ? "due" : i % 2 === 0 ? "older" : "fresh";
      // Due ones were abandoned over the last hour (a second apart), like real traffic.
      const abandonedAt = kind === "due" ? now - 61 * 60_000 - (i % 3600) * 1000 : kind === "older" ? now - 30 * H - (i % 3600) * 1000 : now - (i % 3000) * 1000;
      const created = sqliteDate(abandonedAt);
      insertContact.run(`c${i}`, email, "Robin", created, created);
      insertRecovery.run(
        `r${i}`,
        stripe ? "stripe" : "shopify",
        stripe ? `cs_bench_${i}` : `gid://shopify/AbandonedCheckout/${i}`,
        stripe ? null : `tok${i}`,
        `c${i}`,
        email,
        "Robin",
        stripe ? stripeEvidence : shopifyEvidence,
        lineItemsJson,
        10050,
        stripe ? "EUR" : "USD",
        stripe ? "de-DE" : "en",
        stripe ? `https://checkout.stripe.com/c/pay/cs_bench_${i}` : `https://bench-shop.myshopify.com/1/checkouts/ac/tok${i}/recover?key=k${i}`,
        stripe ? sqliteDate(abandonedAt + 30 * 24 * H) : null,
        created,
        created,
        kind === "older" ? "contacting" : "open",
        created,
        created,
      );
      for (let s = 0; s < 3; s++) {
        const due = abandonedAt + delays[s]!;
        const done = kind === "older" && s < 2;
        const status = done ? (s === 1 && i % 10 === 0 ? "skipped" : "sent") : "scheduled";
        insertMessage.run(
          `m${i}_${s + 1}`,
          `r${i}`,
          `step${s + 1}`,
          s + 1,
          status,
          sqliteDate(due),
          done ? sqliteDate(due) : null,
          status === "sent" ? sqliteDate(due) : null,
          status === "skipped" ? "frequency_cap" : null,
          email,
          done ? 1 : 0,
          created,
          created,
        );
      }
    }
  });
  const CHUNK = 50_000;
  for (let from = 0; from < RECOVERIES; from += CHUNK) {
    load(from, Math.min(RECOVERIES, from + CHUNK));
    if ((from / CHUNK) % 4 === 0) log(`seeded ${Math.min(RECOVERIES, from + CHUNK).toLocaleString("en")} recoveries`);
  }
  log("rebuilding indexes");
  for (const index of indexes) raw.exec(index.sql);
  raw.exec("ANALYZE");
  raw.pragma("journal_mode = WAL");
  raw.pragma("synchronous = NORMAL");
  const counts = raw.prepare(`SELECT (SELECT count(*) FROM "Recovery") AS recoveries, (SELECT count(*) FROM "Message") AS messages, (SELECT count(*) FROM "Message" WHERE status = 'scheduled') AS scheduled, (SELECT count(*) FROM "Message" WHERE status = 'scheduled' AND scheduledFor <= ?) AS due`).get(sqliteDate(Date.now())) as Record<string, number>;
  raw.close();
  const seedSeconds = (performance.now() - seedStarted) / 1000;
  log(`seeded in ${seedSeconds.toFixed(1)} s: ${JSON.stringify(counts)}`);

  // ---------------------------------------------------------------------------------------------------------------
  // The sweep
  const { db, applySqlitePragmas } = await import("../app/db.server");
  await applySqlitePragmas(db);
  const { sendDueMessages } = await import("../app/jobs/definitions/send-due-messages.server");
  const { SWEEP_BATCH, ENQUEUE_DUE_SQL } = await import("../app/models/message.server");
  const plan = (await db.$queryRawUnsafe(`EXPLAIN QUERY PLAN ${ENQUEUE_DUE_SQL}`, at, at, at, SWEEP_BATCH)) as { detail: string }[];
  const clockAt = (ms: number) => ({ now: () => new Date(ms) });
  const sweepOnce = async (ms: number) => {
    const job = await db.job.create({ data: { name: "send-due-messages", payload: "{}", runAt: new Date(ms) } });
    const t0 = performance.now();
    await sendDueMessages.run({ payload: {}, db, clock: clockAt(ms), job: { id: job.id, name: job.name, attempts: 1, shopId: null }, signal: new AbortController().signal });
    const elapsed = performance.now() - t0;
    await db.job.deleteMany({ where: { name: "send-due-messages" } });
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
    enqueued = await db.job.count({ where: { name: "send-message" } });
    await db.job.deleteMany({ where: { name: "send-message" } });
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
  const { JobRunner } = await import("../app/jobs/runner.server");
  const { closeTransports } = await import("../app/email/transport.server");

  interface Phase { label: string; delivered: number; emailsPerSecond: number; sendSeconds: number; wallSeconds: number; cpuMsPerEmail: number; sinkCpuMsPerEmail: number; loadBefore: number; loadAfter: number; failed: number }
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
        stopWorkers.push(() => new Promise<void>((resolve) => (child.exitCode !== null ? resolve() : (child.once("exit", () => resolve()), child.kill("SIGTERM")))));
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
  phases.push(await sendPhase(WORKERS === 0 ? "in-process job runner (as shipped)" : `${WORKERS} × \`npm run worker\` (as shipped)`, WORKERS === 0 ? makeShipped : null));
  await db.$disconnect();
  sink.stop();
  if (!args.keep) rmSync(dir, { recursive: true, force: true });

  const shipped = phases[0]!;
  const sweepFullP50 = quantile(full, 0.5);
  const yes = (ok: boolean) => (ok ? "✅" : "❌");
  const planText = plan.map((r) => r.detail).join("; ");
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

Machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? "cpu"}, Node ${process.version}, SQLite (WAL) via Prisma 6.19 + better-sqlite3. The 1-minute load average is shown per run: other processes on the machine slow every wall-clock figure, CPU time per email is what they can't take away.
Data: ${counts.recoveries!.toLocaleString("en")} recoveries, ${counts.messages!.toLocaleString("en")} messages (${counts.scheduled!.toLocaleString("en")} scheduled, ${counts.due!.toLocaleString("en")} due), seeded in ${seedSeconds.toFixed(0)} s (not measured).

| Measure | Result | Target | |
|---|---|---|---|
| Sweep, nothing due (p50 / p95 of ${idle.length}) | ${quantile(idle, 0.5).toFixed(2)} ms / ${quantile(idle, 0.95).toFixed(2)} ms | < ${TARGET.sweepMs} ms | ${yes(quantile(idle, 0.95) < TARGET.sweepMs)} |
| Sweep, full batch of ${SWEEP_BATCH} due → ${enqueued} send jobs (p50 / p95 of ${full.length}) | ${sweepFullP50.toFixed(2)} ms / ${quantile(full, 0.95).toFixed(2)} ms | < ${TARGET.sweepMs} ms | ${yes(quantile(full, 0.95) < TARGET.sweepMs)} |
${rows}
| Ratio sending (as shipped) / target | ${(shipped.emailsPerSecond / TARGET.emailsPerSecond).toFixed(2)}× | ≥ 1.00× | |
| Rendering alone (default templates, HTML + text) | ${rendersPerSecond.toFixed(0)} emails/s | — | |

Sweep query plan: \`${planText}\`
`);
}

/** Child processes to stop if the run fails half-way. */
const cleanup: (() => void)[] = [];
main().catch((error) => {
  console.error(error);
  for (const stop of cleanup) stop();
  process.exit(1);
});
