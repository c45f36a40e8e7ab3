import { describe, expect, it } from "vitest";
import { db } from "~/db.server";
import { recordInboundEvent, type InboundEventInput } from "~/models/inbound-event.server";
import { jobTable } from "../helpers/jobs";

// The inbox writes one raw SQL statement per group (ADR 013), outside Prisma's query API: these pin what that must not change.
const delivery = (externalId: string): InboundEventInput => ({
  source: "stripe",
  receiver: "conn0123456789",
  externalId,
  topic: "checkout.session.expired",
  payload: JSON.stringify({ id: externalId, object: "event" }),
  shopId: null,
});
const JOB = { name: "process-stripe-event" as const };
const jobFor = (eventId: string) => jobTable(db).findMany({ where: { payload: JSON.stringify({ inboundEventId: eventId }) } });

describe("the webhook inbox", () => {
  it("keeps a delivery that arrives while another request's transaction is open and then rolls back (it neither waits for it nor joins it)", async () => {
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
    // Committed on its own connection while the other transaction is still open: no waiting on unrelated writers.
    expect(await stored).toBe("new");
    expect(acknowledged).toBe(true);
    rollBack();

    expect(await failing).toBe("duplicate key in another request");
    const event = await db.inboundEvent.findUnique({
      where: { source_receiver_externalId: { source: "stripe", receiver: "conn0123456789", externalId: "evt_during_rollback" } },
    });
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
      // Stored as UTC (the column has no zone): the database's own UTC clock reading agrees with what Prisma reads.
      const [raw] = await db.$queryRaw<
        { stored: string }[]
      >`SELECT to_char("receivedAt", 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "stored" FROM "InboundEvent" WHERE "id" = ${event.id}`;
      expect(raw!.stored).toBe(event.receivedAt.toISOString());
      const jobs = await jobFor(event.id);
      expect(jobs).toHaveLength(1);
      expect(jobs[0]).toMatchObject({ name: "process-stripe-event", status: "queued", attempts: 0, maxAttempts: 8, key: null, shopId: null, lockedAt: null });
      expect(jobs[0]!.runAt.getTime()).toBe(event.receivedAt.getTime());
    }
    // The runner's due-job query finds them.
    const due = await jobTable(db).findMany({ where: { status: "queued", runAt: { lte: new Date() }, name: "process-stripe-event" } });
    expect(due.map((j) => JSON.parse(j.payload).inboundEventId)).toEqual(expect.arrayContaining(events.map((e) => e.id)));
  });
});
