// shopify.app.toml and every extensions/*/shopify.extension.toml parsed (smol-toml) and checked against the shape
// Shopify CLI accepts (its zod schemas: BaseSchema, HandleSchema, the web_pixel_extension and flow_trigger specs), so a
// `shopify app deploy` does not fail on a file the tests never read; and every access scope that the app's Admin API
// documents need (the schema's `requiredAccess` metadata) is declared in shopify.app.toml.
import { readdirSync, readFileSync, existsSync } from "node:fs";
import path from "node:path";
import { gunzipSync } from "node:zlib";
import { getNamedType, parse as parseGraphql, TypeInfo, visit, visitWithTypeInfo } from "graphql";
import { parse } from "smol-toml";
import { beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { abandonedCheckoutsBulkQuery } from "~/sources/shopify/abandoned-checkouts-query";
import { pixelSettingsFor } from "~/sources/pixel/activate.server";
import { parseEnv } from "~/env.server";
import { ADMIN_SCHEMA_FIXTURE, loadAdminSchema } from "../../app/demo/fakes/shopify-admin/schema";
import { TEST_ENV } from "../setup/test-env";

// ---------------------------------------------------------------------------------------------------------------
// Shapes (after Shopify CLI's own schemas)

/** Shopify CLI's HandleSchema: ≤ 30 characters, letters, digits and hyphens, not starting or ending with one. */
const handle = z
  .string()
  .trim()
  .min(1)
  .max(30, "a handle can't exceed 30 characters")
  .regex(/^[a-zA-Z0-9-]*$/, "a handle may only contain letters, digits and hyphens")
  .refine((h) => !h.startsWith("-") && !h.endsWith("-"), "a handle can't start or end with a hyphen");

const scopesString = z.string().regex(/^[a-z_]+(,[a-z_]+)*$/, "comma-separated scopes without spaces");

const appToml = z.object({
  client_id: z.string().min(1),
  name: z.string().min(1),
  handle: handle.optional(),
  application_url: z.string().url(),
  embedded: z.boolean(),
  access_scopes: z.object({ scopes: scopesString, optional_scopes: z.array(z.string()).optional(), use_legacy_install_flow: z.boolean().optional() }),
  auth: z.object({ redirect_urls: z.array(z.string().url()).min(1) }),
  webhooks: z.object({
    api_version: z.string().regex(/^\d{4}-(01|04|07|10)$|^unstable$/),
    subscriptions: z
      .array(
        z
          .object({ topics: z.array(z.string()).min(1).optional(), compliance_topics: z.array(z.string()).min(1).optional(), uri: z.string().min(1) })
          .refine((s) => s.topics || s.compliance_topics, "a subscription needs topics or compliance_topics"),
      )
      .min(1),
  }),
});

const webPixelSettingField = z.object({
  name: z.string().min(1),
  description: z.string().optional(),
  type: z.enum(["single_line_text_field", "multi_line_text_field"]),
  validations: z.array(z.object({ name: z.string(), value: z.string() })).optional(),
});

/** Shopify CLI's web_pixel_extension spec (customer_privacy: all four keys, sale_of_data enabled | disabled | ldu). */
const webPixel = z
  .object({
    type: z.literal("web_pixel_extension"),
    name: z.string().min(1),
    runtime_context: z.enum(["strict", "lax"]),
    customer_privacy: z.object({
      analytics: z.boolean(),
      preferences: z.boolean(),
      marketing: z.boolean(),
      sale_of_data: z.enum(["enabled", "disabled", "ldu"]),
    }),
    settings: z.object({ type: z.literal("object"), fields: z.record(z.string().regex(/^[a-zA-Z][a-zA-Z0-9_]*$/), webPixelSettingField) }),
  })
  .strict();

const FLOW_REFERENCES = ["customer_reference", "order_reference", "product_reference"] as const;
const FLOW_CUSTOM = ["boolean", "email", "number_decimal", "single_line_text_field", "url"] as const;
const flowField = z
  .object({
    type: z.union([z.enum(FLOW_REFERENCES), z.enum(FLOW_CUSTOM), z.string().regex(/^schema\.[A-Za-z]+$/)]),
    key: z
      .string()
      .regex(/^[A-Za-z ]+$/, "custom keys may contain only letters and spaces")
      .optional(),
    description: z.string().optional(),
  })
  .refine((f) => (FLOW_REFERENCES as readonly string[]).includes(f.type) || f.key, "a custom field needs a key");

/** A Flow trigger (reference/shopify.md §9): name, handle (≤ 30, immutable), description, settings.fields. */
const flowTrigger = z.object({
  type: z.literal("flow_trigger"),
  name: z.string().min(1),
  handle,
  description: z.string().min(1),
  settings: z.object({ fields: z.array(flowField).min(1) }),
});

const BY_TYPE: Record<string, z.ZodTypeAny> = { web_pixel_extension: webPixel, flow_trigger: flowTrigger };

// ---------------------------------------------------------------------------------------------------------------
// Files

const app = parse(readFileSync("shopify.app.toml", "utf8")) as Record<string, unknown>;
const declaredScopes = String((app.access_scopes as { scopes?: string } | undefined)?.scopes ?? "")
  .split(",")
  .filter(Boolean);

interface Extension {
  dir: string;
  config: Record<string, unknown>;
}

/** Each extension in a file: the single-extension format (top-level `type`) or the unified one (`[[extensions]]`). */
function extensionsIn(dir: string): Extension[] {
  const file = path.join("extensions", dir, "shopify.extension.toml");
  const toml = parse(readFileSync(file, "utf8")) as Record<string, unknown>;
  if (!Array.isArray(toml.extensions)) return [{ dir, config: toml }];
  const { extensions, ...shared } = toml as { extensions: Record<string, unknown>[] };
  return extensions.map((config) => ({ dir, config: { ...shared, ...config } }));
}

const extensionDirs = readdirSync("extensions", { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name);
const extensions = extensionDirs.flatMap(extensionsIn);

describe("shopify.app.toml", () => {
  it("has the shape Shopify CLI deploys", () => {
    const result = appToml.safeParse(app);
    expect(result.success ? [] : result.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`)).toEqual([]);
  });

  it("explains every scope it requests in a comment next to it", () => {
    const text = readFileSync("shopify.app.toml", "utf8");
    const block = text.slice(text.indexOf("[access_scopes]"), text.indexOf("scopes =", text.indexOf("[access_scopes]")));
    const undocumented = declaredScopes.filter((scope) => !new RegExp(`^#\\s*${scope}:`, "m").test(block));
    expect(undocumented).toEqual([]);
  });

  it("SCOPES defaults to the same scopes (the app asks for what it declares)", () => {
    const env = parseEnv({ ...TEST_ENV, DATABASE_URL: process.env.DATABASE_URL, SCOPES: undefined });
    expect(env.SCOPES.split(",").sort()).toEqual([...declaredScopes].sort());
  });
});

describe("extension TOMLs", () => {
  it("there are real extensions, each with a shopify.extension.toml", () => {
    expect(extensionDirs.length).toBeGreaterThan(0);
    for (const dir of extensionDirs) expect(existsSync(path.join("extensions", dir, "shopify.extension.toml")), dir).toBe(true);
  });

  it.each(extensions.map((e) => [`${e.dir} (${String(e.config.type)})`, e] as const))("%s has the shape Shopify CLI accepts for its type", (_label, e) => {
    const schema = BY_TYPE[String(e.config.type)];
    expect(schema, `no shape known for extension type "${String(e.config.type)}": add one here`).toBeDefined();
    const result = schema!.safeParse(e.config);
    expect(result.success ? [] : result.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`)).toEqual([]);
  });

  it("handles are unique across the app", () => {
    const handles = extensions.map((e) => e.config.handle).filter(Boolean);
    expect(new Set(handles).size).toBe(handles.length);
  });

  it("the shape checks catch what Shopify would refuse (the checks themselves work)", () => {
    expect(
      flowTrigger.safeParse({
        type: "flow_trigger",
        name: "x",
        handle: "a-handle-that-is-far-too-long-for-shopify",
        description: "d",
        settings: { fields: [{ type: "customer_reference" }] },
      }).success,
    ).toBe(false);
    expect(
      flowTrigger.safeParse({ type: "flow_trigger", name: "x", handle: "ok", description: "d", settings: { fields: [{ type: "single_line_text_field" }] } })
        .success,
    ).toBe(false);
    expect(flowTrigger.safeParse({ type: "flow_trigger", name: "x", handle: "ok", description: "d", settings: { fields: [] } }).success).toBe(false);
    const pixel = extensions.find((e) => e.config.type === "web_pixel_extension")!.config;
    expect(webPixel.safeParse({ ...pixel, customer_privacy: { ...(pixel.customer_privacy as object), sale_of_data: "maybe" } }).success).toBe(false);
    expect(webPixel.safeParse({ ...pixel, customer_privacy: { marketing: true } }).success).toBe(false);
  });
});

describe("the checkout pixel's extension", () => {
  const pixel = extensions.find((e) => e.dir === "reclaim-checkout-pixel")!;
  const config = pixel.config as z.infer<typeof webPixel>;

  it("runs in the strict sandbox and loads only with marketing consent (the data serves recovery emails)", () => {
    expect(config.runtime_context).toBe("strict");
    expect(config.customer_privacy.marketing).toBe(true);
  });

  it("declares exactly the settings Reclaim passes to webPixelCreate (Shopify refuses any other)", () => {
    expect(Object.keys(config.settings.fields).sort()).toEqual(Object.keys(pixelSettingsFor("acme.myshopify.com")).sort());
    for (const value of Object.values(pixelSettingsFor("acme.myshopify.com"))) expect(typeof value).toBe("string");
  });

  it("has the package.json of Shopify's template, on the web-pixels-extension version the app builds against", () => {
    const pkg = JSON.parse(readFileSync("extensions/reclaim-checkout-pixel/package.json", "utf8"));
    const installed = JSON.parse(readFileSync("node_modules/@shopify/web-pixels-extension/package.json", "utf8")).version as string;
    expect(pkg.name).toBe("reclaim-checkout-pixel");
    expect(pkg.dependencies["@shopify/web-pixels-extension"]).toBe(`^${installed}`);
    expect(existsSync("extensions/reclaim-checkout-pixel/src/index.ts")).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Scopes: what the documents need (requiredAccess on fields and types, 2026-10 schema) vs what the TOML declares.

/**
 * Needed by a document but deliberately not declared, with why. Anything not listed here must be declared.
 * write_customers: mirroring an unsubscribe back to Shopify (mirror-unsubscribe job) runs only when the merchant
 * granted it; the job checks Shop.grantedScopes first.
 */
const OPTIONAL_SCOPES: Record<string, string> = {
  write_customers: "customerEmailMarketingConsentUpdate runs only when the scope was granted (app/jobs/definitions/mirror-unsubscribe.server.ts)",
};

const raw = JSON.parse(gunzipSync(readFileSync(ADMIN_SCHEMA_FIXTURE)).toString("utf8")) as {
  data: { __schema: { types: { name: string; requiredAccess?: string | null; fields?: { name: string; requiredAccess?: string | null }[] | null }[] } };
};
const ACCESS = new Map<string, string>();
for (const type of raw.data.__schema.types) {
  if (type.requiredAccess) ACCESS.set(type.name, type.requiredAccess);
  for (const field of type.fields ?? []) if (field.requiredAccess) ACCESS.set(`${type.name}.${field.name}`, field.requiredAccess);
}
const scopeNames = (text: string) => [...text.matchAll(/\b((?:read|write)_[a-z_]+)\b/g)].map((m) => m[1]!);
/**
 * The scopes a requirement names. "`read_locales` access scope or `read_markets_home` access scope" is a choice: one
 * of them is needed, the first the app declares (else the first named).
 */
const scopesIn = (text: string | undefined): string[] => {
  const either = /^(?:Requires )?`?((?:read|write)_[a-z_]+)`? access scope or `?((?:read|write)_[a-z_]+)`? access scope\.?$/.exec((text ?? "").trim());
  if (!either) return scopeNames(text ?? "");
  const choices = [either[1]!, either[2]!];
  return [choices.find((s) => declaredScopes.includes(s)) ?? choices[0]!];
};

function scopesNeeded(document: string): string[] {
  const schema = loadAdminSchema();
  const typeInfo = new TypeInfo(schema);
  const needed = new Set<string>();
  visit(
    parseGraphql(document),
    visitWithTypeInfo(typeInfo, {
      Field() {
        const parent = typeInfo.getParentType();
        const field = typeInfo.getFieldDef();
        if (!parent || !field) return;
        for (const scope of [...scopesIn(ACCESS.get(`${parent.name}.${field.name}`)), ...scopesIn(ACCESS.get(getNamedType(field.type).name))])
          needed.add(scope);
      },
    }),
  );
  return [...needed];
}

/** The app's documents by the #graphql convention (docs/decisions/033), as the modules export them. */
async function appDocuments(): Promise<[string, string][]> {
  const files = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
      const full = path.join(dir, d.name);
      return d.isDirectory() ? files(full) : /\.tsx?$/.test(d.name) && !/\.test\.tsx?$/.test(d.name) ? [full] : [];
    });
  const out: [string, string][] = [];
  for (const file of files("app")) {
    const names = [...readFileSync(file, "utf8").matchAll(/export const (\w+)\s*=\s*`#graphql/g)].map((m) => m[1]!);
    if (names.length === 0) continue;
    const mod = (await import(/* @vite-ignore */ path.resolve(file))) as Record<string, unknown>;
    for (const name of names) out.push([`${file}: ${name}`, String(mod[name])]);
  }
  return out;
}

describe("access scopes", () => {
  const covered = (scope: string) => declaredScopes.includes(scope) || declaredScopes.includes(scope.replace(/^read_/, "write_"));
  const documents: [string, string][] = [["abandonedCheckoutsBulkQuery", abandonedCheckoutsBulkQuery(new Date("2026-11-01T00:00:00Z"))]];
  beforeAll(async () => {
    documents.push(...(await appDocuments()));
  });

  it("reads the requirements from the schema (the check itself works)", () => {
    expect(scopesNeeded(`mutation { webPixelCreate(webPixel: {settings: "{}"}) { webPixel { id } } }`).sort()).toEqual([
      "read_customer_events",
      "read_pixels",
      "write_pixels",
    ]);
    expect(scopesNeeded(`{ abandonedCheckouts(first: 1) { nodes { customer { id } } } }`).sort()).toEqual(["read_customers", "read_orders"]);
    expect(documents.map(([name]) => name).some((n) => n.includes("WEB_PIXEL_CREATE"))).toBe(true);
  });

  it("every scope a document needs is declared in shopify.app.toml (or listed as optional, with why)", () => {
    const missing = documents.flatMap(([name, text]) =>
      scopesNeeded(text)
        .filter((s) => !covered(s) && !OPTIONAL_SCOPES[s])
        .map((s) => `${name} needs ${s}`),
    );
    expect(missing).toEqual([]);
  });

  it("the optional scopes are really needed by some document (the list does not go stale)", () => {
    const needed = new Set(documents.flatMap(([, text]) => scopesNeeded(text)));
    for (const scope of Object.keys(OPTIONAL_SCOPES)) expect(needed.has(scope), scope).toBe(true);
  });

  it("declares the optional scopes as optional_scopes, so Shopify lets the merchant grant them after install", () => {
    const declared = (parse(readFileSync("shopify.app.toml", "utf8")) as { access_scopes: { optional_scopes?: string[] } }).access_scopes.optional_scopes ?? [];
    expect(declared.sort()).toEqual(Object.keys(OPTIONAL_SCOPES).sort());
  });
});
