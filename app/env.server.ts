import { z } from "zod";
import { databaseUrl, isPostgresUrl } from "./database-url";

/**
 * The app's configuration, validated once at start-up. A missing or malformed variable stops the process with a
 * message naming it (never its value: several are secrets). Every variable is listed in README.md and .env.example.
 */
const keyRing = z
  .string({ required_error: "is missing (generate one with `npm run keys:new`)" })
  .min(1, "is empty (generate one with `npm run keys:new`)")
  .superRefine((value, ctx) => {
    for (const entry of value.split(",")) {
      const [id, key] = entry.trim().split(":");
      if (!id || !key || !/^[A-Za-z0-9_-]+$/.test(id) || Buffer.from(key, "base64").length !== 32) {
        ctx.addIssue({ code: "custom", message: "must be a comma-separated list of `<id>:<base64 of 32 random bytes>`" });
        return;
      }
    }
  });

/**
 * The example values in .env.example (and their shapes): long enough to pass a length check, but public, so a secret
 * copied from the example unchanged must be refused.
 */
const PLACEHOLDER_SECRET = /REPLACE_WITH|_OR_MORE_(?:RANDOM_)?CHARACTERS|^your-client-secret$/i;
export const isPlaceholderSecret = (value: string) => PLACEHOLDER_SECRET.test(value.trim());
const PLACEHOLDER_MESSAGE = "is the placeholder from .env.example; use a random secret of your own (for example `openssl rand -base64 32`)";

/** A comma-separated list of `host` or `host:port` (app/security/extra-hosts.ts), lower-cased. */
const hostList = (example: string) =>
  z
    .string()
    .default("")
    .transform((v) =>
      v
        .split(",")
        .map((h) => h.trim().toLowerCase())
        .filter(Boolean),
    )
    .refine((hosts) => hosts.every((h) => /^[a-z0-9.-]+(:\d{1,5})?$/.test(h)), `must be host names such as ${example}, comma-separated`);

const schema = z
  .object({
    // Anything other than these three is refused, never run as development (a typo such as `prod` must not turn on the
    // development-only switches).
    NODE_ENV: z
      .enum(["development", "test", "production"], { errorMap: () => ({ message: "must be development, test or production" }) })
      .default("development"),
    SHOPIFY_API_KEY: z.string({ required_error: "is missing (the app's client id)" }).min(1, "is empty"),
    SHOPIFY_API_SECRET: z
      .string({ required_error: "is missing (the app's client secret)" })
      .min(1, "is empty")
      .refine((v) => !isPlaceholderSecret(v), "is the placeholder from .env.example (use the app's client secret)"),
    SHOPIFY_APP_URL: z.string({ required_error: "is missing (the public https URL of this app)" }).url("must be a URL"),
    SCOPES: z.string().default("read_orders,read_customers,write_discounts,write_pixels,read_customer_events,read_locales"),
    /** Any PostgreSQL 15+; unset = the embedded PostgreSQL under data/ (started by the process entry points). */
    DATABASE_URL: z
      .string()
      .optional()
      .transform((value, ctx) => {
        try {
          return databaseUrl(value);
        } catch (error) {
          ctx.addIssue({ code: "custom", fatal: true, message: `is not set, and ${(error as Error).message.replace(/^DATABASE_URL is not set and /, "")}` });
          return z.NEVER;
        }
      })
      .refine(isPostgresUrl, "must be a PostgreSQL URL (postgresql://user:password@host:5432/database)"),
    /** Connections each process keeps to PostgreSQL (Prisma's pool; the job queue has its own, JOB_CONCURRENCY + 2). */
    DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(100).default(10),
    /** AES-256-GCM keys for secrets at rest; the first encrypts, all decrypt (rotation without downtime). */
    ENCRYPTION_KEYS: keyRing,
    /** HMAC key for click and unsubscribe links (and the proposed Stripe connection id). */
    LINK_SIGNING_SECRET: z
      .string()
      .min(32, "must be at least 32 characters")
      .refine((v) => !isPlaceholderSecret(v), PLACEHOLDER_MESSAGE)
      .optional(),
    /**
     * The same as a key ring, comma-separated: the first signs, every one verifies, so rotating does not break the links
     * in emails already sent. LINK_SIGNING_SECRET, when also set, verifies after these (the key being rotated out).
     */
    LINK_SIGNING_SECRETS: z
      .string()
      .optional()
      .refine(
        (v) => v === undefined || v.split(",").every((s) => s.trim().length >= 32),
        "must be a comma-separated list of secrets of at least 32 characters each",
      )
      .refine((v) => v === undefined || !v.split(",").some(isPlaceholderSecret), PLACEHOLDER_MESSAGE),
    HOST: z.string().default("0.0.0.0"),
    PORT: z.coerce.number().int().min(0).max(65535).default(3000),
    /** `in-process` runs the job runner inside the web server; `off` leaves it to `npm run worker`. */
    JOB_RUNNER: z.enum(["in-process", "off"]).default("in-process"),
    JOB_POLL_INTERVAL_MS: z.coerce.number().int().min(10).default(1000),
    JOB_CONCURRENCY: z.coerce.number().int().min(1).max(32).default(4),
    /**
     * Sending (docs/decisions/085-sends-in-flight.md): job slots for shops' send jobs, apart from JOB_CONCURRENCY (a send
     * job mostly waits on SMTP, and a sending backlog never takes intake's slots); one shop's batch bounds (emails, ms);
     * each shop's SMTP pool (connections, messages per connection; a provider's documented lower cap wins); emails in
     * flight across the process; how long an unused pool stays open.
     */
    // 16 × a pool of 10 keeps ≥ 45 emails in flight (300/s at a provider's 150 ms) while some jobs claim, render or end
    // (docs/decisions/094).
    SEND_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(16),
    SEND_BATCH_SIZE: z.coerce.number().int().min(1).max(5_000).default(500),
    SEND_BATCH_MS: z.coerce.number().int().min(100).max(120_000).default(5_000),
    SMTP_MAX_CONNECTIONS: z.coerce.number().int().min(1).max(50).default(10),
    SMTP_MAX_MESSAGES: z.coerce.number().int().min(1).max(10_000).default(100),
    SEND_MAX_IN_FLIGHT: z.coerce.number().int().min(1).max(1_000).default(128),
    SMTP_POOL_IDLE_MS: z.coerce.number().int().min(1_000).max(3_600_000).default(120_000),
    /** A running job whose heartbeat is older than this was left by a dead worker and is queued again (default 5 min). */
    JOB_LOCK_TIMEOUT_MS: z.coerce.number().int().min(1_000).max(3_600_000).default(300_000),
    /** Retention (app/models/retention.server.ts, SECURITY.md): days a processed webhook/event body is kept. */
    RETENTION_WEBHOOK_BODY_DAYS: z.coerce.number().int().min(1).max(365).default(3),
    /** Days a webhook/event row (id only, for recognising redeliveries) is kept; at least the body's days. */
    RETENTION_WEBHOOK_ROW_DAYS: z.coerce.number().int().min(3).max(3650).default(30),
    /** Days failed jobs (with their error) are kept; graphile-worker deletes succeeded and cancelled ones itself. */
    RETENTION_FAILED_JOB_DAYS: z.coerce.number().int().min(1).max(3650).default(30),
    /**
     * Merchant templates render in worker threads (app/email/render-pool.server.ts, docs/decisions/079): how many at most,
     * the hard time limit of one render (its worker is terminated past it), and each worker's heap.
     */
    RENDER_WORKERS: z.coerce.number().int().min(1).max(16).default(2),
    RENDER_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(5_000),
    RENDER_MEMORY_MB: z.coerce.number().int().min(32).max(2_048).default(128),
    LOG_LEVEL: z.enum(["debug", "info", "warn", "error", "silent"]).default("info"),
    /** Also append every log line to this file (the test suite scans it for secrets: test/setup/secret-scan.ts). */
    LOG_FILE: z.string().min(1).optional(),
    /**
     * The Stripe source (webhooks, Settings › Stripe, Stripe recoveries). Default on, for custom and unlisted installs;
     * set `false` for a Shopify App Store listing, whose requirement 1.1.2 forbids apps that bypass Shopify checkout
     * (docs/decisions/077-stripe-source-and-app-store.md). Off: Stripe webhooks are refused with 410 and nothing is stored.
     */
    STRIPE_SOURCE_ENABLED: z
      .enum(["true", "false", "1", "0", "on", "off"], { message: "must be true or false" })
      .default("true")
      .transform((v) => v === "true" || v === "1" || v === "on"),
    /**
     * Hosts besides checkout.stripe.com and buy.stripe.com that Stripe recovery links may point at: a merchant's custom
     * Checkout domain (comma-separated `host` or `host:port`). Plain http is accepted only for loopback hosts (the demo).
     */
    STRIPE_CHECKOUT_EXTRA_HOSTS: hostList("checkout.example.com"),
    /**
     * Hosts besides the shop's own myshopify domain that Shopify recovery links may point at and be redirected to
     * (comma-separated `host` or `host:port`; plain http only for loopback hosts: the demo's local storefront).
     * See app/sources/shopify/recovery-url.ts.
     */
    SHOPIFY_STOREFRONT_EXTRA_HOSTS: hostList("shop.example.com"),
    /** Tests only: Stripe API calls go to this base URL (a local fake) instead of https://api.stripe.com. Refused in production. */
    STRIPE_API_BASE: z.string().url("must be a URL such as http://127.0.0.1:12111").optional(),
    /** Benchmark only: `on` serves POST /webhooks/stripe-verify-only/<connectionId> (verify, answer 200, store nothing). */
    STRIPE_VERIFY_ONLY_ENDPOINT: z.enum(["on", "off"]).default("off"),
    /**
     * Lets shops' SMTP settings point at loopback and private-network hosts (a local SMTP sink in tests and the demo, a
     * relay on the LAN), with any port and without required STARTTLS for those hosts. Off by default: such hosts are an
     * SSRF from a merchant's settings (app/email/smtp-destination.server.ts). Cloud metadata addresses stay refused.
     */
    SMTP_ALLOW_PRIVATE_HOSTS: z
      .enum(["true", "false"])
      .default("false")
      .transform((v) => v === "true"),
    /** Set by `npm run demo` only: the overview links to the demo's inbox (app/demo/). Refused in production. */
    DEMO_INBOX_URL: z.string().url("must be a URL such as http://127.0.0.1:4000/inbox").optional(),
  })
  .superRefine((env, ctx) => {
    if (env.RETENTION_WEBHOOK_ROW_DAYS < env.RETENTION_WEBHOOK_BODY_DAYS) {
      ctx.addIssue({
        code: "custom",
        path: ["RETENTION_WEBHOOK_ROW_DAYS"],
        message: "must be at least RETENTION_WEBHOOK_BODY_DAYS (a body is kept no longer than its row)",
      });
    }
    if (!env.LINK_SIGNING_SECRET && !env.LINK_SIGNING_SECRETS) {
      ctx.addIssue({ code: "custom", path: ["LINK_SIGNING_SECRET"], message: "is missing (at least 32 random characters)" });
    }
    // Stripe test/bench switches: never where a merchant's key or a public network could reach them.
    if (env.NODE_ENV === "production" && env.DEMO_INBOX_URL) {
      ctx.addIssue({ code: "custom", path: ["DEMO_INBOX_URL"], message: "must not be set in production (it belongs to the local demo, `npm run demo`)" });
    }
    if (env.NODE_ENV === "production" && env.STRIPE_API_BASE) {
      ctx.addIssue({
        code: "custom",
        path: ["STRIPE_API_BASE"],
        message: "must not be set in production (merchants' Stripe keys would go somewhere other than api.stripe.com)",
      });
    }
    if (env.NODE_ENV === "production" && env.STRIPE_VERIFY_ONLY_ENDPOINT === "on" && !["127.0.0.1", "::1", "localhost"].includes(env.HOST)) {
      ctx.addIssue({
        code: "custom",
        path: ["STRIPE_VERIFY_ONLY_ENDPOINT"],
        message: "may be `on` in production only on a loopback HOST (it exists for the benchmark)",
      });
    }
  })
  .transform(({ LINK_SIGNING_SECRET, LINK_SIGNING_SECRETS, ...env }) => {
    // One ring for the link keys: LINK_SIGNING_SECRET is its signing key, LINK_SIGNING_SECRETS every key that verifies.
    const ring = [
      ...new Set([
        ...(LINK_SIGNING_SECRETS ?? "")
          .split(",")
          .map((s) => s.trim())
          .filter(Boolean),
        ...(LINK_SIGNING_SECRET ? [LINK_SIGNING_SECRET] : []),
      ]),
    ];
    return { ...env, LINK_SIGNING_SECRET: ring[0]!, LINK_SIGNING_SECRETS: ring };
  });

export type Env = z.infer<typeof schema>;

/**
 * Settings earlier versions read and this one ignores (zod drops unknown keys, so setting one breaks nothing): each
 * entry says why, for the warning an operator who still sets it sees at start (`retiredSettingWarnings`).
 */
export const RETIRED_SETTINGS: Readonly<Record<string, string>> = {
  JOB_SHOP_CONCURRENCY:
    "a shop runs at most one job per lane (intake, sending, other) at a time, so no shop holds more than three job slots (docs/decisions/080-queue-engine.md)",
  RETENTION_JOB_DAYS: "graphile-worker deletes succeeded and cancelled jobs itself; failed ones are kept RETENTION_FAILED_JOB_DAYS",
};

/** One line per retired setting present in `source`, naming it (never its value) and what replaced it. */
export function retiredSettingWarnings(source: Record<string, string | undefined>): string[] {
  return Object.entries(RETIRED_SETTINGS)
    .filter(([name]) => source[name] !== undefined)
    .map(([name, why]) => `${name} is no longer used: ${why}; remove it from the environment`);
}

export class InvalidEnvironmentError extends Error {
  constructor(public readonly problems: string[]) {
    super(`Invalid environment:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "InvalidEnvironmentError";
  }
}

/** Parses an environment; throws InvalidEnvironmentError naming every bad variable (values are never echoed). */
export function parseEnv(source: Record<string, string | undefined>): Env {
  const result = schema.safeParse(source);
  if (result.success) return result.data;
  throw new InvalidEnvironmentError(result.error.issues.map((issue) => `${issue.path.join(".")} ${issue.message}`));
}

export const env: Env = parseEnv(process.env);
