/**
 * `npm run demo`: starts every piece in order, printing each one, and stops them all on Ctrl-C.
 * Decisions (one process, compressed global clock, production build, admin portal): docs/decisions/060-local-demo.md.
 */
import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { ServerBuild } from "@remix-run/node";
import pg from "pg";
import type { DemoConfig } from "./config";
import { ensureBuild } from "./build";
import { installVirtualClock, virtualSleep } from "./clock";
import { ensureDir, loadOrCreateSecrets, lockDataDir, readJson, resetDataDir, startDemoDatabase, writeJson } from "./data-dir";
import { loopbackHosts } from "./loopback";
import { adminHostParam, signDemoSessionToken } from "./session-token";

const here = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(here, "../..");
const SHOP_DOMAIN = "reclaim-demo.myshopify.com";
const SHOP_NAME = "Reclaim Demo Store";

type Closer = { name: string; close: () => Promise<void> | void };

function say(line = "") {
  process.stdout.write(`${line}\n`);
}
function step(label: string, detail: string) {
  say(`  ✓ ${label.padEnd(24)} ${detail}`);
}

/** Binds a server to 127.0.0.1 now (so its URL is known before the app reads its environment); handlers come later. */
async function bind(port: number, what: string): Promise<{ server: Server; port: number }> {
  const server = createServer((_req, res) => {
    res.writeHead(503, { "content-type": "text/plain; charset=utf-8", "retry-after": "2" });
    res.end("The Reclaim demo is still starting.");
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) =>
      reject(
        error.code === "EADDRINUSE" ? new Error(`Port ${port} (${what}) is in use. Stop what uses it, or pick another port (npm run demo -- --help).`) : error,
      ),
    );
    server.listen(port, "127.0.0.1", () => resolve());
  });
  return { server, port: (server.address() as AddressInfo).port };
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** The newest time the database has seen, so a rerun after a crash never starts the clock behind its own data. */
async function latestDatabaseTime(url: string): Promise<number | null> {
  const client = new pg.Client({ connectionString: url, options: "-c TimeZone=UTC" });
  await client.connect();
  try {
    const { rows } = await client.query<{ t: Date | null }>(
      `SELECT GREATEST((SELECT MAX("updatedAt") FROM "Recovery"), (SELECT MAX("receivedAt") FROM "InboundEvent")) AS t`,
    );
    // Stored times are UTC without a zone; node-postgres reads them as local time unless told otherwise.
    const t = rows[0]?.t;
    return t ? Date.UTC(t.getFullYear(), t.getMonth(), t.getDate(), t.getHours(), t.getMinutes(), t.getSeconds(), t.getMilliseconds()) : null;
  } finally {
    await client.end();
  }
}

export async function runDemo(config: DemoConfig): Promise<void> {
  const closers: Closer[] = [];
  let stopping = false;
  // Filled in once the simulators exist; saving earlier has nothing to save.
  const state = { save: () => {} };

  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    say("\nStopping the demo…");
    const watchdog = setTimeout(() => {
      say("Some parts did not stop within 15 s; exiting anyway.");
      process.exit(1);
    }, 15_000);
    watchdog.unref();
    // In reverse order of starting: simulators and runner first, servers next, then the state is saved and the data
    // folder unlocked.
    for (const c of [...closers].reverse()) {
      try {
        await c.close();
      } catch (error) {
        say(`  ! ${c.name}: ${(error as Error).message}`);
      }
    }
    if (code === 0) say(`Stopped. \`npm run demo\` resumes where this left off; \`npm run demo -- --reset\` starts over.`);
    process.exit(code);
  };
  process.once("SIGINT", () => void stop(0));
  process.once("SIGTERM", () => void stop(0));

  try {
    await start(config, closers, state, () => stopping);
  } catch (error) {
    if (stopping) return;
    say(`\nThe demo could not start: ${error instanceof Error ? error.message : String(error)}`);
    await stop(1);
  }
}

async function start(config: DemoConfig, closers: Closer[], state: { save: () => void }, stopping: () => boolean): Promise<void> {
  const started = performance.now();
  const dataDir = config.dataDir;
  say(
    `Reclaim demo — data in ${path.relative(ROOT, dataDir) || dataDir}, clock ×${config.speed} (1 h of campaign delay takes ${formatSeconds(3_600_000 / config.speed)})`,
  );
  ensureDir(dataDir);
  const unlock = lockDataDir(dataDir);
  closers.push({ name: "data folder lock", close: unlock });
  closers.push({ name: "saving the demo state", close: () => state.save() });
  if (config.reset) {
    resetDataDir(dataDir, [config.buildDir, path.join(dataDir, "demo.pid")]);
    step("reset", "previous demo data deleted");
  }
  const { secrets, created } = loadOrCreateSecrets(dataDir);
  step("secrets", created ? "generated for this demo (secrets.json, never printed)" : "reused from secrets.json");

  // Database: an embedded PostgreSQL of the demo's own (in its data folder), migrated with the committed migrations.
  // Pushed before everything else that is started, so it is the last thing stopped.
  const database = await startDemoDatabase(dataDir, config.ports.database);
  closers.push({ name: "PostgreSQL", close: () => database.stop() });
  const databaseUrl = database.url;
  const { applyMigrations } = await import("../database/migrate.server");
  await applyMigrations(databaseUrl);
  step("database", `PostgreSQL on 127.0.0.1:${database.port}, data in ${path.relative(ROOT, database.dataDir)} (migrated)`);
  if (stopping()) return;

  const build = await ensureBuild(ROOT, config.buildDir);
  step(
    "app build",
    build.built ? `built in ${formatSeconds(build.ms)} (${path.relative(ROOT, config.buildDir)})` : `up to date (${path.relative(ROOT, config.buildDir)})`,
  );
  if (stopping()) return;

  // The clock: from where the last run stopped (or now, the first time), never behind the data.
  const clockFile = path.join(dataDir, "clock.json");
  const savedClock = readJson<{ virtualMs: number }>(clockFile);
  const startAt = Math.max(savedClock?.virtualMs ?? Date.now(), (await latestDatabaseTime(databaseUrl)) ?? 0);
  const clock = installVirtualClock(startAt, config.speed);
  step("demo clock", `${new Date(clock.now()).toISOString().slice(0, 16).replace("T", " ")} UTC, ×${config.speed}${savedClock ? " (resumed)" : ""}`);

  // Ports first: the app's public URL must be known before its environment is read.
  const portal = await bind(config.ports.portal, "demo admin");
  closers.push({ name: "demo admin", close: () => closeServer(portal.server) });
  const appHttp = await bind(config.ports.app, "Reclaim app");
  closers.push({ name: "Reclaim app", close: () => closeServer(appHttp.server) });
  const portalOrigin = `http://127.0.0.1:${portal.port}`;
  const appOrigin = `http://127.0.0.1:${appHttp.port}`;

  const { startInbox } = await import("./inbox");
  const inbox = await startInbox({ dir: path.join(dataDir, "inbox"), port: config.ports.smtp }).catch((error: NodeJS.ErrnoException) => {
    throw error.code === "EADDRINUSE" ? new Error(`Port ${config.ports.smtp} (SMTP inbox) is in use. Pick another with --smtp-port.`) : error;
  });
  closers.push({ name: "SMTP inbox", close: () => inbox.close() });
  step("SMTP inbox", `smtp://127.0.0.1:${inbox.port} (${inbox.list().length} emails kept)`);

  const { startFakeShopifyAdmin } = await import("./fakes/shopify-admin");
  // Offline access tokens last an hour and are refreshed 5 minutes early: on the demo clock that margin would be a
  // fraction of a real second, so the fake's tokens last one real hour (docs/decisions/061).
  const fakeAdmin = await startFakeShopifyAdmin({ accessTokenTtlSeconds: 3600 * config.speed });
  closers.push({ name: "fake Shopify Admin API", close: () => fakeAdmin.close() });
  step("Shopify Admin API (fake)", `${fakeAdmin.url} (Admin GraphQL 2026-10, schema-checked)`);

  const { FakeStripeApi } = await import("./fakes/stripe-api/server");
  const fakeStripe = new FakeStripeApi().addKey(secrets.stripeApiKey);
  await fakeStripe.start();
  closers.push({ name: "fake Stripe API", close: () => fakeStripe.close() });
  step("Stripe API (fake)", fakeStripe.url);

  Object.assign(process.env, {
    NODE_ENV: "development",
    DATABASE_URL: databaseUrl,
    SHOPIFY_API_KEY: secrets.shopifyApiKey,
    SHOPIFY_API_SECRET: secrets.shopifyApiSecret,
    SHOPIFY_APP_URL: appOrigin,
    ENCRYPTION_KEYS: secrets.encryptionKeys,
    LINK_SIGNING_SECRET: secrets.linkSigningSecret,
    HOST: "127.0.0.1",
    PORT: String(appHttp.port),
    JOB_RUNNER: "off",
    LOG_LEVEL: process.env.DEMO_LOG_LEVEL ?? "warn",
    STRIPE_API_BASE: fakeStripe.url,
    // The demo's Stripe recovery links point at its own local checkout pages, as a custom Checkout domain would.
    STRIPE_CHECKOUT_EXTRA_HOSTS: new URL(portalOrigin).host,
    // Likewise its Shopify recovery links point at its local storefront (http on 127.0.0.1), not the myshopify domain.
    SHOPIFY_STOREFRONT_EXTRA_HOSTS: new URL(portalOrigin).host,
    DEMO_INBOX_URL: `${portalOrigin}/inbox`,
    // The demo shop sends to the demo's own inbox on 127.0.0.1 (README › Configuration).
    SMTP_ALLOW_PRIVATE_HOSTS: "true",
  });
  delete process.env.LINK_SIGNING_SECRETS;

  // The app: its production build serves HTTP; its own modules run the job runner (see app-side.server.ts).
  const serverBuild = (await import(pathToFileURL(path.join(config.buildDir, "server/index.js")).href)) as ServerBuild;
  const side = await import("./app-side.server");
  closers.push({ name: "database", close: () => side.shutdownAppSide() });
  // After the app's modules: the Shopify library installs the real fetch when it is imported.
  const { setAbstractFetchFunc } = await import("@shopify/shopify-api/runtime");
  setAbstractFetchFunc(fakeAdmin.fetchFor());

  const storefrontBase = `${portalOrigin}/store`;
  const session = await side.offlineSession(SHOP_DOMAIN);
  const store = fakeAdmin.addShop({
    domain: SHOP_DOMAIN,
    name: SHOP_NAME,
    // The tokens the app holds from earlier runs stay valid; the first run gets its own through token exchange.
    accessToken: session?.accessToken ?? `shpat_${randomBytes(16).toString("hex")}`,
    accessTokenExpiresAt: session?.expires?.getTime(),
    refreshToken: session?.refreshToken ?? undefined,
    clientId: secrets.shopifyApiKey,
    clientSecret: secrets.shopifyApiSecret,
    scope: side.appScopes(),
    currencyCode: "USD",
    ianaTimezone: "UTC",
    storefrontUrl: storefrontBase,
  });

  const { LivingStore } = await import("./fakes/shopify-admin/living-store");
  const living = new LivingStore({
    store,
    appUrl: appOrigin,
    secret: secrets.shopifyApiSecret,
    meanIntervalMs: config.paceSeconds * 1000 * config.speed,
    imageUrl: (handle) => `${storefrontBase}/images/${handle}.svg`,
  });
  const storeFile = path.join(dataDir, "store.json");
  const savedStore = readJson<Parameters<typeof living.restore>[0]>(storeFile);
  if (savedStore) living.restore(savedStore);
  else living.seedHistory(clock.now(), 24);
  step("demo shop", `${SHOP_DOMAIN}: ${store.checkoutCount} checkouts${savedStore ? " (resumed)" : " (a day of history)"}`);

  // The app's HTTP server.
  const { createAppHandler } = await import("./app-server");
  const appHandler = createAppHandler({
    buildDir: config.buildDir,
    build: serverBuild,
    appOrigin,
    adminOrigin: portalOrigin,
    allowedHosts: loopbackHosts(appHttp.port),
  });
  appHttp.server.removeAllListeners("request");
  appHttp.server.on("request", appHandler);
  step("Reclaim app", `${appOrigin} (production build, served in development mode)`);

  // Install: Shopify's admin opens the app with a session token; the app exchanges it for an offline token (the fake
  // answers), stores the session and installs the shop — the same path as a real installation.
  const installToken = signDemoSessionToken({
    shop: SHOP_DOMAIN,
    apiKey: secrets.shopifyApiKey,
    apiSecret: secrets.shopifyApiSecret,
    now: clock.now(),
    lifetimeMs: 60_000 * config.speed,
  });
  const installUrl = new URL("/app", appOrigin);
  for (const [k, v] of Object.entries({ embedded: "1", shop: SHOP_DOMAIN, host: adminHostParam(SHOP_DOMAIN), locale: "en", id_token: installToken }))
    installUrl.searchParams.set(k, v);
  const { BROWSER_USER_AGENT } = await import("./click-links");
  const opened = await fetch(installUrl, { headers: { "user-agent": BROWSER_USER_AGENT, accept: "text/html" } });
  const openedBody = await opened.text();
  const shop = await side.findShop(SHOP_DOMAIN);
  if (process.env.DEMO_DEBUG) say(JSON.stringify(fakeAdmin.stats(SHOP_DOMAIN)));
  if (opened.status !== 200 || !shop) throw new Error(`installing the demo shop failed: the app answered ${opened.status}\n${openedBody.slice(0, 2000)}`);
  const { stripeEndpointPath } = await side.configureDemoShop(shop.id, {
    shopDomain: SHOP_DOMAIN,
    shopName: SHOP_NAME,
    smtpPort: inbox.port,
    stripeWebhookSecret: secrets.stripeWebhookSecret,
    stripeApiKey: secrets.stripeApiKey,
  });
  step("installed", `${session ? "reopened" : "installed through token exchange"}; email → demo inbox; Stripe connected (${stripeEndpointPath})`);

  const { StripeSimulator } = await import("./fakes/stripe-api/simulator");
  const stripe = new StripeSimulator({
    api: fakeStripe,
    endpointUrl: `${appOrigin}${stripeEndpointPath}`,
    secret: secrets.stripeWebhookSecret,
    recoveryBaseUrl: `${portalOrigin}/stripe/r`,
    meanIntervalMs: config.paceSeconds * 1000 * config.speed,
    // Latency is real time, multiplied by the clock factor: two real seconds of it fit in Stripe's tolerance.
    signatureLeadSeconds: Math.max(0, 2 * config.speed - 300),
  });
  const stripeFile = path.join(dataDir, "stripe.json");
  const savedStripe = readJson<Parameters<typeof stripe.restore>[0]>(stripeFile);
  if (savedStripe) stripe.restore(savedStripe);

  const { ClickLinks } = await import("./click-links");
  const links = new ClickLinks({ appOrigin, shopDomain: SHOP_DOMAIN, storefrontBase, stripeRecoveryBase: `${portalOrigin}/stripe/r` });
  const { DemoShopper } = await import("./shopper");
  const shopperFile = path.join(dataDir, "shopper.json");
  const shopper = config.shopper ? new DemoShopper({ links, entry: (id) => inbox.get(id), payInvoice: (url) => stripe.payInvoice(url, clock.now()) }) : null;
  const savedShopper = readJson<import("./shopper").ShopperState>(shopperFile);
  if (shopper && savedShopper) shopper.restore(savedShopper);
  inbox.onMessage((entry) => shopper?.received(entry, clock.now()));

  const save = () => {
    writeJson(clockFile, { virtualMs: clock.now(), speed: config.speed });
    writeJson(storeFile, living.toJSON());
    writeJson(stripeFile, stripe.toJSON());
    if (shopper) writeJson(shopperFile, shopper.toJSON());
  };
  state.save = save;

  // The job runner, and everything that happens on the demo clock.
  const sleep = virtualSleep(clock);
  let runner = await side.startDemoRunner({ sleep, factor: config.speed });
  let paused = false;
  const tick = () => {
    if (paused) return;
    const now = clock.now();
    living.tick(now);
    stripe.tick(now);
    shopper?.tick(now);
  };
  const driver = setInterval(tick, 200);
  const saver = setInterval(() => {
    try {
      save();
    } catch (error) {
      say(`  ! could not save the demo state: ${(error as Error).message}`);
    }
  }, 10_000);
  const quiet = async () => {
    clearInterval(driver);
    await Promise.all([living.outbox.idle(), stripe.outbox.idle(), shopper?.idle()]);
    await runner.stop();
  };
  closers.push({
    name: "job runner and simulators",
    close: async () => {
      clearInterval(saver);
      await quiet();
    },
  });
  step("job runner", "the app's jobs (sync, ingest, sweep, send) on the demo clock");
  step(
    "simulators",
    `a new abandoned cart every ~${config.paceSeconds} s per source (Shopify, Stripe)${shopper ? "; the demo shopper reads emails and buys" : ""}`,
  );

  const control = {
    async pause() {
      if (paused) return;
      paused = true;
      await Promise.all([living.outbox.idle(), stripe.outbox.idle(), shopper?.idle()]);
      await runner.stop();
      clock.pause();
      save();
    },
    async resume() {
      if (!paused) return;
      clock.resume();
      runner = await side.startDemoRunner({ sleep, factor: config.speed });
      paused = false;
    },
  };

  const status = () => ({
    paused,
    demoTime: new Date(clock.now()).toISOString(),
    speed: config.speed,
    shop: SHOP_DOMAIN,
    urls: {
      admin: `${portalOrigin}/`,
      inbox: `${portalOrigin}/inbox`,
      app: appOrigin,
      smtp: `smtp://127.0.0.1:${inbox.port}`,
      shopifyAdminApi: fakeAdmin.url,
      stripeApi: fakeStripe.url,
    },
    inbox: { emails: inbox.list().length },
    shopify: { checkouts: store.checkoutCount, completed: store.rawCheckouts().filter((c) => c.completedAt).length, webhooksPending: living.outbox.pending },
    stripe: {
      sessions: stripe.sessions.length,
      expired: stripe.sessions.filter((s) => s.state === "expired" || s.state === "recovered").length,
      recovered: stripe.sessions.filter((s) => s.state === "recovered").length,
      failedRenewals: stripe.renewals.length,
      webhooksPending: stripe.outbox.pending,
    },
    shopper: shopper ? shopper.counts : null,
  });

  const { createPortal } = await import("./portal");
  const portalApp = createPortal({
    portalOrigin,
    appOrigin,
    allowedHosts: loopbackHosts(portal.port),
    shop: { domain: SHOP_DOMAIN, name: SHOP_NAME },
    apiKey: secrets.shopifyApiKey,
    apiSecret: secrets.shopifyApiSecret,
    clock,
    inbox,
    living,
    stripe,
    shopper,
    links,
    refreshMs: 5000,
    control,
    status,
  });
  portal.server.removeAllListeners("request");
  portal.server.on("request", portalApp);
  step("demo admin", `${portalOrigin} (admin around the app, inbox, checkout pages)`);
  say();
  say(`Ready in ${formatSeconds(performance.now() - started)}. Open ${portalOrigin}/ in your browser. Ctrl-C stops the demo.`);
}

function formatSeconds(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
}
