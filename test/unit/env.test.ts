import { describe, expect, it } from "vitest";
import { InvalidEnvironmentError, parseEnv } from "~/env.server";
import { TEST_ENV } from "../setup/test-env";

describe("environment validation", () => {
  it("accepts a complete environment and applies defaults", () => {
    const env = parseEnv({ ...TEST_ENV, DATABASE_URL: undefined, PORT: undefined });
    expect(env.DATABASE_URL).toBe("file:./data/reclaim.sqlite");
    expect(env.PORT).toBe(3000);
  });

  it.each([
    ["SHOPIFY_API_SECRET", { SHOPIFY_API_SECRET: undefined }, "SHOPIFY_API_SECRET is missing"],
    ["SHOPIFY_APP_URL", { SHOPIFY_APP_URL: "not a url" }, "SHOPIFY_APP_URL must be a URL"],
    ["ENCRYPTION_KEYS", { ENCRYPTION_KEYS: "k1:c2hvcnQ=" }, "ENCRYPTION_KEYS must be a comma-separated list"],
    ["DATABASE_URL", { DATABASE_URL: "postgres://x" }, "DATABASE_URL must be a SQLite `file:` URL"],
    ["LINK_SIGNING_SECRET", { LINK_SIGNING_SECRET: "short" }, "LINK_SIGNING_SECRET must be at least 32 characters"],
  ])("fails fast naming %s", (_name, override, message) => {
    expect(() => parseEnv({ ...TEST_ENV, ...override })).toThrow(InvalidEnvironmentError);
    expect(() => parseEnv({ ...TEST_ENV, ...override })).toThrow(message);
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
