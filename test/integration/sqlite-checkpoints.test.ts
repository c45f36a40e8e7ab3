import { statSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { applySqlitePragmas, db } from "~/db.server";
import { recordInboundEvent } from "~/models/inbound-event.server";

const dbFile = process.env.DATABASE_URL!.replace(/^file:/, "");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("SQLite write-ahead log (ADR 014)", () => {
  it("is copied into the database file in the background, with no request doing the checkpoint", async () => {
    await applySqlitePragmas(db);
    const before = statSync(dbFile).size;
    // ≈ 1 MB of webhook deliveries: a few hundred pages, under the 1,000 at which a connection checkpoints by itself.
    const payload = JSON.stringify({ object: "event", filler: "x".repeat(4000) });
    await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        recordInboundEvent(db, { source: "stripe", receiver: "conn0123456789", externalId: `evt_wal_${i}`, topic: "checkout.session.expired", payload, shopId: null }, { name: "process-stripe-event" }),
      ),
    );
    expect(await db.inboundEvent.count({ where: { externalId: { startsWith: "evt_wal_" } } })).toBe(200);
    expect(statSync(dbFile).size).toBe(before); // committed, but still only in the WAL

    const deadline = Date.now() + 5000;
    while (statSync(dbFile).size === before && Date.now() < deadline) await sleep(50);
    expect(statSync(dbFile).size).toBeGreaterThan(before + 800_000);
  });
});
