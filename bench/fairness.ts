/**
 * `npm run bench:fairness [-- --big 20000 --small-shops 10 --per-small 3 --latency-ms 150]`
 *
 * Fairness between shops (issue 13, ADR 080), measured the way it happens: one big shop with 20,000 due emails (a
 * quiet-hours release) that came due ten minutes before ten small shops' few emails each, all on one worker with the
 * shipped defaults (JOB_CONCURRENCY, sweep batch and per-shop share), sending for real through SMTP to a local
 * smtp-server that takes `--latency-ms` to accept each message, as a real provider does.
 *
 * A strictly oldest-first queue would send the big shop's 20,000 first: at one message per SMTP round trip that is
 * hours before any small shop hears anything. Targets: every small shop's first email within 10 s of the worker
 * starting, and all of the small shops' emails before the big shop has sent 5 % of its backlog. Exits 1 on a miss.
 */
import os from "node:os";
import { parseArgs } from "node:util";
import { databaseSizeMb, peakRssMb, reportMisses, resourceRows, runBench, startSinkProcess } from "./harness";
import { benchAppEnv, startBenchDatabase, type BenchDatabase } from "./postgres";
import { connect, tsFromMs } from "./seed";

const { values: args } = parseArgs({
  options: {
    big: { type: "string", default: "20000" },
    "small-shops": { type: "string", default: "10" },
    "per-small": { type: "string", default: "3" },
    "latency-ms": { type: "string", default: "150" },
    "big-window-s": { type: "string", default: "20" },
  },
});
const BIG = Number(args.big);
const SMALL_SHOPS = Number(args["small-shops"]);
const PER_SMALL = Number(args["per-small"]);
const LATENCY_MS = Number(args["latency-ms"]);
/** After the small shops are done, how long the big shop's rate is watched (to project its drain time). */
const BIG_WINDOW_S = Number(args["big-window-s"]);
const TARGET = { firstEmailOfEverySmallShopS: 10, bigShareBeforeSmallDone: 0.05 };
const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let database: BenchDatabase | null = null;
const cleanup: (() => void)[] = [];

async function main() {
  database = await startBenchDatabase("fairness", log);
  Object.assign(process.env, {
    ...benchAppEnv(database.url),
    // The local sink is on loopback: the operator's switch for private SMTP hosts (SECURITY.md).
    SMTP_ALLOW_PRIVATE_HOSTS: "true",
  });
  const sink = await startSinkProcess(LATENCY_MS);
  cleanup.push(() => sink.stop());

  // Seeding (not measured): every shop with the default campaign; each due email a Stripe cart (no Admin API needed)
  // with its own contact. The big shop's came due ten minutes before the small shops'.
  const now = Date.now();
  const { DEFAULT_STEPS } = await import("../app/recovery/campaign-defaults");
  const raw = await connect(database.url);
  const at = tsFromMs("$1::bigint");
  const shops = [{ id: "big", count: BIG, dueMs: now - 10 * 60_000 }];
  for (let i = 0; i < SMALL_SHOPS; i++) shops.push({ id: `small${i}`, count: PER_SMALL, dueMs: now - 60_000 });
  const evidence = JSON.stringify({ state: "opt_in", source: "stripe.consent.promotions", detail: { promotions: "opt_in" } });
  const items = JSON.stringify([{ title: "Linen shirt", variantTitle: "Sand / L", quantity: 1, imageUrl: null, unitPriceMinor: 6450, totalPriceMinor: 6450 }]);
  for (const shop of shops) {
    await raw.query(
      `INSERT INTO "Shop" ("id", "domain", "name", "timezone", "emailTransport", "smtpHost", "smtpPort", "smtpSecure", "senderName", "senderEmail", "postalAddress", "grantedScopes", "createdAt", "updatedAt", "installedAt")
       VALUES ($2, $2 || '.myshopify.com', $2, 'UTC', 'smtp', '127.0.0.1', $3, false, $2, 'hello@' || $2 || '.test', '1 Market Street, Springfield, USA', 'read_orders', ${at}, ${at}, ${at})`,
      [now, shop.id, sink.port],
    );
    await raw.query(
      `INSERT INTO "Campaign" ("id", "shopId", "name", "isDefault", "enabled", "sources", "currencies", "createdAt", "updatedAt") VALUES ($2 || '-camp', $2, 'Default', true, true, 'both', '', ${at}, ${at})`,
      [now, shop.id],
    );
    for (const s of DEFAULT_STEPS) {
      await raw.query(
        `INSERT INTO "CampaignStep" ("id", "campaignId", "position", "delayMinutes", "subject", "bodyTemplate", "incentiveType", "incentiveValue", "incentiveExpiresDays", "createdAt", "updatedAt")
         VALUES ($2 || '-step' || $3::int, $2 || '-camp', $3::int, $4, $5, $6, $7, $8, $9, ${at}, ${at})`,
        [now, shop.id, s.position, s.delayMinutes, s.subject, s.bodyTemplate, s.incentiveType, s.incentiveValue, s.incentiveExpiresDays],
      );
    }
    const abandoned = tsFromMs("$3::bigint - 3600000");
    await raw.query(
      `INSERT INTO "Contact" ("id", "shopId", "email", "firstName", "createdAt", "updatedAt")
       SELECT $1 || '-c' || i, $1, $1 || '-' || i || '@example.com', 'Robin', now(), now() FROM generate_series(1, $2) AS i`,
      [shop.id, shop.count],
    );
    await raw.query(
      `INSERT INTO "Recovery" ("id", "shopId", "source", "externalId", "contactId", "email", "firstName", "consent", "consentEvidence", "lineItems", "totalMinor", "currency", "locale", "recoveryUrl", "abandonedAt", "sourceUpdatedAt", "status", "createdAt", "updatedAt")
       SELECT $1 || '-r' || i, $1, 'stripe', 'cs_bench_' || $1 || '_' || i, $1 || '-c' || i, $1 || '-' || i || '@example.com', 'Robin', 'opt_in', $4, $5, 6450, 'USD', 'en',
         'https://checkout.stripe.com/c/pay/cs_bench_' || $1 || '_' || i, ${abandoned}, ${abandoned}, 'open', now(), now()
       FROM generate_series(1, $2) AS i`,
      [shop.id, shop.count, shop.dueMs, evidence, items],
    );
    await raw.query(
      `INSERT INTO "Message" ("id", "shopId", "recoveryId", "campaignId", "stepId", "position", "status", "scheduledFor", "toEmail", "attempts", "createdAt", "updatedAt")
       SELECT $1 || '-m' || i, $1, $1 || '-r' || i, $1 || '-camp', $1 || '-step1', 1, 'scheduled', ${tsFromMs("$3::bigint")}, $1 || '-' || i || '@example.com', 0, now(), now()
       FROM generate_series(1, $2) AS i`,
      [shop.id, shop.count, shop.dueMs],
    );
  }
  await raw.end();
  log(`seeded: 1 shop with ${BIG.toLocaleString("en")} due emails, ${SMALL_SHOPS} shops with ${PER_SMALL} each; SMTP latency ${LATENCY_MS} ms`);

  // The worker as `npm run worker` starts it, with the shipped defaults.
  const { db } = await import("../app/db.server");
  const { env } = await import("../app/env.server");
  const { startJobRunner } = await import("../app/jobs/start-runner.server");
  const sentByShop = async () => {
    const rows = await db.$queryRawUnsafe<{ shopId: string; sent: bigint }[]>(
      `SELECT "shopId", count(*) AS sent FROM "Message" WHERE "status" = 'sent' GROUP BY 1`,
    );
    return new Map(rows.map((r) => [r.shopId, Number(r.sent)]));
  };
  const started = performance.now();
  const worker = await startJobRunner();
  let workerStopped = false;
  const stopWorker = async () => {
    if (workerStopped) return;
    workerStopped = true;
    await worker.stop();
  };
  cleanup.push(() => void stopWorker());
  const firstAt = new Map<string, number>();
  let smallDoneAt: number | null = null;
  let bigAtSmallDone = 0;
  const deadline = started + 120_000;
  while (performance.now() < deadline) {
    const sent = await sentByShop();
    const t = (performance.now() - started) / 1000;
    for (const shop of shops.slice(1)) if (!firstAt.has(shop.id) && (sent.get(shop.id) ?? 0) > 0) firstAt.set(shop.id, t);
    if (shops.slice(1).every((s) => (sent.get(s.id) ?? 0) >= s.count)) {
      smallDoneAt = t;
      bigAtSmallDone = sent.get("big") ?? 0;
      break;
    }
    await sleep(100);
  }
  // The big shop's own pace, watched for a while longer.
  const bigBefore = (await sentByShop()).get("big") ?? 0;
  const windowStart = performance.now();
  await sleep(BIG_WINDOW_S * 1000);
  const bigAfter = (await sentByShop()).get("big") ?? 0;
  const bigRate = (bigAfter - bigBefore) / ((performance.now() - windowStart) / 1000);
  await stopWorker();
  const resources = resourceRows(
    [
      { what: "worker (this process)", mb: peakRssMb() },
      { what: "SMTP sink", mb: sink.peakRssMb() },
    ],
    await databaseSizeMb(database.url),
  );

  const firsts = [...firstAt.values()].sort((a, b) => a - b);
  const lastFirst = firsts.length === SMALL_SHOPS ? firsts[firsts.length - 1]! : Infinity;
  const bigShare = bigAtSmallDone / BIG;
  const projectedDrainMin = bigRate > 0 ? (BIG - bigAfter) / bigRate / 60 : Infinity;
  const load = os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(" / ");
  const row = (what: string, value: string, target: string, ok: boolean | null) =>
    `| ${what} | ${value} | ${target} | ${ok === null ? "" : ok ? "pass" : "MISS"} |`;
  console.log(`
Fairness between shops (${database.description}, JOB_CONCURRENCY=${env.JOB_CONCURRENCY}, one worker, SMTP sink answering in ${LATENCY_MS} ms, Node ${process.version})
1 shop with ${BIG.toLocaleString("en")} due emails (due 10 minutes earlier), ${SMALL_SHOPS} shops with ${PER_SMALL} each. Load average after: ${load} (${os.cpus().length} CPUs).

| measure | result | target | |
| --- | ---: | ---: | --- |
${row("every small shop's first email sent, after the worker started", `${lastFirst.toFixed(1)} s (first ${firsts[0]?.toFixed(1) ?? "—"} s)`, `≤ ${TARGET.firstEmailOfEverySmallShopS} s`, lastFirst <= TARGET.firstEmailOfEverySmallShopS)}
${row("all small shops' emails sent", smallDoneAt === null ? "not within 120 s" : `${smallDoneAt.toFixed(1)} s`, "—", null)}
${row("big shop's emails sent by then", `${bigAtSmallDone.toLocaleString("en")} (${(bigShare * 100).toFixed(2)} %)`, `< ${TARGET.bigShareBeforeSmallDone * 100} %`, smallDoneAt !== null && bigShare < TARGET.bigShareBeforeSmallDone)}
${row("big shop's sending pace afterwards", `${bigRate.toFixed(1)} emails/s`, "—", null)}
${row("big shop's backlog drained in (projected)", `${projectedDrainMin.toFixed(0)} min`, "—", null)}
${resources}
`);
  reportMisses([
    lastFirst > TARGET.firstEmailOfEverySmallShopS && "small shops' first emails",
    !(smallDoneAt !== null && bigShare < TARGET.bigShareBeforeSmallDone) && "small shops before the big backlog",
  ]);
}

runBench(main, async () => {
  for (const stop of cleanup) stop();
  await database?.stop();
  const { closeQueuePools } = await import("../app/jobs/engine.server");
  await closeQueuePools();
});
