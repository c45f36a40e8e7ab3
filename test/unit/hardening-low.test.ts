/** Low-severity hardening: log masking, NODE_ENV, placeholder secrets, buyer-typed first names in templates. */
import { describe, expect, it } from "vitest";
import { parseEnv } from "~/env.server";
import { redact } from "~/logger.server";
import { sampleTemplateInput, templateVariables } from "~/recovery/template";
import { TEST_ENV } from "../setup/test-env";

describe("the logger masks", () => {
  it("Shopify refresh tokens (shprt_)", () => {
    expect(redact('{"token":"shprt_0123456789abcdefABCDEF"}')).toBe('{"token":"[redacted]"}');
  });
  it("JWTs (three base64url segments), wherever they appear", () => {
    const jwt = "eyJhbGciOiJIUzI1NiJ9.eyJkZXN0IjoiaHR0cHM6Ly9zaG9wIn0.c2lnbmF0dXJlX2J5dGVzLV8";
    expect(redact(`session token ${jwt} was expired`)).toBe("session token [redacted] was expired");
  });
  it("a buyer's email inside an SMTP error text (keeps the domain)", () => {
    const text = "550 5.1.1 <jane.doe+cart@buyer-mail.example>: Recipient address rejected";
    const out = redact(text);
    expect(out).not.toContain("jane.doe");
    expect(out).toContain("[email]@buyer-mail.example");
  });
});

describe("environment", () => {
  it.each(["staging", "prod", "Production", ""])("refuses NODE_ENV=%j instead of running as development", (value) => {
    expect(() => parseEnv({ ...TEST_ENV, NODE_ENV: value })).toThrow(/NODE_ENV must be development, test or production/);
  });
  it("refuses the .env.example placeholder secrets even though they are long enough", () => {
    expect(() => parseEnv({ ...TEST_ENV, LINK_SIGNING_SECRET: "REPLACE_WITH_32_OR_MORE_RANDOM_CHARACTERS" })).toThrow(/LINK_SIGNING_SECRET is the placeholder/);
    expect(() => parseEnv({ ...TEST_ENV, LINK_SIGNING_SECRETS: "NEW_SECRET_32_OR_MORE_CHARACTERS,OLD_SECRET_32_OR_MORE_CHARACTERS" })).toThrow(
      /LINK_SIGNING_SECRETS is the placeholder/,
    );
    expect(() => parseEnv({ ...TEST_ENV, SHOPIFY_API_SECRET: "your-client-secret" })).toThrow(/SHOPIFY_API_SECRET is the placeholder/);
    expect(() => parseEnv({ ...TEST_ENV, DATABASE_URL: process.env.DATABASE_URL })).not.toThrow();
  });
});

describe("buyer-typed first names in templates", () => {
  const withName = (firstName: string | null) => {
    const input = sampleTemplateInput();
    return templateVariables({ ...input, recovery: { ...input.recovery, firstName } }).customer.first_name;
  };
  it("are cut at 40 characters", () => {
    expect(withName("A".repeat(10_000))).toBe("A".repeat(40));
  });
  it("carry no control characters or newlines", () => {
    const name = withName("Alex\r\nBcc: victim@example.com\u0000\u202e");
    // eslint-disable-next-line no-control-regex -- the control characters are what this test looks for
    expect(name).not.toMatch(/[\r\n\u0000\u202e]/);
    expect(name?.startsWith("Alex Bcc:")).toBe(true);
  });
  it("an ordinary name is untouched, an empty one stays empty", () => {
    expect(withName("Zoë")).toBe("Zoë");
    expect(withName("  \n ")).toBeNull();
    expect(withName(null)).toBeNull();
  });
});
