import { PrismaClient } from "@prisma/client";
import { env } from "./env.server";
import { checkpointInBackground, registerClient, SerializedSQLite3 } from "./sqlite-adapter.server";

/** The one Prisma client. In development the instance survives Vite's module reloads (and only there). */
declare global {
  // eslint-disable-next-line no-var
  var __reclaimPrisma: PrismaClient | undefined;
}

export function createPrismaClient(url: string): PrismaClient {
  // busy timeout: the web server, the job runner and a separate worker may write to the same file at once.
  const adapter = new SerializedSQLite3({ url, timeout: 10_000 });
  // Transactions queue behind each other on the one connection: give a burst time to drain rather than fail at 2 s.
  const client = new PrismaClient({ adapter, transactionOptions: { maxWait: 15_000, timeout: 15_000 } });
  registerClient(client, adapter); // hot paths may write through better-sqlite3 under the same lock (withLockedConnection)
  return client;
}

export const db: PrismaClient =
  env.NODE_ENV === "development" ? (globalThis.__reclaimPrisma ??= createPrismaClient(env.DATABASE_URL)) : createPrismaClient(env.DATABASE_URL);

let pragmasApplied: Promise<void> | null = null;
/** WAL lets readers and one writer proceed together; call once per process before heavy work. */
export function applySqlitePragmas(client: PrismaClient = db): Promise<void> {
  pragmasApplied ??= (async () => {
    await client.$queryRawUnsafe("PRAGMA journal_mode = WAL");
    await client.$queryRawUnsafe("PRAGMA synchronous = NORMAL");
    await checkpointInBackground(client); // WAL checkpoints (copy + fsync) off the event loop: ADR 014
  })();
  return pragmasApplied;
}
