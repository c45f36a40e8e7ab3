import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { recordInboundEvent } from "~/models/inbound-event.server";
import { EXPIRED_BODY } from "~/models/retention.server";
import { PRUNE_JOB, PRUNE_JOB_KEY, ensurePruneScheduled } from "~/jobs/definitions/prune-retention.server";
import { H, startPipeline, type Pipeline } from "../helpers/pipeline";
import { jobTable } from "../helpers/jobs";

// Retention, run as the real `prune-retention` job on the fake clock: what an operator sees in the tables afterwards.
const DAY = 24 * H;
const NOW = new Date("2026-11-20T12:00:00Z");
const ago = (days: number) => new Date(NOW.getTime() - days * DAY);
const BODY = JSON.stringify({ id: 1, email: "zelda@example.com", billing_address: { name: "Zelda Zonk", phone: "+15550100" } });

let p: Pipeline;
beforeAll(async () => {
  p = await startPipeline({ start: NOW });
});
afterAll(() => p.close());

async function event(externalId: string, receivedAt: Date, processed: boolean) {
  return p.db.inboundEvent.create({
    data: {
      source: "shopify",
      receiver: "retention.myshopify.com",
      externalId,
      topic: "checkouts/update",
      payload: BODY,
      receivedAt,
      processedAt: processed ? receivedAt : null,
    },
  });
}
/** A job in graphile-worker's queue: queued, or failed (no attempt left, error kept) at `finishedAt`. */
async function job(name: string, status: "queued" | "failed", finishedAt: Date | null) {
  const created = await jobTable(p.db).create({ data: { name, runAt: finishedAt ?? NOW } });
  if (status === "failed") {
    await p.db.$executeRawUnsafe(
      `UPDATE graphile_worker._private_jobs SET attempts = max_attempts, last_error = 'boom', updated_at = $2 WHERE id = $1::bigint`,
      created.id,
      finishedAt,
    );
  }
  return created;
}

describe("retention (SECURITY.md › Retention), as the hourly job", () => {
  it("clears processed webhook bodies after 3 days, deletes rows after 30, and keeps what is still needed", async () => {
    const fresh = await event("fresh", ago(1), true);
    const old = await event("old", ago(4), true);
    const unprocessed = await event("unprocessed", ago(10), false);
    const ancient = await event("ancient", ago(31), true);
    // Succeeded and cancelled jobs are not kept at all: graphile-worker deletes a job when it succeeds, and a cancelled
    // one is removed from the queue (ADR 080). Failed ones keep their error for RETENTION_FAILED_JOB_DAYS.
    const jobs = {
      failedLastWeek: await job("send-message", "failed", ago(8)),
      failedLongAgo: await job("send-message", "failed", ago(31)),
      queuedOld: await job("send-message", "queued", null),
    };
    await jobTable(p.db).updateMany({ where: { id: jobs.queuedOld.id }, data: { runAt: ago(40) } });
    // Ended Stripe invoices (payment recovery, ADR 087): kept while a late failure event could still arrive.
    const shop = await p.newShop();
    for (const [objectId, days] of [
      ["in_recent", 2],
      ["in_ancient", 31],
    ] as const) {
      await p.db.stripeBillingEnd.create({ data: { shopId: shop.id, objectId, outcome: "paid", endedAt: ago(days), createdAt: ago(days) } });
    }

    await ensurePruneScheduled(p.db, NOW);
    await p.drain();

    const body = async (id: string) => (await p.db.inboundEvent.findUnique({ where: { id } }))?.payload;
    expect(await body(fresh.id)).toBe(BODY);
    expect(await body(old.id)).toBe(EXPIRED_BODY);
    expect(await body(unprocessed.id)).toBe(BODY); // its job still needs it
    expect(await body(ancient.id)).toBeUndefined();
    const left = new Set((await jobTable(p.db).findMany({ select: { id: true } })).map((j) => j.id));
    expect(Object.fromEntries(Object.entries(jobs).map(([k, j]) => [k, left.has(j.id)]))).toEqual({
      failedLastWeek: true,
      failedLongAgo: false,
      queuedOld: true,
    });
    expect((await p.db.stripeBillingEnd.findMany({ where: { shopId: shop.id }, select: { objectId: true } })).map((e) => e.objectId)).toEqual(["in_recent"]);
    // No buyer data is left in the cleared bodies.
    const rows = await p.db.inboundEvent.findMany({ where: { payload: { contains: "zelda@example.com" } }, select: { externalId: true } });
    expect(rows.map((r) => r.externalId).sort()).toEqual(["fresh", "unprocessed"]);
  });

  it("a redelivery of an event whose body was cleared is still recognised as a duplicate", async () => {
    const outcome = await recordInboundEvent(
      p.db,
      { source: "shopify", receiver: "retention.myshopify.com", externalId: "old", topic: "checkouts/update", payload: BODY },
      { name: "process-shopify-webhook" },
    );
    expect(outcome).toBe("duplicate");
    expect((await p.db.inboundEvent.findFirstOrThrow({ where: { externalId: "old" } })).payload).toBe(EXPIRED_BODY);
  });

  it("keeps itself scheduled: one queued run an hour later, never two", async () => {
    const queued = await jobTable(p.db).findMany({ where: { name: PRUNE_JOB, status: "queued" } });
    expect(queued).toHaveLength(1);
    expect(queued[0]!.key).toBe(PRUNE_JOB_KEY);
    expect(queued[0]!.runAt.getTime()).toBe(NOW.getTime() + H);
    await ensurePruneScheduled(p.db, new Date(NOW.getTime() + 2 * H)); // another process starting: no second run
    expect(await jobTable(p.db).count({ where: { name: PRUNE_JOB, status: "queued" } })).toBe(1);
  });

  it("works through a large backlog in bounded batches, coming back until nothing is left", async () => {
    await p.db.$queryRawUnsafe(
      `SELECT count(*) FROM graphile_worker.add_jobs(ARRAY(
         SELECT ROW('send-message', '{}'::json, NULL, $1::timestamptz, 1::smallint, 'bulk-' || g, 0::smallint, NULL::text[])::graphile_worker.job_spec
         FROM generate_series(1, 12000) g))`,
      ago(40),
    );
    await p.db.$executeRawUnsafe(
      `UPDATE graphile_worker._private_jobs SET attempts = max_attempts, last_error = 'boom', updated_at = $1 WHERE key LIKE 'bulk-%'`,
      ago(40),
    );
    // Three runs of 5,000: the first two find a full batch and come back a second later.
    for (let i = 0; i < 4; i++) await p.runAt(new Date(p.clock.now().getTime() + (i === 0 ? H : 1_000)));
    expect(await jobTable(p.db).count({ where: { key: { startsWith: "bulk-" } } })).toBe(0);
  });
});

describe("clicks on one message are bounded", () => {
  it("a burst of opens (link scanners, double taps) is one click; a return visit later is another; never more than the cap", async () => {
    const { recordClick, CLICK_REPEAT_MS, MAX_CLICKS_PER_MESSAGE } = await import("~/email/public-links.server");
    const { messageLinks } = await import("~/email/links.server");
    const shop = await p.newShop();
    const campaign = await p.db.campaign.create({
      data: { shopId: shop.id, name: "c", steps: { create: { position: 1, delayMinutes: 60, subject: "s", bodyTemplate: "b" } } },
      include: { steps: true },
    });
    const recovery = await p.db.recovery.create({
      data: {
        shopId: shop.id,
        source: "stripe",
        externalId: "cs_clicks",
        totalMinor: 500,
        currency: "EUR",
        abandonedAt: NOW,
        sourceUpdatedAt: NOW,
        recoveryUrl: "https://buy.stripe.com/r/clicks",
      },
    });
    const message = await p.db.message.create({
      data: {
        shopId: shop.id,
        recoveryId: recovery.id,
        campaignId: campaign.id,
        stepId: campaign.steps[0]!.id,
        position: 1,
        status: "sent",
        scheduledFor: NOW,
        sentAt: NOW,
      },
    });
    const token = new URL(messageLinks(message.id).clickUrl).searchParams.get("t");
    const clickAt = async (ms: number) => {
      const outcome = await recordClick(p.db, token, new Date(NOW.getTime() + ms));
      expect(outcome).toEqual({ ok: true, location: "https://buy.stripe.com/r/clicks" }); // the buyer always gets through
    };
    const stored = () => p.db.click.count({ where: { messageId: message.id } });

    for (const ms of [0, 1_000, 2_000, 30_000]) await clickAt(ms);
    expect(await stored()).toBe(1);
    await clickAt(CLICK_REPEAT_MS + 1_000);
    expect(await stored()).toBe(2);
    for (let i = 2; i < MAX_CLICKS_PER_MESSAGE + 10; i++) await clickAt(i * (CLICK_REPEAT_MS + 1_000));
    expect(await stored()).toBe(MAX_CLICKS_PER_MESSAGE);
  });
});
