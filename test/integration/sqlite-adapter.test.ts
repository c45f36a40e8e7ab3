import { describe, expect, it } from "vitest";
import { db } from "~/db.server";

describe("one SQLite connection, one lock", () => {
  it("a write made outside a transaction survives another request's transaction rolling back", async () => {
    await db.shop.create({ data: { domain: "existing.myshopify.com", name: "original" } });
    let releaseTx!: () => void;
    const txOpen = new Promise<void>((resolve) => (releaseTx = resolve));
    let started!: () => void;
    const txStarted = new Promise<void>((resolve) => (started = resolve));

    const failing = db
      .$transaction(async (tx) => {
        await tx.shop.create({ data: { domain: "rolled-back.myshopify.com" } });
        started();
        await txOpen; // hold the transaction open while another request writes
        throw new Error("duplicate webhook");
      })
      .catch((e: Error) => e.message);

    await txStarted;
    // Concurrent, non-transactional writes (a job marking a message sent, a claim by conditional update…).
    const concurrent = Promise.all([
      db.$executeRaw`INSERT INTO "Shop" ("id", "domain", "updatedAt") VALUES ('s-raw', 'must-survive.myshopify.com', '2026-11-20T00:00:00.000+00:00')`,
      db.shop.updateMany({ where: { domain: "existing.myshopify.com" }, data: { name: "renamed" } }),
    ]);
    await new Promise((r) => setTimeout(r, 50));
    releaseTx();

    expect(await failing).toBe("duplicate webhook");
    await concurrent;
    expect(await db.shop.findUnique({ where: { domain: "must-survive.myshopify.com" } })).not.toBeNull();
    expect((await db.shop.findUniqueOrThrow({ where: { domain: "existing.myshopify.com" } })).name).toBe("renamed");
    expect(await db.shop.findUnique({ where: { domain: "rolled-back.myshopify.com" } })).toBeNull();
  });

  it("reads outside a transaction never see its uncommitted writes", async () => {
    let releaseTx!: () => void;
    const hold = new Promise<void>((resolve) => (releaseTx = resolve));
    let started!: () => void;
    const txStarted = new Promise<void>((resolve) => (started = resolve));
    const tx = db.$transaction(async (t) => {
      await t.shop.create({ data: { domain: "uncommitted.myshopify.com" } });
      started();
      await hold;
    });
    await txStarted;
    const read = db.shop.findUnique({ where: { domain: "uncommitted.myshopify.com" } });
    releaseTx();
    await tx;
    // The read waited for the commit rather than peeking inside the open transaction.
    expect(await read).not.toBeNull();
  });
});
