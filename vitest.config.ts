import tsconfigPaths from "vite-tsconfig-paths";
import { defineConfig, type TestProjectInlineConfiguration } from "vitest/config";

// What every tier shares. Timeouts guard against hangs, not slowness (speed is measured in bench/): on a loaded CI
// machine with several forks, the multi-process test's four node processes and one PostgreSQL, a 4 s property test once
// took over 30 s.
const common = {
  setupFiles: ["test/setup/per-file.ts"],
  // One process per test file: each gets its own PostgreSQL database created from a migrated template (test/setup/).
  pool: "forks" as const,
  testTimeout: 120_000,
  hookTimeout: 180_000,
};

/**
 * One tier of the suite (README › Testing): `npm test` runs them all, `npm run test:<name>` one. Each file belongs to
 * exactly one tier; test/unit/test-tiers.test.ts checks that.
 */
function tier(name: string, include: string[], exclude: string[] = []): TestProjectInlineConfiguration {
  return { plugins: [tsconfigPaths()], test: { ...common, name, include, exclude, env: { RECLAIM_TEST_TIER: name } } };
}

// Property tests that drive routes and models against PostgreSQL run with the integration tier.
const PROPERTY_WITH_DATABASE = ["test/property/public-links.test.ts", "test/property/settings-forms.test.ts", "test/property/webhook-endpoints.test.ts"];

export default defineConfig({
  plugins: [tsconfigPaths()],
  test: {
    // Once per run, for every tier: the run's folder, and PostgreSQL unless only the unit tier runs.
    globalSetup: ["test/setup/global-setup.ts"],
    reporters: [process.env.CI ? "verbose" : "default", "./test/reporters/summary-line.ts"],
    projects: [
      // Seconds, no database: the pure core, parsers, mappers, fakes, property tests of pure functions.
      tier("unit", ["app/**/*.test.{ts,tsx}", "test/unit/**/*.test.{ts,tsx}", "test/property/**/*.test.ts", "extensions/**/*.test.ts"], PROPERTY_WITH_DATABASE),
      // Real PostgreSQL, signed webhooks, SMTP, several processes.
      tier("integration", ["test/integration/**/*.test.ts", ...PROPERTY_WITH_DATABASE]),
      // Chromium on the production build.
      tier("e2e", ["test/e2e/**/*.test.ts"]),
    ],
  },
});
