import { vitePlugin as remix } from "@remix-run/dev";
import { defineConfig } from "vite";
import tsconfigPaths from "vite-tsconfig-paths";

declare module "@remix-run/node" {
  interface Future {
    v3_singleFetch: true;
  }
}

export default defineConfig({
  server: {
    host: "localhost",
    port: Number(process.env.PORT || 3000),
    // The Shopify CLI tunnels the dev server; HMR goes through the same host.
    hmr: process.env.SHOPIFY_APP_URL ? { protocol: "wss", host: new URL(process.env.SHOPIFY_APP_URL).hostname, clientPort: 443 } : undefined,
    fs: { allow: ["app", "node_modules"] },
  },
  plugins: [
    remix({
      // Tests build into their own folder so that parallel runs never share one.
      buildDirectory: process.env.REMIX_BUILD_DIR ?? "build",
      ignoredRouteFiles: ["**/.*", "**/*.test.*"],
      future: {
        v3_fetcherPersist: true,
        v3_relativeSplatPath: true,
        v3_throwAbortReason: true,
        v3_lazyRouteDiscovery: true,
        v3_singleFetch: false,
        v3_routeConfig: false,
      },
    }),
    tsconfigPaths(),
  ],
  build: { assetsInlineLimit: 0 },
  optimizeDeps: { include: ["@shopify/app-bridge-react", "@shopify/polaris"] },
});
