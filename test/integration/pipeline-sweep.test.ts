import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { H, shopifyCheckout, startPipeline, type Pipeline } from "../helpers/pipeline";
import { jobTable } from "../helpers/jobs";

let p: Pipeline;
beforeAll(async () => {
  p = await startPipeline({ start: new Date("2027-06-01T10:00:00Z") });
});
afterAll(() => p?.close());

describe("the due-message sweep", () => {
  it("reads each shop's due messages from its (shopId, status, scheduledFor) index, never the whole table", async () => {
    const { ENQUEUE_DUE_SQL } = await import("~/models/message-sweep.server");
    // 5,000 messages due next month, with fresh statistics: the shape of a big shop's table.
    const shop = await p.newShop();
    const step = await p.db.campaignStep.findFirstOrThrow({ where: { campaign: { shopId: shop.id }, position: 1 } });
    const later = new Date(p.clock.now().getTime() + 30 * 24 * H);
    await p.db.$executeRawUnsafe(
      `INSERT INTO "Recovery" ("id","shopId","source","externalId","totalMinor","currency","abandonedAt","sourceUpdatedAt","createdAt","updatedAt")
       SELECT 'plan-r' || i, $2, 'stripe', 'cs_plan_' || i, 100, 'USD', $3, $3, $3, $3 FROM generate_series(1, $1) AS n(i)`,
      5_000,
      shop.id,
      later,
    );
    await p.db.$executeRawUnsafe(
      `INSERT INTO "Message" ("id","shopId","recoveryId","campaignId","stepId","position","status","scheduledFor","attempts","createdAt","updatedAt")
       SELECT 'plan-m' || substr(r."id", 7), r."shopId", r."id", $1, $2, 1, 'scheduled', $3, 0, $3, $3 FROM "Recovery" r WHERE r."id" LIKE 'plan-r%'`,
      step.campaignId,
      step.id,
      later,
    );
    await p.db.$executeRawUnsafe(`ANALYZE "Message"`);
    const [row] = (await p.db.$queryRawUnsafe(`EXPLAIN (FORMAT JSON) ${ENQUEUE_DUE_SQL}`, p.clock.now(), 1000)) as { "QUERY PLAN": unknown }[];
    const plan = JSON.stringify(row!["QUERY PLAN"]);
    // Each shop's due messages come from its (shopId, status, scheduledFor) index range; the messages are never read whole.
    expect(plan).toMatch(/"Index Name":\s*"Message_shopId_status_scheduledFor_idx"/);
    expect(plan).not.toMatch(/"Node Type":\s*"Seq Scan",[^}]*"Relation Name":\s*"Message"/);
  });

  it("keeps itself going: each run queues the next one (job key), and a full batch makes the next run come at once", async () => {
    const { SWEEP_JOB_KEY, SWEEP_INTERVAL_MS, SWEEP_BATCH, SEND_SHOP_JOB, enqueueDueSendJobs } = await import("~/models/message-sweep.server");
    const shop = await p.newShop();
    const t = p.clock.now();
    await p.ingest(shop, shopifyCheckout(t));
    // Ingest queued the first sweep for when the first message is due.
    expect(await jobTable(p.db).findUniqueOrThrow({ where: { key: SWEEP_JOB_KEY } })).toMatchObject({ status: "queued", runAt: new Date(t.getTime() + H) });
    await p.runAt(new Date(t.getTime() + H));
    const next = await jobTable(p.db).findUniqueOrThrow({ where: { key: SWEEP_JOB_KEY } });
    expect(next).toMatchObject({ status: "queued", runAt: new Date(t.getTime() + H + SWEEP_INTERVAL_MS) });
    // It keeps going with nothing to do…
    await p.runAt(new Date(t.getTime() + H + SWEEP_INTERVAL_MS));
    expect((await jobTable(p.db).findUniqueOrThrow({ where: { key: SWEEP_JOB_KEY } })).runAt).toEqual(new Date(t.getTime() + H + 2 * SWEEP_INTERVAL_MS));
    expect(await jobTable(p.db).count({ where: { name: "send-due-messages", status: "queued" } })).toBe(1);

    // …and with more due than one batch, the next run is queued a second later.
    const { sendDueMessages } = await import("~/jobs/definitions/send-due-messages.server");
    const step = await p.db.campaignStep.findFirstOrThrow({ where: { campaign: { shopId: shop.id }, position: 1 } });
    const due = p.clock.now();
    const at = due;
    const count = SWEEP_BATCH + 10;
    // Many due messages at once (one per recovery: (recoveryId, stepId) is unique), written in bulk.
    await p.db.$executeRawUnsafe(
      `INSERT INTO "Recovery" ("id","shopId","source","externalId","totalMinor","currency","abandonedAt","sourceUpdatedAt","createdAt","updatedAt")
       SELECT 'bulk-r' || i, $2, 'stripe', 'cs_bulk_' || i, 100, 'USD', $3, $3, $3, $3 FROM generate_series(1, $1) AS n(i)`,
      count,
      shop.id,
      at,
    );
    await p.db.$executeRawUnsafe(
      `INSERT INTO "Message" ("id","shopId","recoveryId","campaignId","stepId","position","status","scheduledFor","attempts","createdAt","updatedAt")
       SELECT 'bulk-m' || substr(r."id", 7), r."shopId", r."id", $1, $2, 1, 'scheduled', $3, 0, $3, $3 FROM "Recovery" r WHERE r."id" LIKE 'bulk-r%'`,
      step.campaignId,
      step.id,
      at,
    );
    const job = await jobTable(p.db).create({ data: { name: "send-due-messages", payload: "{}", runAt: due } });
    await sendDueMessages.run({
      payload: {},
      db: p.db,
      clock: p.clock,
      job: { id: job.id, name: job.name, attempts: 1, shopId: null },
      signal: new AbortController().signal,
    });
    // More due than a batch, in one shop: one send job for the shop (it sends them in batches, ADR 085), not one row per
    // email; the batch of shops is not full, so the next run keeps its interval.
    expect(await jobTable(p.db).count({ where: { name: SEND_SHOP_JOB, status: "queued", shopId: shop.id } })).toBe(1);
    expect(await jobTable(p.db).count({ where: { name: "send-message" } })).toBe(0);
    expect((await jobTable(p.db).findUniqueOrThrow({ where: { key: SWEEP_JOB_KEY } })).runAt).toEqual(new Date(due.getTime() + SWEEP_INTERVAL_MS));
    // A full batch of shops says "more": the next run comes at once (here a batch of one, with a second shop due).
    const other = await p.newShop();
    await p.ingest(other, shopifyCheckout(new Date(due.getTime() - H)));
    expect(await enqueueDueSendJobs(p.db, due, 1)).toEqual({ enqueued: 1, more: true });
    expect(SWEEP_BATCH).toBeGreaterThan(1);
  });
});
