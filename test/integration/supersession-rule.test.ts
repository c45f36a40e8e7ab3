// Supersession has one definition (app/recovery/supersession.ts) and two applications in the store: the Prisma filters
// scheduling uses and the SQL the send path reads (app/models/supersession.server.ts). They once disagreed (one ignored
// completed checkouts, the other did not). Every pair of these recoveries goes through all three, which must agree.
import type { PrismaClient } from "@prisma/client";
import { beforeAll, describe, expect, it } from "vitest";
import { supersedes, type SupersessionFacts } from "~/recovery/supersession";

let db: PrismaClient;
const T = new Date("2026-11-20T10:00:00.000Z");
const at = (hours: number) => new Date(T.getTime() + hours * 3_600_000);

const CASES: (SupersessionFacts & { completedAt?: Date; status?: string })[] = [
  { id: "sr-a", shopId: "sr-shop", contactId: "sr-c1", abandonedAt: at(0), notContactableReason: null, kind: "cart" },
  { id: "sr-b", shopId: "sr-shop", contactId: "sr-c1", abandonedAt: at(1), notContactableReason: null, kind: "cart" },
  {
    id: "sr-c",
    shopId: "sr-shop",
    contactId: "sr-c1",
    abandonedAt: at(2),
    notContactableReason: null,
    kind: "cart",
    completedAt: at(2.5),
    status: "purchased",
  },
  { id: "sr-d", shopId: "sr-shop", contactId: "sr-c1", abandonedAt: at(3), notContactableReason: "no_email", kind: "cart" },
  { id: "sr-e", shopId: "sr-shop", contactId: "sr-c1", abandonedAt: at(1), notContactableReason: null, kind: "cart" },
  { id: "sr-f", shopId: "sr-shop", contactId: "sr-c2", abandonedAt: at(4), notContactableReason: null, kind: "cart" },
  { id: "sr-g", shopId: "sr-shop", contactId: null, abandonedAt: at(5), notContactableReason: null, kind: "cart" },
  { id: "sr-h", shopId: "sr-other", contactId: "sr-c3", abandonedAt: at(6), notContactableReason: null, kind: "cart" },
  // A failed subscription payment of the same buyer, newest of all: it neither replaces their carts nor is replaced.
  { id: "sr-i", shopId: "sr-shop", contactId: "sr-c1", abandonedAt: at(7), notContactableReason: null, kind: "payment" },
];

beforeAll(async () => {
  db = (await import("~/db.server")).db;
  for (const id of ["sr-shop", "sr-other"]) await db.shop.create({ data: { id, domain: `${id}.myshopify.com` } });
  await db.contact.createMany({
    data: [
      { id: "sr-c1", shopId: "sr-shop", email: "one@example.com" },
      { id: "sr-c2", shopId: "sr-shop", email: "two@example.com" },
      // The same person in another shop is another contact.
      { id: "sr-c3", shopId: "sr-other", email: "one@example.com" },
    ],
  });
  await db.recovery.createMany({
    data: CASES.map((c) => ({
      id: c.id,
      shopId: c.shopId,
      source: "shopify",
      externalId: c.id,
      contactId: c.contactId,
      totalMinor: 1000,
      currency: "USD",
      abandonedAt: c.abandonedAt,
      sourceUpdatedAt: c.abandonedAt,
      notContactableReason: c.notContactableReason,
      completedAt: c.completedAt ?? null,
      status: c.status ?? "open",
      kind: c.kind,
    })),
  });
});

describe("supersession: one rule, the same answer in the core, in Prisma and in SQL", () => {
  it("the Prisma filters and the send path's SQL find exactly the recoveries `supersedes` names", async () => {
    const { supersedingRecoveryWhere, supersededRecoveryWhere, supersedingRecoverySql } = await import("~/models/supersession.server");
    for (const r of CASES) {
      const expectedNewer = CASES.filter((o) => supersedes(o, r)).map((o) => o.id);
      const expectedOlder = CASES.filter((o) => supersedes(r, o)).map((o) => o.id);
      const prismaNewer = (await db.recovery.findMany({ where: supersedingRecoveryWhere(r), select: { id: true }, orderBy: { id: "asc" } })).map((x) => x.id);
      const prismaOlder = (await db.recovery.findMany({ where: supersededRecoveryWhere(r), select: { id: true }, orderBy: { id: "asc" } })).map((x) => x.id);
      const sqlNewer = (
        await db.$queryRawUnsafe<{ id: string }[]>(
          `SELECT x."id" FROM "Recovery" x JOIN "Recovery" r ON r."id" = $1 WHERE ${supersedingRecoverySql("x", "r")} ORDER BY x."id"`,
          r.id,
        )
      ).map((x) => x.id);
      expect({ r: r.id, prismaNewer, sqlNewer, prismaOlder }).toEqual({
        r: r.id,
        prismaNewer: expectedNewer,
        sqlNewer: expectedNewer,
        prismaOlder: expectedOlder,
      });
    }
    // The cases do exercise the rule: a later one and a completed later one supersede sr-a; sr-e, abandoned with sr-b, and
    // sr-b supersede neither each other.
    expect(CASES.filter((o) => supersedes(o, CASES[0]!)).map((o) => o.id)).toEqual(["sr-b", "sr-c", "sr-e"]);
    expect(CASES.filter((o) => supersedes(o, CASES[4]!)).map((o) => o.id)).toEqual(["sr-c"]);
  });
});
