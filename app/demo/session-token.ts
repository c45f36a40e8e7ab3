import { createHmac, randomUUID } from "node:crypto";

/**
 * A session token as Shopify's admin issues it to an embedded app (HS256 JWT signed with the app's client secret,
 * `aud` = client id, `dest` = the shop). The demo's admin plays Shopify's part with the demo's own app credentials; the
 * app verifies these tokens exactly as it verifies Shopify's.
 *
 * Shopify's tokens live one minute. On the demo's compressed clock a minute of demo time is a fraction of a real
 * second, so the lifetime here is one real minute (`realLifetimeMs` × the clock factor, in demo time).
 */
export function signDemoSessionToken(o: { shop: string; apiKey: string; apiSecret: string; now: number; lifetimeMs: number }): string {
  const b64url = (value: string) => Buffer.from(value).toString("base64url");
  const now = Math.floor(o.now / 1000);
  const payload = {
    iss: `https://${o.shop}/admin`,
    dest: `https://${o.shop}`,
    aud: o.apiKey,
    sub: "1",
    exp: now + Math.max(60, Math.floor(o.lifetimeMs / 1000)),
    nbf: now,
    iat: now,
    jti: randomUUID(),
    sid: randomUUID(),
  };
  const unsigned = `${b64url(JSON.stringify({ alg: "HS256", typ: "JWT" }))}.${b64url(JSON.stringify(payload))}`;
  return `${unsigned}.${createHmac("sha256", o.apiSecret).update(unsigned).digest("base64url")}`;
}

/** The `host` parameter the admin passes (base64 of admin.shopify.com/store/<handle>), which the library validates. */
export function adminHostParam(shop: string): string {
  return Buffer.from(`admin.shopify.com/store/${shop.split(".")[0]}`).toString("base64");
}
