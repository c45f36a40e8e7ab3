/**
 * `npm run db`: runs the embedded PostgreSQL in the foreground (Ctrl-C stops it), for running several app processes on
 * one machine (`npm start` ×N, `npm run worker` ×M) without DATABASE_URL. With DATABASE_URL set there is nothing to run.
 */
import { defaultEmbeddedOptions, startEmbeddedPostgres } from "../app/database/embedded-postgres.server";

if (process.env.DATABASE_URL?.trim()) {
  console.error("DATABASE_URL is set: Reclaim uses that server, and there is no embedded PostgreSQL to run.");
  process.exit(2);
}
try {
  const options = defaultEmbeddedOptions();
  const running = await startEmbeddedPostgres(options);
  if (!running.owned) {
    console.error(`The embedded PostgreSQL in ${options.dataDir} is already running (started by another process).`);
    process.exit(1);
  }
  console.log(`Embedded PostgreSQL running on 127.0.0.1:${options.port}, data in ${options.dataDir}. Ctrl-C stops it.`);
  const stop = async () => {
    await running.stop();
    process.exit(0);
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
}
