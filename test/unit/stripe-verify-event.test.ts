import Stripe from "stripe";
import { describe, expect, it } from "vitest";
import { apiBaseOptions } from "~/sources/stripe/stripe-client.server";
import { verifyStripeEvent } from "~/sources/stripe/verify-event.server";
import { expiredSession, stripeEvent } from "../../app/demo/fakes/stripe-api/objects";

const CURRENT = "whsec_currentSecretAAAAAAAAAAAAAAAAAAAA";
const PREVIOUS = "whsec_previousSecretBBBBBBBBBBBBBBBBBBB";
const now = Date.now();
const payload = JSON.stringify(stripeEvent("checkout.session.expired", expiredSession()));
const sign = (body: string, secret: string, timestamp = Math.floor(now / 1000)) =>
  Stripe.webhooks.generateTestHeaderString({ payload: body, secret, timestamp });

describe("verifyStripeEvent", () => {
  it("accepts an event signed with the current secret and returns it parsed", () => {
    const outcome = verifyStripeEvent(payload, sign(payload, CURRENT), [CURRENT], now);
    expect(outcome.ok && outcome.event.type).toBe("checkout.session.expired");
    expect(outcome.ok && outcome.secretIndex).toBe(0);
  });

  it("during a rotation accepts both the new and the previous secret", () => {
    const secrets = [CURRENT, PREVIOUS];
    const byNew = verifyStripeEvent(payload, sign(payload, CURRENT), secrets, now);
    const byOld = verifyStripeEvent(payload, sign(payload, PREVIOUS), secrets, now);
    expect(byNew.ok && byNew.secretIndex).toBe(0);
    expect(byOld.ok && byOld.secretIndex).toBe(1);
  });

  it("accepts a delivery that carries one v1 signature per active secret, as Stripe sends while rolling", () => {
    const t = Math.floor(now / 1000);
    const v1 = (secret: string) =>
      sign(payload, secret, t)
        .split(",")
        .find((p) => p.startsWith("v1="))!;
    expect(verifyStripeEvent(payload, `t=${t},${v1(PREVIOUS)},${v1(CURRENT)}`, [CURRENT], now).ok).toBe(true);
  });

  it.each([
    ["a secret from another endpoint", () => sign(payload, "whsec_someoneElsesSecretCCCCCCCCCCCCCCC"), "bad_signature"],
    ["a tampered body", () => sign(payload.replace("expired", "completed"), CURRENT), "bad_signature"],
    ["a timestamp older than 300 s", () => sign(payload, CURRENT, Math.floor(now / 1000) - 301), "stale_timestamp"],
    ["a header that is not a signature", () => "nonsense", "bad_signature"],
  ])("refuses %s", (_label, header, reason) => {
    const outcome = verifyStripeEvent(payload, header(), [CURRENT, PREVIOUS], now);
    expect(outcome).toMatchObject({ ok: false, reason });
  });

  it("accepts a signature exactly 300 s old (the tolerance)", () => {
    expect(verifyStripeEvent(payload, sign(payload, CURRENT, Math.floor(now / 1000) - 300), [CURRENT], now).ok).toBe(true);
  });

  it("refuses a missing signature header", () => {
    expect(verifyStripeEvent(payload, null, [CURRENT], now)).toMatchObject({ ok: false, reason: "missing_signature" });
  });

  it("refuses a correctly signed body that is not JSON, or not an event", () => {
    const broken = '{"id": "evt_1", "type": ';
    expect(verifyStripeEvent(broken, sign(broken, CURRENT), [CURRENT], now)).toMatchObject({ ok: false, reason: "malformed_json" });
    const notEvent = JSON.stringify({ hello: "world" });
    expect(verifyStripeEvent(notEvent, sign(notEvent, CURRENT), [CURRENT], now)).toMatchObject({ ok: false, reason: "not_an_event" });
  });
});

describe("Stripe API base override", () => {
  it("points the SDK at a local fake outside production", () => {
    expect(apiBaseOptions("http://127.0.0.1:12111", "test")).toEqual({ host: "127.0.0.1", port: 12111, protocol: "http" });
    expect(apiBaseOptions(undefined, "production")).toEqual({});
  });

  it("is refused in production, by the client module and by the environment check", async () => {
    expect(() => apiBaseOptions("http://127.0.0.1:12111", "production")).toThrow(/production/);
    const { parseEnv } = await import("~/env.server");
    const base = { ...process.env, NODE_ENV: "production" };
    expect(() => parseEnv({ ...base, STRIPE_API_BASE: "http://127.0.0.1:1" })).toThrow(/STRIPE_API_BASE must not be set in production/);
    expect(() => parseEnv({ ...base, STRIPE_VERIFY_ONLY_ENDPOINT: "on", HOST: "0.0.0.0" })).toThrow(/STRIPE_VERIFY_ONLY_ENDPOINT/);
    expect(parseEnv({ ...base, STRIPE_VERIFY_ONLY_ENDPOINT: "on", HOST: "127.0.0.1" }).STRIPE_VERIFY_ONLY_ENDPOINT).toBe("on");
  });
});
