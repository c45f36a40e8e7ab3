/**
 * A job runner in its own process, for crash tests: the test starts it on the test's database, waits until it is in
 * the middle of a send, and kills it with SIGKILL (no cleanup, no finally blocks) — a real crash.
 * Env: DATABASE_URL and the test environment (inherited), WORKER_NOW (the fake clock's time, ISO),
 * FAKE_ADMIN_URL (optional: where the fake Shopify Admin API listens), WAIT_FOR_GO=1 (wait for a line on stdin before draining).
 */
import { setAbstractFetchFunc } from "@shopify/shopify-api/runtime";
import { db } from "../../app/db.server";
import { jobDefinitions } from "../../app/jobs/registry.server";
import { JobRunner } from "./jobs";
import "../../app/shopify.server";

const now = new Date(process.env.WORKER_NOW!);
const fakeAdmin = process.env.FAKE_ADMIN_URL;
if (fakeAdmin) {
  // Same routing as the fake's fetchFor(): https://<shop>/… → the fake, with the shop in the path.
  setAbstractFetchFunc((async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = new Request(input, init);
    const target = new URL(request.url);
    const body = request.method === "GET" ? undefined : await request.arrayBuffer();
    return fetch(`${fakeAdmin}/__shop/${encodeURIComponent(target.hostname)}${target.pathname}${target.search}`, {
      method: request.method,
      headers: request.headers,
      body,
    });
  }) as typeof fetch);
}

// Each job this process ran to its end ("ran <id>"), so a test can tell which process took which job.
const runner = new JobRunner({
  db,
  definitions: jobDefinitions,
  clock: { now: () => now },
  workerId: `child-${process.pid}`,
  onEvent: (event) => void (event.type === "succeeded" && process.stdout.write(`ran ${event.jobId}\n`)),
});
process.stdout.write("ready\n");
if (process.env.WAIT_FOR_GO === "1") {
  // Start line for races: the test releases all workers at once.
  await new Promise<void>((resolve) => process.stdin.once("data", () => resolve()));
}
const ran = await runner.drain();
process.stdout.write(`drained ${ran}\n`);
process.exit(0);
