/** The Recoveries list: filters, search and paging, scoped by shopId like every dashboard read model. */
import { displayName } from "../recovery/full-name";
import { Prisma, type PrismaClient } from "@prisma/client";
import type { Language } from "../i18n/locales";
import { translatorFor } from "../i18n/translator";
import type { Source } from "../recovery/model";
import { wontBeEmailedReason, type Translate } from "../recovery/timeline";

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
  /** The admin's language, for the words in a cart's title (default English). */
  language?: Language;
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

/**
 * A readable title for a cart whose source gives it no name (Stripe `cs_…`): who and what, else a short id; its few
 * words in the admin's language (`t`, English by default).
 */
export function cartTitle(
  r: { name: string | null; firstName: string | null; email: string | null; externalId: string; lineItems: string; kind?: string },
  t: Translate = translatorFor("en"),
): string {
  // A failed payment is stored as "Invoice <number>" (models/payment-recovery.server): the word is said in the admin's language.
  const invoice = r.kind === "payment" && r.name ? /^Invoice (.+)$/.exec(r.name) : null;
  if (invoice) return t("recoveries:cartTitle.invoice", { number: invoice[1] });
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
  const what = first ? (more > 0 ? t("recoveries:cartTitle.more", { first, more }) : first) : null;
  if (who && what) return `${who} — ${what}`;
  return who ?? what ?? t("recoveries:cartTitle.checkout", { id: r.externalId.slice(-6) });
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
  const t = translatorFor(q.language ?? "en");
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
    lastName: true,
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
    const out: RecoveryRow[] = items.map(({ lineItems, firstName, lastName, contact, ...r }) => {
      const own = messages.filter((m) => m.recoveryId === r.id);
      const wontBeEmailed = wontBeEmailedReason({ ...r, contact, consentPolicy: q.consentPolicy ?? "explicit", messages: own });
      const next = wontBeEmailed ? undefined : own.find((m) => m.status === "scheduled");
      return {
        ...r,
        totalMinor: Number(r.totalMinor),
        abandonedAt: r.abandonedAt.toISOString(),
        title: cartTitle(
          { name: r.name, firstName: displayName(firstName, lastName, q.language ?? "en"), email: r.email, externalId: r.externalId, lineItems, kind: r.kind },
          t,
        ),
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
