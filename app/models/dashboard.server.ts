import { Prisma, type PrismaClient } from "@prisma/client";
import type { NotContactableReason } from "../components/labels";
import type { Source } from "../recovery/model";

/**
 * Read models for the merchant dashboard. Every query is scoped by shopId (invariant 4) and uses an index that
 * starts with shopId; aggregates run in SQL so the loaders stay fast at a million recoveries (bench/dashboard.ts).
 */

/** How Prisma's SQLite adapter stores DateTime: ISO 8601 with an explicit +00:00 offset (sorts as text). */
export const sqlTime = (d: Date) => d.toISOString().replace("Z", "+00:00");


export interface SourceFigures {
  abandoned: number;
  abandonedValueMinor: number;
  contactable: number;
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
  daily: { day: string; abandonedShopify: number; abandonedStripe: number; recovered: number }[];
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
  from: Date;
  to: Date;
  currency: string;
  /** `explicit`: only opt-in is contactable; `implied`: anything but opt-out. */
  consentPolicy: string;
  now: Date;
}

export async function loadOverview(db: PrismaClient, q: OverviewQuery): Promise<Overview> {
  const from = sqlTime(q.from);
  const to = sqlTime(q.to);
  const now = sqlTime(q.now);
  const noConsent = q.consentPolicy === "implied" ? Prisma.sql`r.consent = 'opt_out'` : Prisma.sql`r.consent <> 'opt_in'`;

  const [abandoned, sent, clicks, conversions, daily, currencies] = await Promise.all([
    // Each recovery counts under its first reason not to contact it, in the order a merchant would fix them.
    db.$queryRaw<{ source: Source; reason: string; n: bigint; value: bigint | null }[]>`
      SELECT r.source AS source,
        CASE
          WHEN r.notContactableReason IS NOT NULL THEN r.notContactableReason
          WHEN ${noConsent} THEN 'no_consent'
          WHEN c.unsubscribedAt IS NOT NULL OR c.suppressedAt IS NOT NULL THEN 'unsubscribed'
          WHEN r.recoveryUrlExpiresAt IS NOT NULL AND r.recoveryUrlExpiresAt < ${now} AND r.status <> 'recovered' THEN 'link_expired'
          ELSE 'contactable'
        END AS reason,
        COUNT(*) AS n, SUM(r.totalMinor) AS value
      FROM Recovery r LEFT JOIN Contact c ON c.id = r.contactId
      WHERE r.shopId = ${q.shopId} AND r.currency = ${q.currency} AND r.abandonedAt >= ${from} AND r.abandonedAt < ${to}
      GROUP BY 1, 2`,
    db.$queryRaw<{ source: Source; n: bigint }[]>`
      SELECT r.source AS source, COUNT(*) AS n
      FROM Message m JOIN Recovery r ON r.id = m.recoveryId
      WHERE m.shopId = ${q.shopId} AND m.sentAt >= ${from} AND m.sentAt < ${to} AND r.currency = ${q.currency}
      GROUP BY 1`,
    db.$queryRaw<{ source: Source; n: bigint }[]>`
      SELECT r.source AS source, COUNT(*) AS n
      FROM Click k JOIN Recovery r ON r.id = k.recoveryId
      WHERE k.shopId = ${q.shopId} AND k.clickedAt >= ${from} AND k.clickedAt < ${to} AND r.currency = ${q.currency}
      GROUP BY 1`,
    db.$queryRaw<{ source: Source; method: string; n: bigint; revenue: bigint | null }[]>`
      SELECT r.source AS source, v.method AS method, COUNT(*) AS n, SUM(v.amountMinor) AS revenue
      FROM Conversion v JOIN Recovery r ON r.id = v.recoveryId
      WHERE v.shopId = ${q.shopId} AND v.convertedAt >= ${from} AND v.convertedAt < ${to} AND v.currency = ${q.currency}
      GROUP BY 1, 2`,
    db.$queryRaw<{ day: string; source: Source; n: bigint; recovered: bigint }[]>`
      SELECT substr(r.abandonedAt, 1, 10) AS day, r.source AS source, COUNT(*) AS n,
        SUM(CASE WHEN r.status = 'recovered' THEN 1 ELSE 0 END) AS recovered
      FROM Recovery r
      WHERE r.shopId = ${q.shopId} AND r.currency = ${q.currency} AND r.abandonedAt >= ${from} AND r.abandonedAt < ${to}
      GROUP BY 1, 2 ORDER BY 1`,
    db.$queryRaw<{ currency: string }[]>`SELECT DISTINCT currency FROM Recovery WHERE shopId = ${q.shopId}`,
  ]);

  const bySource: Record<Source, SourceFigures> = { shopify: emptyFigures(), stripe: emptyFigures() };
  for (const row of abandoned) {
    const f = bySource[row.source];
    if (!f) continue;
    f.abandoned += Number(row.n);
    f.abandonedValueMinor += Number(row.value ?? 0);
    if (row.reason === "contactable") f.contactable += Number(row.n);
    else if (row.reason in f.notContactable) f.notContactable[row.reason as NotContactableReason] += Number(row.n);
  }
  for (const row of sent) if (bySource[row.source]) bySource[row.source].emailsSent = Number(row.n);
  for (const row of clicks) if (bySource[row.source]) bySource[row.source].clicks = Number(row.n);
  for (const row of conversions) {
    const f = bySource[row.source];
    if (!f) continue;
    const target = row.method === "window" ? f.recoveredByWindow : f.recoveredByLink;
    target.count += Number(row.n);
    target.revenueMinor += Number(row.revenue ?? 0);
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

  // Every day of the period appears, with zeros where nothing happened, so the chart's time axis is honest.
  const days = new Map<string, Overview["daily"][number]>();
  for (let t = Date.parse(q.from.toISOString().slice(0, 10)); t < q.to.getTime(); t += 86_400_000) {
    const day = new Date(t).toISOString().slice(0, 10);
    days.set(day, { day, abandonedShopify: 0, abandonedStripe: 0, recovered: 0 });
  }
  for (const row of daily) {
    const d = days.get(row.day) ?? { day: row.day, abandonedShopify: 0, abandonedStripe: 0, recovered: 0 };
    if (row.source === "shopify") d.abandonedShopify += Number(row.n);
    else d.abandonedStripe += Number(row.n);
    d.recovered += Number(row.recovered);
    days.set(row.day, d);
  }

  return {
    currency: q.currency,
    currencies: [...new Set([q.currency, ...currencies.map((c) => c.currency)])].sort(),
    from: q.from.toISOString(),
    to: q.to.toISOString(),
    bySource,
    total,
    recoveryRate: total.abandoned === 0 ? null : total.recoveredByLink.count / total.abandoned,
    daily: [...days.values()],
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Recoveries list

export interface RecoveryFilters {
  source?: Source;
  status?: string;
  from?: Date;
  to?: Date;
  minValueMinor?: number;
  maxValueMinor?: number;
  hasEmail?: boolean;
  hasConsent?: boolean;
  /** Email prefix (case-insensitive). */
  email?: string;
}

export interface RecoveryPageQuery {
  shopId: string;
  filters: RecoveryFilters;
  /** Opaque cursor from a previous page. */
  after?: string | null;
  before?: string | null;
  pageSize?: number;
}

export interface RecoveryRow {
  id: string;
  source: string;
  externalId: string;
  name: string | null;
  email: string | null;
  consent: string;
  status: string;
  totalMinor: number;
  currency: string;
  abandonedAt: string;
  notContactableReason: string | null;
}

interface Cursor { at: string; id: string }
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
    ...(f.status ? { status: f.status } : {}),
    ...(f.from || f.to ? { abandonedAt: { ...(f.from ? { gte: f.from } : {}), ...(f.to ? { lt: f.to } : {}) } } : {}),
    ...(f.minValueMinor != null || f.maxValueMinor != null
      ? { totalMinor: { ...(f.minValueMinor != null ? { gte: f.minValueMinor } : {}), ...(f.maxValueMinor != null ? { lte: f.maxValueMinor } : {}) } }
      : {}),
    ...(f.hasEmail === true ? { email: { not: null } } : f.hasEmail === false ? { email: null } : {}),
    ...(f.hasConsent === true ? { consent: "opt_in" } : f.hasConsent === false ? { consent: { not: "opt_in" } } : {}),
    ...(f.email ? { email: { startsWith: f.email.trim().toLowerCase() } } : {}),
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
    id: true, source: true, externalId: true, name: true, email: true, consent: true, status: true, totalMinor: true, currency: true,
    abandonedAt: true, notContactableReason: true,
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
    return page(rows, hasPrevious, true);
  }
  rows = await db.recovery.findMany({
    where: after ? { AND: [where, keyset(after, "older")] } : where,
    orderBy: [{ abandonedAt: "desc" }, { id: "desc" }],
    take: pageSize + 1,
    select,
  });
  const hasNext = rows.length > pageSize;
  return page(rows.slice(0, pageSize), after !== null, hasNext);

  function page(items: Row[], hasPrevious: boolean, hasNext: boolean) {
    const out: RecoveryRow[] = items.map((r) => ({ ...r, abandonedAt: r.abandonedAt.toISOString() }));
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

export type TimelineEvent =
  | { at: string; kind: "abandoned"; label: string }
  | { at: string; kind: "message"; label: string; status: string; detail: string | null }
  | { at: string; kind: "decision"; label: string; outcome: string; reason: string; detail: string | null }
  | { at: string; kind: "click"; label: string }
  | { at: string; kind: "conversion"; label: string; method: string; matchedBy: string; amountMinor: number; currency: string };

const MATCHED_BY: Record<string, string> = {
  completedAt: "the checkout was completed (Shopify completedAt)",
  recovered_from: "Stripe recovered_from on the completed session",
  checkout_token: "an order with this checkout's token",
  order: "an order by the same contact after a click",
  payment: "a payment by the same contact after a click",
};

/** The recovery with its cart, contact, consent evidence and a timeline, or null if it is not this shop's. */
export async function loadRecoveryDetail(db: PrismaClient, shopId: string, id: string) {
  const recovery = await db.recovery.findFirst({
    where: { id, shopId },
    include: {
      contact: true,
      messages: { orderBy: { position: "asc" }, include: { step: { select: { subject: true, delayMinutes: true } } } },
      decisions: { orderBy: { decidedAt: "asc" } },
      clicks: { orderBy: { clickedAt: "asc" } },
      conversions: true,
    },
  });
  if (!recovery) return null;

  const timeline: TimelineEvent[] = [{ at: recovery.abandonedAt.toISOString(), kind: "abandoned", label: `Abandoned on ${recovery.source === "shopify" ? "Shopify" : "Stripe"}` }];
  for (const m of recovery.messages) {
    const at = (m.sentAt ?? m.scheduledFor).toISOString();
    const label =
      m.status === "sent" ? `Email ${m.position} sent: “${m.step.subject}”`
      : m.status === "scheduled" ? `Email ${m.position} scheduled`
      : `Email ${m.position} ${m.status}`;
    timeline.push({ at, kind: "message", label, status: m.status, detail: m.skipReason ?? m.lastError ?? null });
  }
  for (const d of recovery.decisions) {
    if (d.outcome === "send") continue; // the message itself is on the timeline
    timeline.push({ at: d.decidedAt.toISOString(), kind: "decision", label: d.detail ?? d.reason, outcome: d.outcome, reason: d.reason, detail: d.detail });
  }
  for (const c of recovery.clicks) timeline.push({ at: c.clickedAt.toISOString(), kind: "click", label: "Clicked the recovery link" });
  for (const v of recovery.conversions) {
    timeline.push({
      at: v.convertedAt.toISOString(),
      kind: "conversion",
      label: `Recovered (${v.method === "link" ? "by link" : "by window"}): ${MATCHED_BY[v.matchedBy] ?? v.matchedBy}`,
      method: v.method,
      matchedBy: v.matchedBy,
      amountMinor: v.amountMinor,
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
    lineItems: JSON.parse(recovery.lineItems) as { title: string; variantTitle: string | null; quantity: number; imageUrl: string | null; unitPriceMinor: number; totalPriceMinor: number }[],
    totalMinor: recovery.totalMinor,
    currency: recovery.currency,
    locale: recovery.locale,
    recoveryUrl: recovery.recoveryUrl,
    recoveryUrlExpiresAt: recovery.recoveryUrlExpiresAt?.toISOString() ?? null,
    notContactableReason: recovery.notContactableReason,
    abandonedAt: recovery.abandonedAt.toISOString(),
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
    timeline,
  };
}
