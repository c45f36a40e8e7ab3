/** `npm run worker`: the job runner alone, for running it apart from the web server (JOB_RUNNER=off there). */
export {};
try {
  // The database first (the embedded PostgreSQL when DATABASE_URL is unset), with its migrations.
  const { ensureDatabase } = await import("../app/database/ensure.server");
  const database = await ensureDatabase({ migrate: true });
  // Imported here, not at the top, so that an invalid environment prints its message rather than a stack trace.
  const { startJobRunner } = await import("../app/jobs/start-runner.server");
  const { retiredSettingWarnings } = await import("../app/env.server");
  const { logger } = await import("../app/logger.server");
  for (const warning of retiredSettingWarnings(process.env)) logger.warn(warning);
  const runner = await startJobRunner();
  const stop = async () => {
    await runner.stop();
    await database.stop();
    process.exit(0);
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  // Printed only once the handlers are in place: a supervisor (or a test) that stops the worker as soon as it reads
  // this line must find a graceful stop, not the default action of SIGTERM. Which graphile-worker ids are this
  // process's (`locked_by` of its running jobs in graphile_worker.jobs).
  console.log(`Reclaim worker ${process.pid} started: ${runner.workerIds.join(", ")}`);
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
}
