import { describe, expect, it } from "vitest";
import { db } from "~/db.server";
import { recordInboundEvent, type InboundEventInput } from "~/models/inbound-event.server";
import { sqlTime } from "~/models/sql-time";

// The inbox writes through better-sqlite3 directly (ADR 013), outside Prisma: these pin what that must not change.
const delivery = (externalId: string): InboundEventInput => ({
  source: "stripe",
  receiver: "conn0123456789",
  externalId,
  topic: "checkout.session.expired",
  payload: JSON.stringify({ id: externalId, object: "event" }),
  shopId: null,
});
const JOB = { name: "process-stripe-event" };
const jobFor = (eventId: string) => db.job.findMany({ where: { payload: JSON.stringify({ inboundEventId: eventId }) } });

describe("the webhook inbox", () => {
  it("keeps a delivery that arrives while another request's transaction is open and then rolls back", async () => {
    let rollBack!: () => void;
    const hold = new Promise<void>((resolve) => (rollBack = resolve));
    let opened!: () => void;
    const txOpen = new Promise<void>((resolve) => (opened = resolve));
    const failing = db
      .$transaction(async (tx) => {
        await tx.shop.create({ data: { domain: "rolled-back.myshopify.com" } });
        opened();
        await hold;
        throw new Error("duplicate key in another request");
      })
      .catch((e: Error) => e.message);
    await txOpen;

    let acknowledged = false;
    const stored = recordInboundEvent(db, delivery("evt_during_rollback"), JOB).then((outcome) => ((acknowledged = true), outcome));
    await new Promise((r) => setTimeout(r, 50));
    expect(acknowledged).toBe(false); // it waits for the open transaction instead of writing inside it
    rollBack();

    expect(await failing).toBe("duplicate key in another request");
    expect(await stored).toBe("new");
    const event = await db.inboundEvent.findUnique({ where: { source_receiver_externalId: { source: "stripe", receiver: "conn0123456789", externalId: "evt_during_rollback" } } });
    expect(event).not.toBeNull();
    expect(await jobFor(event!.id)).toHaveLength(1);
    expect(await db.shop.findUnique({ where: { domain: "rolled-back.myshopify.com" } })).toBeNull();
  });

  it("stores each delivery once with one queued job, in the formats Prisma and the runner's raw SQL read", async () => {
    const before = new Date();
    const outcomes = await Promise.all(["evt_a", "evt_b", "evt_a", "evt_c", "evt_b"].map((id) => recordInboundEvent(db, delivery(id), JOB)));
    expect(outcomes).toEqual(["new", "new", "duplicate", "new", "duplicate"]);
    expect(await recordInboundEvent(db, delivery("evt_c"), JOB)).toBe("duplicate");

    const events = await db.inboundEvent.findMany({ where: { externalId: { in: ["evt_a", "evt_b", "evt_c"] } } });
    expect(events).toHaveLength(3);
    for (const event of events) {
      expect(event).toMatchObject({ source: "stripe", topic: "checkout.session.expired", processedAt: null, error: null });
      expect(event.receivedAt.getTime()).toBeGreaterThanOrEqual(before.getTime());
      const [raw] = await db.$queryRaw<{ stored: string }[]>`SELECT CAST("receivedAt" AS TEXT) AS "stored" FROM "InboundEvent" WHERE "id" = ${event.id}`;
      expect(raw!.stored).toBe(sqlTime(event.receivedAt));
      const jobs = await jobFor(event.id);
      expect(jobs).toHaveLength(1);
      expect(jobs[0]).toMatchObject({ name: "process-stripe-event", status: "queued", attempts: 0, maxAttempts: 8, key: null, shopId: null, lockedAt: null });
      expect(jobs[0]!.runAt.getTime()).toBe(event.receivedAt.getTime());
    }
    // The runner's due-job query (a text comparison on runAt) finds them.
    const due = await db.job.findMany({ where: { status: "queued", runAt: { lte: new Date() }, name: "process-stripe-event" } });
    expect(due.map((j) => JSON.parse(j.payload).inboundEventId)).toEqual(expect.arrayContaining(events.map((e) => e.id)));
  });
});
