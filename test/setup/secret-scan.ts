/**
 * "Secrets are never logged", checked over the whole test suite rather than one test at a time.
 *
 * Every test process appends the app's log lines to `<run dir>/logs/` (LOG_FILE, set in per-file.ts; child processes
 * inherit it), the summary reporter appends what tests print through `console` there too, and after the last test file
 * the reporter calls `scanRunForSecrets`: every secret the suite uses is looked for in every line. A hit fails the run
 * (test/reporters/summary-line.ts). The secrets come from three places, so a new test cannot add one that is not
 * looked for:
 *   - the test environment (SHOPIFY_API_SECRET, LINK_SIGNING_SECRET(S), the key material of ENCRYPTION_KEYS);
 *   - literals in the test sources that look like secrets (whsec_…, rk_/sk_…, shpat_…, SMTP passwords, values passed
 *     to encryptSecret);
 *   - values registered at run time with `registerTestSecret` (generated keys, passwords built in a test).
 * Besides known values, anything shaped like a Stripe or Shopify credential is reported wherever it appears.
 */
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { secretBody, secretShapePatterns } from "../../app/security/secret-shapes";

export interface KnownSecret {
  /** Where the secret comes from (printed instead of the value). */
  label: string;
  value: string;
}

export interface SecretHit {
  label: string;
  file: string;
  line: number;
}

export interface ScanResult {
  files: number;
  lines: number;
  secrets: number;
  hits: SecretHit[];
}

// The credential shapes the app's logger masks whole (app/security/secret-shapes.ts): a match still in a log line is a
// leak. A match whose part after the prefix is shorter than this is prose ("Bearer token"), not a credential.
const SHAPE_MIN_BODY = 8;

const logDir = (runDir: string) => path.join(runDir, "logs");
const secretDir = (runDir: string) => path.join(runDir, "secrets");

/** Records a secret a test uses so the end-of-run scan looks for it in the logs. No-op outside a test run. */
export function registerTestSecret(label: string, value: string): void {
  const runDir = process.env.RECLAIM_TEST_RUN_DIR;
  if (!runDir || value.length < 8) return;
  mkdirSync(secretDir(runDir), { recursive: true });
  appendFileSync(path.join(secretDir(runDir), `${process.pid}.jsonl`), JSON.stringify({ label, value }) + "\n");
}

/** The file this process's app log lines go to (LOG_FILE). */
export function logFileFor(runDir: string, name: string): string {
  mkdirSync(logDir(runDir), { recursive: true });
  return path.join(logDir(runDir), name);
}

/** The secrets in an environment: app secrets by name, and each key of the ENCRYPTION_KEYS ring. */
export function secretsFromEnv(env: Record<string, string | undefined>): KnownSecret[] {
  const out: KnownSecret[] = [];
  for (const name of ["SHOPIFY_API_SECRET", "LINK_SIGNING_SECRET"]) {
    if (env[name]) out.push({ label: name, value: env[name]! });
  }
  for (const [i, entry] of (env.LINK_SIGNING_SECRETS ?? "").split(",").entries()) {
    if (entry.trim()) out.push({ label: `LINK_SIGNING_SECRETS[${i}]`, value: entry.trim() });
  }
  for (const entry of (env.ENCRYPTION_KEYS ?? "").split(",")) {
    const [id, key] = entry.trim().split(":");
    if (id && key) out.push({ label: `ENCRYPTION_KEYS key "${id}"`, value: key });
  }
  return out;
}

const LITERAL_PATTERNS = [
  // Vendor credential shapes anywhere in a test source.
  /\b((?:whsec|(?:rk|sk)_(?:live|test)|shp(?:at|ca|pa|rt|ss|ua))_[A-Za-z0-9_-]{8,})/g,
  // Passwords and values handed to encryptSecret, as literals.
  /\b(?:smtpPassword|password|pass)\s*[:=]\s*["'`]([^"'`$\n]{8,})["'`]/g,
  /\bencryptSecret\(\s*["'`]([^"'`$\n]{8,})["'`]/g,
];

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    if (name === ".tmp" || name === "node_modules" || name === "fixtures") continue;
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) out.push(...sourceFiles(full));
    else if (/\.(ts|tsx|js)$/.test(name)) out.push(full);
  }
  return out;
}

/** Secret-looking literals in the test sources (`dir`, normally test/). */
export function secretsFromSources(dir: string): KnownSecret[] {
  const seen = new Map<string, KnownSecret>();
  for (const file of sourceFiles(dir)) {
    const text = readFileSync(file, "utf8");
    for (const pattern of LITERAL_PATTERNS) {
      for (const match of text.matchAll(pattern)) {
        const value = match[1]!;
        if (!seen.has(value)) seen.set(value, { label: `a secret literal in ${path.relative(process.cwd(), file)}`, value });
      }
    }
  }
  return [...seen.values()];
}

/** Secrets registered with registerTestSecret during the run. */
export function registeredSecrets(runDir: string): KnownSecret[] {
  const dir = secretDir(runDir);
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) =>
    readFileSync(path.join(dir, name), "utf8")
      .split("\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line) as KnownSecret),
  );
}

/**
 * What to look for: each secret whole and, for prefixed ones (whsec_…, rk_test_…), also the part after the prefix, so a
 * log line that dropped or masked only the prefix is still caught.
 */
function needles(secrets: KnownSecret[]): KnownSecret[] {
  const byValue = new Map<string, string>();
  for (const { label, value } of secrets) {
    byValue.set(value, label);
    const body = secretBody(value);
    if (body && body.length >= 12) byValue.set(body, label);
  }
  return [...byValue].map(([value, label]) => ({ label, value }));
}

/** Every log file under `dir` (recursively), scanned line by line for the secrets and for credential shapes. */
export function scanLogs(dir: string, secrets: KnownSecret[]): ScanResult {
  const result: ScanResult = { files: 0, lines: 0, secrets: secrets.length, hits: [] };
  if (!existsSync(dir)) return result;
  const lookFor = needles(secrets);
  const walk = (d: string): string[] =>
    readdirSync(d).flatMap((name) => (statSync(path.join(d, name)).isDirectory() ? walk(path.join(d, name)) : [path.join(d, name)]));
  for (const file of walk(dir)) {
    result.files++;
    const lines = readFileSync(file, "utf8").split("\n");
    for (const [i, line] of lines.entries()) {
      if (!line) continue;
      result.lines++;
      for (const secret of lookFor) {
        if (line.includes(secret.value)) result.hits.push({ label: secret.label, file: path.basename(file), line: i + 1 });
      }
      for (const shape of secretShapePatterns()) {
        const found = [...line.matchAll(shape.pattern)].some((m) => (secretBody(m[0]) ?? m[0]).length >= SHAPE_MIN_BODY);
        if (found) result.hits.push({ label: shape.label, file: path.basename(file), line: i + 1 });
      }
    }
  }
  return result;
}

/** The whole-run scan the summary reporter runs after the last test file. */
export function scanRunForSecrets(runDir: string, env: Record<string, string | undefined>, testDir = path.resolve("test")): ScanResult {
  const secrets = [...secretsFromEnv(env), ...secretsFromSources(testDir), ...registeredSecrets(runDir)];
  return scanLogs(logDir(runDir), secrets);
}

/**
 * Whether the scan passes, and the line that says so. A scan that read no log line proves nothing (the logs went
 * somewhere else, or the folder was never written), so it fails like a leak does; every test file writes at least one
 * line (test/setup/per-file.ts), so a real run never reads nothing.
 */
export function scanVerdict(result: ScanResult): { failed: boolean; text: string } {
  if (result.files === 0 || result.lines === 0) {
    return {
      failed: true,
      text: `secret scan: FAILED — it read ${result.lines} log lines from ${result.files} files: the test logs are not where the scan looks\n`,
    };
  }
  if (result.hits.length === 0) {
    return { failed: false, text: `secret scan: no secret in ${result.lines} log lines from ${result.files} files (${result.secrets} secrets checked)\n` };
  }
  const shown = result.hits
    .slice(0, 20)
    .map((h) => `  - ${h.label} in ${h.file} line ${h.line}\n`)
    .join("");
  const more = result.hits.length > 20 ? `  … and ${result.hits.length - 20} more\n` : "";
  return {
    failed: true,
    text: `secret scan: FAILED — ${result.hits.length} log line(s) carry a secret (logs kept in test-results/secret-scan-logs):\n${shown}${more}`,
  };
}

/** Appends text to the run's console log (what tests and app code printed through `console`). */
export function appendConsoleLog(runDir: string, text: string): void {
  appendFileSync(logFileFor(runDir, "console.log"), text.endsWith("\n") ? text : text + "\n");
}
