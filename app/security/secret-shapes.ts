/**
 * The shapes of the credentials Reclaim handles, in one list for both sides of "secrets are never logged": the logger
 * masks every match whole (app/logger.server.ts), and the test suite's end-of-run scan fails on any match left in a
 * log (test/setup/secret-scan.ts). One list, so the scanner always knows what the logger masks and how: a token the
 * logger cut in two (`shpat_test` masked, `_offline_token` printed) is what the scan could not see when each had its
 * own patterns. The token bodies include `_` and `-` for that reason.
 */
export interface SecretShape {
  /** What it is, printed instead of the value. */
  label: string;
  /** The prefix that names the credential (a regular expression source), e.g. `whsec_`. */
  prefix: string;
  /** The whole credential (a regular expression source, no flags). */
  source: string;
}

const TOKEN_BODY = "[A-Za-z0-9_-]+";

export const SECRET_SHAPES: readonly SecretShape[] = [
  { label: "a Stripe webhook signing secret (whsec_…)", prefix: "whsec_", source: String.raw`\bwhsec_${TOKEN_BODY}` },
  { label: "a Stripe API key (sk_/rk_…)", prefix: "(?:rk|sk)_(?:live|test)_", source: String.raw`\b(?:rk|sk)_(?:live|test)_${TOKEN_BODY}` },
  {
    // shprt_: refresh tokens of expiring offline tokens; shpua_: user (online) tokens.
    label: "a Shopify access token (shpat_/shpca_/shppa_/shpss_/shprt_/shpua_…)",
    prefix: "shp(?:at|ca|pa|rt|ss|ua)_",
    source: String.raw`\bshp(?:at|ca|pa|rt|ss|ua)_${TOKEN_BODY}`,
  },
  { label: "a bearer token (Authorization header)", prefix: String.raw`Bearer\s+`, source: String.raw`\bBearer\s+[A-Za-z0-9._~+/=-]+` },
  // Session tokens and the like: three base64url segments, the first a JSON header (`eyJ` = `{"`).
  { label: "a JSON Web Token (eyJ….….…)", prefix: "eyJ", source: String.raw`\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+` },
];

/** A fresh global regular expression for each shape (global ones keep state between calls). */
export function secretShapePatterns(flags = "g"): { label: string; pattern: RegExp }[] {
  return SECRET_SHAPES.map((shape) => ({ label: shape.label, pattern: new RegExp(shape.source, flags) }));
}

/** The part of a prefixed credential after its prefix (`whsec_abc…` → `abc…`), or null for anything else. */
export function secretBody(value: string): string | null {
  for (const shape of SECRET_SHAPES) {
    const match = new RegExp(`^(?:${shape.prefix})(.+)$`).exec(value);
    if (match) return match[1]!;
  }
  return null;
}
