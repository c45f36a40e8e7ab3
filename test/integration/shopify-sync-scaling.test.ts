// Every checkout the Shopify sync stores goes through ingestSourceEvent; two of its lookups once scanned the shop's
// recoveries, so storing got slower as the shop grew (`npm run bench:sync`). The SQL below has the shape Prisma sends for:
//   app/models/ingest-checkout.server.ts   findExistingRecovery: recovery.findFirst({ shopId, source, checkoutToken }, orderBy createdAt)
//   app/models/message-schedule.server.ts  scheduleRecovery "older" (supersededRecoveryWhere): recovery.findMany({ shopId, contactId, id ≠, abandonedAt <, status in })
// The plan is read with sequential scans disabled (the test tables are tiny, where a scan is cheapest): the index
// PostgreSQL then picks must carry the looked-up column in its index condition, not filter the shop's rows one by one.
import { beforeAll, describe, expect, it } from "vitest";
import { db } from "~/db.server";

/** The index conditions of the plan, e.g. `(("shopId" = $1) AND ("checkoutToken" = $3))`. */
async function plan(sql: string, ...params: unknown[]): Promise<string> {
  const [, rows] = await db.$transaction([
    db.$executeRawUnsafe("SET LOCAL enable_seqscan = off"),
    db.$queryRawUnsafe<{ "QUERY PLAN": string }[]>(`EXPLAIN ${sql}`, ...params),
  ]);
  return rows
    .map((r) => r["QUERY PLAN"])
    .filter((line) => /Index Cond/.test(line))
    .join(" | ");
}

// A grown shop, so the planner has statistics to choose by: 5,000 recoveries of 250 contacts, each its own token.
beforeAll(async () => {
  await db.$executeRawUnsafe(`INSERT INTO "Shop" ("id", "domain", "updatedAt") VALUES ('shop', 'grown.myshopify.com', now())`);
  await db.$executeRawUnsafe(
    `INSERT INTO "Contact" ("id", "shopId", "email", "updatedAt") SELECT 'c' || g, 'shop', 'c' || g || '@example.com', now() FROM generate_series(1, 250) g`,
  );
  await db.$executeRawUnsafe(
    `INSERT INTO "Recovery" ("id", "shopId", "source", "externalId", "checkoutToken", "contactId", "totalMinor", "currency", "abandonedAt", "sourceUpdatedAt", "status", "updatedAt")
     SELECT 'r' || g, 'shop', CASE WHEN g % 4 = 0 THEN 'stripe' ELSE 'shopify' END, 'x' || g, 't' || g, 'c' || (g % 250 + 1), 1000, 'USD',
            timestamp '2026-10-01' + g * interval '10 minutes', now(), CASE WHEN g % 3 = 0 THEN 'lost' ELSE 'open' END, now()
     FROM generate_series(1, 5000) g`,
  );
  await db.$executeRawUnsafe(`ANALYZE "Recovery"`);
});

describe("lookups made for every stored checkout use an index on what they look up", () => {
  it("a recovery by checkout token (webhook ↔ poll join) is found through the token, not by scanning the shop's recoveries", async () => {
    const detail = await plan(
      `SELECT "id" FROM "Recovery" WHERE "shopId" = $1 AND "source" = $2 AND "checkoutToken" = $3 ORDER BY "createdAt" ASC LIMIT 1`,
      "shop",
      "shopify",
      "t4321",
    );
    expect(detail).toMatch(/"checkoutToken" = 't4321'/);
  });

  it("a contact's older open recoveries (superseded when a new checkout arrives) are found through the contact", async () => {
    const detail = await plan(
      `SELECT "id" FROM "Recovery" WHERE "shopId" = $1 AND "contactId" = $2 AND "id" <> $3 AND "abandonedAt" < $4 AND "status" IN ($5, $6)`,
      "shop",
      "c17",
      "r1",
      new Date("2026-11-20T00:00:00.000Z"),
      "open",
      "contacting",
    );
    expect(detail).toMatch(/"contactId" = 'c17'/);
  });
});
