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
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: [process.env.CI ? "verbose" : "default", "./test/reporters/summary-line.ts"],
  },
});
