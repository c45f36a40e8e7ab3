import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? files(full) : /\.(ts|tsx)$/.test(name) ? [full] : [];
  });
}

const importsOf = (source: string) =>
  [...source.matchAll(/(?:import|export)\s[^'"]*?from\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)|require\(\s*["']([^"']+)["']\s*\)/g)].map(
    (m) => m[1] ?? m[2] ?? m[3]!,
  );

const FORBIDDEN = [
  /^@remix-run\//,
  /^@shopify\//,
  /^stripe$/,
  /^@prisma\//,
  /\.server(\.tsx?)?$/,
  /(^|\/)(models|sources|jobs|routes|email)\//,
  /^~\/(?!recovery\/)/,
];

describe("architecture", () => {
  const core = files("app/recovery").filter((f) => !f.endsWith(".test.ts"));

  it("has a core to protect", () => {
    expect(core.length).toBeGreaterThan(0);
  });

  it("keeps app/recovery free of Remix, Shopify, Stripe, Prisma and server-only imports", () => {
    const violations = core.flatMap((file) =>
      importsOf(readFileSync(file, "utf8"))
        .filter((spec) => FORBIDDEN.some((pattern) => pattern.test(spec)))
        .map((spec) => `${file} imports ${spec}`),
    );
    expect(violations).toEqual([]);
  });

  it("keeps the core off the clock and the environment (time is passed in)", () => {
    const violations = core.flatMap((file) => {
      const source = readFileSync(file, "utf8");
      return [/process\.env/, /new Date\(\)/, /Date\.now\(\)/].filter((pattern) => pattern.test(source)).map((pattern) => `${file} uses ${pattern.source}`);
    });
    expect(violations).toEqual([]);
  });

  it("detects a forbidden import (the check itself works)", () => {
    const sample = `import { PrismaClient } from "@prisma/client";\nimport x from "../models/recovery.server";`;
    expect(importsOf(sample).filter((spec) => FORBIDDEN.some((p) => p.test(spec)))).toHaveLength(2);
  });

  it("never reads ../shared at run time (users who clone the project do not have it)", () => {
    const offenders = [...files("app"), ...files("server"), "prisma.config.ts"].filter((f) => readFileSync(f, "utf8").includes("../shared"));
    expect(offenders).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Layers: who may import whom. A file belongs to the first layer whose path prefix matches (a prefix ending in "/" is
// a folder, anything else one module). Each layer lists the layers it may import; its own layer is always allowed.
//
//   core     app/recovery: pure rules (no I/O, no clock, no environment; checked above too); i18n/locales: the shipped
//            languages and how a locale tag maps to one
//   i18n     app/i18n: message catalogues and translators (text only, no I/O); its one database question, the admin's
//            language kept on the shop (i18n/admin-language.server), is a model
//   infra    configuration, logging, secrets, database bootstrap; db = the Prisma client; queue = graphile-worker's
//            SQL API (jobs/queue.server, jobs/engine.server). The queue counts as infrastructure, like db: models
//            enqueue follow-up work inside their own transaction (docs/decisions/080). Job *definitions* are "jobs".
//   models   database access, one function per question; sources: Shopify/Stripe/pixel adapters; email: rendering,
//            settings, links; flow, privacy: their features' services; jobs: background work (composition)
//   routes   thin: parse, call models and services, shape the page. They may hold the db handle to pass it to model
//            functions but never query through it (checked below).
//   shopify  shopify.server: the configured Shopify app (authentication, Admin API clients, webhook verification)
//   shell    auth.server, entry.server, root; demo: `npm run demo` and its fakes; server, scripts: process entry
//            points. Nothing under app/, server/ or scripts/ imports test/.

type Layer =
  | "core"
  | "infra"
  | "db"
  | "queue"
  | "ui"
  | "i18n"
  | "models"
  | "sources"
  | "email"
  | "flow"
  | "privacy"
  | "jobs"
  | "shopify"
  | "routes"
  | "shell"
  | "demo"
  | "server"
  | "scripts"
  | "test";

const LAYER_PATHS: [string, Layer][] = [
  ["app/recovery/", "core"],
  ["app/i18n/locales", "core"],
  ["app/i18n/admin-language.server", "models"],
  ["app/i18n/", "i18n"],
  ["app/db.server", "db"],
  ["app/jobs/queue.server", "queue"],
  ["app/jobs/engine.server", "queue"],
  ["app/jobs/", "jobs"],
  ["app/env.server", "infra"],
  ["app/logger.server", "infra"],
  ["app/database-url", "infra"],
  ["app/database/", "infra"],
  ["app/security/", "infra"],
  ["app/components/", "ui"],
  ["app/models/", "models"],
  ["app/sources/", "sources"],
  ["app/email/", "email"],
  ["app/flow/", "flow"],
  ["app/privacy/", "privacy"],
  ["app/routes/", "routes"],
  ["app/demo/", "demo"],
  ["app/auth.server", "shell"],
  ["app/shopify.server", "shopify"],
  ["app/entry.server", "shell"],
  ["app/root", "shell"],
  ["server/", "server"],
  ["scripts/", "scripts"],
  ["test/", "test"],
];

const BELOW_MODELS: Layer[] = ["core", "i18n", "infra", "db", "queue"];
const MAY_IMPORT: Record<Exclude<Layer, "test">, Layer[]> = {
  // The core may speak: English defaults of its sentences come from the catalogues (i18n is text, no I/O).
  core: ["i18n"],
  infra: ["core", "db", "queue"],
  db: ["infra"],
  queue: ["infra"],
  ui: ["core", "i18n"],
  i18n: ["core"],
  models: BELOW_MODELS,
  shopify: [...BELOW_MODELS, "models"],
  sources: [...BELOW_MODELS, "models", "shopify"],
  email: [...BELOW_MODELS, "models", "sources", "shopify"],
  flow: [...BELOW_MODELS, "models", "sources"],
  privacy: [...BELOW_MODELS, "models", "sources", "email"],
  jobs: [...BELOW_MODELS, "models", "sources", "email", "flow", "privacy", "shopify"],
  routes: [...BELOW_MODELS, "ui", "models", "sources", "email", "flow", "privacy", "shopify", "shell"],
  shell: [...BELOW_MODELS, "models", "jobs", "ui", "shopify"],
  demo: [...BELOW_MODELS, "ui", "models", "sources", "email", "flow", "privacy", "jobs", "shopify", "shell", "server"],
  server: [...BELOW_MODELS, "jobs", "shell"],
  // Entry points compose like routes do (scripts/stripe-connect.ts proves a Stripe key through sources/stripe).
  scripts: [...BELOW_MODELS, "models", "sources", "jobs"],
};

/**
 * Imports that break the table today, each with why it is still there. The test fails on any other violation, and on
 * an entry here that no longer happens (delete it when its import goes).
 */
const KNOWN_EXCEPTIONS: { from: string; to: string; why: string }[] = [
  {
    from: "app/components/email-sending-form.tsx",
    to: "app/email/sender-domain",
    why: "the sender-address advice the form shows as the merchant types (pure, client-safe); sending settings are being rewritten",
  },
];

const ROUTE_QUERY_EXCEPTIONS: { file: string; why: string }[] = [];

const stripExt = (p: string) => p.replace(/\.(tsx?|mjs|js)$/, "");

function layerOf(file: string): Layer | null {
  const p = stripExt(file.split(path.sep).join("/"));
  for (const [prefix, layer] of LAYER_PATHS) if (prefix.endsWith("/") ? p.startsWith(prefix) : p === prefix) return layer;
  return null;
}

/** The repository path an import points to (without extension), or null for a package. */
function resolveImport(file: string, spec: string): string | null {
  if (spec.startsWith("~/")) return stripExt(path.posix.join("app", spec.slice(2)));
  if (spec.startsWith(".")) return stripExt(path.posix.normalize(path.posix.join(path.posix.dirname(file.split(path.sep).join("/")), spec)));
  return null;
}

const allImports = (source: string) => [...importsOf(source), ...[...source.matchAll(/^\s*import\s+["']([^"']+)["']/gm)].map((m) => m[1]!)];

function layerViolations(file: string, source: string): { from: string; to: string; rule: string }[] {
  const from = layerOf(file);
  if (!from || from === "test") return [];
  const allowed = new Set<Layer>([from, ...MAY_IMPORT[from]]);
  return allImports(source).flatMap((spec) => {
    const target = resolveImport(file, spec);
    if (target === null) return [];
    const to = layerOf(target);
    if (to === null || allowed.has(to)) return [];
    return [{ from: file.split(path.sep).join("/"), to: target, rule: `${from} may not import ${to}` }];
  });
}

const sourceFiles = (dir: string) =>
  readdirSync(dir, { recursive: true, encoding: "utf8" })
    .map((f) => path.join(dir, f))
    .filter((f) => /\.(ts|tsx|mjs)$/.test(f) && !/\.test\.tsx?$/.test(f) && statSync(f).isFile());

/** A route querying through the Prisma client (`db.recovery.findMany(…)`, `db.$queryRaw…`) instead of calling a model. */
const ROUTE_QUERY = /\b(db|tx|prisma)\.(\$\w+|\w+\.\w+)\s*[(<]/;

describe("layers", () => {
  const scanned = ["app", "server", "scripts"].flatMap(sourceFiles);

  it("knows the layer of every file under app/", () => {
    expect(scanned.filter((f) => f.startsWith("app") && layerOf(f) === null)).toEqual([]);
  });

  it("holds the layer table (only the listed, explained exceptions)", () => {
    const found = scanned.flatMap((f) => layerViolations(f, readFileSync(f, "utf8")));
    const known = (v: { from: string; to: string }) => KNOWN_EXCEPTIONS.some((e) => e.from === v.from && e.to === v.to);
    expect(found.filter((v) => !known(v)).map((v) => `${v.from} → ${v.to} (${v.rule})`)).toEqual([]);
    const stale = KNOWN_EXCEPTIONS.filter((e) => !found.some((v) => v.from === e.from && v.to === e.to));
    expect(stale.map((e) => `${e.from} → ${e.to} no longer happens: remove it from KNOWN_EXCEPTIONS`)).toEqual([]);
  });

  it("keeps app code, the server and scripts off test/ (the demo's fakes live in app/demo/fakes)", () => {
    const offenders = scanned.filter((f) => allImports(readFileSync(f, "utf8")).some((spec) => layerOf(resolveImport(f, spec) ?? "") === "test"));
    expect(offenders).toEqual([]);
  });

  it("keeps database queries out of routes: they call model functions", () => {
    const routes = scanned.filter((f) => layerOf(f) === "routes");
    expect(routes.length).toBeGreaterThan(0);
    const offenders = routes
      .filter((f) => !ROUTE_QUERY_EXCEPTIONS.some((e) => e.file === f.split(path.sep).join("/")))
      .flatMap((f) =>
        readFileSync(f, "utf8")
          .split("\n")
          .flatMap((line, i) => (ROUTE_QUERY.test(line) ? [`${f}:${i + 1}: ${line.trim()}`] : [])),
      );
    expect(offenders).toEqual([]);
    const stale = ROUTE_QUERY_EXCEPTIONS.filter((e) => !ROUTE_QUERY.test(readFileSync(e.file, "utf8")));
    expect(stale.map((e) => `${e.file} no longer queries: remove it from ROUTE_QUERY_EXCEPTIONS`)).toEqual([]);
  });

  it("catches a new violation (the check itself works)", () => {
    const model = `import type { Campaign } from "@prisma/client";\nimport { NOT_CONTACTABLE_LABELS } from "../components/labels";\nimport { sendMessage } from "../jobs/definitions/send-message.server";\nimport { enqueueJob } from "../jobs/queue.server";`;
    expect(layerViolations("app/models/example.server.ts", model).map((v) => v.rule)).toEqual(["models may not import ui", "models may not import jobs"]);
    const demo = `const { LivingStore } = await import("../../test/fakes/shopify-admin/living-store");`;
    expect(layerViolations("app/demo/run.ts", demo).map((v) => v.rule)).toEqual(["demo may not import test"]);
    expect(layerViolations("app/routes/app.example.tsx", `import { x } from "~/demo/fakes/stripe-api/server";`).map((v) => v.rule)).toEqual([
      "routes may not import demo",
    ]);
    expect(ROUTE_QUERY.test(`  const rows = await db.recovery.findMany({ where: { shopId } });`)).toBe(true);
    expect(ROUTE_QUERY.test(`  const rows = await listRecoveries(db, { shopId });`)).toBe(false);
  });
});
