import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { H, MIN, shopifyCheckout, startPipeline, stripeSession, type Pipeline } from "../helpers/pipeline";
import { jobTable } from "../helpers/jobs";

// At most one send per (recovery, step): two workers racing, and a worker killed in the middle of a send.
let p: Pipeline;
const holdFor = new Set<string>();

beforeAll(async () => {
  p = await startPipeline({
    start: new Date("2027-04-01T08:00:00Z"),
    // Addresses in `holdFor` get their DATA swallowed without an answer: the client hangs mid-delivery.
    smtp: { onData: (mail) => (mail.rcptTo.some((a) => holdFor.has(a)) ? "hold" : "accept") },
  });
});
afterAll(() => p?.close());

async function until(check: () => boolean | Promise<boolean>, timeoutMs = 20_000) {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 25));
  }
}

function startChildWorker(now: Date, options: { waitForGo?: boolean } = {}): ChildProcess {
  return spawn(process.execPath, ["--import", "tsx", path.resolve("test/helpers/send-worker.ts")], {
    env: { ...process.env, WORKER_NOW: now.toISOString(), FAKE_ADMIN_URL: p.admin.url, WAIT_FOR_GO: options.waitForGo ? "1" : "0" },
    stdio: ["pipe", "pipe", "pipe"],
  });
}
const ready = (child: ChildProcess) =>
  new Promise<void>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes("ready")) resolve();
    });
    child.once("exit", (code) => reject(new Error(`worker exited (${code}) before it was ready`)));
  });
const exited = (child: ChildProcess) =>
  new Promise<void>((resolve) => (child.exitCode !== null || child.signalCode ? resolve() : child.once("exit", () => resolve())));

describe("sending at most once", () => {
  it("two workers racing over the same messages (two runners, different worker ids, duplicated jobs) send each once", async () => {
    const { jobDefinitions } = await import("~/jobs/registry.server");
    const { JobRunner } = await import("../helpers/jobs");
    const { enqueueDueSendJobs, SEND_SHOP_JOB } = await import("~/models/message-sweep.server");
    const shop = await p.newShop();
    const t = p.clock.now();
    const emails: string[] = [];
    for (let i = 0; i < 12; i++) {
      const email = `race${i}@example.com`;
      emails.push(email);
      await p.ingest(shop, i % 2 ? stripeSession(t, { email }) : shopifyCheckout(t, { email }));
    }
    p.clock.set(new Date(t.getTime() + H));
    expect((await enqueueDueSendJobs(p.db, p.clock.now())).enqueued).toBe(1); // one job for the shop's 12 due emails
    expect((await enqueueDueSendJobs(p.db, p.clock.now())).enqueued).toBe(0); // the sweep never queues a shop twice
    // …but a job can still be duplicated (an operator re-enqueues, a retry overlaps): three more, outside the shop's
    // lane, so they can run at the same time as each other and as the lane's job.
    for (let copy = 0; copy < 3; copy++)
      await jobTable(p.db).create({ data: { name: SEND_SHOP_JOB, payload: JSON.stringify({ shopId: shop.id }), runAt: p.clock.now() } });

    // Both runners interleave at every await: the batch claims skip rows another claim holds; each message goes once.
    const a = new JobRunner({ db: p.db, definitions: jobDefinitions, clock: p.clock, workerId: "worker-A", concurrency: 2 });
    const b = new JobRunner({ db: p.db, definitions: jobDefinitions, clock: p.clock, workerId: "worker-B", concurrency: 2 });
    const [ranA, ranB] = await Promise.all([a.drain(), b.drain()]);

    expect(ranA + ranB).toBeGreaterThanOrEqual(4);
    for (const email of emails) expect(p.sink.received.filter((m) => m.rcptTo.includes(email))).toHaveLength(1);
    expect(await p.db.message.count({ where: { shopId: shop.id, position: 1, status: "sent" } })).toBe(12);
    expect(await p.db.decisionLog.count({ where: { shopId: shop.id, outcome: "send" } })).toBe(12);
  });

  it("two worker processes on the same database file, started together over duplicated jobs, send each once", async () => {
    const { SEND_SHOP_JOB } = await import("~/models/message-sweep.server");
    const shop = await p.newShop();
    const t = p.clock.now();
    const emails = Array.from({ length: 10 }, (_, i) => `proc-race${i}@example.com`);
    for (const [i, email] of emails.entries()) await p.ingest(shop, i % 2 ? stripeSession(t, { email }) : shopifyCheckout(t, { email }));
    const due = new Date(t.getTime() + H);
    // The shop's send job, duplicated: copies outside the shop's lane, so both processes run them at the same time.
    const created: string[] = [];
    for (let copy = 0; copy < 6; copy++)
      created.push((await jobTable(p.db).create({ data: { name: SEND_SHOP_JOB, payload: JSON.stringify({ shopId: shop.id }), runAt: due } })).id);
    const children = [startChildWorker(due, { waitForGo: true }), startChildWorker(due, { waitForGo: true })];
    const ranBy = children.map((child) => {
      let out = "";
      child.stdout!.on("data", (chunk: Buffer) => (out += chunk.toString()));
      return () => [...out.matchAll(/ran (\S+)/g)].map((m) => m[1]!).filter((id) => created.includes(id));
    });
    await Promise.all(children.map(ready));
    for (const child of children) child.stdin!.write("go\n");
    await Promise.all(children.map(exited));
    expect(children.map((c) => c.exitCode)).toEqual([0, 0]);
    for (const email of emails) expect(p.sink.received.filter((m) => m.rcptTo.includes(email))).toHaveLength(1);
    expect(await p.db.message.count({ where: { shopId: shop.id, position: 1, status: "sent" } })).toBe(10);
    // Every job ran once (succeeded jobs are removed by graphile-worker), and both processes took part.
    expect(await jobTable(p.db).count({ where: { name: SEND_SHOP_JOB, shopId: null } })).toBe(0);
    const ran = ranBy.map((ids) => ids());
    expect([...ran[0]!, ...ran[1]!].sort()).toEqual([...created].sort());
    expect(ran.every((ids) => ids.length > 0)).toBe(true);
  });

  it("the claim itself: of many concurrent claims on one message exactly one wins", async () => {
    const { claimMessage } = await import("~/models/message.server");
    const shop = await p.newShop();
    const t = p.clock.now();
    const { recoveryId } = (await p.ingest(shop, shopifyCheckout(t))) as { recoveryId: string };
    const message = await p.db.message.findFirstOrThrow({ where: { recoveryId, position: 1 } });
    const wins = await Promise.all(Array.from({ length: 40 }, (_, i) => claimMessage(p.db, message.id, `claim-${i}`, new Date(t.getTime() + 2 * H))));
    expect(wins.filter(Boolean)).toHaveLength(1);
  });

  it("a worker killed after handing the email to the mail server: it is never sent again (delivery unknown, logged)", async () => {
    const shop = await p.newShop();
    const t = p.clock.now();
    holdFor.add("crash-after-handoff@example.com");
    const { recoveryId } = (await p.ingest(shop, stripeSession(t, { email: "crash-after-handoff@example.com" }))) as { recoveryId: string };
    const due = new Date(t.getTime() + H);

    const child = startChildWorker(due);
    // The child claims, hands off, and transfers the message; the SMTP server never answers; we kill the child.
    await until(() => p.sink.held.some((m) => m.rcptTo.includes("crash-after-handoff@example.com")));
    child.kill("SIGKILL");
    await exited(child);
    holdFor.delete("crash-after-handoff@example.com");
    p.sink.dropConnections();
    expect((await p.db.message.findFirstOrThrow({ where: { recoveryId, position: 1 } })).status).toBe("sending");

    // Later: the runner reclaims the dead worker's job, the sweep finds the interrupted send.
    await p.runAt(new Date(due.getTime() + 11 * MIN));
    await p.runAt(new Date(due.getTime() + 12 * MIN));
    const first = await p.db.message.findFirstOrThrow({ where: { recoveryId, position: 1 } });
    expect(first.status).toBe("failed");
    expect(first.lastError).toMatch(/may or may not have been delivered/);
    expect(p.sink.received.filter((m) => m.rcptTo.includes("crash-after-handoff@example.com"))).toHaveLength(0);
    expect(await p.db.decisionLog.findFirst({ where: { recoveryId, reason: "delivery_unknown" } })).not.toBeNull();
    // The campaign goes on: step 2 is sent normally, once.
    await p.runAt(new Date(t.getTime() + 24 * H));
    expect(p.sink.received.filter((m) => m.rcptTo.includes("crash-after-handoff@example.com"))).toHaveLength(1);
    expect(p.sink.held.filter((m) => m.rcptTo.includes("crash-after-handoff@example.com"))).toHaveLength(1);
  });

  it("a worker killed after the claim but before the hand-off: the message is retried and sent exactly once, reusing its discount code", async () => {
    const shop = await p.newShop();
    // The Admin call that hangs must be the discount call: no look-up of Shopify's own email before it (ADR 075).
    await p.db.shop.update({ where: { id: shop.id }, data: { shopifyEmailPolicy: "send_anyway" } });
    // Give step 1 an incentive, so claim → (Shopify discount call) → hand-off has a window to crash in.
    const { DEFAULT_STEPS } = await import("~/recovery/campaign-defaults");
    await p.db.campaignStep.updateMany({
      where: { campaign: { shopId: shop.id }, position: 1 },
      data: { incentiveType: "percentage", incentiveValue: 15, incentiveExpiresDays: 2, bodyTemplate: DEFAULT_STEPS[2]!.bodyTemplate },
    });
    const t = p.clock.now();
    const { recoveryId } = (await p.ingest(shop, shopifyCheckout(t, { email: "crash-after-claim@example.com" }))) as { recoveryId: string };
    const due = new Date(t.getTime() + H);

    p.admin.timeoutNext({ shop: shop.domain }); // the discount call hangs until its connection closes
    const child = startChildWorker(due);
    await until(() => p.admin.stats(shop.domain).faultsInjected > 0);
    child.kill("SIGKILL");
    await exited(child);
    const claimed = await p.db.message.findFirstOrThrow({ where: { recoveryId, position: 1 } });
    expect(claimed.status).toBe("claimed");
    expect(claimed.discountCode).toMatch(/^BACK-/);
    expect(p.sink.received.filter((m) => m.rcptTo.includes("crash-after-claim@example.com"))).toHaveLength(0);

    // The stale claim is put back and sent once, with the code chosen before the crash.
    await p.runAt(new Date(due.getTime() + 11 * MIN));
    await p.runAt(new Date(due.getTime() + 12 * MIN));
    const sent = await p.db.message.findFirstOrThrow({ where: { recoveryId, position: 1 } });
    expect(sent).toMatchObject({ status: "sent", discountCode: claimed.discountCode });
    const received = p.sink.received.filter((m) => m.rcptTo.includes("crash-after-claim@example.com"));
    expect(received).toHaveLength(1);
    expect(String(received[0]!.parsed.html)).toContain(claimed.discountCode!);
    expect(p.admin.store(shop.domain).discounts.map((d) => d.code)).toEqual([claimed.discountCode]);
  });
});
