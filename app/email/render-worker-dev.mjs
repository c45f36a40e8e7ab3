// The render worker from its TypeScript source, for development and tests (tsx compiles it in the worker thread).
// Production runs the compiled entry instead: <build>/node/app/email/render-worker.js (app/email/render-pool.server.ts).
import { register } from "tsx/esm/api";

register();
await import("./render-worker.ts");
