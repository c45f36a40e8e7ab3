/**
 * Format checks for what a merchant pastes, shared by the settings page and `npm run stripe:connect`.
 * Each returns a sentence naming the problem, or null when the value is well-formed. Values are never echoed.
 */

export function webhookSecretProblem(value: string): string | null {
  const v = value.trim();
  if (v === "") return "Paste the endpoint's signing secret (it starts with whsec_).";
  if (/^(rk|sk|pk)_/.test(v))
    return "This is an API key, not a signing secret. The signing secret starts with whsec_ (Stripe → Developers → Webhooks → your endpoint → Signing secret).";
  if (!v.startsWith("whsec_")) return "A signing secret starts with whsec_ (Stripe → Developers → Webhooks → your endpoint → Signing secret).";
  if (!/^whsec_[A-Za-z0-9]{16,200}$/.test(v))
    return "This signing secret looks cut short or has extra characters: after whsec_ it should be letters and digits only.";
  return null;
}

export function apiKeyProblem(value: string): string | null {
  const v = value.trim();
  if (v === "") return "Paste a restricted key (it starts with rk_live_ or rk_test_).";
  if (/^sk_(live|test)_/.test(v))
    return "This is a secret key with full access to your Stripe account. Create a restricted key (rk_…) with Read access to Checkout Sessions instead.";
  if (/^pk_(live|test)_/.test(v)) return "This is a publishable key. Reclaim needs a restricted key (rk_…) with Read access to Checkout Sessions.";
  if (v.startsWith("whsec_")) return "This is a webhook signing secret. Paste it in the signing secret field; the API key starts with rk_.";
  if (!/^rk_(live|test)_[A-Za-z0-9]{16,200}$/.test(v)) return "A restricted key starts with rk_live_ or rk_test_ followed by letters and digits.";
  return null;
}

/** `rk_live_…` keys read live sessions only, `rk_test_…` test ones. */
export function apiKeyIsLive(apiKey: string): boolean {
  return apiKey.trim().startsWith("rk_live_");
}
