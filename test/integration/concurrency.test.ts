import type { PrismaClient } from "@prisma/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPrismaClient } from "~/db.server";
import { H, shopifyCheckout, startPipeline, type Pipeline } from "../helpers/pipeline";
import { jobTable } from "../helpers/jobs";

// What several processes writing one PostgreSQL at once must not break. Each client below is its own connection pool,
// as each web or worker process has, and the statements race for real in the database (no lock in this process).
let p: Pipeline;
let clients: PrismaClient[];
beforeAll(async () => {
  p = await startPipeline({ start: new Date("2027-05-03T09:00:00Z") });
  clients = [0, 1, 2, 3].map(() => createPrismaClient(process.env.DATABASE_URL!, 4));
  await Promise.all(clients.map((c) => c.$connect()));
});
afterAll(async () => {
  await Promise.all((clients ?? []).map((c) => c.$disconnect()));
  await p?.close();
});

describe("under concurrency (separate connections, one database)", () => {
  it("the frequency cap holds when two workers hand off emails for two checkouts of one person at the same instant", async () => {
    const { claimMessage, handOff } = await import("~/models/message.server");
    const shop = await p.newShop({ frequencyCapHours: 16 });
    const outcomes: string[][] = [];
    for (let round = 0; round < 12; round++) {
      const email = `twice-${round}@example.com`;
      const t = p.clock.now();
      const a = await p.ingest(shop, shopifyCheckout(t, { email }));
      const b = await p.ingest(shop, shopifyCheckout(new Date(t.getTime() + 60_000), { email }));
      // The newer checkout superseded the older one's scheduled emails; but one of those was in flight then (claimed),
      // failed at the mail server and was put back for a retry, which comes due with the newer checkout's first email.
      await p.db.message.updateMany({
        where: { recoveryId: a.kind === "checkout" ? a.recoveryId : "", position: 1 },
        data: { status: "scheduled", skipReason: null },
      });
      const messages = await p.db.message.findMany({
        where: { recoveryId: { in: [a, b].map((r) => (r.kind === "checkout" ? r.recoveryId : "")) }, position: 1 },
        include: { recovery: { select: { contactId: true } } },
      });
      expect(messages).toHaveLength(2);
      const now = new Date(t.getTime() + 2 * H);
      const capSince = new Date(now.getTime() - 16 * H);
      for (const m of messages) expect(await claimMessage(p.db, m.id, `claim-${m.id}`, now)).toBe(true);
      const results = await Promise.all(
        messages.map((m, i) =>
          handOff(
            clients[i]!,
            { id: m.id, recoveryId: m.recoveryId, contactId: m.recovery.contactId! },
            `claim-${m.id}`,
            capSince,
            { toEmail: email, discountCode: null, subject: "Hi", bodyHtml: "<p>Hi</p>" },
            now,
          ),
        ),
      );
      outcomes.push(results.sort());
    }
    // Every round: one email goes, the other is held back by the cap. Never both.
    for (const round of outcomes) expect(round).toEqual(["frequency_cap", "handed_off"]);
  });

  it("a due email is claimed by exactly one of four workers", async () => {
    const { claimMessage } = await import("~/models/message.server");
    const shop = await p.newShop();
    const t = p.clock.now();
    for (let round = 0; round < 10; round++) {
      const r = await p.ingest(shop, shopifyCheckout(t));
      const m = await p.db.message.findFirstOrThrow({ where: { recoveryId: r.kind === "checkout" ? r.recoveryId : "", position: 1 } });
      const won = await Promise.all(clients.map((c, i) => claimMessage(c, m.id, `worker-${i}`, new Date(t.getTime() + 2 * H))));
      expect(won.filter(Boolean)).toHaveLength(1);
    }
  });

  it("three job runners drain one queue without running any job twice", async () => {
    const { JobRunner, defineJob } = await import("../helpers/jobs");
    const { enqueueJob } = await import("~/jobs/queue.server");
    const { z } = await import("zod");
    const ran: string[] = [];
    const record = defineJob({
      name: "test-record",
      payload: z.object({ n: z.number() }),
      async run({ payload }) {
        ran.push(String(payload.n));
        await new Promise((r) => setTimeout(r, 2));
      },
    });
    for (let n = 0; n < 90; n++) await enqueueJob(p.db, "test-record", { n });
    const runners = clients.slice(0, 3).map((db, i) => new JobRunner({ db, definitions: [record], workerId: `r${i}`, clock: p.clock }));
    const counts = await Promise.all(runners.map((r) => r.drain()));
    expect(counts.reduce((a, b) => a + b, 0)).toBe(90);
    expect(new Set(ran).size).toBe(90);
    expect(ran).toHaveLength(90);
    // The work was shared: each runner took some (they raced for the same rows and skipped each other's).
    expect(counts.every((c) => c > 0)).toBe(true);
  });

  it("enqueueing a job whose key is taken leaves the caller's transaction usable, and two connections racing make one job", async () => {
    const { enqueueJob } = await import("~/jobs/queue.server");
    const shop = await p.newShop();
    const key = `dedupe-in-tx:${shop.id}`;
    await enqueueJob(p.db, "shop-installed", { shopId: shop.id }, { key });
    const committed = await p.db.$transaction(async (tx) => {
      const again = await enqueueJob(tx, "shop-installed", { shopId: shop.id }, { key });
      // The transaction goes on after the duplicate: a caught unique violation would have aborted it here.
      await tx.shop.update({ where: { id: shop.id }, data: { name: "Still writable" } });
      return again;
    });
    expect(await jobTable(p.db).findMany({ where: { key }, select: { id: true } })).toEqual([{ id: committed }]);
    expect((await p.db.shop.findUniqueOrThrow({ where: { id: shop.id } })).name).toBe("Still writable");

    const raced = `dedupe-race:${shop.id}`;
    const ids = await Promise.all(clients.map((c) => c.$transaction((tx) => enqueueJob(tx, "shop-installed", { shopId: shop.id }, { key: raced }))));
    expect(new Set(ids).size).toBe(1);
    expect(await jobTable(p.db).count({ where: { key: raced } })).toBe(1);
  });

  it("a checkout seen at once by the poll (with its id) and by a webhook (token only) becomes one recovery", async () => {
    const { ingestSourceEvent } = await import("~/models/ingest.server");
    const shop = await p.newShop();
    for (let round = 0; round < 8; round++) {
      const t = p.clock.now();
      const polled = shopifyCheckout(t);
      const webhook = { ...polled, externalId: `token:${polled.checkoutToken}` };
      const results = await Promise.all([ingestSourceEvent(clients[0]!, shop.id, polled, t), ingestSourceEvent(clients[1]!, shop.id, webhook, t)]);
      expect(results.every((r) => r.kind === "checkout")).toBe(true);
      const rows = await p.db.recovery.findMany({ where: { shopId: shop.id, checkoutToken: polled.checkoutToken } });
      expect(rows).toHaveLength(1);
      expect(rows[0]!.externalId).toBe(polled.externalId);
      expect(await p.db.message.count({ where: { recoveryId: rows[0]!.id, position: 1 } })).toBe(1);
    }
  });

  it("a completion delivered twice at the same moment is one conversion, counted once in the dashboard's totals", async () => {
    const { ingestSourceEvent } = await import("~/models/ingest.server");
    const shop = await p.newShop();
    const t = p.clock.now();
    const abandoned = shopifyCheckout(t);
    await p.ingest(shop, abandoned);
    // The first email went out before the purchase: only then is it Reclaim's to count (docs/decisions/082).
    const first = await p.db.message.findFirstOrThrow({
      where: { shopId: shop.id, recovery: { externalId: abandoned.externalId } },
      orderBy: { position: "asc" },
    });
    await p.db.message.update({ where: { id: first.id }, data: { status: "sent", sentAt: new Date(t.getTime() + H / 2) } });
    const completed = { ...abandoned, completedAt: new Date(t.getTime() + H), updatedAt: new Date(t.getTime() + H) };
    const results = await Promise.all(clients.map((c) => ingestSourceEvent(c, shop.id, completed, new Date(t.getTime() + H))));
    expect(results.filter((r) => r.kind === "checkout" && r.completed)).toHaveLength(1);
    const recovery = await p.db.recovery.findFirstOrThrow({ where: { shopId: shop.id, externalId: abandoned.externalId } });
    expect(recovery.status).toBe("recovered");
    expect(await p.db.conversion.count({ where: { recoveryId: recovery.id } })).toBe(1);
    const stats = await p.db.dailyStat.findMany({ where: { shopId: shop.id } });
    expect(stats.reduce((n, s) => n + s.recovered, 0)).toBe(1);
    expect(stats.reduce((n, s) => n + s.abandoned, 0)).toBe(1);
  });
});
