import { createRequestHandler, type ServerBuild } from "@remix-run/node";
import { createServer, type ViteDevServer } from "vite";

/**
 * Loads the real Remix server build (all routes, entry.server, root) through Vite, as `npm run dev` does, and returns
 * a fetch-like handler: tests send Requests through the whole app (routing, loaders, actions, SSR) with no HTTP.
 */
export async function loadApp(): Promise<{ handle: (request: Request) => Promise<Response>; build: ServerBuild; close: () => Promise<void> }> {
  const vite: ViteDevServer = await createServer({
    configFile: "vite.config.ts",
    // No websocket: two test files loading the app at once would both want port 24678.
    server: { middlewareMode: true, hmr: false, ws: false, watch: null },
    appType: "custom",
    logLevel: "error",
  });
  const build = (await vite.ssrLoadModule("virtual:remix/server-build")) as ServerBuild;
  const handler = createRequestHandler(build, "test");
  return { handle: (request) => handler(request), build, close: () => vite.close() };
}
