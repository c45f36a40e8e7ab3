import { execFile, spawn, type ChildProcess } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { builtinModules } from "node:module";
import path from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp, startServer, withoutLoaders } from "../helpers/browser";
import { createTestDatabase, dropDatabase } from "../helpers/postgres";
import { TEST_ENV } from "../setup/test-env";

// Production runs what `npm run build` compiled (docs/decisions/081): `npm start`, `npm run worker` and `npm run setup`
// run JavaScript under plain `node`, with no tsx and no TypeScript, and what they import is still installed after
// `npm prune --omit=dev`. This run's build is the one every browser and multi-process test uses (buildApp).
const buildDir = path.join(process.env.RECLAIM_TEST_RUN_DIR!, "build");
const pkg = JSON.parse(readFileSync("package.json", "utf8")) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
  scripts: Record<string, string>;
};
const children: ChildProcess[] = [];
const databases: string[] = [];

beforeAll(() => buildApp(buildDir), 300_000);

afterAll(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  for (const url of databases) await dropDatabase(url).catch(() => {});
});

/** The package an import specifier names (`@scope/name/sub` → `@scope/name`), or null for a relative one. */
function packageOf(specifier: string): string | null {
  if (specifier.startsWith(".") || specifier.startsWith("/")) return null;
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? `${parts[0]}/${parts[1]}` : parts[0]!;
}

/** Every `import … from "x"`, `import "x"` and `import("x")` in the compiled entries and their chunks. */
function compiledImports(): { file: string; specifier: string; dynamic: boolean }[] {
  const dir = path.join(buildDir, "node");
  const files = readdirSync(dir, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".js"));
  expect(files).toEqual(expect.arrayContaining(["server/index.js", "server/worker.js", "scripts/migrate.js"]));
  return files.flatMap((file) => {
    const text = readFileSync(path.join(dir, file), "utf8");
    const statics = [...text.matchAll(/^\s*(?:import|export)\s[^;]*?\bfrom\s*"([^"]+)"|^\s*import\s*"([^"]+)"/gm)].map((m) => ({
      file,
      specifier: (m[1] ?? m[2])!,
      dynamic: false,
    }));
    const dynamics = [...text.matchAll(/\bimport\(\s*"([^"]+)"\s*\)/g)].map((m) => ({ file, specifier: m[1]!, dynamic: true }));
    return [...statics, ...dynamics];
  });
}

describe("production runs compiled JavaScript", () => {
  it("keeps tsx and the Prisma CLI out of the runtime dependencies, and the npm scripts production uses off tsx", () => {
    expect(Object.keys(pkg.dependencies)).not.toContain("tsx");
    expect(Object.keys(pkg.dependencies)).not.toContain("prisma");
    expect(Object.keys(pkg.devDependencies)).toEqual(expect.arrayContaining(["tsx", "prisma"]));
    expect(pkg.scripts.start).toMatch(/^NODE_ENV=production node build\/node\/server\/index\.js$/);
    expect(pkg.scripts.worker).toMatch(/\bnode build\/node\/server\/worker\.js$/);
    expect(pkg.scripts.build).toContain("scripts/build-node.mjs");
    expect(pkg.scripts.setup).toBe("node scripts/setup.mjs");
  });

  it("imports only Node built-ins, runtime dependencies and its own compiled chunks (what survives `npm prune --omit=dev`)", () => {
    const imports = compiledImports();
    expect(imports.length).toBeGreaterThan(10);
    const offenders = imports.filter(({ specifier, dynamic }) => {
      const name = packageOf(specifier);
      if (name === null) return !specifier.endsWith(".js"); // a chunk of the build, never a .ts source
      if (specifier.startsWith("node:") || builtinModules.includes(specifier)) return false;
      // The development branch of server/index.ts loads Vite (dynamically); production never takes it.
      if (dynamic && name === "vite") return false;
      return !(name in pkg.dependencies);
    });
    expect(offenders).toEqual([]);
  });

  it("starts the compiled web server under plain node, which answers /healthz and serves the app", async () => {
    const server = await startServer({ buildDir, databaseUrl: process.env.DATABASE_URL! });
    children.push(server.process);
    try {
      expect(server.process.spawnargs.slice(1)).toEqual([path.join(buildDir, "node/server/index.js")]);
      const health = await fetch(`${server.url}/healthz`);
      expect(health.status).toBe(200);
      expect(await health.text()).toBe("ok");
      // A Remix route of the production build, answered by the compiled server: a webhook without Shopify's headers is refused.
      const webhook = await fetch(`${server.url}/webhooks/checkouts`, { method: "POST", body: "{}", headers: { "content-type": "application/json" } });
      expect(webhook.status).toBe(400);
    } finally {
      await server.stop();
    }
  }, 120_000);

  it("starts the compiled worker under plain node: it connects, starts its job runner and stops cleanly on SIGTERM", async () => {
    const child = spawn(process.execPath, [path.join(buildDir, "node/server/worker.js")], {
      // An operator's environment from before graphile-worker: the retired setting is named in a warning, nothing breaks.
      env: { ...withoutLoaders(process.env), ...TEST_ENV, DATABASE_URL: process.env.DATABASE_URL!, LOG_LEVEL: "info", JOB_SHOP_CONCURRENCY: "2" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    children.push(child);
    let output = "";
    const exited = new Promise<number | string | null>((resolve) => child.once("exit", (code, signal) => resolve(code ?? signal)));
    await new Promise<void>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        // Printed in the same tick as the SIGTERM handler is installed ("job worker started" comes before it: a SIGTERM
        // sent on that line could kill the worker before it has a handler, exiting by signal instead of 0).
        if (output.includes(`Reclaim worker ${child.pid} started`)) resolve();
      };
      child.stdout!.on("data", onData);
      child.stderr!.on("data", onData);
      void exited.then((code) => reject(new Error(`the compiled worker exited (${code}) before starting:\n${output}`)));
    });
    expect(output).toContain('"level":"warn","message":"JOB_SHOP_CONCURRENCY is no longer used: ');
    child.kill("SIGTERM");
    const code = await exited;
    expect(code, `the worker's exit (code, or the signal that ended it), after:\n${output.slice(-3000)}`).toBe(0);
  }, 120_000);

  it("applies the migrations with the compiled script under plain node (`npm run setup` in production)", async () => {
    const url = await createTestDatabase("compiled");
    databases.push(url);
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query("DROP SCHEMA public CASCADE; CREATE SCHEMA public");
    try {
      const migrate = path.join(buildDir, "node/scripts/migrate.js");
      const { stdout } = await promisify(execFile)(process.execPath, [migrate], {
        env: { ...withoutLoaders(process.env), DATABASE_URL: url },
        encoding: "utf8",
      });
      expect(stdout).toMatch(/^Applied \d+ migration\(s\)/);
      const { rows } = await client.query<{ n: string }>(`SELECT count(*) AS n FROM "_reclaim_migrations"`);
      expect(Number(rows[0]!.n)).toBe(readdirSync("prisma/migrations", { withFileTypes: true }).filter((e) => e.isDirectory()).length);
    } finally {
      await client.end();
    }
  }, 120_000);
});
