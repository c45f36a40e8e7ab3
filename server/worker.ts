/** `npm run worker`: the job runner alone, for running it apart from the web server (JOB_RUNNER=off there). */
import { startJobRunner } from "../app/jobs/start-runner.server";

startJobRunner()
  .then((runner) => {
    const stop = async () => {
      await runner.stop();
      process.exit(0);
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  })
  .catch((error) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
