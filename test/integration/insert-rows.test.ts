// insertRows writes what Prisma's createMany would (the batch ingest's hot inserts, ADR 097): every column type as
// Prisma reads it back, nulls, ids in cuid's shape, ON CONFLICT DO NOTHING with RETURNING, and a clear error for a row
// that lacks a column rather than a silently shifted insert.
import { beforeEach, describe, expect, it } from "vitest";
import { db } from "~/db.server";
import { insertRows, newId } from "~/database/insert-rows.server";
import { CONTACT_COLUMNS } from "~/models/row-columns.server";

let shopId: string;
beforeEach(async () => {
  shopId = (await db.shop.create({ data: { domain: `ir${Math.random().toString(36).slice(2)}.myshopify.com` } })).id;
});

describe("insertRows", () => {
  it("stores every column type as Prisma reads it back, nulls included", async () => {
    const at = new Date("2026-12-07T10:11:12.345Z");
    const id = newId();
    await db.$transaction((tx) =>
      insertRows(
        tx,
        "Recovery",
        {
          id: "text",
          shopId: "text",
          source: "text",
          externalId: "text",
          email: "text",
          totalMinor: "bigint",
          currency: "text",
          abandonedAt: "timestamp(3)",
          sourceUpdatedAt: "timestamp(3)",
          completedAt: "timestamp(3)",
          pixelOnly: "boolean",
          lineItems: "text",
          updatedAt: "timestamp(3)",
        },
        [
          {
            id,
            shopId,
            source: "shopify",
            externalId: "gid://shopify/AbandonedCheckout/1",
            email: null,
            totalMinor: 9_007_199_254_740_993n,
            currency: "JPY",
            abandonedAt: at,
            sourceUpdatedAt: at,
            completedAt: null,
            pixelOnly: true,
            lineItems: '[{"title":"Ünïcödé, \\"quoted\\", {braces}"}]',
            updatedAt: at,
          },
        ],
      ),
    );
    const row = await db.recovery.findUniqueOrThrow({ where: { id } });
    expect(row).toMatchObject({
      email: null,
      totalMinor: 9_007_199_254_740_993n,
      abandonedAt: at,
      completedAt: null,
      pixelOnly: true,
      status: "open", // the database default
      kind: "cart",
      lineItems: '[{"title":"Ünïcödé, \\"quoted\\", {braces}"}]',
    });
  });

  it("skips duplicates when asked and returns only the rows it inserted", async () => {
    const contact = (email: string) => ({
      id: newId(),
      shopId,
      email,
      firstName: null,
      shopifyCustomerId: null,
      unsubscribedAt: null,
      suppressedAt: null,
      suppressionReason: null,
      updatedAt: new Date(),
    });
    await db.contact.create({ data: { shopId, email: "taken@example.com" } });
    const inserted = await db.$transaction((tx) =>
      insertRows<{ email: string }>(tx, "Contact", CONTACT_COLUMNS, [contact("taken@example.com"), contact("new@example.com")], {
        onConflictDoNothing: true,
        returning: ["email"],
      }),
    );
    expect(inserted.map((r) => r.email)).toEqual(["new@example.com"]);
    expect(await db.contact.count({ where: { shopId } })).toBe(2);
  });

  it("refuses rows that lack a listed column, naming it, and writes nothing", async () => {
    await expect(db.$transaction((tx) => insertRows(tx, "Contact", CONTACT_COLUMNS, [{ id: newId(), shopId, email: "a@example.com" }]))).rejects.toThrow(
      /Contact.*"firstName"/,
    );
    expect(await db.contact.count({ where: { shopId } })).toBe(0);
  });

  it("makes ids in the shape of Prisma's cuid, distinct and rising within a process", () => {
    const ids = Array.from({ length: 2000 }, newId);
    for (const id of ids) expect(id).toMatch(/^c[a-z0-9]{24}$/);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
  });
});
