import tsconfigPaths from "vite-tsconfig-paths";
import { defineConfig } from "vitest/config";

export default defineConfig({
  plugins: [tsconfigPaths()],
  test: {
    include: ["app/**/*.test.{ts,tsx}", "test/**/*.test.{ts,tsx}", "extensions/**/*.test.ts"],
    globalSetup: ["test/setup/global-setup.ts"],
    setupFiles: ["test/setup/per-file.ts"],
    // One process per test file: each gets its own PostgreSQL database created from a migrated template (test/setup/).
    pool: "forks",
    // Timeouts guard against hangs, not slowness (speed is measured in bench/): on a loaded CI machine with several
    // forks, the multi-process test's four node processes and one PostgreSQL, a 4 s property test once took over 30 s.
    testTimeout: 120_000,
    hookTimeout: 180_000,
    reporters: [process.env.CI ? "verbose" : "default", "./test/reporters/summary-line.ts"],
  },
});
