/**
 * A worker process for test/integration/job-runner.test.ts: claims jobs named "hang" and never finishes them,
 * printing "claimed <id>" so the test can kill it with SIGKILL mid-job, as a crash or an OOM kill would.
 */
import { z } from "zod";
import { createPrismaClient } from "../../app/db.server";
import { defineJob, startWorker } from "../../app/jobs/engine.server";

const db = createPrismaClient(process.env.DATABASE_URL!);
const hang = defineJob({
  name: "hang",
  payload: z.object({}),
  run: ({ job }) => {
    process.stdout.write(`claimed ${job.id}\n`);
    return new Promise<void>(() => {});
  },
});
await startWorker({ db, definitions: [hang], pollIntervalMs: 20, lockTimeoutMs: 600 });
