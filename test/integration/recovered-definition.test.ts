// The one definition of "recovered" (docs/decisions/082) end to end on PostgreSQL: a purchase made without any Reclaim
// email before it is "Bought without an email" and counted nowhere; the Overview (DailyStat, kept by triggers) and the
// Campaigns page (Conversion rows, read in SQL) give the same figures for the same period, other currencies included.
import { beforeAll, describe, expect, it } from "vitest";
import { seedShop } from "../helpers/seed";

let db: typeof import("~/db.server").db;
let seeded: Awaited<ReturnType<typeof seedShop>>;
const now = new Date();

beforeAll(async () => {
  ({ db } = await import("~/db.server"));
  seeded = await seedShop(db, "definition.myshopify.com", { now, prefix: "def" });
});

describe("one definition of recovered", () => {
  it("a Stripe cart paid through its link without any email before it is not recovered and not counted", async () => {
    const { ingestSourceEvent } = await import("~/models/ingest.server");
    const never = seeded.stripeRecoveries[1]!; // no message was ever sent for it
    await ingestSourceEvent(
      db,
      seeded.shop.id,
      {
        kind: "purchase.observed",
        source: "stripe",
        externalId: "cs_paid_without_email",
        email: never.email,
        recoveredFrom: never.externalId,
        amount: { amountMinor: 6000, currency: "USD" },
        occurredAt: new Date(now.getTime() - 3_600_000),
      },
      now,
    );
    const after = await db.recovery.findUniqueOrThrow({ where: { id: never.id }, include: { conversions: true } });
    // The purchase is kept on the recovery (its timeline shows it)…
    expect(after.conversions).toEqual([expect.objectContaining({ method: "link", messageId: null, amountMinor: 6000n })]);
    // …but the recovery is "Bought without an email", not the green "recovered".
    expect(after.status).toBe("purchased");
    const { recoveryStatusLabel, RECOVERY_STATUS_TONE } = await import("~/components/labels");
    expect(recoveryStatusLabel(after.status)).toBe("Bought without an email");
    expect(RECOVERY_STATUS_TONE[after.status]).toBeUndefined();
  });

  it("the Overview and the campaign give the same figures, other currencies summarised, reversed ones out", async () => {
    // An AUD purchase after an email (counted, in its own currency), and a USD one later cancelled (not counted).
    const message = await db.message.findFirstOrThrow({ where: { recoveryId: seeded.shopifyRecoveries[1]!.id, status: "sent" } });
    await db.conversion.create({
      data: {
        shopId: seeded.shop.id,
        recoveryId: seeded.shopifyRecoveries[1]!.id,
        messageId: message.id,
        method: "link",
        matchedBy: "completedAt",
        source: "shopify",
        externalId: "aud-order",
        amountMinor: 4699,
        currency: "AUD",
        convertedAt: new Date(now.getTime() - 2 * 3_600_000),
      },
    });
    const cancelled = await db.conversion.create({
      data: {
        shopId: seeded.shop.id,
        recoveryId: seeded.stripeRecoveries[0]!.id,
        messageId: message.id,
        method: "link",
        matchedBy: "recovered_from",
        source: "stripe",
        externalId: "cs_cancelled",
        amountMinor: 9999,
        currency: "USD",
        convertedAt: new Date(now.getTime() - 2 * 3_600_000),
      },
    });
    await db.conversion.update({ where: { id: cancelled.id }, data: { reversedAt: now, reversedReason: "refunded" } });

    const { loadOverview } = await import("~/models/dashboard.server");
    const { campaignResults } = await import("~/models/campaign.server");
    const { periodBounds } = await import("~/recovery/recovered");
    const { from, to } = periodBounds(30, now);
    const overview = await loadOverview(db, { shopId: seeded.shop.id, from, to: now, currency: "USD", consentPolicy: "explicit", now });
    const campaign = await campaignResults(db, seeded.shop.id, seeded.campaign.id, { from, to });

    const expected = {
      USD: { link: { count: 1, revenueMinor: 1000 }, window: { count: 1, revenueMinor: 5500 } },
      AUD: { link: { count: 1, revenueMinor: 4699 }, window: { count: 0, revenueMinor: 0 } },
    };
    expect(overview.recoveredByCurrency).toEqual(expected);
    expect(campaign.recoveredByCurrency).toEqual(expected);
    expect(overview.total.recoveredByLink).toEqual({ count: 1, revenueMinor: 1000 });
    // The chart's "recovered" line adds up to the same count.
    expect(overview.daily.reduce((n, d) => n + d.recovered, 0)).toBe(1);
  });
});
