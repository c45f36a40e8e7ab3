import { request } from "node:http";
import { connect } from "node:net";
import { rmSync } from "node:fs";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { demoDatabaseUrl } from "../../app/demo/data-dir";
import { demoArgs, demoEnv, spawnDemo, startDemo, type DemoProcess } from "../helpers/demo-process";

// `npm run demo` end to end: the real app, job runner and default campaign on the demo clock, against the fake Shopify
// Admin API, the Stripe simulator and a real SMTP server — checked through the database and the pages it serves.

const RUN_DIR = process.env.RECLAIM_TEST_RUN_DIR!;
const BUILD_DIR = path.join(RUN_DIR, "demo-build"); // shared with test/e2e/demo.browser.test.ts
const DATA_DIR = path.join(RUN_DIR, `demo-integration-${process.pid}`);
const SHOP = "reclaim-demo.myshopify.com";
// 1 h of campaign delay = 5 s, a new cart per source about every second: the whole pipeline turns within a minute.
const FAST = ["--speed", "720", "--pace", "1"];

const dayStart = (ms: number) => Date.parse(`${new Date(ms).toISOString().slice(0, 10)}T00:00:00Z`);

/**
 * Runs `read` on a connection to the demo's own PostgreSQL (while it runs). Timestamps are `timestamp(3)` in UTC: they
 * are passed as ISO strings and compared in SQL, never read back (node-postgres would parse them as local time).
 */
async function withDb<T>(read: (db: pg.Client) => Promise<T>): Promise<T> {
  const db = new pg.Client({ connectionString: await demoDatabaseUrl(DATA_DIR), options: "-c TimeZone=UTC" });
  try {
    await db.connect();
    return await read(db);
  } finally {
    await db.end().catch(() => {});
  }
}

/** COUNT(*) and SUM() of integers come back as bigint strings. */
async function one(db: pg.Client, sql: string, params: unknown[] = []): Promise<{ n: number; v: number }> {
  const row = (await db.query<{ n: string; v: string | null }>(sql, params)).rows[0]!;
  return { n: Number(row.n), v: Number(row.v ?? 0) };
}

interface Progress {
  shopId: string | null;
  recoveries: Record<string, number>;
  /** Failed subscription payments (docs/decisions/087): Stripe Billing's renewals the demo declines now and then. */
  paymentRecoveries: number;
  sent: number;
  creditedConversions: Record<string, number>;
}

async function progress(): Promise<Progress> {
  try {
    return await withDb(async (db) => {
      const shop = (await db.query<{ id: string }>(`SELECT "id" FROM "Shop" WHERE "domain" = $1`, [SHOP])).rows[0];
      const count = async (sql: string, ...args: unknown[]) => (await one(db, sql, args)).n;
      const bySource = async (sql: string) => {
        const counts: Record<string, number> = {};
        for (const s of ["shopify", "stripe"]) counts[s] = await count(sql, s);
        return counts;
      };
      return {
        shopId: shop?.id ?? null,
        recoveries: await bySource(`SELECT COUNT(*) AS "n" FROM "Recovery" WHERE "source" = $1 AND "kind" = 'cart'`),
        paymentRecoveries: await count(`SELECT COUNT(*) AS "n" FROM "Recovery" WHERE "kind" = 'payment'`),
        sent: await count(`SELECT COUNT(*) AS "n" FROM "Message" WHERE "status" = 'sent'`),
        creditedConversions: await bySource(
          `SELECT COUNT(*) AS "n" FROM "Conversion" v JOIN "Recovery" r ON r."id" = v."recoveryId" WHERE r."source" = $1 AND r."kind" = 'cart' AND v."method" = 'link' AND v."messageId" IS NOT NULL`,
        ),
      };
    });
  } catch {
    return { shopId: null, recoveries: {}, paymentRecoveries: 0, sent: 0, creditedConversions: {} };
  }
}

interface Figures {
  abandoned: number;
  abandonedValue: number;
  emailsSent: number;
  clicks: number;
  linkCount: number;
  linkRevenue: number;
  windowCount: number;
  windowRevenue: number;
}

/** What the overview should say for one source, counted from the base tables (not DailyStat, which it reads). */
async function expectedFigures(shopId: string, source: string, currency: string, now: number): Promise<Figures> {
  // UTC instants as ISO strings, compared with the UTC `timestamp(3)` columns in SQL.
  const from = new Date(dayStart(now) - 29 * 86_400_000).toISOString();
  const to = new Date(dayStart(now) + 86_400_000).toISOString();
  return withDb(async (db) => {
    // $1 shopId, $2 source, $3 currency, $4 from, $5 to (, $6 method).
    const params = [shopId, source, currency, from, to];
    const abandoned = await one(
      db,
      `SELECT COUNT(*) AS "n", COALESCE(SUM("totalMinor"), 0) AS "v" FROM "Recovery" WHERE "shopId" = $1 AND "source" = $2 AND "kind" = 'cart' AND "currency" = $3 AND "abandonedAt" >= $4 AND "abandonedAt" < $5`,
      params,
    );
    const sent = await one(
      db,
      `SELECT COUNT(*) AS "n", 0 AS "v" FROM "Message" m JOIN "Recovery" r ON r."id" = m."recoveryId" WHERE m."shopId" = $1 AND m."status" = 'sent' AND m."sentAt" >= $4 AND m."sentAt" < $5 AND r."source" = $2 AND r."kind" = 'cart' AND r."currency" = $3`,
      params,
    );
    const clicks = await one(
      db,
      `SELECT COUNT(*) AS "n", 0 AS "v" FROM "Click" c JOIN "Recovery" r ON r."id" = c."recoveryId" WHERE c."shopId" = $1 AND c."clickedAt" >= $4 AND c."clickedAt" < $5 AND r."source" = $2 AND r."kind" = 'cart' AND r."currency" = $3`,
      params,
    );
    const conversions = (method: string) =>
      one(
        db,
        `SELECT COUNT(*) AS "n", COALESCE(SUM(v."amountMinor"), 0) AS "v" FROM "Conversion" v JOIN "Recovery" r ON r."id" = v."recoveryId" WHERE v."shopId" = $1 AND v."method" = $6 AND v."messageId" IS NOT NULL AND v."convertedAt" >= $4 AND v."convertedAt" < $5 AND v."currency" = $3 AND r."source" = $2 AND r."kind" = 'cart'`,
        [...params, method],
      );
    const link = await conversions("link");
    const window = await conversions("window");
    return {
      abandoned: abandoned.n,
      abandonedValue: abandoned.v,
      emailsSent: sent.n,
      clicks: clicks.n,
      linkCount: link.n,
      linkRevenue: link.v,
      windowCount: window.n,
      windowRevenue: window.v,
    };
  });
}

const decode = (html: string) =>
  html
    .replace(/<[^>]+>/g, "")
    .replace(/&nbsp;|&#160;/g, " ")
    .replace(/&amp;/g, "&")
    .replace(/&#x27;|&#39;/g, "'")
    .replace(/&quot;/g, '"')
    .trim();

/** "$1,234.50" → 123450 (USD minor units); "1,234" → 1234. */
const minor = (text: string) => Math.round(Number(text.replace(/[^0-9.]/g, "")) * 100);
const whole = (text: string) => Number(text.replace(/[^0-9]/g, ""));

/** The overview's per-source table as rendered: label → [Shopify, Stripe, Total] cell texts. */
function renderedTable(html: string): Map<string, string[]> {
  const table = /<table class="Polaris-DataTable__Table">([\s\S]*?)<\/table>/.exec(html)?.[1] ?? "";
  const rows = new Map<string, string[]>();
  for (const tr of table.matchAll(/<tr[^>]*>([\s\S]*?)<\/tr>/g)) {
    const cells = [...tr[1]!.matchAll(/<t[hd][^>]*>([\s\S]*?)<\/t[hd]>/g)].map((c) => decode(c[1]!));
    if (cells[0]) rows.set(cells[0], cells.slice(1));
  }
  return rows;
}

function figuresFromCells(rows: Map<string, string[]>, column: number): Figures {
  const cell = (label: string) => {
    const value = rows.get(label)?.[column];
    if (value === undefined) throw new Error(`the overview has no "${label}" row`);
    return value;
  };
  const pair = (label: string) => {
    const [count, revenue] = cell(label)
      .split("·")
      .map((s) => s.trim());
    return { count: whole(count!), revenue: minor(revenue!) };
  };
  const link = pair("Recovered by link");
  const window = pair("Recovered by window");
  return {
    abandoned: whole(cell("Abandoned checkouts")),
    abandonedValue: minor(cell("Abandoned value")),
    emailsSent: whole(cell("Emails sent")),
    clicks: whole(cell("Clicks")),
    linkCount: link.count,
    linkRevenue: link.revenue,
    windowCount: window.count,
    windowRevenue: window.revenue,
  };
}

const sum = (a: Figures, b: Figures): Figures =>
  Object.fromEntries(Object.keys(a).map((k) => [k, a[k as keyof Figures] + b[k as keyof Figures]])) as unknown as Figures;

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/** fetch() may not set Host; node:http can, as a browser tricked by DNS rebinding would send it. */
function statusWithHost(url: string, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = request({ host: "127.0.0.1", port: Number(u.port), path: u.pathname, headers: { host } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("error", reject);
    req.end();
  });
}

const portOf = (url: string) => Number(new URL(url.replace(/^smtp:/, "http:")).port);

async function waitFor<T>(what: string, read: () => T | Promise<T>, done: (value: T) => boolean, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = await read();
  while (!done(last)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last seen: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 1000));
    last = await read();
  }
  return last;
}

describe("npm run demo: guards", () => {
  it("refuses to start unless enabled explicitly, saying how to start it", async () => {
    const run = spawnDemo(["--data-dir", DATA_DIR]);
    expect(await run.exited).toBe(2);
    expect(run.output()).toContain("npm run demo");
    expect(run.output()).toContain("--enable-demo");
  });

  it("refuses to start with NODE_ENV=production, even when enabled", async () => {
    const run = spawnDemo(["--enable-demo", "--data-dir", DATA_DIR], demoEnv({ NODE_ENV: "production" }));
    expect(await run.exited).toBe(2);
    expect(run.output()).toContain("never runs with NODE_ENV=production");
  });

  it("refuses a bad option with the reason and the usage", async () => {
    const run = spawnDemo(["--enable-demo", "--port", "99999", "--data-dir", DATA_DIR]);
    expect(await run.exited).toBe(2);
    expect(run.output()).toContain("--port must be a port number");
  });

  it("the app refuses the demo's inbox link in production", async () => {
    const { parseEnv } = await import("~/env.server");
    const base = { ...process.env, NODE_ENV: "production", DEMO_INBOX_URL: "http://127.0.0.1:4000/inbox" };
    expect(() => parseEnv(base)).toThrow(/DEMO_INBOX_URL must not be set in production/);
    expect(parseEnv({ ...base, NODE_ENV: "development" }).DEMO_INBOX_URL).toBe("http://127.0.0.1:4000/inbox");
  });
});

describe("npm run demo: a running demo", () => {
  let demo: DemoProcess;
  let firstRun: { shopId: string; emails: number; recoveries: number; stoppedAt: number };

  beforeAll(async () => {
    rmSync(DATA_DIR, { recursive: true, force: true });
    demo = await startDemo({ dataDir: DATA_DIR, buildDir: BUILD_DIR, args: FAST });
  }, 240_000);

  afterAll(async () => {
    await demo?.stop("SIGKILL");
  });

  it("prints what it starts, on which loopback port, and the URL to open", async () => {
    const out = demo.output();
    for (const part of [
      "database",
      "app build",
      "demo clock",
      "SMTP inbox",
      "Shopify Admin API (fake)",
      "Stripe API (fake)",
      "Reclaim app",
      "job runner",
      "simulators",
      "demo admin",
    ]) {
      expect(out).toContain(`✓ ${part}`);
    }
    const status = await demo.status();
    for (const url of Object.values(status.urls)) expect(url).toMatch(/^(http|smtp):\/\/127\.0\.0\.1:\d+/);
    expect(status.urls.admin).toBe(`${demo.url}/`);
  });

  it("both sources produce recoveries, emails reach the inbox, and the shopper's purchases come back as credited conversions", async () => {
    const seen = await waitFor(
      "recoveries, emails and credited conversions from both sources, and failed subscription payments",
      progress,
      (p) =>
        (p.recoveries.shopify ?? 0) > 0 &&
        (p.recoveries.stripe ?? 0) > 0 &&
        p.paymentRecoveries > 0 &&
        p.sent > 0 &&
        (p.creditedConversions.shopify ?? 0) > 0 &&
        (p.creditedConversions.stripe ?? 0) > 0,
      150_000,
    );
    const status = await demo.status();
    // Every email the app marked sent went through SMTP into the inbox (and none was lost to a timeout).
    expect(status.inbox.emails).toBeGreaterThanOrEqual(seen.sent);
    expect(status.shopper!.bought).toBeGreaterThan(0);
    await withDb(async (db) => {
      expect((await one(db, `SELECT COUNT(*) AS "n" FROM "Message" WHERE "status" = 'failed'`)).n).toBe(0);
      // Stripe conversions are matched by recovered_from, Shopify ones by completedAt on the same checkout.
      const stripeMatch = (
        await db.query<{ method: string }>(
          `SELECT v."method", v."messageId" FROM "Conversion" v JOIN "Recovery" r ON r."id" = v."recoveryId" WHERE r."source" = 'stripe' AND r."kind" = 'cart' AND v."messageId" IS NOT NULL LIMIT 1`,
        )
      ).rows[0]!;
      expect(stripeMatch.method).toBe("link");
    });
    // No spurious timeouts on the compressed clock (docs/decisions/061): no email lost, no job given up.
    expect(demo.output()).not.toMatch(/email not delivered|job failed|shopify sync failed/);
  }, 180_000);

  it("the overview shows exactly what the database holds (simulation paused)", async () => {
    const paused = (await (await demo.post("/api/pause")).json()) as { paused: boolean; demoTime: string };
    expect(paused.paused).toBe(true);
    const now = Date.parse(paused.demoTime);
    const token = ((await (await demo.post("/api/session-token")).json()) as { token: string }).token;
    const status = await demo.status();
    const url = new URL("/app", status.urls.app);
    url.searchParams.set("embedded", "1");
    url.searchParams.set("shop", SHOP);
    url.searchParams.set("host", Buffer.from("admin.shopify.com/store/reclaim-demo").toString("base64"));
    url.searchParams.set("id_token", token);
    const response = await fetch(url, { headers: { "user-agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/124.0 Safari/537.36", accept: "text/html" } });
    expect(response.status).toBe(200);
    const html = await response.text();

    const { shopId } = await progress();
    const rows = renderedTable(html);
    expect([...rows.keys()]).toEqual(expect.arrayContaining(["Abandoned checkouts", "Emails sent", "Clicks", "Recovered by link"]));
    const shopify = await expectedFigures(shopId!, "shopify", "USD", now);
    const stripe = await expectedFigures(shopId!, "stripe", "USD", now);
    expect(figuresFromCells(rows, 0)).toEqual(shopify);
    expect(figuresFromCells(rows, 1)).toEqual(stripe);
    expect(figuresFromCells(rows, 2)).toEqual(sum(shopify, stripe));
    // The headline card too.
    const card = /Recovered by link<\/h3><p[^>]*>([^<]+)<\/p>/.exec(html)?.[1];
    expect(minor(decode(card ?? ""))).toBe(shopify.linkRevenue + stripe.linkRevenue);
    // Not an empty page that happens to match: both sources have recovered revenue.
    expect(shopify.linkCount).toBeGreaterThan(0);
    expect(stripe.linkCount).toBeGreaterThan(0);
    expect(shopify.emailsSent + stripe.emailsSent).toBeGreaterThan(0);

    const resumed = (await (await demo.post("/api/resume")).json()) as { paused: boolean };
    expect(resumed.paused).toBe(false);
  }, 60_000);

  it("serves the app as the admin frames it: App Bridge from the demo, the admin allowed to frame it, no bypass of the token check", async () => {
    const status = await demo.status();
    const shell = await (await fetch(status.urls.admin)).text();
    const src = /<iframe id="app-frame"[^>]*src="([^"]+)"/.exec(shell)?.[1]?.replace(/&amp;/g, "&");
    expect(src).toBeDefined();
    const frameUrl = new URL(src!);
    expect(frameUrl.origin).toBe(status.urls.app);
    expect(frameUrl.searchParams.get("id_token")).toMatch(/^eyJ/);
    const page = await fetch(frameUrl, { headers: { "user-agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/124.0 Safari/537.36" } });
    const html = await page.text();
    expect(html).toContain('src="/__demo/app-bridge.js"');
    expect(html).not.toContain("cdn.shopify.com/shopifycloud/app-bridge.js");
    expect(page.headers.get("content-security-policy")).toContain(`frame-ancestors ${new URL(status.urls.admin).origin} `);
    // A request without a token the admin signed is refused as in production.
    const refused = await fetch(new URL("/app?_data=routes%2Fapp._index", status.urls.app), {
      headers: { authorization: "Bearer not-a-token", "user-agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/124.0 Safari/537.36" },
    });
    expect(refused.status).toBe(401);
    // DNS rebinding: a request for another host name is refused before the app sees it.
    expect(await statusWithHost(status.urls.admin, "attacker.example")).toBe(403);
    expect(await statusWithHost(`${status.urls.app}/app`, "attacker.example")).toBe(403);
    expect(await statusWithHost(status.urls.admin, new URL(status.urls.admin).host)).toBe(200);
  });

  it("a second demo on the same data folder is refused, before it touches anything", async () => {
    const second = spawnDemo(demoArgs({ dataDir: DATA_DIR, buildDir: BUILD_DIR }, ["--reset"]));
    expect(await second.exited).toBe(1);
    expect(second.output()).toMatch(/another demo \(process \d+\) is using/);
    expect((await progress()).shopId).not.toBeNull(); // --reset did not run
    expect((await demo.status()).paused).toBe(false);
  }, 60_000);

  it("Ctrl-C stops everything and exits 0; every port is closed", async () => {
    const status = await demo.status();
    const ports = [status.urls.admin, status.urls.app, status.urls.smtp, status.urls.shopifyAdminApi, status.urls.stripeApi].map(portOf);
    for (const port of ports) expect(await portOpen(port)).toBe(true);
    const p = await progress();
    firstRun = {
      shopId: p.shopId!,
      emails: status.inbox.emails,
      recoveries: (p.recoveries.shopify ?? 0) + (p.recoveries.stripe ?? 0),
      stoppedAt: Date.parse(status.demoTime),
    };
    expect(await demo.stop("SIGINT")).toBe(0);
    expect(demo.output()).toContain("Stopped.");
    for (const port of ports) expect(await portOpen(port)).toBe(false);
  }, 30_000);

  it("running it again resumes the same shop, data and clock", async () => {
    demo = await startDemo({ dataDir: DATA_DIR, buildDir: BUILD_DIR, args: FAST });
    const status = await demo.status();
    const p = await progress();
    expect(p.shopId).toBe(firstRun.shopId);
    expect(status.inbox.emails).toBeGreaterThanOrEqual(firstRun.emails);
    expect((p.recoveries.shopify ?? 0) + (p.recoveries.stripe ?? 0)).toBeGreaterThanOrEqual(firstRun.recoveries);
    expect(Date.parse(status.demoTime)).toBeGreaterThanOrEqual(firstRun.stoppedAt);
    expect(demo.output()).toMatch(/demo clock .*\(resumed\)/);
    expect(demo.output()).toMatch(/installed +reopened/);
    expect(await demo.stop("SIGINT")).toBe(0);
  }, 240_000);

  it("--reset starts over: a new shop, the clock from today, the old emails gone", async () => {
    demo = await startDemo({ dataDir: DATA_DIR, buildDir: BUILD_DIR, args: [...FAST, "--reset"] });
    const status = await demo.status();
    expect(demo.output()).toContain("previous demo data deleted");
    expect((await progress()).shopId).not.toBe(firstRun.shopId);
    // The clock starts again from today (the first run had run days ahead), and the old emails are gone.
    expect(Date.parse(status.demoTime)).toBeLessThan(firstRun.stoppedAt);
    expect(status.inbox.emails).toBeLessThan(firstRun.emails);
    expect(await demo.stop("SIGINT")).toBe(0);
  }, 240_000);
});
