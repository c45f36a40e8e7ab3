import { createHash } from "node:crypto";
import type { Prisma } from "@prisma/client";

type Tx = Prisma.TransactionClient;
/**
 * One ingest at a time per shop, across every process: a transaction-scoped advisory lock, released at commit. Ingest
 * reads before it writes (is this checkout known, by id or by token? is there a conversion already? a contact?), and
 * under READ COMMITTED two concurrent ingests of one checkout (the poll and its webhook, a redelivery) would both read
 * "nothing yet" and write two recoveries or two conversions. Shops still ingest in parallel with each other.
 * docs/decisions/070-postgresql.md.
 */
export async function lockShopIngest(tx: Tx, shopId: string): Promise<void> {
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(${INGEST_LOCK_SPACE}::int, ${lockKey(shopId)}::int)`;
}
const INGEST_LOCK_SPACE = 71_001;
/** A stable 32-bit key for an id (the same in every process). */
export function lockKey(id: string): number {
  return createHash("sha256").update(id).digest().readInt32BE(0);
}
