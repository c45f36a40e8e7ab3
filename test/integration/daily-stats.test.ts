import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { db } from "~/db.server";

/** What DailyStat must say, recounted from the rows themselves. */
async function recount(shopId: string) {
  return db.$queryRaw<Record<string, unknown>[]>`
    WITH rec AS (
      SELECT shopId, substr(abandonedAt,1,10) AS day, currency, source, COUNT(*) AS abandoned, SUM(totalMinor) AS abandonedValueMinor,
        SUM(notContactableReason IS 'no_email') AS noEmail, SUM(notContactableReason IS 'no_recovery_link') AS noRecoveryLink,
        SUM(notContactableReason IS NULL AND consent = 'opt_in') AS optIn, SUM(notContactableReason IS NULL AND consent = 'opt_out') AS optOut,
        SUM(notContactableReason IS NULL AND consent NOT IN ('opt_in','opt_out')) AS consentUnknown, SUM(status = 'recovered') AS recovered
      FROM Recovery WHERE shopId = ${shopId} AND pixelOnly = 0 GROUP BY 1,2,3,4),
    sent AS (SELECT r.shopId, substr(m.sentAt,1,10) AS day, r.currency, r.source, COUNT(*) AS emailsSent FROM Message m JOIN Recovery r ON r.id = m.recoveryId WHERE m.shopId = ${shopId} AND m.status = 'sent' GROUP BY 1,2,3,4),
    clk AS (SELECT r.shopId, substr(k.clickedAt,1,10) AS day, r.currency, r.source, COUNT(*) AS clicks FROM Click k JOIN Recovery r ON r.id = k.recoveryId WHERE k.shopId = ${shopId} GROUP BY 1,2,3,4)
    SELECT 'rec' AS kind, day, currency, source, abandoned AS a, abandonedValueMinor AS b, noEmail AS c, noRecoveryLink AS d, optIn AS e, optOut AS f, consentUnknown AS g, recovered AS h FROM rec
    UNION ALL SELECT 'sent', day, currency, source, emailsSent, 0, 0, 0, 0, 0, 0, 0 FROM sent
    UNION ALL SELECT 'clk', day, currency, source, clicks, 0, 0, 0, 0, 0, 0, 0 FROM clk`;
}

async function fromStats(shopId: string) {
  const rows = await db.dailyStat.findMany({ where: { shopId } });
  const out: Record<string, unknown>[] = [];
  for (const r of rows) {
    if (r.abandoned || r.abandonedValueMinor || r.noEmail || r.noRecoveryLink || r.optIn || r.optOut || r.consentUnknown || r.recovered)
      out.push({ kind: "rec", day: r.day, currency: r.currency, source: r.source, a: r.abandoned, b: r.abandonedValueMinor, c: r.noEmail, d: r.noRecoveryLink, e: r.optIn, f: r.optOut, g: r.consentUnknown, h: r.recovered });
    if (r.emailsSent) out.push({ kind: "sent", day: r.day, currency: r.currency, source: r.source, a: r.emailsSent, b: 0, c: 0, d: 0, e: 0, f: 0, g: 0, h: 0 });
    if (r.clicks) out.push({ kind: "clk", day: r.day, currency: r.currency, source: r.source, a: r.clicks, b: 0, c: 0, d: 0, e: 0, f: 0, g: 0, h: 0 });
  }
  return out;
}

const normalise = (rows: Record<string, unknown>[]) =>
  rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === "bigint" ? Number(v) : v]))).sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y)));

const day = fc.integer({ min: 1, max: 5 }).map((d) => new Date(Date.UTC(2026, 10, d, 12)));
const recoveryFields = fc.record({
  source: fc.constantFrom("shopify", "stripe"),
  currency: fc.constantFrom("USD", "EUR"),
  totalMinor: fc.integer({ min: 0, max: 100_000 }),
  consent: fc.constantFrom("opt_in", "opt_out", "unknown"),
  status: fc.constantFrom("open", "contacting", "recovered", "lost"),
  notContactableReason: fc.constantFrom(null, "no_email", "no_recovery_link"),
  abandonedAt: day,
  // Seen only by the checkout pixel: not counted until Shopify confirms it (ADR 050).
  pixelOnly: fc.boolean(),
});
const op = fc.oneof(
  fc.record({ kind: fc.constant("create" as const), fields: recoveryFields }),
  fc.record({ kind: fc.constant("update" as const), pick: fc.nat(), fields: recoveryFields.map((f) => ({ status: f.status, consent: f.consent, totalMinor: f.totalMinor, notContactableReason: f.notContactableReason, abandonedAt: f.abandonedAt, pixelOnly: f.pixelOnly })) }),
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
        const campaign = await db.campaign.create({ data: { shopId: shop.id, name: "c", steps: { create: { position: 1, delayMinutes: 1, subject: "s", bodyTemplate: "b" } } }, include: { steps: true } });
        const recoveries: string[] = [];
        const messages: string[] = [];
        for (const o of ops) {
          if (o.kind === "create") {
            const r = await db.recovery.create({ data: { ...o.fields, shopId: shop.id, externalId: `x${recoveries.length}`, sourceUpdatedAt: o.fields.abandonedAt } });
            recoveries.push(r.id);
            messages.push((await db.message.create({ data: { shopId: shop.id, recoveryId: r.id, campaignId: campaign.id, stepId: campaign.steps[0]!.id, position: 1, scheduledFor: o.fields.abandonedAt } })).id);
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
    const r = await db.recovery.create({ data: { shopId: shop.id, source: "stripe", externalId: "cs_1", totalMinor: 500, currency: "EUR", abandonedAt: at, sourceUpdatedAt: at } });
    const campaign = await db.campaign.create({ data: { shopId: shop.id, name: "c", steps: { create: { position: 1, delayMinutes: 60, subject: "s", bodyTemplate: "b" } } }, include: { steps: true } });
    const message = await db.message.create({ data: { shopId: shop.id, recoveryId: r.id, campaignId: campaign.id, stepId: campaign.steps[0]!.id, position: 1, status: "sent", scheduledFor: at, sentAt: at } });
    await db.conversion.create({ data: { shopId: shop.id, recoveryId: r.id, messageId: message.id, method: "link", matchedBy: "recovered_from", source: "stripe", externalId: "cs_2", amountMinor: 450, currency: "EUR", convertedAt: new Date("2026-11-04T09:00:00Z") } });
    await db.conversion.create({ data: { shopId: shop.id, recoveryId: r.id, messageId: message.id, method: "window", matchedBy: "payment", source: "stripe", externalId: "cs_3", amountMinor: 990, currency: "EUR", convertedAt: new Date("2026-11-04T11:00:00Z") } });
    const stat = await db.dailyStat.findUniqueOrThrow({ where: { shopId_currency_day_source: { shopId: shop.id, currency: "EUR", day: "2026-11-04", source: "stripe" } } });
    expect(stat).toMatchObject({ linkConversions: 1, linkRevenueMinor: 450, windowConversions: 1, windowRevenueMinor: 990 });
  });

  it("does not count a checkout completed before Reclaim sent anything as recovered (e.g. from the install backfill)", async () => {
    const shop = await db.shop.create({ data: { domain: "backfill.myshopify.com" } });
    const at = new Date("2026-11-02T10:00:00Z");
    const r = await db.recovery.create({ data: { shopId: shop.id, source: "shopify", externalId: "gid://shopify/AbandonedCheckout/9", totalMinor: 500, currency: "USD", abandonedAt: at, sourceUpdatedAt: at } });
    await db.conversion.create({ data: { shopId: shop.id, recoveryId: r.id, method: "link", matchedBy: "completedAt", source: "shopify", externalId: r.externalId, amountMinor: 500, currency: "USD", convertedAt: new Date("2026-11-02T12:00:00Z") } });
    expect(await db.dailyStat.findMany({ where: { shopId: shop.id, linkConversions: { gt: 0 } } })).toEqual([]);
    expect(await db.conversion.count({ where: { shopId: shop.id } })).toBe(1); // the fact is kept
  });
});
