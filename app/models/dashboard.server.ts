import { Prisma, type PrismaClient } from "@prisma/client";
import type { NotContactableReason, Source } from "../recovery/model";
import { addConversion, type RecoveredByCurrency } from "../recovery/recovered";

export { PERIODS, PERIOD_LABELS, periodBounds, type Period } from "../recovery/recovered";

/**
 * Read models for the merchant dashboard. Every query is scoped by shopId (invariant 4) and uses an index that
 * starts with shopId; aggregates run in SQL so the loaders stay fast at a million recoveries (bench/dashboard.ts).
 */

export interface SourceFigures {
  abandoned: number;
  abandonedValueMinor: number;
  contactable: number;
  /** Why the rest cannot be emailed. `link_expired` counts recoveries whose emails were skipped because the link had expired. */
  notContactable: Record<NotContactableReason, number>;
  emailsSent: number;
  clicks: number;
  /** Credited by link: Shopify completedAt on the same checkout, Stripe recovered_from. */
  recoveredByLink: { count: number; revenueMinor: number };
  /** Credited by window: an order or payment by the same contact within N days after a click. Never summed with link. */
  recoveredByWindow: { count: number; revenueMinor: number };
}

export interface Overview {
  currency: string;
  currencies: string[];
  from: string;
  to: string;
  bySource: Record<Source, SourceFigures>;
  total: SourceFigures;
  /** Link-attributed recoveries ÷ abandoned, 0–1; null when nothing was abandoned. */
  recoveryRate: number | null;
  /** Per day: abandoned carts by source, and `recovered` = purchases credited by link that day (the same conversions
   *  as "Recovered by link": after a Reclaim email, not reversed; docs/decisions/082). */
  daily: { day: string; abandonedShopify: number; abandonedStripe: number; recovered: number }[];
  /** Recovered figures of the period in every currency (the selected one included), so the page can summarise the
   *  others beside the selected currency instead of dropping them. */
  recoveredByCurrency: RecoveredByCurrency;
  /** Abandoned carts of the period per currency (count and value), for the same summary. */
  abandonedByCurrency: Record<string, { count: number; valueMinor: number }>;
  /** Shopify carts whose Reclaim campaign was held in the period because Shopify's own abandoned-checkout email went out (docs/decisions/075). */
  heldForShopifyEmail: number;
}

const emptyFigures = (): SourceFigures => ({
  abandoned: 0,
  abandonedValueMinor: 0,
  contactable: 0,
  notContactable: { no_email: 0, no_recovery_link: 0, no_consent: 0, unsubscribed: 0, link_expired: 0 },
  emailsSent: 0,
  clicks: 0,
  recoveredByLink: { count: 0, revenueMinor: 0 },
  recoveredByWindow: { count: 0, revenueMinor: 0 },
});

export interface OverviewQuery {
  shopId: string;
  /** First and last UTC day of the period (inclusive). */
  from: Date;
  to: Date;
  currency: string;
  /** `explicit`: only opt-in is contactable; `implied`: anything but opt-out. */
  consentPolicy: string;
  now: Date;
}

/** UTC calendar day of a date, as DailyStat stores it. */
export const utcDay = (d: Date) => d.toISOString().slice(0, 10);

/**
 * The SQL form of the one definition of "recovered" (app/recovery/recovered.ts), for a Conversion aliased `c`: a Reclaim
 * email was sent before the purchase and it still stands; it is worth `amountMinor - refundedMinor`. The DailyStat
 * triggers apply the same rule to the Overview's totals (test/integration/recovered-definition.test.ts holds them equal).
 */
export const RECOVERED_CONVERSION = Prisma.sql`c."messageId" IS NOT NULL AND c."reversedAt" IS NULL`;
export const RECOVERED_AMOUNT = Prisma.sql`(c."amountMinor" - c."refundedMinor")`;

/** Whether the shop has any recovery yet (the Overview shows its first-run state until it has). */
export async function shopHasRecoveries(db: PrismaClient, shopId: string): Promise<boolean> {
  return (await db.recovery.findFirst({ where: { shopId }, select: { id: true } })) !== null;
}

/**
 * The overview for whole UTC days from `from` to `to` (inclusive). Figures come from DailyStat, which triggers keep exact
 * (prisma/migrations/20261206000100_daily_stats_triggers), so any period costs a few hundred rows. Two figures depend
 * on today's state rather than the day's and are read live, from small indexed sets: recoveries whose contact has since
 * unsubscribed or been suppressed, and recoveries whose emails were skipped because the recovery link had expired.
 */
export async function loadOverview(db: PrismaClient, q: OverviewQuery): Promise<Overview> {
  const fromDay = utcDay(q.from);
  const toDay = utcDay(q.to);
  const from = new Date(`${fromDay}T00:00:00Z`);
  const to = new Date(new Date(`${toDay}T00:00:00Z`).getTime() + 86_400_000);
  const implied = q.consentPolicy === "implied";
  const consentOk = implied ? Prisma.sql`r.consent <> 'opt_out'` : Prisma.sql`r.consent = 'opt_in'`;

  type StatRow = {
    source: Source;
    day: string;
    abandoned: number;
    abandonedValueMinor: number;
    noEmail: number;
    noRecoveryLink: number;
    optIn: number;
    optOut: number;
    consentUnknown: number;
    recovered: number;
    emailsSent: number;
    clicks: number;
    linkConversions: number;
    linkRevenueMinor: number;
    windowConversions: number;
    windowRevenueMinor: number;
  };
  const [stats, unsubscribed, expired, currencies, perCurrency] = await Promise.all([
    // Money sums are BigInt columns; one day's sum is far below 2^53, so a JS number holds it exactly.
    db.dailyStat.findMany({ where: { shopId: q.shopId, currency: q.currency, day: { gte: fromDay, lte: toDay } }, orderBy: { day: "asc" } }).then((rows) =>
      rows.map((r): StatRow => ({
        ...r,
        source: r.source as Source,
        abandonedValueMinor: Number(r.abandonedValueMinor),
        linkRevenueMinor: Number(r.linkRevenueMinor),
        windowRevenueMinor: Number(r.windowRevenueMinor),
      })),
    ),
    db.$queryRaw<{ source: Source; n: bigint }[]>`
      SELECT r."source" AS "source", COUNT(*) AS "n"
      FROM "Recovery" r
      -- Starts from the (few) unsubscribed or suppressed contacts, never from the period's recoveries.
      WHERE r."contactId" IN (
          SELECT "id" FROM "Contact" WHERE "shopId" = ${q.shopId} AND "unsubscribedAt" IS NOT NULL
          UNION SELECT "id" FROM "Contact" WHERE "shopId" = ${q.shopId} AND "suppressedAt" IS NOT NULL)
        AND r."currency" = ${q.currency} AND r."abandonedAt" >= ${from} AND r."abandonedAt" < ${to}
        AND r."notContactableReason" IS NULL AND ${consentOk} AND r."kind" = 'cart'
      GROUP BY 1`,
    db.$queryRaw<{ source: Source; n: bigint }[]>`
      SELECT r."source" AS "source", COUNT(DISTINCT d."recoveryId") AS "n"
      FROM "DecisionLog" d JOIN "Recovery" r ON r."id" = d."recoveryId"
      WHERE d."shopId" = ${q.shopId} AND d."reason" = 'link_expired' AND d."decidedAt" >= ${from} AND d."decidedAt" < ${to} AND r."currency" = ${q.currency}
        AND r."kind" = 'cart'
      GROUP BY 1`,
    // Distinct currencies by skipping through the index (one probe per currency, not a scan).
    db.$queryRaw<{ cur: string }[]>`
      WITH RECURSIVE c(cur) AS (
        SELECT MIN("currency") FROM "Recovery" WHERE "shopId" = ${q.shopId}
        UNION ALL
        SELECT (SELECT MIN("currency") FROM "Recovery" WHERE "shopId" = ${q.shopId} AND "currency" > c.cur) FROM c WHERE c.cur IS NOT NULL
      )
      SELECT cur FROM c WHERE cur IS NOT NULL`,
    db.dailyStat.groupBy({
      by: ["currency"],
      // Carts only: payment recoveries' rows (source `stripe_billing`) have their own section (docs/decisions/087).
      where: { shopId: q.shopId, day: { gte: fromDay, lte: toDay }, source: { in: ["shopify", "stripe"] } },
      _sum: { abandoned: true, abandonedValueMinor: true, linkConversions: true, linkRevenueMinor: true, windowConversions: true, windowRevenueMinor: true },
    }),
  ]);
  const recoveredByCurrency: RecoveredByCurrency = {};
  const abandonedByCurrency: Overview["abandonedByCurrency"] = {};
  for (const row of perCurrency) {
    addConversion(recoveredByCurrency, "link", row.currency, row._sum.linkConversions ?? 0, Number(row._sum.linkRevenueMinor ?? 0));
    addConversion(recoveredByCurrency, "window", row.currency, row._sum.windowConversions ?? 0, Number(row._sum.windowRevenueMinor ?? 0));
    abandonedByCurrency[row.currency] = { count: row._sum.abandoned ?? 0, valueMinor: Number(row._sum.abandonedValueMinor ?? 0) };
  }

  const bySource: Record<Source, SourceFigures> = { shopify: emptyFigures(), stripe: emptyFigures() };
  const days = new Map<string, Overview["daily"][number]>();
  // Every day of the period appears, with zeros where nothing happened, so the chart's time axis is honest.
  for (let t = Date.parse(fromDay); t <= Date.parse(toDay); t += 86_400_000) {
    const day = new Date(t).toISOString().slice(0, 10);
    days.set(day, { day, abandonedShopify: 0, abandonedStripe: 0, recovered: 0 });
  }
  for (const row of stats) {
    const f = bySource[row.source];
    if (!f) continue;
    f.abandoned += row.abandoned;
    f.abandonedValueMinor += row.abandonedValueMinor;
    f.notContactable.no_email += row.noEmail;
    f.notContactable.no_recovery_link += row.noRecoveryLink;
    f.notContactable.no_consent += implied ? row.optOut : row.optOut + row.consentUnknown;
    f.contactable += implied ? row.optIn + row.consentUnknown : row.optIn;
    f.emailsSent += row.emailsSent;
    f.clicks += row.clicks;
    f.recoveredByLink.count += row.linkConversions;
    f.recoveredByLink.revenueMinor += row.linkRevenueMinor;
    f.recoveredByWindow.count += row.windowConversions;
    f.recoveredByWindow.revenueMinor += row.windowRevenueMinor;
    const d = days.get(row.day);
    if (d) {
      if (row.source === "shopify") d.abandonedShopify += row.abandoned;
      else d.abandonedStripe += row.abandoned;
      // Not `row.recovered` (recoveries abandoned that day now marked recovered): the chart counts what the figures count.
      d.recovered += row.linkConversions;
    }
  }
  for (const row of unsubscribed) {
    const f = bySource[row.source];
    if (!f) continue;
    f.notContactable.unsubscribed += Number(row.n);
    f.contactable -= Number(row.n);
  }
  for (const row of expired) {
    const f = bySource[row.source];
    if (f) f.notContactable.link_expired += Number(row.n);
  }

  const total = emptyFigures();
  for (const f of Object.values(bySource)) {
    total.abandoned += f.abandoned;
    total.abandonedValueMinor += f.abandonedValueMinor;
    total.contactable += f.contactable;
    for (const reason of Object.keys(f.notContactable) as NotContactableReason[]) total.notContactable[reason] += f.notContactable[reason];
    total.emailsSent += f.emailsSent;
    total.clicks += f.clicks;
    total.recoveredByLink.count += f.recoveredByLink.count;
    total.recoveredByLink.revenueMinor += f.recoveredByLink.revenueMinor;
    total.recoveredByWindow.count += f.recoveredByWindow.count;
    total.recoveredByWindow.revenueMinor += f.recoveredByWindow.revenueMinor;
  }

  // Read from the Recovery(shopId, shopifyEmailHeldAt) index: only held carts are visited.
  const heldForShopifyEmail = await db.recovery.count({
    where: { shopId: q.shopId, shopifyEmailHeldAt: { gte: from, lt: to }, currency: q.currency },
  });

  return {
    heldForShopifyEmail,
    currency: q.currency,
    currencies: [...new Set([q.currency, ...currencies.map((c) => c.cur)])].sort(),
    from: fromDay,
    to: toDay,
    bySource,
    total,
    recoveryRate: total.abandoned === 0 ? null : total.recoveredByLink.count / total.abandoned,
    daily: [...days.values()],
    recoveredByCurrency,
    abandonedByCurrency,
  };
}
