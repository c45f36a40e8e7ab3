import Stripe from "stripe";
import { describe, expect, it } from "vitest";
import { STRIPE_API_VERSION, stripeClient } from "~/sources/stripe/stripe-client.server";

// The API version is pinned where the client is built (ADR 076), and it is the SDK's own: an SDK upgrade that moves
// its default fails here, so the pin (and what Settings › Stripe asks merchants to choose) is moved on purpose.
describe("Stripe API version", () => {
  it("the client sends the pinned version, which is the version this SDK release is generated for", () => {
    const versionOf = (client: Stripe) => (client as unknown as { getApiField(name: string): string }).getApiField("version");
    expect(versionOf(stripeClient("rk_test_51VersionCheckKey0123456789abcd"))).toBe(STRIPE_API_VERSION);
    expect(versionOf(new Stripe("rk_test_51VersionCheckKey0123456789abcd"))).toBe(STRIPE_API_VERSION);
  });
});
