import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { consentAllows, decide, PIXEL_COMPLETION_HOLD_MS, SHOPIFY_CONSENT_UPDATE_SOURCE, type DecisionInput } from "./decide";
import type { Consent } from "./model";
import { localMinuteOfDay, inQuietHours } from "./quiet-hours";

const NOW = new Date("2026-11-20T15:00:00Z"); // 10:00 in New York, 16:00 in Berlin
const H = 3_600_000;

function input(
  overrides: {
    recovery?: Partial<DecisionInput["recovery"]>;
    contact?: Partial<NonNullable<DecisionInput["contact"]>> | null;
    policy?: Partial<DecisionInput["policy"]>;
    history?: Partial<DecisionInput["history"]>;
    now?: Date;
  } = {},
): DecisionInput {
  return {
    now: overrides.now ?? NOW,
    recovery: {
      source: "shopify",
      status: "open",
      consent: "opt_in",
      consentEvidence: { state: "opt_in", source: "shopify.checkout.buyer_accepts_marketing", detail: { buyer_accepts_marketing: true } },
      abandonedAt: new Date(NOW.getTime() - 2 * H),
      completedAt: null,
      recoveryUrl: "https://shop.example/recover?key=1",
      recoveryUrlExpiresAt: null,
      notContactableReason: null,
      pixelOnly: false,
      pixelCompletedAt: null,
      ...overrides.recovery,
    },
    contact:
      overrides.contact === null ? null : { unsubscribedAt: null, suppressedAt: null, suppressionReason: null, lastPurchaseAt: null, ...overrides.contact },
    policy: { consentPolicy: "explicit", frequencyCapHours: 16, quietHours: null, timeZone: "America/New_York", setupProblem: null, ...overrides.policy },
    history: { newerRecovery: null, purchaseSinceAbandonment: null, lastEmailedForOtherRecoveryAt: null, ...overrides.history },
  };
}

describe("decide", () => {
  it("sends to an opted-in contact and says which consent it relied on", () => {
    const d = decide(input());
    expect(d.outcome).toBe("send");
    expect(d.detail).toContain("shopify.checkout.buyer_accepts_marketing");
  });

  it.each([
    ["no email", { recovery: { notContactableReason: "no_email" } }, "not_contactable"],
    ["no contact row", { contact: null }, "not_contactable"],
    ["unsubscribed", { contact: { unsubscribedAt: new Date(NOW.getTime() - H) } }, "unsubscribed"],
    ["hard bounce", { contact: { suppressedAt: new Date(NOW.getTime() - H), suppressionReason: "hard_bounce" } }, "suppressed"],
    ["complaint", { contact: { suppressedAt: new Date(NOW.getTime() - H), suppressionReason: "complaint" } }, "suppressed"],
    ["checkout completed", { recovery: { completedAt: new Date(NOW.getTime() - H) } }, "purchased"],
    ["bought on Stripe since", { history: { purchaseSinceAbandonment: { source: "stripe" as const, at: new Date(NOW.getTime() - H) } } }, "purchased"],
    ["lastPurchaseAt after abandonment", { contact: { lastPurchaseAt: new Date(NOW.getTime() - H) } }, "purchased"],
    ["newer checkout on Stripe", { history: { newerRecovery: { source: "stripe" as const, abandonedAt: new Date(NOW.getTime() - H) } } }, "superseded"],
    ["status superseded", { recovery: { status: "superseded" } }, "superseded"],
    ["no consent (unknown) under explicit", { recovery: { consent: "unknown" as Consent } }, "no_consent"],
    ["opt-out under implied", { recovery: { consent: "opt_out" as Consent }, policy: { consentPolicy: "implied" as const } }, "no_consent"],
    ["expired Stripe link", { recovery: { source: "stripe" as const, recoveryUrlExpiresAt: new Date(NOW.getTime() - 1) } }, "link_expired"],
    ["frequency cap (other recovery 3 h ago)", { history: { lastEmailedForOtherRecoveryAt: new Date(NOW.getTime() - 3 * H) } }, "frequency_cap"],
    ["email not set up", { policy: { setupProblem: "Email sending is not set up" } }, "setup_incomplete"],
  ] as const)("skips: %s", (_label, overrides, reason) => {
    const d = decide(input(overrides as Parameters<typeof input>[0]));
    expect(d.outcome).toBe("skip");
    expect(d.outcome === "skip" && d.reason).toBe(reason);
    expect(d.detail.length).toBeGreaterThan(10);
  });

  it("names the provider the buyer bought on", () => {
    const d = decide(input({ history: { purchaseSinceAbandonment: { source: "stripe", at: new Date(NOW.getTime() - H) } } }));
    expect(d.detail).toMatch(/Bought on Stripe/);
  });

  it("a purchase before the abandonment does not stop the email", () => {
    expect(decide(input({ contact: { lastPurchaseAt: new Date(NOW.getTime() - 30 * H) } })).outcome).toBe("send");
  });

  it("the implied policy sends when consent is unknown; explicit does not", () => {
    expect(decide(input({ recovery: { consent: "unknown" }, policy: { consentPolicy: "implied" } })).outcome).toBe("send");
    expect(decide(input({ recovery: { consent: "unknown" } })).outcome).toBe("skip");
  });

  it("the cap lets a send through once it has run out, and 0 disables it", () => {
    expect(decide(input({ history: { lastEmailedForOtherRecoveryAt: new Date(NOW.getTime() - 16 * H) } })).outcome).toBe("send");
    expect(decide(input({ policy: { frequencyCapHours: 0 }, history: { lastEmailedForOtherRecoveryAt: new Date(NOW.getTime() - H) } })).outcome).toBe("send");
  });

  it("holds during quiet hours in the shop's time zone until they end (not dropped)", () => {
    // 15:00 UTC = 10:00 New York; quiet 08:00–12:00 → until 12:00 New York = 17:00 UTC.
    const d = decide(input({ policy: { quietHours: { startMinute: 8 * 60, endMinute: 12 * 60 } } }));
    expect(d.outcome).toBe("hold");
    expect(d.outcome === "hold" && d.until.toISOString()).toBe("2026-11-20T17:00:00.000Z");
    expect(d.detail).toContain("America/New_York");
  });

  it("quiet hours that wrap midnight defer to the next morning", () => {
    // 03:30 UTC on Nov 21 = 22:30 New York (EST, UTC-5) → 08:00 New York = 13:00 UTC.
    const d = decide(input({ now: new Date("2026-11-21T03:30:00Z"), policy: { quietHours: { startMinute: 21 * 60, endMinute: 8 * 60 } } }));
    expect(d.outcome === "hold" && d.until.toISOString()).toBe("2026-11-21T13:00:00.000Z");
  });

  it("permanent reasons win over a hold: an unsubscribed contact is skipped, not deferred", () => {
    const d = decide(input({ contact: { unsubscribedAt: NOW }, policy: { quietHours: { startMinute: 0, endMinute: 23 * 60 } } }));
    expect(d.outcome).toBe("skip");
  });

  it("property: never sends without consent under the explicit policy", () => {
    fc.assert(
      fc.property(fc.constantFrom<Consent>("opt_in", "opt_out", "unknown"), fc.constantFrom("explicit" as const, "implied" as const), (consent, policy) => {
        const d = decide(input({ recovery: { consent }, policy: { consentPolicy: policy } }));
        if (d.outcome === "send") expect(consentAllows(policy, consent)).toBe(true);
        if (policy === "explicit" && consent !== "opt_in") expect(d.outcome).toBe("skip");
      }),
    );
  });

  it("property: never sends to a stopped contact, after a purchase, or inside quiet hours", () => {
    const date = fc.date({ min: new Date("2026-01-01T00:00:00Z"), max: new Date("2027-12-31T00:00:00Z"), noInvalidDate: true });
    fc.assert(
      fc.property(
        date,
        fc.option(date, { nil: null }),
        fc.option(date, { nil: null }),
        fc.option(date, { nil: null }),
        fc.option(fc.record({ startMinute: fc.integer({ min: 0, max: 1439 }), endMinute: fc.integer({ min: 0, max: 1439 }) }), { nil: null }),
        fc.constantFrom("UTC", "America/New_York", "Europe/Berlin", "Asia/Kathmandu", "Australia/Lord_Howe"),
        (now, unsubscribedAt, purchaseAt, lastEmailed, quietHours, timeZone) => {
          const abandonedAt = new Date(now.getTime() - 2 * H);
          const d = decide(
            input({
              now,
              recovery: { abandonedAt },
              contact: { unsubscribedAt, lastPurchaseAt: purchaseAt },
              policy: { quietHours, timeZone },
              history: { lastEmailedForOtherRecoveryAt: lastEmailed },
            }),
          );
          if (d.outcome !== "send") return;
          expect(unsubscribedAt).toBeNull();
          if (purchaseAt) expect(purchaseAt.getTime()).toBeLessThan(abandonedAt.getTime());
          if (lastEmailed) expect(now.getTime() - lastEmailed.getTime()).toBeGreaterThanOrEqual(16 * H);
          if (quietHours) expect(inQuietHours(localMinuteOfDay(now, timeZone), quietHours)).toBe(false);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe("decide: the checkout pixel can delay an email, never cause or suppress one (docs/decisions/050)", () => {
  it("never sends for a checkout only the pixel has seen, even with consent, link and email in place", () => {
    const d = decide(input({ recovery: { pixelOnly: true } }));
    expect(d).toMatchObject({ outcome: "skip", reason: "unconfirmed" });
    expect(d.detail).toMatch(/checkout pixel/);
  });

  it("says 'unconfirmed' rather than 'no recovery link' for a pixel-only checkout (the pixel never knows the link)", () => {
    expect(decide(input({ recovery: { pixelOnly: true, recoveryUrl: null, notContactableReason: "no_recovery_link" } }))).toMatchObject({
      reason: "unconfirmed",
    });
  });

  it("holds after a completion only the pixel reported, until the hold window ends", () => {
    const reported = new Date(NOW.getTime() - 30 * 60_000);
    const d = decide(input({ recovery: { pixelCompletedAt: reported } }));
    expect(d.outcome).toBe("hold");
    expect(d.outcome === "hold" && d.reason).toBe("completed_unconfirmed");
    expect(d.outcome === "hold" && d.until.getTime()).toBe(reported.getTime() + PIXEL_COMPLETION_HOLD_MS);
  });

  it("sends once the window has passed without an order, and says so in the send's record", () => {
    const reported = new Date(NOW.getTime() - PIXEL_COMPLETION_HOLD_MS);
    const d = decide(input({ recovery: { pixelCompletedAt: reported } }));
    expect(d.outcome).toBe("send");
    expect(d.detail).toMatch(/pixel reported a completion .* that no order confirmed within 2 h/);
  });

  it("a confirmed purchase wins over the pixel's hold (skipped for good, not deferred)", () => {
    const d = decide(input({ recovery: { pixelCompletedAt: NOW, completedAt: NOW } }));
    expect(d).toMatchObject({ outcome: "skip", reason: "purchased" });
  });

  it("property: a pixel completion report, whatever its time, defers by at most the hold window and never turns a send into a skip", () => {
    const date = fc.date({ min: new Date("2026-01-01T00:00:00Z"), max: new Date("2027-12-31T00:00:00Z"), noInvalidDate: true });
    fc.assert(
      fc.property(date, date, (now, reported) => {
        const base = decide(input({ now, recovery: { abandonedAt: new Date(now.getTime() - 2 * H) } }));
        const withPing = decide(input({ now, recovery: { abandonedAt: new Date(now.getTime() - 2 * H), pixelCompletedAt: reported } }));
        expect(base.outcome).toBe("send");
        if (withPing.outcome === "hold") {
          expect(withPing.until.getTime() - now.getTime()).toBeLessThanOrEqual(PIXEL_COMPLETION_HOLD_MS);
          // At the end of the hold the same checkout is sent.
          expect(decide(input({ now: withPing.until, recovery: { abandonedAt: new Date(now.getTime() - 2 * H), pixelCompletedAt: reported } })).outcome).toBe(
            "send",
          );
        } else {
          expect(withPing.outcome).toBe("send");
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe("decide: consent changed in Shopify (docs/decisions/073)", () => {
  const shopifyOptOut = {
    state: "opt_out" as Consent,
    source: SHOPIFY_CONSENT_UPDATE_SOURCE,
    detail: { state: "unsubscribed", opt_in_level: "single_opt_in" },
    at: "2026-11-20T13:30:00.000Z",
  };

  it("an unsubscribed contact whose recovery carries Shopify's unsubscribe is skipped with a log naming Shopify", () => {
    const d = decide(
      input({ recovery: { consent: "opt_out", consentEvidence: shopifyOptOut }, contact: { unsubscribedAt: new Date("2026-11-20T13:30:00Z") } }),
    );
    expect(d).toEqual({ outcome: "skip", reason: "unsubscribed", detail: "Unsubscribed in Shopify on 2026-11-20 13:30 UTC" });
  });

  it("an unsubscribe from Reclaim's own link keeps its wording", () => {
    const d = decide(input({ contact: { unsubscribedAt: new Date("2026-11-20T13:30:00Z") } }));
    expect(d).toEqual({ outcome: "skip", reason: "unsubscribed", detail: "Unsubscribed on 2026-11-20 13:30 UTC" });
  });

  it("Shopify's opt-out on the recovery alone (contact not unsubscribed) is no consent, under either policy, and says so", () => {
    for (const consentPolicy of ["explicit", "implied"] as const) {
      const d = decide(input({ recovery: { consent: "opt_out", consentEvidence: shopifyOptOut }, policy: { consentPolicy } }));
      expect(d).toEqual({ outcome: "skip", reason: "no_consent", detail: "No marketing consent: Unsubscribed in Shopify on 2026-11-20 13:30 UTC" });
    }
  });

  it("a Shopify opt-in after abandonment is consent under the explicit policy", () => {
    const d = decide(
      input({
        recovery: { consent: "opt_in", consentEvidence: { ...shopifyOptOut, state: "opt_in", detail: { state: "subscribed", opt_in_level: "single_opt_in" } } },
      }),
    );
    expect(d.outcome).toBe("send");
    expect(d.detail).toContain("shopify.customers_email_marketing_consent: state=subscribed");
  });
});
