/** `npm run worker`: the job runner alone, for running it apart from the web server (JOB_RUNNER=off there). */
export {};
try {
  // Imported here, not at the top, so that an invalid environment prints its message rather than a stack trace.
  const { startJobRunner } = await import("../app/jobs/start-runner.server");
  const runner = await startJobRunner();
  const stop = async () => {
    await runner.stop();
    process.exit(0);
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
}
