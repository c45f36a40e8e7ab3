/**
 * The demo serves the app's production build (the same `remix vite:build` as `npm run build`; see docs/decisions/060):
 * built once into the demo's folder and rebuilt only when the app's sources change, so a rerun starts in seconds.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, lstatSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
const FINGERPRINT = ".demo-fingerprint";

function files(dir: string, skip: (full: string) => boolean): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const full = path.join(dir, name);
      if (skip(full)) return [];
      return statSync(full).isDirectory() ? files(full, skip) : [full];
    });
}

/** A hash of everything the build reads: app/ (without the demo and tests), the Vite config and the lockfile. */
export function sourceFingerprint(root: string): string {
  const hash = createHash("sha256");
  const appDir = path.join(root, "app");
  const inputs = [
    ...files(appDir, (full) => full.startsWith(path.join(appDir, "demo")) || /\.test\.[jt]sx?$/.test(full)),
    ...["vite.config.ts", "tsconfig.json", "package-lock.json", "package.json"].map((f) => path.join(root, f)),
  ];
  for (const file of inputs) {
    if (!existsSync(file)) continue;
    hash.update(path.relative(root, file)).update("\0").update(readFileSync(file)).update("\0");
  }
  return hash.digest("hex");
}

/** Builds the app into `buildDir` unless it already holds a build of these sources. Returns whether it built. */
export async function ensureBuild(root: string, buildDir: string): Promise<{ built: boolean; ms: number }> {
  const started = performance.now();
  const fingerprint = sourceFingerprint(root);
  const current = () => existsSync(path.join(buildDir, FINGERPRINT)) && readFileSync(path.join(buildDir, FINGERPRINT), "utf8") === fingerprint;
  if (current()) {
    linkModules(root, buildDir);
    return { built: false, ms: performance.now() - started };
  }
  // Build next to the target and swap it in, so two demos starting at once never serve a half-written build.
  const tmp = `${buildDir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  try {
    await run(path.join(root, "node_modules/.bin/remix"), ["vite:build"], {
      cwd: root,
      env: { ...process.env, NODE_ENV: "production", REMIX_BUILD_DIR: tmp },
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch (error) {
    rmSync(tmp, { recursive: true, force: true });
    const e = error as { stderr?: string; stdout?: string; message: string };
    const output = `${e.stderr ?? ""}\n${e.stdout ?? ""}`.split("\n");
    const at = output.findIndex((line) => /build failed|error/i.test(line));
    throw new Error(`building the app (remix vite:build) failed:\n${(at >= 0 ? output.slice(at, at + 8) : output.slice(-8)).join("\n") || e.message}`);
  }
  writeFileSync(path.join(tmp, FINGERPRINT), fingerprint);
  if (current()) {
    rmSync(tmp, { recursive: true, force: true }); // another demo finished the same build first
  } else {
    rmSync(buildDir, { recursive: true, force: true });
    renameSync(tmp, buildDir);
  }
  linkModules(root, buildDir);
  return { built: true, ms: performance.now() - started };
}

/**
 * The server bundle imports its dependencies by name; wherever the build lives (a temporary folder in the tests), they
 * must resolve to the project's node_modules, as ES modules — the very module instances the demo process loaded (the
 * Shopify library's fetch is set on one of them).
 */
function linkModules(root: string, buildDir: string): void {
  // The bundle is an ES module, as the project's package.json says; outside the project nothing would say so.
  writeFileSync(path.join(buildDir, "package.json"), `${JSON.stringify({ type: "module", private: true })}\n`);
  const link = path.join(buildDir, "node_modules");
  try {
    lstatSync(link);
    return;
  } catch {
    symlinkSync(path.join(root, "node_modules"), link, "dir");
  }
}
