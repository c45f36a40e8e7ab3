import { existsSync } from "node:fs";
import { defaultEmbeddedOptions, embeddedDatabaseUrl } from "./database/embedded-postgres.server";

/**
 * The database URL: DATABASE_URL when set (any PostgreSQL 15+), otherwise the embedded PostgreSQL's (started by
 * `ensureDatabase`, app/database/ensure.server.ts, before anything connects). Shared by the app and prisma.config.ts.
 */
export function databaseUrl(value: string | undefined): string {
  if (value && value.trim() !== "") return value.trim();
  const options = defaultEmbeddedOptions();
  if (!existsSync(`${options.dataDir}.password`)) {
    throw new Error("DATABASE_URL is not set and the embedded PostgreSQL has not been started yet (run `npm run setup`)");
  }
  return embeddedDatabaseUrl(options);
}

export function isPostgresUrl(value: string): boolean {
  return /^postgres(ql)?:\/\//.test(value);
}
