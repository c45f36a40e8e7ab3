import { cpSync, rmSync } from "node:fs";
import path from "node:path";
import type { Reporter, TestModule } from "vitest/node";
import type { UserConsoleLog } from "vitest";
import { appendConsoleLog, scanRunForSecrets, scanVerdict, type ScanResult } from "../setup/secret-scan";
import { TEST_ENV } from "../setup/test-env";

/**
 * Prints one plain closing line, `tests: N passed, N failed, N skipped`, which CI reads to know how many tests ran
 * (vitest's own summary is decorated and not read by CI).
 *
 * It also keeps what tests print through `console` in the run's log folder and, once every file has run, scans all the
 * logs for secrets (test/setup/secret-scan.ts). A secret found fails the run: it counts as one failed test in the
 * closing line, the exit code is 1, and the line just above names the secret's origin and the log line (never the
 * value).
 */
export default class SummaryLineReporter implements Reporter {
  onUserConsoleLog(log: UserConsoleLog) {
    const runDir = process.env.RECLAIM_TEST_RUN_DIR;
    if (runDir) appendConsoleLog(runDir, `[${log.type}] ${log.content}`);
  }

  onTestRunEnd(modules: ReadonlyArray<TestModule>) {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    for (const module of modules) {
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === "passed") passed++;
        else if (state === "failed") failed++;
        else skipped++;
      }
      // A file whose setup or import failed counts as a failure even though its tests never ran.
      if (module.state() === "failed" && ![...module.children.allTests()].some((t) => t.result().state === "failed")) failed++;
    }

    const scanLines = this.secretScan();
    if (scanLines.failed) {
      failed++;
      process.exitCode = 1;
    }
    // Written at exit so that it comes after vitest's own summary, as the last line.
    const line = `${scanLines.text}tests: ${passed} passed, ${failed} failed, ${skipped} skipped\n`;
    process.once("exit", () => process.stdout.write(line));
  }

  private secretScan(): { failed: boolean; text: string } {
    const runDir = process.env.RECLAIM_TEST_RUN_DIR;
    if (!runDir) return { failed: false, text: "" };
    let result: ScanResult;
    try {
      result = scanRunForSecrets(runDir, { ...process.env, ...TEST_ENV });
    } catch (error) {
      return { failed: true, text: `secret scan: FAILED to run (${error instanceof Error ? error.message : String(error)})\n` };
    }
    const verdict = scanVerdict(result);
    if (result.hits.length > 0) {
      // The run folder is deleted at teardown; keep its logs where the lines named in the verdict can be read.
      const kept = path.resolve("test-results/secret-scan-logs");
      rmSync(kept, { recursive: true, force: true });
      cpSync(path.join(runDir, "logs"), kept, { recursive: true });
    }
    return verdict;
  }
}
