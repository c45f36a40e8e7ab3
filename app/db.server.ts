import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient } from "@prisma/client";
import { env } from "./env.server";

/** The one Prisma client. In development the instance survives Vite's module reloads (and only there). */
declare global {
  // eslint-disable-next-line no-var
  var __reclaimPrisma: PrismaClient | undefined;
}

export function createPrismaClient(url: string, poolSize = env.DATABASE_POOL_SIZE): PrismaClient {
  // Every session in UTC: stored times are UTC timestamps without a zone, and raw SQL compares them with now().
  const adapter = new PrismaPg({ connectionString: url, max: poolSize, options: "-c TimeZone=UTC" });
  return new PrismaClient({ adapter, transactionOptions: { maxWait: 10_000, timeout: 15_000 } });
}

export const db: PrismaClient =
  env.NODE_ENV === "development" ? (globalThis.__reclaimPrisma ??= createPrismaClient(env.DATABASE_URL)) : createPrismaClient(env.DATABASE_URL);
