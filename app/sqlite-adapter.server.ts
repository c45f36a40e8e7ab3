import { PrismaBetterSQLite3 } from "@prisma/adapter-better-sqlite3";

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

/**
 * Prisma's better-sqlite3 adapter runs every query of a process on ONE connection and locks only transactions against
 * each other: a query made outside a transaction while another request's transaction is open runs inside that
 * transaction, and is undone if it rolls back (every duplicate webhook rolls back on its unique key). This wrapper
 * makes all queries take the same lock as transactions, so a transaction is isolated from the rest of the process.
 * Queries made through a transaction client go straight to it. Consequence: code inside `db.$transaction(tx => …)`
 * must use `tx`, never `db` (it would wait for its own transaction; test/integration/sqlite-adapter.test.ts).
 * See docs/decisions/007-one-sqlite-connection-one-lock.md.
 */
export class SerializedSQLite3 implements Pick<Factory, "provider" | "adapterName"> {
  readonly provider = "sqlite" as const;
  readonly adapterName: Factory["adapterName"];
  readonly #inner: Factory;

  constructor(...args: ConstructorParameters<typeof PrismaBetterSQLite3>) {
    this.#inner = new PrismaBetterSQLite3(...args);
    this.adapterName = this.#inner.adapterName;
  }

  async connect(): Promise<Adapter> {
    return serialize(await this.#inner.connect());
  }

  async connectToShadowDb(): Promise<Adapter> {
    return serialize(await this.#inner.connectToShadowDb());
  }
}

function serialize(adapter: Adapter): Adapter {
  const lock = new Lock();
  const exclusive = async <T>(run: () => Promise<T>): Promise<T> => {
    const release = await lock.acquire();
    try {
      return await run();
    } finally {
      release();
    }
  };
  return Object.assign(Object.create(adapter) as Adapter, {
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
    dispose: () => adapter.dispose(),
  });
}
