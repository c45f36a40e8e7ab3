import { Prisma, type PrismaClient } from "@prisma/client";
import type { NotContactableReason, Source } from "../recovery/model";
import { addConversion, type RecoveredByCurrency } from "../recovery/recovered";
export { PERIODS, PERIOD_LABELS, periodBounds, type Period } from "../recovery/recovered";
import { messageSentence, messageTime, reasonInWords, wontBeEmailedReason } from "../recovery/timeline";

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

// ---------------------------------------------------------------------------------------------------------------
// Recoveries list

export interface RecoveryFilters {
  source?: Source;
  /** `cart` | `payment` (failed subscription payments, docs/decisions/087); absent = both. */
  kind?: "cart" | "payment";
  status?: string;
  from?: Date;
  to?: Date;
  minValueMinor?: number;
  maxValueMinor?: number;
  hasEmail?: boolean;
  hasConsent?: boolean;
  /**
   * Free text matched anywhere (case-insensitive) in the email, the checkout name (#1001), the first name, the checkout
   * or session id and the checkout token: Recovery.searchText, trigram-indexed (docs/decisions/083).
   */
  search?: string;
}

export interface RecoveryPageQuery {
  shopId: string;
  filters: RecoveryFilters;
  /** Opaque cursor from a previous page. */
  after?: string | null;
  before?: string | null;
  pageSize?: number;
  /** The shop's consent policy, for "won't be emailed" (default explicit). */
  consentPolicy?: string;
}

export interface RecoveryRow {
  id: string;
  source: string;
  /** `cart` | `payment` (docs/decisions/087). */
  kind: string;
  externalId: string;
  name: string | null;
  email: string | null;
  consent: string;
  status: string;
  totalMinor: number;
  currency: string;
  abandonedAt: string;
  notContactableReason: string | null;
  /** Seen only by the checkout pixel so far (docs/decisions/050). */
  pixelOnly: boolean;
  /** A readable name for the cart: the checkout's name (Shopify), else the buyer and the first item (Stripe). */
  title: string;
  emailsSent: number;
  /** When the next email is planned, null when none is (or none will go: see wontBeEmailed). */
  nextEmailAt: string | null;
  /** Why no email will go out (reason code; app/recovery/timeline.ts), or null. */
  wontBeEmailed: string | null;
}

/** `%`, `_` and `\` typed in the search box are matched as themselves, not as LIKE wildcards. */
const likeLiteral = (text: string) => text.replace(/[\\%_]/g, (c) => `\\${c}`);

/** A readable title for a cart whose source gives it no name (Stripe `cs_…`): who and what, else a short id. */
export function cartTitle(r: { name: string | null; firstName: string | null; email: string | null; externalId: string; lineItems: string }): string {
  if (r.name) return r.name;
  let first: string | null = null;
  let more = 0;
  try {
    const items = JSON.parse(r.lineItems) as { title?: unknown }[];
    if (Array.isArray(items) && typeof items[0]?.title === "string") {
      first = items[0].title;
      more = items.length - 1;
    }
  } catch {
    /* an unreadable cart just has no item in its title */
  }
  const who = r.firstName ?? r.email;
  const what = first ? `${first}${more > 0 ? ` + ${more} more` : ""}` : null;
  if (who && what) return `${who} — ${what}`;
  return who ?? what ?? `Checkout …${r.externalId.slice(-6)}`;
}

interface Cursor {
  at: string;
  id: string;
}
const encodeCursor = (c: Cursor) => Buffer.from(JSON.stringify(c)).toString("base64url");
function decodeCursor(value: string | null | undefined): Cursor | null {
  if (!value) return null;
  try {
    const c = JSON.parse(Buffer.from(value, "base64url").toString("utf8"));
    if (typeof c?.at === "string" && typeof c?.id === "string" && !Number.isNaN(Date.parse(c.at))) return c;
  } catch {
    /* fall through: a bad cursor is treated as "first page" */
  }
  return null;
}

/**
 * One page of recoveries, newest abandonment first, with keyset pagination on (abandonedAt, id) so page 1,000 costs
 * what page 1 costs.
 */
export async function listRecoveries(db: PrismaClient, q: RecoveryPageQuery) {
  const pageSize = q.pageSize ?? 25;
  const f = q.filters;
  const where: Prisma.RecoveryWhereInput = {
    shopId: q.shopId,
    ...(f.source ? { source: f.source } : {}),
    ...(f.kind ? { kind: f.kind } : {}),
    // A merged row is a second record of a checkout listed under the other one: shown only when asked for.
    status: f.status ? f.status : { not: "merged" },
    ...(f.from || f.to ? { abandonedAt: { ...(f.from ? { gte: f.from } : {}), ...(f.to ? { lt: f.to } : {}) } } : {}),
    ...(f.minValueMinor != null || f.maxValueMinor != null
      ? { totalMinor: { ...(f.minValueMinor != null ? { gte: f.minValueMinor } : {}), ...(f.maxValueMinor != null ? { lte: f.maxValueMinor } : {}) } }
      : {}),
    ...(f.hasEmail === true ? { email: { not: null } } : f.hasEmail === false ? { email: null } : {}),
    ...(f.hasConsent === true ? { consent: "opt_in" } : f.hasConsent === false ? { consent: { not: "opt_in" } } : {}),
    // searchText is lower-cased by PostgreSQL; LIKE '%…%' on it uses the trigram index.
    ...(f.search?.trim() ? { searchText: { contains: likeLiteral(f.search.trim().toLowerCase()) } } : {}),
  };
  const after = decodeCursor(q.after);
  const before = after ? null : decodeCursor(q.before);
  const keyset = (c: Cursor, dir: "older" | "newer"): Prisma.RecoveryWhereInput => {
    const at = new Date(c.at);
    return dir === "older"
      ? { OR: [{ abandonedAt: { lt: at } }, { abandonedAt: at, id: { lt: c.id } }] }
      : { OR: [{ abandonedAt: { gt: at } }, { abandonedAt: at, id: { gt: c.id } }] };
  };
  const select = {
    id: true,
    source: true,
    kind: true,
    externalId: true,
    name: true,
    email: true,
    consent: true,
    status: true,
    totalMinor: true,
    currency: true,
    abandonedAt: true,
    notContactableReason: true,
    pixelOnly: true,
    firstName: true,
    lineItems: true,
    contact: { select: { unsubscribedAt: true, suppressedAt: true } },
  } as const;

  type Row = Prisma.RecoveryGetPayload<{ select: typeof select }>;
  let rows: Row[];
  if (before) {
    rows = await db.recovery.findMany({
      where: { AND: [where, keyset(before, "newer")] },
      orderBy: [{ abandonedAt: "asc" }, { id: "asc" }],
      take: pageSize + 1,
      select,
    });
    const hasPrevious = rows.length > pageSize;
    rows = rows.slice(0, pageSize).reverse();
    return page(rows, hasPrevious, true, await messagesOf(rows));
  }
  rows = await db.recovery.findMany({
    where: after ? { AND: [where, keyset(after, "older")] } : where,
    orderBy: [{ abandonedAt: "desc" }, { id: "desc" }],
    take: pageSize + 1,
    select,
  });
  const hasNext = rows.length > pageSize;
  rows = rows.slice(0, pageSize);
  return page(rows, after !== null, hasNext, await messagesOf(rows));

  /** The page's emails (at most a few per row): what was sent, what comes next, what was skipped. */
  async function messagesOf(items: Row[]) {
    if (items.length === 0) return [];
    return db.message.findMany({
      where: { shopId: q.shopId, recoveryId: { in: items.map((r) => r.id) } },
      orderBy: { position: "asc" },
      select: { recoveryId: true, status: true, scheduledFor: true, skipReason: true },
    });
  }

  function page(items: Row[], hasPrevious: boolean, hasNext: boolean, messages: Awaited<ReturnType<typeof messagesOf>>) {
    const out: RecoveryRow[] = items.map(({ lineItems, firstName, contact, ...r }) => {
      const own = messages.filter((m) => m.recoveryId === r.id);
      const wontBeEmailed = wontBeEmailedReason({ ...r, contact, consentPolicy: q.consentPolicy ?? "explicit", messages: own });
      const next = wontBeEmailed ? undefined : own.find((m) => m.status === "scheduled");
      return {
        ...r,
        totalMinor: Number(r.totalMinor),
        abandonedAt: r.abandonedAt.toISOString(),
        title: cartTitle({ name: r.name, firstName, email: r.email, externalId: r.externalId, lineItems }),
        emailsSent: own.filter((m) => m.status === "sent").length,
        nextEmailAt: next?.scheduledFor.toISOString() ?? null,
        wontBeEmailed,
      };
    });
    const first = out[0];
    const last = out[out.length - 1];
    return {
      rows: out,
      previousCursor: hasPrevious && first ? encodeCursor({ at: first.abandonedAt, id: first.id }) : null,
      nextCursor: hasNext && last ? encodeCursor({ at: last.abandonedAt, id: last.id }) : null,
    };
  }
}

// ---------------------------------------------------------------------------------------------------------------
// One recovery

const paymentOpenedLabel = (r: { paymentReason: string | null; attemptCount: number | null }) =>
  r.paymentReason === "action_required"
    ? "Subscription payment needs the customer's confirmation on Stripe"
    : `Subscription payment failed on Stripe${r.attemptCount ? ` (attempt ${r.attemptCount})` : ""}`;

export type TimelineEvent =
  | { at: string; kind: "abandoned"; label: string }
  | {
      at: string;
      kind: "message";
      label: string;
      status: string;
      detail: string | null;
      /** The message, when its email as sent can be opened ("View this email"). */
      viewableMessageId: string | null;
      /** What the decision log recorded for this email (codes and details), shown under "Technical details". */
      technical: { at: string; outcome: string; reason: string; detail: string | null }[];
    }
  | { at: string; kind: "decision"; label: string; outcome: string; reason: string; detail: string | null }
  | { at: string; kind: "click"; label: string }
  | { at: string; kind: "conversion"; label: string; method: string; matchedBy: string; amountMinor: number; currency: string };

const MATCHED_BY: Record<string, string> = {
  completedAt: "the checkout was completed (Shopify completedAt)",
  recovered_from: "Stripe recovered_from on the completed session",
  checkout_token: "an order with this checkout's token",
  cart_token: "an order from this checkout's cart",
  order: "an order by the same contact after a click",
  payment: "a payment by the same contact after a click",
  invoice_paid: "the invoice was paid on Stripe",
};

/**
 * The recovery with its cart, contact, consent evidence and a timeline of sentences, or null if it is not this shop's.
 * `formatAt` formats times inside sentences (the shop's locale and time zone); `consentPolicy` decides "won't be emailed".
 */
export async function loadRecoveryDetail(
  db: PrismaClient,
  shopId: string,
  id: string,
  options: { consentPolicy?: string; formatAt?: (iso: string) => string; now?: Date } = {},
) {
  const formatAt = options.formatAt ?? ((iso: string) => iso);
  const nowIso = (options.now ?? new Date()).toISOString();
  const recovery = await db.recovery.findFirst({
    where: { id, shopId },
    include: {
      contact: true,
      // bodyHtml stays in the database: only "View this email" reads it.
      messages: {
        orderBy: { position: "asc" },
        select: {
          id: true,
          position: true,
          status: true,
          scheduledFor: true,
          sentAt: true,
          subject: true,
          skipReason: true,
          lastError: true,
          updatedAt: true,
          bodyHtml: false,
        },
      },
      decisions: { orderBy: { decidedAt: "asc" } },
      clicks: { orderBy: { clickedAt: "asc" } },
      conversions: true,
    },
  });
  if (!recovery) return null;

  const wontBeEmailed = wontBeEmailedReason({
    status: recovery.status,
    notContactableReason: recovery.notContactableReason,
    pixelOnly: recovery.pixelOnly,
    consent: recovery.consent,
    consentPolicy: options.consentPolicy ?? "explicit",
    kind: recovery.kind,
    contact: recovery.contact,
    messages: recovery.messages,
  });
  const timeline: TimelineEvent[] = [
    {
      at: recovery.abandonedAt.toISOString(),
      kind: "abandoned",
      label: recovery.kind === "payment" ? paymentOpenedLabel(recovery) : `Abandoned on ${recovery.source === "shopify" ? "Shopify" : "Stripe"}`,
    },
  ];
  const technicalOf = (messageId: string) =>
    recovery.decisions
      .filter((d) => d.messageId === messageId)
      .map((d) => ({ at: d.decidedAt.toISOString(), outcome: d.outcome, reason: d.reason, detail: d.detail }));
  for (const m of recovery.messages) {
    const times = {
      status: m.status,
      scheduledFor: m.scheduledFor.toISOString(),
      sentAt: m.sentAt?.toISOString() ?? null,
      updatedAt: m.updatedAt.toISOString(),
    };
    timeline.push({
      at: messageTime(times, nowIso),
      kind: "message",
      label: messageSentence({ ...m, scheduledFor: times.scheduledFor, sentAt: times.sentAt }, formatAt, wontBeEmailed),
      status: m.status,
      detail: m.lastError ?? null,
      viewableMessageId: m.subject !== null && (m.status === "sent" || m.status === "sending" || m.status === "failed") ? m.id : null,
      technical: technicalOf(m.id),
    });
  }
  for (const d of recovery.decisions) {
    // Sends, skips, holds and cancels of an email are on that email's line (and under its technical details).
    if (d.outcome === "send" || (d.messageId && recovery.messages.some((m) => m.id === d.messageId))) {
      if (d.outcome === "hold") {
        timeline.push({
          at: d.decidedAt.toISOString(),
          kind: "decision",
          label: `Email ${recovery.messages.find((m) => m.id === d.messageId)?.position ?? ""} postponed: ${d.detail ?? reasonInWords(d.reason)}`,
          outcome: d.outcome,
          reason: d.reason,
          detail: d.detail,
        });
      }
      continue;
    }
    timeline.push({
      at: d.decidedAt.toISOString(),
      kind: "decision",
      label: d.detail ?? reasonInWords(d.reason),
      outcome: d.outcome,
      reason: d.reason,
      detail: d.detail,
    });
  }
  for (const c of recovery.clicks) timeline.push({ at: c.clickedAt.toISOString(), kind: "click", label: "Clicked the recovery link" });
  for (const v of recovery.conversions) {
    timeline.push({
      at: v.convertedAt.toISOString(),
      kind: "conversion",
      label: `Recovered (${v.method === "link" ? "by link" : "by window"}): ${MATCHED_BY[v.matchedBy] ?? v.matchedBy}`,
      method: v.method,
      matchedBy: v.matchedBy,
      amountMinor: Number(v.amountMinor),
      currency: v.currency,
    });
  }
  timeline.sort((a, b) => a.at.localeCompare(b.at));

  return {
    id: recovery.id,
    source: recovery.source,
    externalId: recovery.externalId,
    name: recovery.name,
    status: recovery.status,
    email: recovery.email,
    firstName: recovery.firstName,
    consent: recovery.consent,
    consentEvidence: JSON.parse(recovery.consentEvidence) as Record<string, unknown>,
    lineItems: JSON.parse(recovery.lineItems) as {
      title: string;
      variantTitle: string | null;
      quantity: number;
      imageUrl: string | null;
      unitPriceMinor: number;
      totalPriceMinor: number;
    }[],
    totalMinor: Number(recovery.totalMinor),
    currency: recovery.currency,
    locale: recovery.locale,
    recoveryUrl: recovery.recoveryUrl,
    recoveryUrlExpiresAt: recovery.recoveryUrlExpiresAt?.toISOString() ?? null,
    notContactableReason: recovery.notContactableReason,
    pixelOnly: recovery.pixelOnly,
    pixelCompletedAt: recovery.pixelCompletedAt?.toISOString() ?? null,
    abandonedAt: recovery.abandonedAt.toISOString(),
    /** Stripe Checkout mode (`payment` | `subscription`), null for Shopify (docs/decisions/076-stripe-modes-and-reversals.md). */
    checkoutMode: recovery.checkoutMode,
    kind: recovery.kind,
    /** Payment recoveries (docs/decisions/087): why, Stripe's attempts and next retry, the subscription. */
    payment:
      recovery.kind === "payment"
        ? {
            reason: recovery.paymentReason,
            attemptCount: recovery.attemptCount,
            nextPaymentAttemptAt: recovery.nextPaymentAttemptAt?.toISOString() ?? null,
            subscriptionId: recovery.subscriptionId,
          }
        : null,
    contact: recovery.contact
      ? {
          email: recovery.contact.email,
          unsubscribedAt: recovery.contact.unsubscribedAt?.toISOString() ?? null,
          suppressedAt: recovery.contact.suppressedAt?.toISOString() ?? null,
          suppressionReason: recovery.contact.suppressionReason,
          lastPurchaseAt: recovery.contact.lastPurchaseAt?.toISOString() ?? null,
        }
      : null,
    pendingMessages: recovery.messages.filter((m) => m.status === "scheduled").length,
    /** Why no email will go out as things stand (a reason code; words in app/recovery/timeline.ts), or null. */
    wontBeEmailed,
    timeline,
  };
}
