import { applyMigrations } from "./migrate.server";
import { defaultEmbeddedOptions, startEmbeddedPostgres } from "./embedded-postgres.server";

export interface Database {
  url: string;
  /** Stops the embedded PostgreSQL if this process started it; nothing otherwise. */
  stop(): Promise<void>;
}

/**
 * Makes the database reachable before any app module connects: with DATABASE_URL set, that server is used as it is;
 * without it the embedded PostgreSQL is started (or joined, when another process of this app started it) and its URL
 * is put in DATABASE_URL for everything loaded afterwards. With `migrate`, pending migrations are applied (safe from
 * every instance at once).
 */
export async function ensureDatabase(options: { migrate?: boolean } = {}): Promise<Database> {
  let database: Database;
  const configured = process.env.DATABASE_URL?.trim();
  if (configured) {
    database = { url: configured, stop: async () => {} };
  } else {
    const running = await startEmbeddedPostgres(defaultEmbeddedOptions());
    process.env.DATABASE_URL = running.url;
    database = { url: running.url, stop: running.stop };
  }
  if (options.migrate) await applyMigrations(database.url);
  return database;
}
