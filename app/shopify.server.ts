import "@shopify/shopify-app-remix/adapters/node";
import { ApiVersion, AppDistribution, LogSeverity, shopifyApp } from "@shopify/shopify-app-remix/server";
import { PrismaSessionStorage } from "@shopify/shopify-app-session-storage-prisma";
import { db } from "./db.server";
import { env } from "./env.server";
import { EncryptedSessionStorage } from "./security/encrypted-session-storage.server";
import { onShopAuthenticated } from "./models/shop.server";

/**
 * The one shopifyApp() config. Embedded, managed install + token exchange (no OAuth redirects), expiring offline
 * tokens (required for public apps from 2027-01-01), Admin API 2026-10.
 * `@shopify/shopify-api` 13 has no ApiVersion constant for 2026-10 yet; the string is passed through unchanged
 * and the library calls /admin/api/2026-10/graphql.json (checked in test/integration/shopify-auth.test.ts).
 */
export const ADMIN_API_VERSION = "2026-10" as ApiVersion;

const shopify = shopifyApp({
  apiKey: env.SHOPIFY_API_KEY,
  apiSecretKey: env.SHOPIFY_API_SECRET,
  apiVersion: ADMIN_API_VERSION,
  scopes: env.SCOPES.split(",")
    .map((s) => s.trim())
    .filter(Boolean),
  appUrl: env.SHOPIFY_APP_URL,
  authPathPrefix: "/auth",
  // Access and refresh tokens encrypted at rest (app/security/encrypted-session-storage.server.ts).
  sessionStorage: new EncryptedSessionStorage(new PrismaSessionStorage(db)),
  distribution: AppDistribution.AppStore,
  isEmbeddedApp: true,
  future: {
    unstable_newEmbeddedAuthStrategy: true,
    expiringOfflineAccessTokens: true,
  },
  // The library logs every authenticated request at info level; keep its warnings and errors unless debugging.
  logger: { level: env.LOG_LEVEL === "debug" ? LogSeverity.Debug : LogSeverity.Warning },
  hooks: {
    afterAuth: async ({ session }) => {
      await onShopAuthenticated(session.shop, session.scope ?? "");
    },
  },
});

export default shopify;
export const apiVersion = ADMIN_API_VERSION;
export const addDocumentResponseHeaders = shopify.addDocumentResponseHeaders;
export const authenticate = shopify.authenticate;
export const unauthenticated = shopify.unauthenticated;
export const login = shopify.login;
export const sessionStorage = shopify.sessionStorage;
