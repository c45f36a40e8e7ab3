import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sqlTime } from "~/models/sql-time";
import { H, shopifyCheckout, startPipeline, type Pipeline } from "../helpers/pipeline";

let p: Pipeline;
beforeAll(async () => {
  p = await startPipeline({ start: new Date("2027-06-01T10:00:00Z") });
});
afterAll(() => p?.close());

describe("the due-message sweep", () => {
  it("walks the Message(status, scheduledFor) index in order and probes Job.key's unique index (no scan, no sort)", async () => {
    const { ENQUEUE_DUE_SQL } = await import("~/models/message.server");
    const plan = (await p.db.$queryRawUnsafe(`EXPLAIN QUERY PLAN ${ENQUEUE_DUE_SQL}`, "x", "x", "x", 1)) as { detail: string }[];
    const details = plan.map((row) => row.detail);
    expect(details.some((d) => /SEARCH m USING INDEX Message_status_scheduledFor_idx \(status=\? AND scheduledFor<\?\)/.test(d))).toBe(true);
    expect(details.some((d) => /SEARCH j USING COVERING INDEX Job_key_key \(key=\?\)/.test(d))).toBe(true);
    expect(details.join("\n")).not.toMatch(/SCAN m\b|TEMP B-TREE/);
  });

  it("keeps itself going: each run queues the next one (job key), and a full batch makes the next run come at once", async () => {
    const { SWEEP_JOB_KEY, SWEEP_INTERVAL_MS, SWEEP_BATCH } = await import("~/models/message.server");
    const shop = await p.newShop();
    const t = p.clock.now();
    await p.ingest(shop, shopifyCheckout(t));
    // Ingest queued the first sweep for when the first message is due.
    expect(await p.db.job.findUniqueOrThrow({ where: { key: SWEEP_JOB_KEY } })).toMatchObject({ status: "queued", runAt: new Date(t.getTime() + H) });
    await p.runAt(new Date(t.getTime() + H));
    const next = await p.db.job.findUniqueOrThrow({ where: { key: SWEEP_JOB_KEY } });
    expect(next).toMatchObject({ status: "queued", runAt: new Date(t.getTime() + H + SWEEP_INTERVAL_MS) });
    // It keeps going with nothing to do…
    await p.runAt(new Date(t.getTime() + H + SWEEP_INTERVAL_MS));
    expect((await p.db.job.findUniqueOrThrow({ where: { key: SWEEP_JOB_KEY } })).runAt).toEqual(new Date(t.getTime() + H + 2 * SWEEP_INTERVAL_MS));
    expect(await p.db.job.count({ where: { name: "send-due-messages", status: "queued" } })).toBe(1);

    // …and with more due than one batch, the next run is queued a second later.
    const { sendDueMessages } = await import("~/jobs/definitions/send-due-messages.server");
    const step = await p.db.campaignStep.findFirstOrThrow({ where: { campaign: { shopId: shop.id }, position: 1 } });
    const due = p.clock.now();
    const at = sqlTime(due);
    const count = SWEEP_BATCH + 10;
    // Many due messages at once (one per recovery: (recoveryId, stepId) is unique), written in bulk.
    await p.db.$executeRawUnsafe(
      `INSERT INTO "Recovery" ("id","shopId","source","externalId","totalMinor","currency","abandonedAt","sourceUpdatedAt","createdAt","updatedAt")
       WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
       SELECT 'bulk-r' || i, ?, 'stripe', 'cs_bulk_' || i, 100, 'USD', ?, ?, ?, ? FROM n`,
      count, shop.id, at, at, at, at,
    );
    await p.db.$executeRawUnsafe(
      `INSERT INTO "Message" ("id","shopId","recoveryId","campaignId","stepId","position","status","scheduledFor","attempts","createdAt","updatedAt")
       SELECT 'bulk-m' || substr(r."id", 7), r."shopId", r."id", ?, ?, 1, 'scheduled', ?, 0, ?, ? FROM "Recovery" r WHERE r."id" LIKE 'bulk-r%'`,
      step.campaignId, step.id, at, at, at,
    );
    const job = await p.db.job.create({ data: { name: "send-due-messages", payload: "{}", runAt: due } });
    await sendDueMessages.run({ payload: {}, db: p.db, clock: p.clock, job: { id: job.id, name: job.name, attempts: 1, shopId: null }, signal: new AbortController().signal });
    expect(await p.db.job.count({ where: { name: "send-message", status: "queued" } })).toBe(SWEEP_BATCH);
    expect((await p.db.job.findUniqueOrThrow({ where: { key: SWEEP_JOB_KEY } })).runAt).toEqual(new Date(due.getTime() + 1_000));
  });
});
