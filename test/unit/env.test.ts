import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { InvalidEnvironmentError, parseEnv, retiredSettingWarnings } from "~/env.server";
import { TEST_ENV } from "../setup/test-env";

describe("environment validation", () => {
  it("accepts a complete environment and applies defaults: without DATABASE_URL, the embedded PostgreSQL's", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "reclaim-env-"));
    writeFileSync(path.join(dir, "postgres.password"), "s3cret/+\n");
    const saved = process.env.EMBEDDED_POSTGRES_DIR;
    process.env.EMBEDDED_POSTGRES_DIR = path.join(dir, "postgres");
    try {
      const env = parseEnv({ ...TEST_ENV, DATABASE_URL: undefined, PORT: undefined });
      expect(env.DATABASE_URL).toBe("postgresql://postgres:s3cret%2F%2B@127.0.0.1:54329/reclaim");
      expect(env.PORT).toBe(3000);
      // Before the embedded server was ever started there is no password yet: the message says what to run.
      process.env.EMBEDDED_POSTGRES_DIR = path.join(dir, "never-started");
      expect(() => parseEnv({ ...TEST_ENV, DATABASE_URL: undefined })).toThrow(
        "DATABASE_URL is not set, and the embedded PostgreSQL has not been started yet (run `npm run setup`)",
      );
    } finally {
      if (saved === undefined) delete process.env.EMBEDDED_POSTGRES_DIR;
      else process.env.EMBEDDED_POSTGRES_DIR = saved;
    }
  });

  it.each([
    ["SHOPIFY_API_SECRET", { SHOPIFY_API_SECRET: undefined }, "SHOPIFY_API_SECRET is missing"],
    ["SHOPIFY_APP_URL", { SHOPIFY_APP_URL: "not a url" }, "SHOPIFY_APP_URL must be a URL"],
    ["ENCRYPTION_KEYS", { ENCRYPTION_KEYS: "k1:c2hvcnQ=" }, "ENCRYPTION_KEYS must be a comma-separated list"],
    ["DATABASE_URL", { DATABASE_URL: "file:./data/reclaim.sqlite" }, "DATABASE_URL must be a PostgreSQL URL"],
    ["LINK_SIGNING_SECRET", { LINK_SIGNING_SECRET: "short" }, "LINK_SIGNING_SECRET must be at least 32 characters"],
  ])("fails fast naming %s", (_name, override, message) => {
    expect(() => parseEnv({ ...TEST_ENV, ...override })).toThrow(InvalidEnvironmentError);
    expect(() => parseEnv({ ...TEST_ENV, ...override })).toThrow(message);
  });

  it("still starts with a retired setting set, and names it in a warning (never its value)", () => {
    const retired = { ...TEST_ENV, DATABASE_URL: "postgresql://reclaim@127.0.0.1:5432/reclaim", JOB_SHOP_CONCURRENCY: "3", RETENTION_JOB_DAYS: "14" };
    const env = parseEnv(retired);
    expect(env).not.toHaveProperty("JOB_SHOP_CONCURRENCY");
    expect(env).not.toHaveProperty("RETENTION_JOB_DAYS");
    const warnings = retiredSettingWarnings(retired);
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatch(/^JOB_SHOP_CONCURRENCY is no longer used: a shop runs at most one job per lane/);
    expect(warnings[1]).toMatch(/^RETENTION_JOB_DAYS is no longer used: graphile-worker deletes succeeded and cancelled jobs itself/);
    expect(warnings.join("\n")).not.toMatch(/\b(3|14)\b/);
    expect(retiredSettingWarnings({ ...TEST_ENV })).toEqual([]);
  });

  it("never echoes a secret's value in the error", () => {
    const secret = "whsec_this_must_not_leak";
    try {
      parseEnv({ ...TEST_ENV, ENCRYPTION_KEYS: secret });
      expect.unreachable();
    } catch (error) {
      expect(String(error)).not.toContain(secret);
    }
  });
});
