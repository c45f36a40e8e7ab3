/**
 * `npm run setup`: the Prisma client, then the committed migrations (scripts/migrate.ts).
 * - In a checkout with dev dependencies (development, CI): `prisma generate`, then the TypeScript source through tsx.
 * - In a production install (`npm ci && npm run build && npm prune --omit=dev`): neither CLI is there; the client was
 *   generated at `npm ci` (postinstall) and survives the prune, and the migrations run through the compiled script.
 * Plain JavaScript so that it runs with nothing but Node.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";

const bin = (name) => path.resolve("node_modules/.bin", name);
const compiled = path.resolve(process.env.REMIX_BUILD_DIR ?? "build", "node/scripts/migrate.js");

function run(command, args) {
  const result = spawnSync(command, args, { stdio: "inherit" });
  if (result.error) throw result.error;
  if (result.status !== 0) process.exit(result.status ?? 1);
}

if (existsSync(bin("prisma"))) run(bin("prisma"), ["generate"]);

if (existsSync(bin("tsx"))) {
  run(process.execPath, ["--import", "tsx", "scripts/migrate.ts"]);
} else if (existsSync(compiled)) {
  run(process.execPath, [compiled]);
} else {
  console.error(`No tsx (dev dependencies) and no compiled ${path.relative(process.cwd(), compiled)}: run \`npm run build\` before pruning dev dependencies.`);
  process.exit(1);
}
