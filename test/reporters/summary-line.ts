import type { Reporter, TestModule } from "vitest/node";

/**
 * Prints one plain closing line, `tests: N passed, N failed, N skipped`, which CI reads to know how many tests ran
 * (vitest's own summary is decorated and not read by CI).
 */
export default class SummaryLineReporter implements Reporter {
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
    // Written at exit so that it comes after vitest's own summary, as the last line.
    const line = `tests: ${passed} passed, ${failed} failed, ${skipped} skipped\n`;
    process.once("exit", () => process.stdout.write(line));
  }
}
