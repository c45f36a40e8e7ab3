import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { db } from "~/db.server";

/** What DailyStat must say, recounted from the rows themselves. */
async function recount(shopId: string) {
  // Every figure cast to bigint: PostgreSQL's SUM of a bigint is numeric, which the driver does not read as a number.
  return db.$queryRaw<Record<string, unknown>[]>`
    WITH rec AS (
      SELECT "shopId", to_char("abandonedAt", 'YYYY-MM-DD') AS day, "currency", "source", COUNT(*)::bigint AS abandoned, SUM("totalMinor")::bigint AS "abandonedValueMinor",
        SUM(("notContactableReason" IS NOT DISTINCT FROM 'no_email')::int)::bigint AS "noEmail",
        SUM(("notContactableReason" IS NOT DISTINCT FROM 'no_recovery_link')::int)::bigint AS "noRecoveryLink",
        SUM(("notContactableReason" IS NULL AND "consent" = 'opt_in')::int)::bigint AS "optIn",
        SUM(("notContactableReason" IS NULL AND "consent" = 'opt_out')::int)::bigint AS "optOut",
        SUM(("notContactableReason" IS NULL AND "consent" NOT IN ('opt_in','opt_out'))::int)::bigint AS "consentUnknown",
        SUM(("status" = 'recovered')::int)::bigint AS recovered
      FROM "Recovery" WHERE "shopId" = ${shopId} AND NOT "pixelOnly" GROUP BY 1,2,3,4),
    sent AS (SELECT r."shopId", to_char(m."sentAt", 'YYYY-MM-DD') AS day, r."currency", r."source", COUNT(*)::bigint AS "emailsSent" FROM "Message" m JOIN "Recovery" r ON r."id" = m."recoveryId" WHERE m."shopId" = ${shopId} AND m."status" = 'sent' GROUP BY 1,2,3,4),
    clk AS (SELECT r."shopId", to_char(k."clickedAt", 'YYYY-MM-DD') AS day, r."currency", r."source", COUNT(*)::bigint AS clicks FROM "Click" k JOIN "Recovery" r ON r."id" = k."recoveryId" WHERE k."shopId" = ${shopId} GROUP BY 1,2,3,4)
    SELECT 'rec' AS kind, day, "currency" AS currency, "source" AS source, abandoned AS a, "abandonedValueMinor" AS b, "noEmail" AS c, "noRecoveryLink" AS d, "optIn" AS e, "optOut" AS f, "consentUnknown" AS g, recovered AS h FROM rec
    UNION ALL SELECT 'sent', day, "currency", "source", "emailsSent", 0, 0, 0, 0, 0, 0, 0 FROM sent
    UNION ALL SELECT 'clk', day, "currency", "source", clicks, 0, 0, 0, 0, 0, 0, 0 FROM clk`;
}

async function fromStats(shopId: string) {
  const rows = await db.dailyStat.findMany({ where: { shopId } });
  const out: Record<string, unknown>[] = [];
  for (const r of rows) {
    if (r.abandoned || r.abandonedValueMinor || r.noEmail || r.noRecoveryLink || r.optIn || r.optOut || r.consentUnknown || r.recovered)
      out.push({
        kind: "rec",
        day: r.day,
        currency: r.currency,
        source: r.source,
        a: r.abandoned,
        b: r.abandonedValueMinor,
        c: r.noEmail,
        d: r.noRecoveryLink,
        e: r.optIn,
        f: r.optOut,
        g: r.consentUnknown,
        h: r.recovered,
      });
    if (r.emailsSent) out.push({ kind: "sent", day: r.day, currency: r.currency, source: r.source, a: r.emailsSent, b: 0, c: 0, d: 0, e: 0, f: 0, g: 0, h: 0 });
    if (r.clicks) out.push({ kind: "clk", day: r.day, currency: r.currency, source: r.source, a: r.clicks, b: 0, c: 0, d: 0, e: 0, f: 0, g: 0, h: 0 });
  }
  return out;
}

const normalise = (rows: Record<string, unknown>[]) =>
  rows
    .map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === "bigint" ? Number(v) : v])))
    .sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y)));

const day = fc.integer({ min: 1, max: 5 }).map((d) => new Date(Date.UTC(2026, 10, d, 12)));
const recoveryFields = fc.record({
  source: fc.constantFrom("shopify", "stripe"),
  currency: fc.constantFrom("USD", "EUR"),
  // Mostly ordinary carts, some far past 32 bits (a JPY or IDR shop's large orders): the sums are 64-bit.
  totalMinor: fc.oneof(fc.integer({ min: 0, max: 100_000 }), fc.bigInt({ min: 2n ** 31n, max: 10n ** 12n }).map(Number)),
  consent: fc.constantFrom("opt_in", "opt_out", "unknown"),
  status: fc.constantFrom("open", "contacting", "recovered", "lost"),
  notContactableReason: fc.constantFrom(null, "no_email", "no_recovery_link"),
  abandonedAt: day,
  // Seen only by the checkout pixel: not counted until Shopify confirms it (ADR 050).
  pixelOnly: fc.boolean(),
});
const op = fc.oneof(
  fc.record({ kind: fc.constant("create" as const), fields: recoveryFields }),
  fc.record({
    kind: fc.constant("update" as const),
    pick: fc.nat(),
    fields: recoveryFields.map((f) => ({
      status: f.status,
      consent: f.consent,
      totalMinor: f.totalMinor,
      notContactableReason: f.notContactableReason,
      abandonedAt: f.abandonedAt,
      pixelOnly: f.pixelOnly,
    })),
  }),
  fc.record({ kind: fc.constant("send" as const), pick: fc.nat(), at: day }),
  fc.record({ kind: fc.constant("unsend" as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant("click" as const), pick: fc.nat(), at: day }),
);

describe("dashboard daily totals (DailyStat triggers)", () => {
  it("always equal a recount of the rows, whatever sequence of writes happened", async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 40 }), async (ops) => {
        const shop = await db.shop.create({ data: { domain: `stats-${run++}-${Date.now()}.myshopify.com` } });
        const campaign = await db.campaign.create({
          data: { shopId: shop.id, name: "c", steps: { create: { position: 1, delayMinutes: 1, subject: "s", bodyTemplate: "b" } } },
          include: { steps: true },
        });
        const recoveries: string[] = [];
        const messages: string[] = [];
        for (const o of ops) {
          if (o.kind === "create") {
            const r = await db.recovery.create({
              data: { ...o.fields, shopId: shop.id, externalId: `x${recoveries.length}`, sourceUpdatedAt: o.fields.abandonedAt },
            });
            recoveries.push(r.id);
            messages.push(
              (
                await db.message.create({
                  data: {
                    shopId: shop.id,
                    recoveryId: r.id,
                    campaignId: campaign.id,
                    stepId: campaign.steps[0]!.id,
                    position: 1,
                    scheduledFor: o.fields.abandonedAt,
                  },
                })
              ).id,
            );
          } else if (recoveries.length > 0) {
            const i = o.pick % recoveries.length;
            if (o.kind === "update") await db.recovery.update({ where: { id: recoveries[i]! }, data: o.fields });
            if (o.kind === "send") await db.message.update({ where: { id: messages[i]! }, data: { status: "sent", sentAt: o.at } });
            if (o.kind === "unsend") await db.message.update({ where: { id: messages[i]! }, data: { status: "failed" } });
            if (o.kind === "click") await db.click.create({ data: { shopId: shop.id, messageId: messages[i]!, recoveryId: recoveries[i]!, clickedAt: o.at } });
          }
        }
        expect(normalise(await fromStats(shop.id))).toEqual(normalise(await recount(shop.id)));
      }),
      { numRuns: 25 },
    );
  });

  it("credits conversions to the day, currency and source they happened in, link and window apart", async () => {
    const shop = await db.shop.create({ data: { domain: "conv.myshopify.com" } });
    const at = new Date("2026-11-03T10:00:00Z");
    const r = await db.recovery.create({
      data: { shopId: shop.id, source: "stripe", externalId: "cs_1", totalMinor: 500, currency: "EUR", abandonedAt: at, sourceUpdatedAt: at },
    });
    const campaign = await db.campaign.create({
      data: { shopId: shop.id, name: "c", steps: { create: { position: 1, delayMinutes: 60, subject: "s", bodyTemplate: "b" } } },
      include: { steps: true },
    });
    const message = await db.message.create({
      data: {
        shopId: shop.id,
        recoveryId: r.id,
        campaignId: campaign.id,
        stepId: campaign.steps[0]!.id,
        position: 1,
        status: "sent",
        scheduledFor: at,
        sentAt: at,
      },
    });
    await db.conversion.create({
      data: {
        shopId: shop.id,
        recoveryId: r.id,
        messageId: message.id,
        method: "link",
        matchedBy: "recovered_from",
        source: "stripe",
        externalId: "cs_2",
        amountMinor: 450,
        currency: "EUR",
        convertedAt: new Date("2026-11-04T09:00:00Z"),
      },
    });
    await db.conversion.create({
      data: {
        shopId: shop.id,
        recoveryId: r.id,
        messageId: message.id,
        method: "window",
        matchedBy: "payment",
        source: "stripe",
        externalId: "cs_3",
        amountMinor: 990,
        currency: "EUR",
        convertedAt: new Date("2026-11-04T11:00:00Z"),
      },
    });
    const stat = await db.dailyStat.findUniqueOrThrow({
      where: { shopId_currency_day_source: { shopId: shop.id, currency: "EUR", day: "2026-11-04", source: "stripe" } },
    });
    expect(stat).toMatchObject({ linkConversions: 1, linkRevenueMinor: 450n, windowConversions: 1, windowRevenueMinor: 990n });
  });

  it("sums a JPY shop's large orders exactly, far past 32 bits, from the row to the overview", async () => {
    const { loadOverview } = await import("~/models/dashboard.server");
    const shop = await db.shop.create({ data: { domain: "yen.myshopify.com", currency: "JPY" } });
    const at = new Date("2026-11-03T10:00:00Z");
    const campaign = await db.campaign.create({
      data: { shopId: shop.id, name: "c", steps: { create: { position: 1, delayMinutes: 60, subject: "s", bodyTemplate: "b" } } },
      include: { steps: true },
    });
    // Three carts of ¥1,500,000,000 (a 32-bit column holds at most 2,147,483,647), each recovered by link.
    const big = 1_500_000_000;
    for (let i = 0; i < 3; i++) {
      const r = await db.recovery.create({
        data: {
          shopId: shop.id,
          source: "shopify",
          externalId: `gid://shopify/AbandonedCheckout/${i}`,
          totalMinor: big,
          currency: "JPY",
          abandonedAt: at,
          sourceUpdatedAt: at,
        },
      });
      const m = await db.message.create({
        data: {
          shopId: shop.id,
          recoveryId: r.id,
          campaignId: campaign.id,
          stepId: campaign.steps[0]!.id,
          position: 1,
          status: "sent",
          scheduledFor: at,
          sentAt: at,
        },
      });
      await db.conversion.create({
        data: {
          shopId: shop.id,
          recoveryId: r.id,
          messageId: m.id,
          method: "link",
          matchedBy: "completedAt",
          source: "shopify",
          externalId: r.externalId,
          amountMinor: big,
          currency: "JPY",
          convertedAt: new Date("2026-11-03T12:00:00Z"),
        },
      });
    }
    const overview = await loadOverview(db, { shopId: shop.id, from: at, to: at, currency: "JPY", consentPolicy: "explicit", now: at });
    expect(overview.total.abandonedValueMinor).toBe(3 * big);
    expect(overview.total.recoveredByLink).toEqual({ count: 3, revenueMinor: 3 * big });
  });

  it("does not count a checkout completed before Reclaim sent anything as recovered (e.g. from the install backfill)", async () => {
    const shop = await db.shop.create({ data: { domain: "backfill.myshopify.com" } });
    const at = new Date("2026-11-02T10:00:00Z");
    const r = await db.recovery.create({
      data: {
        shopId: shop.id,
        source: "shopify",
        externalId: "gid://shopify/AbandonedCheckout/9",
        totalMinor: 500,
        currency: "USD",
        abandonedAt: at,
        sourceUpdatedAt: at,
      },
    });
    await db.conversion.create({
      data: {
        shopId: shop.id,
        recoveryId: r.id,
        method: "link",
        matchedBy: "completedAt",
        source: "shopify",
        externalId: r.externalId,
        amountMinor: 500,
        currency: "USD",
        convertedAt: new Date("2026-11-02T12:00:00Z"),
      },
    });
    expect(await db.dailyStat.findMany({ where: { shopId: shop.id, linkConversions: { gt: 0 } } })).toEqual([]);
    expect(await db.conversion.count({ where: { shopId: shop.id } })).toBe(1); // the fact is kept
  });
});
