import { describe, expect, it } from "vitest";
import { healthIssues, type HealthFacts } from "./health";

const now = new Date("2026-12-07T12:00:00Z");
const ok: HealthFacts = {
  now,
  activeCampaigns: 1,
  failedLast24h: 0,
  lastFailure: null,
  shopifyEmailPolicy: "defer",
  heldForShopifyEmailLast7d: 0,
  shopifySync: {
    status: "healthy",
    lastSuccessAt: new Date(now.getTime() - 5 * 60_000),
    lastError: null,
    intervalMinutes: 5,
    installedAt: new Date("2026-11-01T00:00:00Z"),
  },
};
const keys = (f: Partial<HealthFacts>) => healthIssues({ ...ok, ...f }).map((i) => `${i.key}:${i.tone}`);

describe("the Overview's health strip", () => {
  it("says nothing when all is well", () => {
    expect(healthIssues(ok)).toEqual([]);
  });
  it("campaign off", () => {
    expect(keys({ activeCampaigns: 0 })).toEqual(["campaign_off:critical"]);
  });
  it("failed sends in the last 24 h, with the latest reason", () => {
    const [issue] = healthIssues({ ...ok, failedLast24h: 3, lastFailure: "The mail server refused the login" });
    expect(issue).toMatchObject({
      key: "failed_sends",
      title: "3 emails failed in the last 24 hours",
      body: "The most recent failure: The mail server refused the login",
    });
  });
  it("Shopify's own email: a warning under send anyway, a note when carts were left to it", () => {
    expect(keys({ shopifyEmailPolicy: "send_anyway" })).toEqual(["shopify_email:warning"]);
    expect(keys({ heldForShopifyEmailLast7d: 4 })).toEqual(["shopify_email:info"]);
  });
  it("sync: unhealthy, or late by three intervals (at least 30 minutes)", () => {
    expect(keys({ shopifySync: { ...ok.shopifySync!, status: "unhealthy", lastError: "Shopify refused the access token" } })).toEqual(["sync:critical"]);
    expect(keys({ shopifySync: { ...ok.shopifySync!, lastSuccessAt: new Date(now.getTime() - 29 * 60_000) } })).toEqual([]);
    const late = healthIssues({ ...ok, shopifySync: { ...ok.shopifySync!, lastSuccessAt: new Date(now.getTime() - 3 * 3_600_000) } });
    expect(late).toMatchObject([
      {
        key: "sync",
        tone: "warning",
        body: "Last successful sync 3 hours ago. New abandoned checkouts are not picked up meanwhile.",
        action: { intent: "sync" },
      },
    ]);
  });
});
