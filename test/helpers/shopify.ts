import { createHmac, randomUUID } from "node:crypto";
import { Session } from "@shopify/shopify-api";
import { TEST_ENV } from "../setup/test-env";

export const TEST_SHOP = "reclaim-test.myshopify.com";
export const OTHER_SHOP = "other-store.myshopify.com";

const b64url = (data: string | Buffer) => Buffer.from(data).toString("base64url");

export interface SessionTokenOverrides {
  shop?: string;
  secret?: string;
  aud?: string;
  /** Seconds from now; negative = already expired. */
  expiresIn?: number;
  alg?: string;
  /** The staff member's user id (default "42"). */
  sub?: string;
}

/** A Shopify session token (App Bridge id_token): HS256 JWT signed with the app secret, as the admin issues it. */
export function signSessionToken(overrides: SessionTokenOverrides = {}): string {
  const shop = overrides.shop ?? TEST_SHOP;
  const now = Math.floor(Date.now() / 1000);
  const header = { alg: overrides.alg ?? "HS256", typ: "JWT" };
  const payload = {
    iss: `https://${shop}/admin`,
    dest: `https://${shop}`,
    aud: overrides.aud ?? TEST_ENV.SHOPIFY_API_KEY,
    sub: overrides.sub ?? "42",
    exp: now + (overrides.expiresIn ?? 60),
    nbf: now - 5,
    iat: now - 5,
    jti: randomUUID(),
    sid: randomUUID(),
  };
  const unsigned = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
  const signature = createHmac("sha256", overrides.secret ?? TEST_ENV.SHOPIFY_API_SECRET)
    .update(unsigned)
    .digest("base64url");
  return `${unsigned}.${signature}`;
}

/** An embedded document request as the admin makes it: /app?embedded=1&shop=…&host=…&id_token=… */
export function embeddedRequest(pathname: string, token = signSessionToken(), shop = TEST_SHOP): Request {
  const url = new URL(pathname, TEST_ENV.SHOPIFY_APP_URL);
  url.searchParams.set("embedded", "1");
  url.searchParams.set("shop", shop);
  url.searchParams.set("host", Buffer.from(`admin.shopify.com/store/${shop.split(".")[0]}`).toString("base64"));
  url.searchParams.set("id_token", token);
  return new Request(url, { headers: { accept: "text/html" } });
}

/** A fetch/XHR from the embedded app: the session token in the Authorization header. */
export function bearerRequest(pathname: string, init: RequestInit = {}, token = signSessionToken()): Request {
  const headers = new Headers(init.headers);
  headers.set("authorization", `Bearer ${token}`);
  return new Request(new URL(pathname, TEST_ENV.SHOPIFY_APP_URL), { ...init, headers });
}

/** An offline session as token exchange stores it (expiring token with its refresh token). */
export function offlineSession(shop = TEST_SHOP, scope = TEST_ENV.SCOPES): Session {
  return new Session({
    id: `offline_${shop}`,
    shop,
    state: "",
    isOnline: false,
    scope,
    accessToken: "shpat_test_offline_token",
    expires: new Date(Date.now() + 60 * 60 * 1000),
    refreshToken: "shprt_test_refresh_token",
    refreshTokenExpires: new Date(Date.now() + 90 * 86_400_000),
  });
}

export interface WebhookOptions {
  shop?: string;
  webhookId?: string;
  secret?: string;
  apiVersion?: string;
  /** Overrides the computed HMAC (to send a bad one). */
  hmac?: string;
}

/** A Shopify webhook delivery, signed like Shopify signs it: base64 HMAC-SHA256 of the raw body with the app secret. */
export function shopifyWebhookRequest(uri: string, topic: string, body: unknown, options: WebhookOptions = {}): Request {
  const raw = typeof body === "string" ? body : JSON.stringify(body);
  const hmac =
    options.hmac ??
    createHmac("sha256", options.secret ?? TEST_ENV.SHOPIFY_API_SECRET)
      .update(raw, "utf8")
      .digest("base64");
  return new Request(new URL(uri, TEST_ENV.SHOPIFY_APP_URL), {
    method: "POST",
    body: raw,
    headers: {
      "content-type": "application/json",
      "x-shopify-hmac-sha256": hmac,
      "x-shopify-topic": topic,
      "x-shopify-shop-domain": options.shop ?? TEST_SHOP,
      "x-shopify-api-version": options.apiVersion ?? "2026-10",
      "x-shopify-webhook-id": options.webhookId ?? randomUUID(),
      "x-shopify-triggered-at": new Date().toISOString(),
      "x-shopify-event-id": randomUUID(),
    },
  });
}
