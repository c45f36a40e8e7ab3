/** The environment every test runs with. Values are test-only; none is a real credential. */
export const TEST_ENV = {
  NODE_ENV: "test",
  SHOPIFY_API_KEY: "test-api-key",
  SHOPIFY_API_SECRET: "test-api-secret-0123456789abcdef",
  SHOPIFY_APP_URL: "https://reclaim.test",
  SCOPES: "read_orders,read_customers,write_discounts",
  // 32 zero-ish bytes are fine for tests; production keys come from `npm run keys:new`.
  ENCRYPTION_KEYS: `k1:${Buffer.alloc(32, 1).toString("base64")}`,
  LINK_SIGNING_SECRET: "test-link-signing-secret-0123456789abcdef",
  JOB_RUNNER: "off",
  // Every line at info and above is written (to LOG_FILE, see per-file.ts) so the suite-wide secret scan sees it.
  LOG_LEVEL: "info",
  // Pipeline and settings tests send to a local SMTP sink on 127.0.0.1 (tests of the SSRF checks turn it off).
  SMTP_ALLOW_PRIVATE_HOSTS: "true",
  // The placeholder storefronts test fixtures use for Shopify recovery links (app/sources/shopify/recovery-url.ts).
  SHOPIFY_STOREFRONT_EXTRA_HOSTS: "acme.example,shop.example,example.com,beta.example",
} as const;
