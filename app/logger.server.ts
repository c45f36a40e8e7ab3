import { appendFileSync } from "node:fs";
import { env } from "./env.server";
import { secretShapePatterns } from "./security/secret-shapes";

type Level = "debug" | "info" | "warn" | "error";
const ORDER: Record<Level | "silent", number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

// Shapes of secrets we handle (one list with the test suite's secret scan). Anything matching is masked whole, even if
// a caller logs it by mistake.
const SECRET_PATTERNS = secretShapePatterns().map((shape) => shape.pattern);

// Email addresses (a buyer's, e.g. inside an SMTP server's "550 <buyer@example.com>: mailbox unavailable"): the domain is
// kept for diagnosis, the mailbox is not.
const EMAIL = /[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@((?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,})/g;

// The password in a database URL (a driver error or a misplaced log line can carry DATABASE_URL).
const URL_PASSWORD = /\b(postgres(?:ql)?:\/\/[^:/\s@]*:)[^@\s]+@/g;

export function redact(text: string): string {
  return SECRET_PATTERNS.reduce((out, pattern) => out.replace(pattern, "[redacted]"), text)
    .replace(URL_PASSWORD, "$1[redacted]@")
    .replace(EMAIL, "[email]@$1");
}

/**
 * One JSON line per event on stdout/stderr (and appended to LOG_FILE when set); fields must never carry secrets, and
 * known secret shapes are masked.
 */
export function log(level: Level, message: string, fields: Record<string, unknown> = {}): void {
  if (ORDER[level] < ORDER[env.LOG_LEVEL]) return;
  const line = redact(JSON.stringify({ time: new Date().toISOString(), level, message, ...fields }));
  (level === "error" || level === "warn" ? process.stderr : process.stdout).write(line + "\n");
  if (env.LOG_FILE) appendFileSync(env.LOG_FILE, line + "\n");
}

export const logger = {
  debug: (m: string, f?: Record<string, unknown>) => log("debug", m, f),
  info: (m: string, f?: Record<string, unknown>) => log("info", m, f),
  warn: (m: string, f?: Record<string, unknown>) => log("warn", m, f),
  error: (m: string, f?: Record<string, unknown>) => log("error", m, f),
};
