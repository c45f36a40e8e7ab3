import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { secretBody } from "~/security/secret-shapes";
import { scanLogs, scanVerdict, secretsFromEnv, secretsFromSources } from "../setup/secret-scan";
import { TEST_ENV } from "../setup/test-env";

// The suite-wide scan (test/reporters/summary-line.ts) fails the run when a log line carries a secret. These tests
// prove it would: planted secrets in a throwaway folder are found, in every form a leak takes.
const dir = mkdtempSync(path.join(tmpdir(), "reclaim-secret-scan-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const env = { ...TEST_ENV, ENCRYPTION_KEYS: `k2:${Buffer.alloc(32, 7).toString("base64")},k1:${Buffer.alloc(32, 1).toString("base64")}` };
const smtpPassword = { label: "SMTP password of the test shop", value: "hunter2-but-longer" };
const secrets = [...secretsFromEnv(env), smtpPassword, { label: "webhook secret", value: "whsec_plantedSecretForTheScanner0001" }];

function scanOne(line: string) {
  const sub = mkdtempSync(path.join(dir, "case-"));
  writeFileSync(path.join(sub, "app-1.log"), `{"level":"info","message":"fine"}\n${line}\n`);
  return scanLogs(sub, secrets);
}

describe("the end-of-run secret scan", () => {
  it("finds nothing in clean logs, and says how much it read", () => {
    const result = scanOne('{"level":"info","message":"shop installed","shop":"a.myshopify.com"}');
    expect(result).toMatchObject({ files: 1, lines: 2, hits: [] });
    expect(result.secrets).toBe(secrets.length);
  });

  it.each([
    ["the app secret", `{"message":"hmac","secret":"${TEST_ENV.SHOPIFY_API_SECRET}"}`, "SHOPIFY_API_SECRET"],
    ["the link signing secret", `signing with ${TEST_ENV.LINK_SIGNING_SECRET}`, "LINK_SIGNING_SECRET"],
    ["the second key of the encryption ring", `key=${Buffer.alloc(32, 1).toString("base64")}`, 'ENCRYPTION_KEYS key "k1"'],
    ["an SMTP password", `{"auth":{"user":"mailer","pass":"hunter2-but-longer"}}`, "SMTP password of the test shop"],
    ["a known webhook secret without its prefix", "secret=plantedSecretForTheScanner0001", "webhook secret"],
  ])("catches %s", (_what, line, label) => {
    const result = scanOne(line);
    expect(result.hits).toEqual([{ label, file: "app-1.log", line: 2 }]);
  });

  it("catches an unknown credential by its shape", () => {
    const result = scanOne(`[error] stripe said no for rk_live_51NeverSeenBefore0123456789`);
    expect(result.hits.map((h) => h.label)).toEqual(["a Stripe API key (sk_/rk_…)"]);
  });

  it("does not mistake the logger's masked form for a leak", () => {
    expect(scanOne('{"message":"refused","secret":"[redacted]"}').hits).toEqual([]);
  });

  it("fails when it read no log line: an empty or missing log folder proves nothing", () => {
    const empty = mkdtempSync(path.join(dir, "empty-"));
    for (const folder of [empty, path.join(dir, "never-written")]) {
      const result = scanLogs(folder, secrets);
      expect(result.hits).toEqual([]);
      expect(scanVerdict(result)).toMatchObject({ failed: true, text: expect.stringContaining("read 0 log lines from") });
    }
    writeFileSync(path.join(empty, "app-1.log"), "\n\n");
    expect(scanVerdict(scanLogs(empty, secrets)).failed).toBe(true);
    expect(scanVerdict(scanOne('{"message":"fine"}'))).toMatchObject({ failed: false, text: expect.stringContaining("no secret in 2 log lines from 1 files") });
  });

  it("catches a JWT and a bearer token (what the logger masks, the scan looks for), but not the words 'Bearer token'", () => {
    const jwt = `eyJhbGciOiJIUzI1NiJ9.${Buffer.from('{"dest":"https://a.myshopify.com"}').toString("base64url")}.c2lnbmF0dXJlLXZhbHVl`;
    expect(scanOne(`{"url":"/app?id_token=${jwt}"}`).hits.map((h) => h.label)).toEqual(["a JSON Web Token (eyJ….….…)"]);
    expect(scanOne(`authorization: Bearer abcdef0123456789`).hits.map((h) => h.label)).toEqual(["a bearer token (Authorization header)"]);
    expect(scanOne(`{"message":"missing Bearer token"}`).hits).toEqual([]);
  });

  it("collects secret literals from test sources, so a new test's secrets are looked for without registering them", () => {
    const src = mkdtempSync(path.join(dir, "src-"));
    writeFileSync(
      path.join(src, "example.test.ts"),
      `const SECRET = "whsec_fromASourceFile0123456789";\nconst x = { smtpPassword: "p4ssword-in-a-form" };\nencryptSecret("sealed-value-123");\n`,
    );
    expect(
      secretsFromSources(src)
        .map((s) => s.value)
        .sort(),
    ).toEqual(["p4ssword-in-a-form", "sealed-value-123", "whsec_fromASourceFile0123456789"]);
  });
});

describe("the log sink the scan reads", () => {
  it("receives the app's log lines in this run's log folder", async () => {
    const { logger } = await import("~/logger.server");
    logger.warn("secret-scan sink check", { marker: "sink-check-7f3a" });
    const file = process.env.LOG_FILE!;
    expect(file.startsWith(path.join(process.env.RECLAIM_TEST_RUN_DIR!, "logs"))).toBe(true);
    expect(readFileSync(file, "utf8")).toContain("sink-check-7f3a");
  });

  it("masks a secret shape a caller logs by mistake, before the line reaches the file", async () => {
    const { logger } = await import("~/logger.server");
    logger.error("oops", { key: "rk_test_51LoggedByMistake000000000000" });
    const last = readFileSync(process.env.LOG_FILE!, "utf8").trim().split("\n").at(-1)!;
    expect(last).toContain('"key":"[redacted]"');
  });

  it("masks whole every credential literal the suite uses, so no part of one reaches a log the scan cannot recognise", async () => {
    const { redact } = await import("~/logger.server");
    const literals = secretsFromSources(path.resolve("test")).filter((s) => secretBody(s.value) !== null);
    // The suite's own offline token, which the logger used to cut after `shpat_test` and print `_offline_token`.
    expect(literals.map((s) => s.value)).toContain("shpat_test_offline_token");
    expect(literals.length).toBeGreaterThan(5);
    for (const { value } of literals) expect(redact(`token=${value};`), value).toBe("token=[redacted];");
  });

  it("masks the password of a database URL (a driver error can quote DATABASE_URL) and keeps the rest for diagnosis", async () => {
    const { logger } = await import("~/logger.server");
    logger.error("could not connect", { error: "connect ECONNREFUSED postgresql://reclaim:S3cr3t-pw%2F@db.internal:5432/reclaim" });
    const last = readFileSync(process.env.LOG_FILE!, "utf8").trim().split("\n").at(-1)!;
    expect(last).not.toContain("S3cr3t-pw");
    expect(last).toContain("postgresql://reclaim:[redacted]@db.internal:5432/reclaim");
  });
});
