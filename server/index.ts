/**
 * The web server: Remix behind Express (static assets, compression), plus the job runner in the same process unless
 * JOB_RUNNER=off. `npm run dev` serves through Vite (HMR); `npm start` serves the production build.
 * Before anything connects: the database (the embedded PostgreSQL when DATABASE_URL is unset) and its migrations.
 */
import path from "node:path";
import { createRequestHandler } from "@remix-run/express";
import type { ServerBuild } from "@remix-run/node";
import compression from "compression";
import express from "express";
import { ensureDatabase } from "../app/database/ensure.server";
import { refuseOversizedBodies } from "./body-limit";

const production = process.env.NODE_ENV === "production";

async function main() {
  const database = await ensureDatabase({ migrate: true });
  const app = express();
  app.disable("x-powered-by");
  // Once stopping, every answer closes its connection: a client or load balancer holding a keep-alive connection moves
  // to another instance instead of keeping this one busy until the shutdown limit cuts it mid-request.
  let stopping = false;
  app.use((_req, res, next) => {
    if (stopping) res.setHeader("Connection", "close");
    next();
  });
  // For a load balancer or an orchestrator: the process is up and serving (it says nothing of the database).
  app.get("/healthz", (_req, res) => {
    res.type("text/plain").send("ok");
  });
  app.use(refuseOversizedBodies());
  app.use(compression());

  let build: () => Promise<ServerBuild>;
  if (production) {
    const buildDir = path.resolve(process.env.REMIX_BUILD_DIR ?? "build");
    const serverBuild = (await import(path.join(buildDir, "server/index.js"))) as ServerBuild;
    build = async () => serverBuild;
    app.use("/assets", express.static(path.join(buildDir, "client/assets"), { immutable: true, maxAge: "1y" }));
    app.use(express.static(path.join(buildDir, "client"), { maxAge: "1h" }));
  } else {
    const vite = await import("vite");
    const viteServer = await vite.createServer({ server: { middlewareMode: true } });
    app.use(viteServer.middlewares);
    build = () => viteServer.ssrLoadModule("virtual:remix/server-build") as Promise<ServerBuild>;
  }

  app.all(
    "*",
    createRequestHandler({
      build,
      mode: production ? "production" : "development",
      // The socket's address, for per-client limits (the pixel collector) when no proxy sets X-Forwarded-For.
      getLoadContext: (req) => ({ clientAddress: req.socket.remoteAddress ?? null }),
    }),
  );

  // Validates the environment (app/env.server.ts) before listening: a bad variable stops the process here.
  const entry = (await build()).entry.module as unknown as {
    startJobRunner: () => Promise<{ stop(): Promise<void> }>;
  };
  const { env, retiredSettingWarnings } = (await import("../app/env.server")) as typeof import("../app/env.server");
  const { logger } = (await import("../app/logger.server")) as typeof import("../app/logger.server");
  for (const warning of retiredSettingWarnings(process.env)) logger.warn(warning);
  const runner = env.JOB_RUNNER === "in-process" ? await entry.startJobRunner() : null;

  const server = app.listen(env.PORT, env.HOST, () => {
    const address = server.address();
    const port = typeof address === "object" && address ? address.port : env.PORT;
    console.log(`Reclaim listening on http://${env.HOST}:${port} (${production ? "production" : "development"})`);
  });

  const shutdown = async () => {
    stopping = true;
    // Stop accepting, let requests in flight finish (a webhook being stored gets its answer), at most 10 s.
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 10_000);
      server.close(() => {
        clearTimeout(timer);
        resolve();
      });
      server.closeIdleConnections();
    });
    await runner?.stop();
    await database.stop();
    process.exit(0);
  };
  process.once("SIGINT", shutdown);
  process.once("SIGTERM", shutdown);
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
