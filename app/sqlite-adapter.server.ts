import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
import { PrismaBetterSQLite3 } from "@prisma/adapter-better-sqlite3";
import type { PrismaClient } from "@prisma/client";
import type { Database } from "better-sqlite3";

type Factory = PrismaBetterSQLite3;
type Adapter = Awaited<ReturnType<Factory["connect"]>>;
type Transaction = Awaited<ReturnType<Adapter["startTransaction"]>>;

/** A promise-chain lock: each holder runs alone, in arrival order. (Twelve lines; not worth a dependency.) */
class Lock {
  #tail: Promise<void> = Promise.resolve();
  acquire(): Promise<() => void> {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const previous = this.#tail;
    this.#tail = previous.then(() => held);
    return previous.then(() => release);
  }
}

/** One open connection: the adapter Prisma uses, the better-sqlite3 handle underneath it, and the lock they share. */
interface Connection {
  adapter: Adapter;
  database: Database | null;
  lock: Lock;
  checkpointer?: Worker;
}

/**
 * Prisma's better-sqlite3 adapter runs every query of a process on ONE connection and locks only transactions against
 * each other: a query made outside a transaction while another request's transaction is open runs inside that
 * transaction, and is undone if it rolls back (any failed transaction, e.g. one that hits a unique key). This wrapper
 * makes all queries take the same lock as transactions, so a transaction is isolated from the rest of the process.
 * Queries made through a transaction client go straight to it. Consequence: code inside `db.$transaction(tx => …)`
 * must use `tx`, never `db` (it would wait for its own transaction; test/integration/sqlite-adapter.test.ts).
 * See docs/decisions/007-one-sqlite-connection-one-lock.md.
 */
export class SerializedSQLite3 implements Pick<Factory, "provider" | "adapterName"> {
  readonly provider = "sqlite" as const;
  readonly adapterName: Factory["adapterName"];
  readonly #inner: Factory;
  #connection: Connection | null = null;

  constructor(...args: ConstructorParameters<typeof PrismaBetterSQLite3>) {
    this.#inner = new PrismaBetterSQLite3(...args);
    this.adapterName = this.#inner.adapterName;
  }

  async connect(): Promise<Adapter> {
    const connection = serialize(await this.#inner.connect(), () => {
      if (this.#connection === connection) this.#connection = null;
    });
    this.#connection = connection;
    return connection.adapter;
  }

  async connectToShadowDb(): Promise<Adapter> {
    return serialize(await this.#inner.connectToShadowDb(), () => {}).adapter;
  }

  /** The open connection, or null before Prisma connects (and after `$disconnect`). */
  get connection(): Connection | null {
    return this.#connection;
  }
}

// Keyed by client, on globalThis: Vite's SSR loader and vitest can each load this module, and a client made by one
// copy may be handed to code loaded by the other.
const REGISTRY = Symbol.for("reclaim.sqlite-adapter.clients");
const clients: WeakMap<object, SerializedSQLite3> = ((globalThis as Record<symbol, unknown>)[REGISTRY] ??= new WeakMap()) as WeakMap<object, SerializedSQLite3>;

/** Called by createPrismaClient (app/db.server.ts): lets `withLockedConnection` find the client's adapter. */
export function registerClient(client: PrismaClient, adapter: SerializedSQLite3): void {
  clients.set(client, adapter);
}

/**
 * Runs `work` on the client's better-sqlite3 connection while holding the lock every Prisma query and transaction
 * takes (ADR 007), so it sees no other request's open transaction and none sees its writes half-done. `work` must be
 * synchronous (better-sqlite3 is); it is for hot paths where Prisma's per-query cost dominates (ADR 013). Do not
 * call it from inside `db.$transaction(tx => …)`: it would wait for that transaction.
 */
export async function withLockedConnection<T>(client: PrismaClient, work: (database: Database) => T): Promise<T> {
  const adapter = clients.get(client);
  if (!adapter) throw new Error("withLockedConnection: this Prisma client was not made by createPrismaClient (app/db.server.ts)");
  if (!adapter.connection) await client.$connect();
  const connection = adapter.connection;
  if (!connection) throw new Error("withLockedConnection: the Prisma client did not connect");
  const { database, lock } = connection;
  if (!database) throw new Error("withLockedConnection: @prisma/adapter-better-sqlite3 no longer exposes its better-sqlite3 handle as `client`");
  const release = await lock.acquire();
  try {
    return work(database);
  } finally {
    release();
  }
}

function serialize(adapter: Adapter, onDispose: () => void): Connection {
  const lock = new Lock();
  // The adapter keeps its better-sqlite3 handle as `client` (6.19, src/better-sqlite3.ts). If an upgrade moves it,
  // withLockedConnection fails loudly (every webhook test) instead of quietly writing outside the lock.
  const handle = (adapter as unknown as { client?: Database }).client;
  const database = handle && typeof handle.prepare === "function" && typeof handle.transaction === "function" ? handle : null;
  const exclusive = async <T>(run: () => Promise<T>): Promise<T> => {
    const release = await lock.acquire();
    try {
      return await run();
    } finally {
      release();
    }
  };
  const serialized = Object.assign(Object.create(adapter) as Adapter, {
    queryRaw: (query: Parameters<Adapter["queryRaw"]>[0]) => exclusive(() => adapter.queryRaw(query)),
    executeRaw: (query: Parameters<Adapter["executeRaw"]>[0]) => exclusive(() => adapter.executeRaw(query)),
    executeScript: (script: string) => exclusive(() => adapter.executeScript(script)),
    startTransaction: async (isolationLevel?: Parameters<Adapter["startTransaction"]>[0]): Promise<Transaction> => {
      const release = await lock.acquire();
      try {
        const tx = await adapter.startTransaction(isolationLevel);
        let released = false;
        const finish = <T>(result: Promise<T>) =>
          result.finally(() => {
            if (!released) (released = true), release();
          });
        return Object.assign(Object.create(tx) as Transaction, {
          queryRaw: tx.queryRaw.bind(tx),
          executeRaw: tx.executeRaw.bind(tx),
          commit: () => finish(tx.commit()),
          rollback: () => finish(tx.rollback()),
        });
      } catch (error) {
        release();
        throw error;
      }
    },
    dispose: () => {
      onDispose();
      void connection.checkpointer?.terminate();
      return adapter.dispose();
    },
  });
  const connection: Connection = { adapter: serialized, database, lock };
  return connection;
}

/** How often the background connection checkpoints, and how far the WAL may grow before the main connection does (ADR 014). */
const CHECKPOINT_EVERY_MS = 250;
const BACKSTOP_WAL_PAGES = 30_000; // ≈ 120 MB of WAL at 4 KB pages

// Runs in a worker thread, on its own connection to the same file. Errors (e.g. the file went away) are ignored: the
// main connection's backstop keeps the WAL bounded.
const CHECKPOINTER = `
const { workerData } = require("node:worker_threads");
const Database = require(workerData.driver);
const db = new Database(workerData.file, { timeout: workerData.timeout, fileMustExist: true });
setInterval(() => {
  try { db.pragma("wal_checkpoint(PASSIVE)"); } catch {}
}, workerData.every);
`;

/**
 * Moves WAL checkpoints off the event loop. With SQLite's default, the commit that takes the WAL past 1,000 pages copies
 * them into the database and fsyncs both files, synchronously, inside a request (13–60 ms here, once per ≈ 300 stored
 * Stripe events). A worker thread with its own connection now checkpoints every 250 ms (PASSIVE: it never waits for the
 * writer and never makes it wait); this connection still checkpoints itself past 30,000 pages, because under sustained
 * writes the WAL only restarts at a pause. Called by `applySqlitePragmas` once WAL is on; once per connection; nothing
 * for an in-memory database. docs/decisions/014-sqlite-checkpoints-in-the-background.md.
 */
export async function checkpointInBackground(client: PrismaClient): Promise<void> {
  if (!clients.has(client)) return; // a client made elsewhere keeps SQLite's default checkpoints
  await withLockedConnection(client, (database) => {
    const connection = clients.get(client)?.connection;
    if (!connection || connection.checkpointer || database.memory) return;
    if (String(database.pragma("journal_mode", { simple: true })).toLowerCase() !== "wal") return;
    database.pragma(`wal_autocheckpoint = ${BACKSTOP_WAL_PAGES}`);
    const worker = new Worker(CHECKPOINTER, {
      eval: true,
      workerData: { driver: createRequire(import.meta.url).resolve("better-sqlite3"), file: database.name, timeout: 10_000, every: CHECKPOINT_EVERY_MS },
    });
    worker.unref(); // never keeps a process alive
    worker.on("error", () => {
      // Without the thread, the connection checkpoints itself again as SQLite does by default (a setting, not a write).
      if (connection.checkpointer === worker) connection.checkpointer = undefined;
      if (database.open) database.pragma("wal_autocheckpoint = 1000");
    });
    connection.checkpointer = worker;
  });
}
