import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient } from "@prisma/client";
import { env } from "./env.server";

/** The one Prisma client. In development the instance survives Vite's module reloads (and only there). */
declare global {
  // eslint-disable-next-line no-var
  var __reclaimPrisma: PrismaClient | undefined;
}

/** How long a query waits for a free pooled connection before it fails. */
export const POOL_WAIT_MS = 60_000;

export function createPrismaClient(url: string, poolSize = env.DATABASE_POOL_SIZE): PrismaClient {
  // Every session in UTC: stored times are UTC timestamps without a zone, and raw SQL compares them with now().
  // A wait for a free connection is bounded: a request or job that cannot get one fails with an error (and a job is
  // retried) instead of waiting for ever with its queue lock held.
  const adapter = new PrismaPg({ connectionString: url, max: poolSize, connectionTimeoutMillis: POOL_WAIT_MS, options: "-c TimeZone=UTC" });
  return new PrismaClient({ adapter, transactionOptions: { maxWait: 10_000, timeout: 15_000 } });
}

export const db: PrismaClient =
  env.NODE_ENV === "development" ? (globalThis.__reclaimPrisma ??= createPrismaClient(env.DATABASE_URL)) : createPrismaClient(env.DATABASE_URL);
