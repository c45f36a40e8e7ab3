/**
 * Supersession (app/recovery/supersession.ts) applied to the store: the Prisma filters scheduling uses and the SQL
 * condition the send path reads in its one statement. All say what `supersedes` says
 * (test/integration/supersession-rule.test.ts runs the same cases through each).
 */
import type { Prisma, PrismaClient } from "@prisma/client";
import type { SupersessionFacts } from "../recovery/supersession";

type Db = PrismaClient | Prisma.TransactionClient;

const NONE: Prisma.RecoveryWhereInput = { id: { in: [] } };

/** Recoveries that supersede `recovery` (newer ones), as a Prisma filter. */
export function supersedingRecoveryWhere(recovery: SupersessionFacts): Prisma.RecoveryWhereInput {
  if (!recovery.contactId || recovery.kind !== "cart") return NONE;
  return {
    shopId: recovery.shopId,
    contactId: recovery.contactId,
    id: { not: recovery.id },
    abandonedAt: { gt: recovery.abandonedAt },
    notContactableReason: null,
    kind: "cart",
  };
}

/** Recoveries that `recovery` supersedes (older ones), as a Prisma filter. */
export function supersededRecoveryWhere(recovery: SupersessionFacts): Prisma.RecoveryWhereInput {
  if (!recovery.contactId || recovery.notContactableReason !== null || recovery.kind !== "cart") return NONE;
  return {
    shopId: recovery.shopId,
    contactId: recovery.contactId,
    id: { not: recovery.id },
    abandonedAt: { lt: recovery.abandonedAt },
    kind: "cart",
  };
}

/** The same rule in SQL: `other` supersedes `recovery` (two aliases of "Recovery"). A null contactId matches nothing. */
export function supersedingRecoverySql(other: string, recovery: string): string {
  return `${other}."contactId" = ${recovery}."contactId" AND ${other}."shopId" = ${recovery}."shopId" AND ${other}."id" <> ${recovery}."id"
      AND ${other}."abandonedAt" > ${recovery}."abandonedAt" AND ${other}."notContactableReason" IS NULL
      AND ${other}."kind" = 'cart' AND ${recovery}."kind" = 'cart'`;
}

/** The newest recovery that supersedes `recovery`, or null. */
export async function findSupersedingRecovery(db: Db, recovery: SupersessionFacts): Promise<{ id: string; source: string } | null> {
  return db.recovery.findFirst({
    where: supersedingRecoveryWhere(recovery),
    orderBy: { abandonedAt: "desc" },
    select: { id: true, source: true },
  });
}
