import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { H, shopifyCheckout, startPipeline, stripeSession, type Pipeline } from "../helpers/pipeline";
import { jobTable } from "../helpers/jobs";
import { startSmtpSink } from "../helpers/smtp";

// Sends that SMTP latency does not cap (docs/decisions/085-sends-in-flight.md): one job per shop sends its due emails
// in batches, several at once through the shop's pooled SMTP connections, and still never breaks the frequency cap.
let p: Pipeline;
let saved: Record<string, unknown>;
const knobs = ["SMTP_MAX_CONNECTIONS", "SEND_BATCH_SIZE", "SEND_BATCH_MS"] as const;

beforeAll(async () => {
  p = await startPipeline({ start: new Date("2027-05-03T08:00:00Z") });
  const { env } = await import("~/env.server");
  saved = Object.fromEntries(knobs.map((k) => [k, env[k]]));
});
afterEach(async () => {
  const { env } = await import("~/env.server");
  Object.assign(env, saved);
  p.sink.latencyMs = 0;
});
afterAll(() => p?.close());

const sentTo = (email: string) => p.sink.received.filter((m) => m.rcptTo.includes(email)).length;

describe("sending many messages per job", () => {
  it("a shop's 40 due emails go out several at once over its pooled connections (at most the pool's size), each once", async () => {
    const { env } = await import("~/env.server");
    env.SMTP_MAX_CONNECTIONS = 5;
    const shop = await p.newShop();
    const t = p.clock.now();
    const emails = Array.from({ length: 40 }, (_, i) => `many-${i}@example.com`);
    for (const email of emails) await p.ingest(shop, stripeSession(t, { email }));
    // A provider that takes 150 ms to accept each message: one after another, 40 take 6 s.
    p.sink.latencyMs = 150;
    p.sink.peakInFlight = 0;
    await p.runAt(new Date(t.getTime() + H));

    for (const email of emails) expect(sentTo(email)).toBe(1);
    expect(await p.db.message.count({ where: { shopId: shop.id, position: 1, status: "sent" } })).toBe(40);
    expect(await p.db.decisionLog.count({ where: { shopId: shop.id, outcome: "send" } })).toBe(40);
    expect(p.sink.peakInFlight).toBeGreaterThan(1);
    expect(p.sink.peakInFlight).toBeLessThanOrEqual(5);
    // The queue held one job for the shop, not one per email, and nothing of it is left.
    expect(await jobTable(p.db).count({ where: { name: "send-shop-messages", shopId: shop.id } })).toBe(0);
  });

  it("two emails to one person in the same batch: the frequency cap lets one go, and the second sees the first", async () => {
    const shop = await p.newShop({ frequencyCapHours: 16 });
    const email = "same-person@example.com";
    const t = p.clock.now();
    // Two checkouts abandoned at the same instant: neither is newer, so neither supersedes the other
    // (app/recovery/supersession.ts) and decide() says "send" for both. (Putting the first's emails back is a no-op now.)
    const a = await p.ingest(shop, shopifyCheckout(t, { email }));
    const b = await p.ingest(shop, shopifyCheckout(t, { email }));
    if (a.kind !== "checkout" || b.kind !== "checkout") throw new Error("not stored");
    await p.db.recovery.update({ where: { id: a.recoveryId }, data: { status: "open" } });
    await p.db.message.updateMany({ where: { recoveryId: a.recoveryId }, data: { status: "scheduled", skipReason: null } });
    await p.db.shop.update({ where: { id: shop.id }, data: { shopifyEmailPolicy: "send_anyway" } });
    await p.runAt(new Date(t.getTime() + H));

    expect(sentTo(email)).toBe(1);
    const firsts = await p.db.message.findMany({ where: { recoveryId: { in: [a.recoveryId, b.recoveryId] }, position: 1 }, orderBy: { status: "asc" } });
    expect(firsts.map((m) => [m.status, m.skipReason])).toEqual([
      ["sent", null],
      ["skipped", "frequency_cap"],
    ]);
  });

  it("a batch is bounded by count and by time: the shop yields its lane, queues its own next run, and the rest follows", async () => {
    const { env } = await import("~/env.server");
    const { sendShopMessages } = await import("~/jobs/definitions/send-message.server");
    const shop = await p.newShop();
    const t = p.clock.now();
    const emails = Array.from({ length: 30 }, (_, i) => `bounded-${i}@example.com`);
    for (const email of emails) await p.ingest(shop, stripeSession(t, { email }));
    p.clock.set(new Date(t.getTime() + H));
    const runOnce = async () => {
      const job = await jobTable(p.db).create({ data: { name: "noop", payload: "{}", runAt: p.clock.now() } });
      await sendShopMessages.run({
        payload: { shopId: shop.id },
        db: p.db,
        clock: p.clock,
        job: { id: job.id, name: job.name, attempts: 1, shopId: shop.id },
        signal: new AbortController().signal,
      });
      await jobTable(p.db).deleteMany({ where: { id: job.id } });
    };
    const sent = () => p.db.message.count({ where: { shopId: shop.id, position: 1, status: "sent" } });
    const queued = () => jobTable(p.db).count({ where: { name: "send-shop-messages", shopId: shop.id, status: "queued" } });

    // By count: 5 per job.
    env.SEND_BATCH_SIZE = 5;
    await runOnce();
    expect(await sent()).toBe(5);
    expect(await queued()).toBe(1);

    // By time: at 150 ms per message over one connection, a 200 ms budget ends the job after its first chunk (8).
    env.SEND_BATCH_SIZE = 500;
    env.SEND_BATCH_MS = 200;
    env.SMTP_MAX_CONNECTIONS = 1;
    p.sink.latencyMs = 150;
    await runOnce();
    expect(await sent()).toBeGreaterThan(5);
    expect(await sent()).toBeLessThan(30);
    expect(await queued()).toBe(1);

    // The queued run sends the rest; with nothing left due, no further run is queued.
    Object.assign(env, saved);
    p.sink.latencyMs = 0;
    await p.drain();
    expect(await sent()).toBe(30);
    expect(await queued()).toBe(0);
    for (const email of emails) expect(sentTo(email)).toBe(1);
  });
});

describe("per-shop SMTP pools", () => {
  it("are sized from the settings, never above what a provider documents", async () => {
    const { poolSizeFor } = await import("~/email/transport.server");
    const settings = { maxConnections: 10, maxMessages: 100 };
    expect(poolSizeFor("smtp.postmarkapp.com", settings)).toEqual({ maxConnections: 10, maxMessages: 100 });
    expect(poolSizeFor("SMTP.SocketLabs.com", settings)).toEqual({ maxConnections: 10, maxMessages: 50 });
    expect(poolSizeFor("mail.authsmtp.com", settings)).toEqual({ maxConnections: 5, maxMessages: 100 });
    expect(poolSizeFor("smtp.office365.com", settings)).toEqual({ maxConnections: 1, maxMessages: 100 });
    expect(poolSizeFor("smtp.office365.com.evil.example", settings)).toEqual({ maxConnections: 10, maxMessages: 100 });
    expect(poolSizeFor("smtp.postmarkapp.com", { maxConnections: 3, maxMessages: 20 })).toEqual({ maxConnections: 3, maxMessages: 20 });
  });

  it("are closed when idle, replaced when the shop's SMTP settings change, and closed on shutdown", async () => {
    const { closeTransports, deliver, evictIdleTransports, openTransportCount } = await import("~/email/transport.server");
    closeTransports();
    const shop = await p.newShop();
    const mail = (to: string) => ({ from: "shop@example.com", to, subject: "Hi", text: "Hi" });
    await deliver(shop, mail("pool-1@example.com"));
    expect(openTransportCount()).toBe(1);
    // Used a moment ago: kept. Unused for longer than the idle time: closed.
    expect(evictIdleTransports(60_000, Date.now())).toBe(0);
    expect(openTransportCount()).toBe(1);
    expect(evictIdleTransports(60_000, Date.now() + 61_000)).toBe(1);
    expect(openTransportCount()).toBe(0);

    // New settings (another server): the old pool is closed and the next email goes through the new one.
    await deliver(shop, mail("pool-2@example.com"));
    const other = await startSmtpSink();
    try {
      await deliver({ ...shop, smtpPort: other.port }, mail("pool-3@example.com"));
      expect(openTransportCount()).toBe(1);
      expect(other.received.map((m) => m.rcptTo)).toEqual([["pool-3@example.com"]]);
      expect(sentTo("pool-3@example.com")).toBe(0);
      closeTransports();
      expect(openTransportCount()).toBe(0);
    } finally {
      await other.close();
    }
  });
});
