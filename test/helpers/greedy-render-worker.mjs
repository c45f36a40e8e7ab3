// A render worker that answers every task by allocating until its heap runs out: how test/unit/render-pool.test.ts
// checks that the pool's memory limit (worker resourceLimits) stops a render without harming the process.
import { parentPort } from "node:worker_threads";

parentPort.on("message", () => {
  const hoard = [];
  for (;;) hoard.push(new Array(100_000).fill(hoard.length));
});
parentPort.postMessage({ type: "ready" });
