/** `npm run setup` (after `prisma generate`): starts the embedded PostgreSQL when DATABASE_URL is unset, applies pending migrations. */
import { ensureDatabase } from "../app/database/ensure.server";

try {
  const database = await ensureDatabase();
  const { applyMigrations } = await import("../app/database/migrate.server");
  const applied = await applyMigrations(database.url);
  console.log(applied.length ? `Applied ${applied.length} migration(s): ${applied.join(", ")}` : "The database is up to date.");
  await database.stop();
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
}
