import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cloneDueRecoveries } from "../helpers/bulk-due";
import { H, MIN, shopifyCheckout, startPipeline, type Pipeline } from "../helpers/pipeline";
import { jobTable } from "../helpers/jobs";

// One shop's backlog must not hold up every other shop: the sweep gives each shop its share of every batch, and the
// runner runs one job at a time per shop and lane (ADR 080), so a big shop's sends hold at most one slot.
let p: Pipeline;
beforeAll(async () => {
  p = await startPipeline({ start: new Date("2027-07-01T08:00:00Z") });
});
afterAll(() => p?.close());

describe("fairness between shops", () => {
  it("ten small shops' first emails go out before a big shop's 3,000 due emails, not after them", async () => {
    const T = p.clock.now();
    const big = await p.newShop({ name: "Big" });
    // The big shop's backlog came due ten minutes before the small shops' emails (a quiet-hours release, say).
    const template = await p.ingest(big, shopifyCheckout(new Date(T.getTime() - H - 10 * MIN), { email: "big-template@example.com" }));
    if (template.kind !== "checkout") throw new Error("no template recovery");
    await cloneDueRecoveries(p.db, template.recoveryId, 3_000, new Date(T.getTime() - 10 * MIN), "big");
    const small = [];
    for (let i = 0; i < 10; i++) {
      const shop = await p.newShop({ name: `Small ${i}` });
      for (let j = 0; j < 2; j++) await p.ingest(shop, shopifyCheckout(new Date(T.getTime() - H), { email: `small-${i}-${j}@example.com` }));
      small.push(shop);
    }
    await jobTable(p.db).updateMany({ where: { name: "send-due-messages" }, data: { runAt: T } });

    const { JobRunner } = await import("../helpers/jobs");
    const { jobDefinitions } = await import("~/jobs/registry.server");
    const runner = new JobRunner({ db: p.db, definitions: jobDefinitions, clock: p.clock, concurrency: 4, pollIntervalMs: 20 });
    const firstOfEachSmallShop = () =>
      new Set(
        p.sink.received
          .flatMap((m) => m.rcptTo)
          .filter((a) => a.startsWith("small-"))
          .map((a) => a.split("-")[1]),
      ).size;
    runner.start();
    try {
      const started = Date.now();
      while (firstOfEachSmallShop() < 10) {
        if (Date.now() - started > 60_000) throw new Error(`only ${firstOfEachSmallShop()} small shops emailed after 60 s`);
        await new Promise((r) => setTimeout(r, 20));
      }
    } finally {
      await runner.stop();
    }
    const bigSent = p.sink.received.filter((m) => m.rcptTo.some((a) => a.startsWith("big-"))).length;
    // Two of the four slots serve the small shops from the first sweep on: by the time each has its first email out,
    // the big shop has sent a handful of its 3,000, not the ~2,500 a strictly oldest-first queue would send first.
    expect(bigSent).toBeLessThan(100);
    expect(await p.db.message.count({ where: { shopId: big.id, status: "scheduled" } })).toBeGreaterThan(2_800);
  });
});
