import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  CONSENT_UPDATE_EVIDENCE_SOURCE,
  ConsentPayloadError,
  consentFromWebhookState,
  consentUpdateFromRaw,
  consentUpdateFromWebhook,
} from "~/sources/shopify/consent-webhook";
import { consentFromMarketingState } from "~/sources/shopify/to-source-event";
import { PayloadError } from "~/sources/shopify/webhook-mapping";
import { SHOPIFY_CONSENT_UPDATE_SOURCE } from "~/recovery/decide";
import { anyJsonValue, fuzzedObject, RUNS, timeString } from "../property/arbitraries";

// Shopify's sample body for the topic (webhook reference, API 2026-10): customer_id is past 2^53.
const SAMPLE = `{"customer_id":706405506930370084,"email_address":"bob@biller.com","email_marketing_consent":{"state":"unsubscribed","opt_in_level":"single_opt_in","consent_updated_at":"2021-12-31T19:00:00-05:00"}}`;

describe("customers_email_marketing_consent/update → consent update", () => {
  it("reads Shopify's sample exactly: the 64-bit customer id, the normalised email, an opt-out with its evidence", () => {
    expect(consentUpdateFromRaw(SAMPLE)).toEqual({
      shopifyCustomerId: "gid://shopify/Customer/706405506930370084",
      email: "bob@biller.com",
      state: "opt_out",
      evidence: {
        state: "opt_out",
        source: "shopify.customers_email_marketing_consent",
        detail: { state: "unsubscribed", opt_in_level: "single_opt_in" },
        at: "2022-01-01T00:00:00.000Z",
      },
      at: new Date("2022-01-01T00:00:00Z"),
    });
  });

  it("maps states like consentFromMarketingState does for the GraphQL enum (lowercase here)", () => {
    for (const state of ["SUBSCRIBED", "UNSUBSCRIBED", "NOT_SUBSCRIBED", "PENDING", "INVALID", "REDACTED"]) {
      expect(consentFromWebhookState(state.toLowerCase())).toBe(consentFromMarketingState(state));
    }
    expect(consentFromWebhookState("something_new")).toBe("unknown");
  });

  it("normalises the email and accepts a body without consent_updated_at (null), or without a customer id", () => {
    const u = consentUpdateFromWebhook({ email_address: "  Ann@Example.COM ", email_marketing_consent: { state: "subscribed", consent_updated_at: null } });
    expect(u).toMatchObject({
      shopifyCustomerId: null,
      email: "ann@example.com",
      state: "opt_in",
      at: null,
      evidence: { at: null, detail: { opt_in_level: null } },
    });
  });

  it("does not trust an id that JSON.parse has already rounded; the raw reader keeps it exact", () => {
    expect(consentUpdateFromWebhook(JSON.parse(SAMPLE)).shopifyCustomerId).toBeNull();
    expect(consentUpdateFromWebhook({ customer_id: 207119551, email_marketing_consent: { state: "pending" } }).shopifyCustomerId).toBe(
      "gid://shopify/Customer/207119551",
    );
  });

  it.each([
    ["not an object", "[1,2]"],
    ["not JSON", "{"],
    ["no consent object", `{"customer_id":1,"email_address":"a@b.co"}`],
    ["no state", `{"customer_id":1,"email_marketing_consent":{"opt_in_level":"single_opt_in"}}`],
    ["nobody named", `{"customer_id":"abc","email_address":"not an email","email_marketing_consent":{"state":"unsubscribed"}}`],
    ["an unreadable time", `{"customer_id":1,"email_marketing_consent":{"state":"unsubscribed","consent_updated_at":"yesterday"}}`],
  ])("refuses %s with ConsentPayloadError (a PayloadError: recorded, not retried)", (_why, raw) => {
    expect(() => consentUpdateFromRaw(raw)).toThrow(ConsentPayloadError);
    expect(() => consentUpdateFromRaw(raw)).toThrow(PayloadError);
  });

  it("writes the evidence source decide() recognises", () => {
    expect(CONSENT_UPDATE_EVIDENCE_SOURCE).toBe(SHOPIFY_CONSENT_UPDATE_SOURCE);
  });
});

const consentBody = fuzzedObject({
  customer_id: fc.oneof(fc.integer(), fc.bigInt({ min: 0n, max: 10n ** 20n }).map(String), fc.string()),
  email_address: fc.oneof(fc.emailAddress(), fc.string()),
  email_marketing_consent: fuzzedObject({
    state: fc.constantFrom("subscribed", "unsubscribed", "not_subscribed", "pending", "invalid", "redacted", "SUBSCRIBED", ""),
    opt_in_level: fc.constantFrom("single_opt_in", "confirmed_opt_in", "unknown", null),
    consent_updated_at: fc.oneof(timeString, fc.constant(null)),
  }),
});

function checkResult(run: () => ReturnType<typeof consentUpdateFromWebhook>) {
  let result: ReturnType<typeof consentUpdateFromWebhook>;
  try {
    result = run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConsentPayloadError);
    return;
  }
  expect(["opt_in", "opt_out", "unknown"]).toContain(result.state);
  expect(result.evidence.state).toBe(result.state);
  expect(result.evidence.source).toBe(CONSENT_UPDATE_EVIDENCE_SOURCE);
  expect(result.shopifyCustomerId === null || /^gid:\/\/shopify\/Customer\/[1-9]\d*$/.test(result.shopifyCustomerId)).toBe(true);
  expect(result.shopifyCustomerId !== null || result.email !== null).toBe(true);
  if (result.email !== null) expect(result.email).toBe(result.email.trim().toLowerCase());
  if (result.at !== null) {
    expect(Number.isNaN(result.at.getTime())).toBe(false);
    expect(result.evidence.at).toBe(result.at.toISOString());
  }
  // What is stored as evidence survives a JSON round trip unchanged.
  expect(JSON.parse(JSON.stringify(result.evidence))).toEqual(result.evidence);
}

describe("property: any JSON returns a consent update or throws ConsentPayloadError, nothing else", () => {
  it("parsed bodies", () => {
    fc.assert(
      fc.property(fc.oneof({ weight: 4, arbitrary: consentBody }, { weight: 1, arbitrary: anyJsonValue }), (body) =>
        checkResult(() => consentUpdateFromWebhook(body)),
      ),
      { numRuns: RUNS.unit },
    );
  });

  it("raw bodies (the stored bytes), including any text at all", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          { weight: 4, arbitrary: consentBody.map((b) => JSON.stringify(b)) },
          { weight: 1, arbitrary: fc.string() },
          { weight: 1, arbitrary: fc.json() },
        ),
        (raw) => checkResult(() => consentUpdateFromRaw(raw)),
      ),
      { numRuns: RUNS.unit },
    );
  });
});
