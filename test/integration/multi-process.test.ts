import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expiredSession, stripeEvent } from "../fakes/stripe-api/objects";
import { stripeSignature } from "../fakes/stripe-api/webhooks";
import { buildApp, startServer, withoutLoaders } from "../helpers/browser";
import { offlineSession, shopifyWebhookRequest, TEST_SHOP } from "../helpers/shopify";
import { startSmtpSink, type SmtpSink } from "../helpers/smtp";
import { TEST_ENV } from "../setup/test-env";
import { jobTable } from "../helpers/jobs";

// The deployment the README describes for scale: two web processes (production build, JOB_RUNNER=off) and two
// `npm run worker` processes on one PostgreSQL. Signed Stripe and Shopify webhooks are spread over both web processes,
// some delivered twice (to the other one), while one worker is killed with SIGKILL in the middle of its jobs and a
// new one starts. Then: every acknowledged event processed exactly once, nobody emailed twice, nothing stuck.
const STRIPE_EVENTS = 240;
const SHOPIFY_EVENTS = 60;
const REDELIVERED = 40;
const LOCK_TIMEOUT_MS = 3_000;

let db: typeof import("~/db.server").db;
let sink: SmtpSink;
let webs: Awaited<ReturnType<typeof startServer>>[] = [];
const workers: ChildProcess[] = [];
let workerOutput = "";
let shopId: string;
let connectionId: string;
const webhookSecret = `whsec_${"m".repeat(32)}`;

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

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${workerOutput.slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

beforeAll(async () => {
  db = (await import("~/db.server")).db;
  const { ensureDefaultCampaign } = await import("~/models/campaign.server");
  const { connectStripe } = await import("~/models/stripe-connection.server");
  const { sessionStorage } = await import("~/shopify.server");
  sink = await startSmtpSink();
  const shop = await db.shop.create({
    data: {
      domain: TEST_SHOP,
      name: "Acme Outfitters",
      currency: "USD",
      timezone: "UTC",
      emailTransport: "smtp",
      smtpHost: sink.host,
      smtpPort: sink.port,
      senderName: "Acme Outfitters",
      senderEmail: "hello@acme.test",
      postalAddress: "1 Market Street, Springfield 12345, USA",
      grantedScopes: "",
    },
  });
  shopId = shop.id;
  await sessionStorage.storeSession(offlineSession(TEST_SHOP));
  await ensureDefaultCampaign(db, shop.id);
  // One email, due at once: each buyer should receive exactly one.
  const campaign = await db.campaign.findFirstOrThrow({ where: { shopId }, include: { steps: { orderBy: { position: "asc" } } } });
  await db.campaignStep.deleteMany({ where: { campaignId: campaign.id, position: { gt: 1 } } });
  await db.campaignStep.update({ where: { id: campaign.steps[0]!.id }, data: { delayMinutes: 0, incentiveType: null, incentiveValue: null } });
  const connected = await connectStripe(db, shop.id, { webhookSecret });
  if (!connected.ok) throw new Error("could not connect Stripe");
  connectionId = connected.connection.id;

  buildApp(buildDir);
  webs = await Promise.all([0, 1].map(() => startServer({ buildDir, databaseUrl: process.env.DATABASE_URL! })));
  startWorker();
  startWorker();
}, 300_000);

afterAll(async () => {
  await Promise.all(workers.map(stopped));
  await Promise.all(webs.map((w) => w.stop()));
  await sink?.close();
});

interface Delivery {
  id: string;
  send(base: string): Promise<number>;
}

function stripeDelivery(i: number): Delivery {
  const session = expiredSession({ email: `buyer${i}@example.com`, promotions: "opt_in", recovery: true, amountTotal: 1000 + i });
  const event = stripeEvent("checkout.session.expired", session);
  const body = JSON.stringify(event, null, 2);
  return {
    id: String(event.id),
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

function shopifyDelivery(i: number): Delivery {
  const now = new Date().toISOString();
  const webhookId = `mp-webhook-${i}`;
  const checkout = {
    id: 9_000_000 + i,
    token: `mp-token-${i}`,
    cart_token: `mp-cart-${i}`,
    email: `shopper${i}@example.com`,
    buyer_accepts_marketing: true,
    created_at: now,
    updated_at: now,
    total_price: "25.00",
    currency: "USD",
    presentment_currency: "USD",
    line_items: [],
    abandoned_checkout_url: `https://${TEST_SHOP}/checkouts/mp-token-${i}/recover?key=k${i}`,
  };
  return {
    id: webhookId,
    send: async (base) => {
      const request = shopifyWebhookRequest("/webhooks/checkouts", "checkouts/create", checkout, { webhookId });
      return (await fetch(`${base}/webhooks/checkouts`, { method: "POST", body: await request.text(), headers: request.headers })).status;
    },
  };
}

describe("two web processes and two workers on one database, one worker killed mid-run", () => {
  it("processes every acknowledged event exactly once, emails nobody twice, and leaves no job stuck", async () => {
    const deliveries = [
      ...Array.from({ length: STRIPE_EVENTS }, (_, i) => stripeDelivery(i)),
      ...Array.from({ length: SHOPIFY_EVENTS }, (_, i) => shopifyDelivery(i)),
    ];
    // Interleave the sources, alternate the web processes, and redeliver some to the other web process.
    const plan: { delivery: Delivery; web: number }[] = deliveries.map((delivery, i) => ({ delivery, web: i % 2 }));
    for (let i = 0; i < REDELIVERED; i++) plan.splice(40 + i * 6, 0, { delivery: deliveries[i * 5]!, web: (i * 5 + 1) % 2 });

    const statuses: number[] = [];
    let next = 0;
    let killedWorker: ChildProcess | null = null;
    let jobsOfKilled = 0;
    const sender = async () => {
      while (next < plan.length) {
        const { delivery, web } = plan[next++]!;
        statuses.push(await delivery.send(webs[web]!.url));
      }
    };
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
    };
    await Promise.all([...Array.from({ length: 12 }, sender), killer()]);

    expect(killedWorker).not.toBeNull();
    expect(jobsOfKilled).toBeGreaterThan(0);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    expect(statuses).toHaveLength(plan.length);

    // Every acknowledged event is stored once and processed; the killed worker's jobs are taken again after their lock
    // went stale (JOB_LOCK_TIMEOUT_MS), by the workers still alive.
    await until("every stored event to be processed", async () => (await db.inboundEvent.count({ where: { processedAt: null } })) === 0);
    expect(await db.inboundEvent.count({ where: { source: "stripe" } })).toBe(STRIPE_EVENTS);
    expect(await db.inboundEvent.count({ where: { source: "shopify", topic: "checkouts/create" } })).toBe(SHOPIFY_EVENTS);
    expect(await db.inboundEvent.count({ where: { error: { not: null } } })).toBe(0);
    expect(await db.recovery.count({ where: { shopId, source: "stripe" } })).toBe(STRIPE_EVENTS);
    expect(await db.recovery.count({ where: { shopId, source: "shopify" } })).toBe(SHOPIFY_EVENTS);

    // Emails left half-sent by the killed worker are resolved by the sweep once their claim is stale (10 minutes in
    // production); the sweep's own recovery runs here with the clock moved past that.
    const { recoverInterruptedSends, ensureSweepScheduled, STALE_CLAIM_MS } = await import("~/models/message.server");
    await until("sends to settle", async () => (await db.message.count({ where: { shopId, status: "scheduled", scheduledFor: { lte: new Date() } } })) === 0);
    const interrupted = await recoverInterruptedSends(db, new Date(Date.now() + STALE_CLAIM_MS + 1_000));
    await ensureSweepScheduled(db, new Date());
    await until(
      "every due email to be sent or visibly failed",
      async () => (await db.message.count({ where: { shopId, status: { in: ["scheduled", "sending"] }, scheduledFor: { lte: new Date() } } })) === 0,
    );

    // Nobody received the email twice (the SMTP server counts per recipient).
    const perRecipient = new Map<string, number>();
    for (const mail of sink.received) for (const to of mail.rcptTo) perRecipient.set(to, (perRecipient.get(to) ?? 0) + 1);
    expect([...perRecipient].filter(([, n]) => n > 1)).toEqual([]);
    // Every Stripe buyer (opted in, with a recovery link) got their email, except those whose delivery is unknown
    // because the worker died after handing it to the mail server: those are marked, never resent.
    const messages = await db.message.findMany({ where: { shopId }, include: { recovery: { select: { email: true, source: true } } } });
    const stripeMessages = messages.filter((m) => m.recovery.source === "stripe");
    expect(stripeMessages).toHaveLength(STRIPE_EVENTS);
    const sent = stripeMessages.filter((m) => m.status === "sent");
    const unknown = stripeMessages.filter((m) => m.status === "failed");
    expect(sent.length + unknown.length).toBe(STRIPE_EVENTS);
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
  }, 300_000);
});
