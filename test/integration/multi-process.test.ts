import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expiredSession, stripeEvent } from "../../app/demo/fakes/stripe-api/objects";
import { stripeSignature } from "../../app/demo/fakes/stripe-api/webhooks";
import { buildApp, startServer, withoutLoaders } from "../helpers/browser";
import { offlineSession, shopifyWebhookRequest } from "../helpers/shopify";
import { startSmtpSink, type SmtpSink } from "../helpers/smtp";
import { TEST_ENV } from "../setup/test-env";
import { jobTable } from "../helpers/jobs";

// The deployment the README describes for scale: two web processes (production build, JOB_RUNNER=off) and two
// `npm run worker` processes on one PostgreSQL, serving ten shops. Signed Stripe and Shopify webhooks are spread
// over both web processes, some delivered twice (to the other one), while one worker is killed with SIGKILL in the
// middle of its jobs and a new one starts, each web process is restarted in turn (SIGTERM, a new one on the same build:
// a rolling upgrade) and the other worker is restarted with SIGTERM. A delivery that is refused or cut off is sent
// again, as Stripe and Shopify retry any delivery without a 2xx. Then: every acknowledged event processed exactly once,
// nobody emailed twice, every due email sent or visibly marked delivery-unknown, nothing stuck.
//
// Scale: MULTI_PROCESS_EVENTS deliveries (a multiple of 50; 4 Stripe to 1 Shopify, over ten shops), plus 8% delivered
// twice. The check is 5,000 (`MULTI_PROCESS_EVENTS=5000 npx vitest run test/integration/multi-process.test.ts`);
// the suite runs DEFAULT_EVENTS because every job costs tens of milliseconds of CPU in the workers (most of it in Prisma's
// query compiler and the pg driver), so 5,000 deliveries are several CPU-minutes on a 2-core machine.
const DEFAULT_EVENTS = 1_000;
const EVENTS = Number(process.env.MULTI_PROCESS_EVENTS ?? DEFAULT_EVENTS);
if (!Number.isInteger(EVENTS / 50) || EVENTS <= 0) throw new Error("MULTI_PROCESS_EVENTS must be a positive multiple of 50");
const SHOPS = 10;
const SHOPIFY_PER_SHOP = EVENTS / SHOPS / 5;
const STRIPE_PER_SHOP = 4 * SHOPIFY_PER_SHOP;
const REDELIVERED = Math.round(EVENTS * 0.08);
// Generous: what a loaded 2-core machine running other test files at the same time needs (about 0.4 s per delivery).
const TIMEOUT_MS = Math.max(600_000, EVENTS * 400);
const SENDERS = 12;
const LOCK_TIMEOUT_MS = 3_000;

interface TestShop {
  id: string;
  domain: string;
  connectionId: string;
  webhookSecret: string;
}

let db: typeof import("~/db.server").db;
let sink: SmtpSink;
let webs: Awaited<ReturnType<typeof startServer>>[] = [];
const retiredWebs: Awaited<ReturnType<typeof startServer>>[] = [];
const workers: ChildProcess[] = [];
let workerOutput = "";
const shops: TestShop[] = [];

// This run's production build (buildApp): the web processes and workers run its compiled entries, as production does.
const buildDir = path.join(process.env.RECLAIM_TEST_RUN_DIR!, "build");

function startWorker(): ChildProcess {
  const child = spawn(process.execPath, [path.join(buildDir, "node/server/worker.js")], {
    env: {
      ...withoutLoaders(process.env),
      ...TEST_ENV,
      DATABASE_URL: process.env.DATABASE_URL!,
      JOB_POLL_INTERVAL_MS: "50",
      JOB_CONCURRENCY: "4",
      JOB_LOCK_TIMEOUT_MS: String(LOCK_TIMEOUT_MS),
      LOG_LEVEL: "warn",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout!.on("data", (c: Buffer) => (workerOutput += c.toString()));
  child.stderr!.on("data", (c: Buffer) => (workerOutput += c.toString()));
  workers.push(child);
  return child;
}

const stopped = (child: ChildProcess) =>
  new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
  });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, check: () => Promise<boolean>, timeoutMs = TIMEOUT_MS) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${workerOutput.slice(-3000)}`);
    await sleep(250);
  }
}

beforeAll(async () => {
  db = (await import("~/db.server")).db;
  const { ensureDefaultCampaign } = await import("~/models/campaign.server");
  const { connectStripe } = await import("~/models/stripe-connection.server");
  const { sessionStorage } = await import("~/shopify.server");
  sink = await startSmtpSink();
  for (let k = 0; k < SHOPS; k++) {
    const domain = `mp-shop-${k}.myshopify.com`;
    const shop = await db.shop.create({
      data: {
        domain,
        name: `Shop ${k}`,
        currency: "USD",
        timezone: "UTC",
        emailTransport: "smtp",
        smtpHost: sink.host,
        smtpPort: sink.port,
        senderName: `Shop ${k}`,
        senderEmail: `hello@shop${k}.test`,
        postalAddress: "1 Market Street, Springfield 12345, USA",
        grantedScopes: "",
      },
    });
    await sessionStorage.storeSession(offlineSession(domain));
    await ensureDefaultCampaign(db, shop.id);
    // One email, due at once: each buyer should receive exactly one.
    const campaign = await db.campaign.findFirstOrThrow({ where: { shopId: shop.id }, include: { steps: { orderBy: { position: "asc" } } } });
    await db.campaignStep.deleteMany({ where: { campaignId: campaign.id, position: { gt: 1 } } });
    await db.campaignStep.update({ where: { id: campaign.steps[0]!.id }, data: { delayMinutes: 0, incentiveType: null, incentiveValue: null } });
    const webhookSecret = `whsec_${String(k).padStart(32, "m")}`;
    const connected = await connectStripe(db, shop.id, { webhookSecret });
    if (!connected.ok) throw new Error("could not connect Stripe");
    shops.push({ id: shop.id, domain, connectionId: connected.connection.id, webhookSecret });
  }

  buildApp(buildDir);
  webs = await Promise.all([0, 1].map(() => startServer({ buildDir, databaseUrl: process.env.DATABASE_URL! })));
  startWorker();
  startWorker();
}, 300_000);

afterAll(async () => {
  await Promise.all(workers.map(stopped));
  await Promise.all([...webs, ...retiredWebs].map((w) => (w.process.exitCode === null && w.process.signalCode === null ? w.stop() : undefined)));
  await sink?.close();
});

interface Delivery {
  id: string;
  shop: number;
  send(base: string): Promise<number>;
}

function stripeDelivery(shop: number, i: number): Delivery {
  const { connectionId, webhookSecret } = shops[shop]!;
  const session = expiredSession({ email: `buyer${i}@shop${shop}.example.com`, promotions: "opt_in", recovery: true, amountTotal: 1000 + i });
  const event = stripeEvent("checkout.session.expired", session);
  const body = JSON.stringify(event, null, 2);
  return {
    id: String(event.id),
    shop,
    send: async (base) =>
      (
        await fetch(`${base}/webhooks/stripe/${connectionId}`, {
          method: "POST",
          body,
          headers: { "content-type": "application/json", "stripe-signature": stripeSignature(body, webhookSecret) },
        })
      ).status,
  };
}

function shopifyDelivery(shop: number, i: number): Delivery {
  const { domain } = shops[shop]!;
  const now = new Date().toISOString();
  const webhookId = `mp-webhook-${shop}-${i}`;
  const checkout = {
    id: 9_000_000 + shop * 10_000 + i,
    token: `mp-token-${shop}-${i}`,
    cart_token: `mp-cart-${shop}-${i}`,
    email: `shopper${i}@shop${shop}.example.com`,
    buyer_accepts_marketing: true,
    created_at: now,
    updated_at: now,
    total_price: "25.00",
    currency: "USD",
    presentment_currency: "USD",
    line_items: [],
    abandoned_checkout_url: `https://${domain}/checkouts/mp-token-${shop}-${i}/recover?key=k${i}`,
  };
  return {
    id: webhookId,
    shop,
    send: async (base) => {
      const request = shopifyWebhookRequest("/webhooks/checkouts", "checkouts/create", checkout, { webhookId, shop: domain });
      return (await fetch(`${base}/webhooks/checkouts`, { method: "POST", body: await request.text(), headers: request.headers })).status;
    },
  };
}

describe("two web processes and two workers on one database, ten shops, one worker killed and every process restarted mid-run", () => {
  it(
    "processes every acknowledged event exactly once, emails nobody twice, loses nothing to a rolling restart, and leaves no job stuck",
    async () => {
      const started = Date.now();
      const phases: string[] = [];
      const phase = (name: string) => phases.push(`${name} at ${((Date.now() - started) / 1000).toFixed(1)} s`);

      // Shops take turns, and within a shop Stripe and Shopify deliveries are interleaved, as live traffic would be.
      const deliveries: Delivery[] = [];
      for (let i = 0; i < STRIPE_PER_SHOP; i++) {
        for (let k = 0; k < SHOPS; k++) {
          deliveries.push(stripeDelivery(k, i));
          if (i % 4 === 0) deliveries.push(shopifyDelivery(k, i / 4));
        }
      }
      expect(deliveries).toHaveLength(SHOPS * (STRIPE_PER_SHOP + SHOPIFY_PER_SHOP));
      // Alternate the web processes, and redeliver some to the other web process (a retry after a lost answer).
      const plan: { delivery: Delivery; web: number }[] = deliveries.map((delivery, i) => ({ delivery, web: i % 2 }));
      const every = Math.floor(deliveries.length / REDELIVERED);
      for (let i = 0; i < REDELIVERED; i++) plan.splice(40 + i * (every + 1), 0, { delivery: deliveries[i * every]!, web: (i * every + 1) % 2 });

      // The sender retries what was not answered 200 (refused while a web process restarts, or cut off) after a pause,
      // alternating between the web processes (a load balancer in front of them sends a retry to one that is up).
      const acknowledged = new Set<string>();
      const refusals: { web: number; at: number; status: number }[] = [];
      const restarting: { web: number; from: number; to: number }[] = [];
      let next = 0;
      const sender = async () => {
        while (next < plan.length) {
          const { delivery, web } = plan[next++]!;
          for (let attempt = 1; ; attempt++) {
            const at = Date.now();
            const to = (web + attempt - 1) % 2;
            const status = await delivery.send(webs[to]!.url).catch(() => 0); // 0: refused or cut off
            if (status === 200) break;
            refusals.push({ web: to, at, status });
            if (attempt === 50) throw new Error(`delivery ${delivery.id} refused 50 times (last: ${status})`);
            await sleep(100);
          }
          acknowledged.add(delivery.id);
        }
      };

      let killedWorker: ChildProcess | null = null;
      let jobsOfKilled = 0;
      const killer = async () => {
        // Once the first worker is busy with jobs, kill it without warning (a crash, an OOM kill), and start another.
        const doomed = workers[0]!;
        await until("the first worker to hold running jobs", async () => {
          // graphile-worker's ids of the doomed process's workers, as it printed them at start.
          const ids = new RegExp(`Reclaim worker ${doomed.pid} started: (.*)`).exec(workerOutput)?.[1]?.split(", ") ?? [];
          jobsOfKilled = await jobTable(db).count({ where: { status: "running", lockedBy: { in: ids } } });
          return jobsOfKilled > 0;
        });
        const gone = new Promise((r) => doomed.once("exit", r));
        doomed.kill("SIGKILL");
        killedWorker = doomed;
        await gone; // its connections are closed and its jobs are left "running" with a heartbeat that will stop
        startWorker();
        phase("worker killed and replaced");
      };

      let restartedWorker: ChildProcess | null = null;
      const stopTimes: number[] = [];
      const roller = async () => {
        // A rolling upgrade: once a fifth of the deliveries are in, each web process in turn is stopped (SIGTERM: it
        // answers what it has in flight, then exits) and a new one is started on the same build while the other keeps
        // serving; then the surviving original worker is stopped with SIGTERM and replaced the same way.
        await until("a fifth of the deliveries", async () => next > plan.length / 5);
        for (const web of [0, 1]) {
          const from = Date.now();
          phase(`web ${web} stopping`);
          const old = webs[web]!;
          await old.stop();
          stopTimes.push(Date.now() - from);
          phase(`web ${web} stopped`);
          webs[web] = await startServer({ buildDir, databaseUrl: process.env.DATABASE_URL!, startTimeoutMs: 120_000 });
          retiredWebs.push(old);
          restarting.push({ web, from, to: Date.now() });
          phase(`web ${web} restarted`);
          await sleep(500);
        }
        const old = workers[1]!;
        await stopped(old);
        restartedWorker = old;
        startWorker();
        phase("worker restarted with SIGTERM");
      };

      await Promise.all([...Array.from({ length: SENDERS }, sender), killer(), roller()]);
      phase(`${plan.length} deliveries acknowledged`);

      expect(killedWorker).not.toBeNull();
      expect(jobsOfKilled).toBeGreaterThan(0);
      expect(restartedWorker).not.toBeNull();
      expect(restarting).toHaveLength(2);
      // A stopping web process closes each keep-alive connection after its answer, so it is gone well before its 10-second
      // shutdown limit would cut requests in flight (the senders keep their connections open, as a load balancer does).
      expect(stopTimes.filter((ms) => ms >= 9_000)).toEqual([]);
      expect(next).toBe(plan.length);
      // Every delivery was acknowledged in the end. Refusals happened only at a web process being restarted (the
      // sender retried them), none at a running one: a restart is seen by senders as a refused connection at worst.
      expect(acknowledged.size).toBe(deliveries.length);
      const outsideRestart = refusals.filter((r) => !restarting.some((w) => w.web === r.web && r.at >= w.from - 1_000 && r.at <= w.to + 1_000));
      expect(outsideRestart).toEqual([]);
      expect(refusals.filter((r) => r.status >= 400 && r.status < 500)).toEqual([]);

      // Every acknowledged event is stored once and processed; the killed worker's jobs are taken again after their lock
      // went stale (JOB_LOCK_TIMEOUT_MS), by the workers still alive.
      await until("every stored event to be processed", async () => (await db.inboundEvent.count({ where: { processedAt: null } })) === 0);
      phase("every event processed");
      for (const shop of shops) {
        expect(await db.inboundEvent.count({ where: { source: "stripe", receiver: shop.connectionId } })).toBe(STRIPE_PER_SHOP);
        expect(await db.inboundEvent.count({ where: { source: "shopify", receiver: shop.domain, topic: "checkouts/create" } })).toBe(SHOPIFY_PER_SHOP);
        expect(await db.recovery.count({ where: { shopId: shop.id, source: "stripe" } })).toBe(STRIPE_PER_SHOP);
        expect(await db.recovery.count({ where: { shopId: shop.id, source: "shopify" } })).toBe(SHOPIFY_PER_SHOP);
      }
      expect(await db.inboundEvent.count({ where: { error: { not: null } } })).toBe(0);
      // Every event stored was one of the acknowledged deliveries (nothing stored under another id).
      const storedIds = (await db.inboundEvent.findMany({ where: { source: { in: ["stripe", "shopify"] } }, select: { externalId: true } })).map(
        (e) => e.externalId,
      );
      expect(storedIds.filter((id) => !acknowledged.has(id))).toEqual([]);

      // Emails left half-sent by the killed worker are resolved by the sweep once their claim is stale (10 minutes in
      // production); the sweep's own recovery runs here with the clock moved past that.
      const { recoverInterruptedSends, ensureSweepScheduled, STALE_CLAIM_MS } = await import("~/models/message-sweep.server");
      await until("sends to settle", async () => (await db.message.count({ where: { status: "scheduled", scheduledFor: { lte: new Date() } } })) === 0);
      phase("sends settled");
      const interrupted = await recoverInterruptedSends(db, new Date(Date.now() + STALE_CLAIM_MS + 1_000));
      await ensureSweepScheduled(db, new Date());
      await until(
        "every due email to be sent or visibly failed",
        // "claimed": a send job has taken it and not handed it over yet (the requeued ones are claimed again in a batch).
        async () => (await db.message.count({ where: { status: { in: ["scheduled", "claimed", "sending"] }, scheduledFor: { lte: new Date() } } })) === 0,
      );
      phase("every due email sent or marked");

      // Nobody received the email twice (the SMTP server counts per recipient, across every shop).
      const perRecipient = new Map<string, number>();
      for (const mail of sink.received) for (const to of mail.rcptTo) perRecipient.set(to, (perRecipient.get(to) ?? 0) + 1);
      expect([...perRecipient].filter(([, n]) => n > 1)).toEqual([]);
      // Every Stripe buyer (opted in, with a recovery link) got their email, except those whose delivery is unknown
      // because the worker died after handing it to the mail server: those are marked, never resent.
      const messages = await db.message.findMany({
        select: { shopId: true, status: true, lastError: true, skipReason: true, recovery: { select: { email: true, source: true } } },
      });
      const stripeMessages = messages.filter((m) => m.recovery.source === "stripe");
      for (const shop of shops) expect(stripeMessages.filter((m) => m.shopId === shop.id)).toHaveLength(STRIPE_PER_SHOP);
      const sent = stripeMessages.filter((m) => m.status === "sent");
      const unknown = stripeMessages.filter((m) => m.status === "failed");
      // Neither sent nor marked: say how they ended (status and reason) rather than only how many.
      expect(stripeMessages.filter((m) => m.status !== "sent" && m.status !== "failed").map((m) => `${m.status}: ${m.skipReason ?? m.lastError}`)).toEqual([]);
      expect(sent.length + unknown.length).toBe(SHOPS * STRIPE_PER_SHOP);
      expect(unknown.length).toBeLessThanOrEqual(interrupted.markedUnknown);
      for (const m of sent) expect(perRecipient.get(m.recovery.email!)).toBe(1);
      for (const m of unknown) expect(m.lastError ?? m.skipReason ?? "").not.toBe("");
      // No job left running or overdue.
      await until("the queue to be idle", async () => (await jobTable(db).count({ where: { status: "running" } })) === 0, 30_000);
      expect(await jobTable(db).count({ where: { status: "failed" } })).toBe(0);
      expect(
        await jobTable(db).count({
          where: {
            status: "queued",
            name: { notIn: ["send-due-messages", "prune-retention", "sync-shopify-checkouts", "repair-split-checkouts"] },
            runAt: { lt: new Date(Date.now() - 5_000) },
          },
        }),
      ).toBe(0);
      phase("done");
      console.log(
        `multi-process: ${deliveries.length} deliveries + ${REDELIVERED} redeliveries over ${SHOPS} shops, ${refusals.length} refused during restarts, ` +
          `${jobsOfKilled} jobs of the killed worker, ${sent.length} emails sent, ${unknown.length} delivery-unknown; ${phases.join("; ")}`,
      );
    },
    TIMEOUT_MS,
  );
});
