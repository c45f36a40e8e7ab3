/** The SQLite file used when DATABASE_URL is unset: the embedded default. Shared by the app and prisma.config.ts. */
export const DEFAULT_DATABASE_URL = "file:./data/reclaim.sqlite";

/** Returns the DATABASE_URL, defaulting to the local SQLite file. Only `file:` URLs are supported by the SQLite build. */
export function databaseUrl(value: string | undefined): string {
  const url = value && value.trim() !== "" ? value.trim() : DEFAULT_DATABASE_URL;
  return url;
}
