/**
 * Everything one shop holds about one customer, across both sources: the rows a data request exports and a redaction
 * removes. The customer is found by Shopify customer id and by normalised email, then by what those lead to (the
 * checkout tokens, Stripe sessions and orders of their recoveries and purchases), so a checkout stored before the
 * buyer typed an email, or a Stripe session that only carries `client_reference_id`, is found too.
 */
import {
  Prisma,
  type Click,
  type ComplianceRequest,
  type Contact,
  type Conversion,
  type DecisionLog,
  type FlowTriggerDelivery,
  type Message,
  type PixelCheckout,
  type PrismaClient,
  type Purchase,
  type Recovery,
} from "@prisma/client";
import { emailHash } from "../models/email-hash.server";
import {
  clientReferenceIds,
  customerGid,
  hasNeedles,
  isComplianceTopic,
  mentions,
  needlesFor,
  orderGid,
  parseKeepingDigits,
  type Needles,
  type PrivacySubject,
} from "./subject";

type Db = PrismaClient | Prisma.TransactionClient;

/** A stored webhook delivery, as read for matching. */
export interface StoredEvent {
  id: string;
  source: string;
  receiver: string;
  topic: string;
  receivedAt: Date;
  processedAt: Date | null;
  payload: string;
}

export interface Footprint {
  shop: { id: string; domain: string };
  /** Every address of the person: the request's and those of contacts found by customer id. */
  emails: string[];
  /** What identifies the person in free text (emails, phone, customer id, order ids). */
  identity: Needles;
  contacts: Contact[];
  recoveries: Recovery[];
  messages: Message[];
  clicks: Click[];
  conversions: Conversion[];
  decisions: DecisionLog[];
  flowDeliveries: FlowTriggerDelivery[];
  purchases: Purchase[];
  /** Stored webhook deliveries (any source, privacy requests included) that mention the person or their checkouts. */
  events: StoredEvent[];
  /** Checkouts the pixel reported (merged per checkout) that mention the person or are one of their checkouts. */
  pixelCheckouts: PixelCheckout[];
  /** Earlier privacy requests about the same person. */
  requests: ComplianceRequest[];
}

const unique = <T>(values: Iterable<T | null | undefined>): T[] => [...new Set([...values].filter((v): v is T => v !== null && v !== undefined && v !== ""))];

/** Who deliveries for this shop were addressed to: its domain (Shopify, pixel), its id, and its Stripe connections. */
export async function shopReceivers(db: Db, shop: { id: string; domain: string }): Promise<string[]> {
  const connections = await db.stripeConnection.findMany({ where: { shopId: shop.id }, select: { id: true } });
  return unique([shop.domain, shop.id, ...connections.map((c) => c.id)]);
}

/**
 * Deliveries addressed to `receivers` whose body mentions a needle. `strpos` narrows the scan (inside PostgreSQL, over the
 * receiver index); `mentions` then applies the exact rule (digit boundaries for numeric ids).
 */
export async function eventsMentioning(db: Db, receivers: string[], needles: Needles, except: ReadonlySet<string> = new Set()): Promise<StoredEvent[]> {
  if (!hasNeedles(needles) || receivers.length === 0) return [];
  const conditions = [
    ...needles.caseless.map((n) => Prisma.sql`strpos(lower("payload"), ${n}) > 0`),
    ...needles.digits.map((d) => Prisma.sql`strpos("payload", ${d}) > 0`),
  ];
  const rows = await db.$queryRaw<StoredEvent[]>`
    SELECT "id", "source", "receiver", "topic", "receivedAt", "processedAt", "payload" FROM "InboundEvent"
    WHERE "receiver" IN (${Prisma.join(receivers)}) AND (${Prisma.join(conditions, " OR ")})`;
  return rows
    .filter((r) => !except.has(r.id) && mentions(r.payload, needles))
    .map((r) => ({ ...r, receivedAt: new Date(r.receivedAt), processedAt: r.processedAt ? new Date(r.processedAt) : null }));
}

type Json = Record<string, unknown>;
const obj = (v: unknown): Json | null => (v && typeof v === "object" && !Array.isArray(v) ? (v as Json) : null);
const str = (v: unknown): string | null => (typeof v === "string" && v.length > 0 ? v : null);

/** The checkout tokens, session ids and order ids a delivery is about, so the records it made can be found. */
function identifiersIn(event: StoredEvent): { tokens: string[]; externalIds: string[] } {
  if (isComplianceTopic(event.topic)) return { tokens: [], externalIds: [] };
  let body: Json | null;
  try {
    body = obj(parseKeepingDigits(event.payload));
  } catch {
    return { tokens: [], externalIds: [] };
  }
  if (!body) return { tokens: [], externalIds: [] };
  if (event.source === "stripe") {
    const session = obj(obj(body.data)?.object);
    return { tokens: [], externalIds: unique([str(session?.id), str(session?.recovered_from)]).filter((id) => id.startsWith("cs_")) };
  }
  if (event.topic.startsWith("checkouts/")) {
    const token = str(body.token);
    return {
      tokens: unique([token, str(body.cart_token)]),
      externalIds: unique([token ? `token:${token}` : null, str(body.id) ? `gid://shopify/AbandonedCheckout/${str(body.id)}` : null]),
    };
  }
  if (event.topic.startsWith("orders/")) {
    return {
      tokens: unique([str(body.checkout_token), str(body.cart_token)]),
      externalIds: unique([str(body.admin_graphql_api_id), str(body.id) ? orderGid(str(body.id)!) : null]),
    };
  }
  return { tokens: [], externalIds: [] };
}

/** Numeric part of a Shopify gid (`gid://shopify/Order/123` → `123`), for finding it in REST-shaped bodies. */
const gidDigits = (id: string) => /^gid:\/\/shopify\/\w+\/(\d+)$/.exec(id)?.[1] ?? null;

export async function findFootprint(db: Db, shop: { id: string; domain: string }, subject: PrivacySubject): Promise<Footprint> {
  const shopId = shop.id;
  const customerGids = subject.customerId ? [customerGid(subject.customerId)] : [];
  const orderGids = subject.orderIds.map(orderGid);

  const contacts = await db.contact.findMany({
    where: {
      shopId,
      OR: [...(subject.email ? [{ email: subject.email }] : []), ...(customerGids.length ? [{ shopifyCustomerId: { in: customerGids } }] : [])],
    },
  });
  const emails = unique([subject.email, ...contacts.map((c) => c.email)]);
  const identity = needlesFor({
    emails,
    phones: subject.phone ? [subject.phone] : [],
    digits: [subject.customerId, ...subject.orderIds].filter((d): d is string => d !== null),
    tokens: subject.customerId ? clientReferenceIds(subject.customerId) : [],
  });

  // 1. Deliveries that name the person; what they are about leads to records the person's email may be missing from.
  const receivers = await shopReceivers(db, shop);
  const named = await eventsMentioning(db, receivers, identity);
  const fromEvents = named.map(identifiersIn);
  const tokens = unique(fromEvents.flatMap((e) => e.tokens));
  const eventExternalIds = unique(fromEvents.flatMap((e) => e.externalIds));

  // 2. Recoveries and purchases, from either source.
  let stripeByReference: string[] = [];
  if (subject.customerId) {
    const references = clientReferenceIds(subject.customerId);
    const rows = await db.$queryRaw<{ id: string; sourceMetadata: string }[]>`
      SELECT "id", "sourceMetadata" FROM "Recovery" WHERE "shopId" = ${shopId} AND "source" = 'stripe' AND strpos("sourceMetadata", ${subject.customerId}) > 0`;
    stripeByReference = rows
      .filter((r) => {
        try {
          const ref = str(obj(JSON.parse(r.sourceMetadata))?.client_reference_id);
          return ref !== null && references.includes(ref.trim());
        } catch {
          return false;
        }
      })
      .map((r) => r.id);
  }
  const contactIds = contacts.map((c) => c.id);
  const recoveryOr: Prisma.RecoveryWhereInput[] = [
    ...(contactIds.length ? [{ contactId: { in: contactIds } }] : []),
    ...(emails.length ? [{ email: { in: emails } }] : []),
    ...(tokens.length ? [{ checkoutToken: { in: tokens } }, { cartToken: { in: tokens } }] : []),
    ...(eventExternalIds.length ? [{ externalId: { in: eventExternalIds } }] : []),
    ...(stripeByReference.length ? [{ id: { in: stripeByReference } }] : []),
  ];
  const recoveries = recoveryOr.length ? await db.recovery.findMany({ where: { shopId, OR: recoveryOr }, orderBy: { abandonedAt: "asc" } }) : [];
  const purchaseExternalIds = unique([...orderGids, ...eventExternalIds]);
  const purchaseOr: Prisma.PurchaseWhereInput[] = [
    ...(contactIds.length ? [{ contactId: { in: contactIds } }] : []),
    ...(emails.length ? [{ email: { in: emails } }] : []),
    ...(purchaseExternalIds.length ? [{ externalId: { in: purchaseExternalIds } }] : []),
    ...(tokens.length ? [{ checkoutToken: { in: tokens } }, { cartToken: { in: tokens } }] : []),
  ];
  const purchases = purchaseOr.length ? await db.purchase.findMany({ where: { shopId, OR: purchaseOr }, orderBy: { occurredAt: "asc" } }) : [];

  // 3. Deliveries about those records that do not name the person (a checkout before the email was typed).
  const recordIds = [
    ...recoveries.flatMap((r) => [r.externalId, r.checkoutToken, r.cartToken]),
    ...purchases.flatMap((p) => [p.externalId, p.checkoutToken, p.cartToken]),
  ];
  const about = needlesFor({
    tokens: unique(recordIds.map((id) => (id?.startsWith("token:") ? id.slice(6) : id)).filter((id) => id && !id.startsWith("gid://"))) as string[],
    digits: unique(recordIds.map((id) => (id ? gidDigits(id) : null))),
  });
  const more = await eventsMentioning(db, receivers, about, new Set(named.map((e) => e.id)));

  // 4. What hangs off the recoveries.
  const recoveryIds = recoveries.map((r) => r.id);
  const messages = await db.message.findMany({
    where: { shopId, OR: [{ recoveryId: { in: recoveryIds } }, ...(emails.length ? [{ toEmail: { in: emails } }] : [])] },
    orderBy: [{ recoveryId: "asc" }, { position: "asc" }],
  });
  const messageIds = messages.map((m) => m.id);
  const [clicks, conversions, decisions] = await Promise.all([
    db.click.findMany({ where: { shopId, OR: [{ recoveryId: { in: recoveryIds } }, { messageId: { in: messageIds } }] }, orderBy: { clickedAt: "asc" } }),
    db.conversion.findMany({ where: { shopId, recoveryId: { in: recoveryIds } }, orderBy: { convertedAt: "asc" } }),
    db.decisionLog.findMany({ where: { shopId, recoveryId: { in: recoveryIds } }, orderBy: { decidedAt: "asc" } }),
  ]);
  const flowDeliveries = await db.flowTriggerDelivery.findMany({ where: { shopId, conversionId: { in: conversions.map((c) => c.id) } } });
  const pixelCheckouts = await pixelCheckoutsOf(db, shopId, identity, unique([...tokens, ...recoveries.map((r) => r.checkoutToken)]));

  const hashes = emails.map((e) => emailHash(shopId, e));
  const requests = await db.complianceRequest.findMany({
    where: {
      shopId,
      topic: { startsWith: "customers/" },
      OR: [...(subject.customerId ? [{ customerId: subject.customerId }] : []), { email: { in: [...emails, ...hashes] } }],
    },
    orderBy: { receivedAt: "asc" },
  });

  return {
    shop,
    emails,
    identity,
    contacts,
    recoveries,
    messages,
    clicks,
    conversions,
    decisions,
    flowDeliveries,
    purchases,
    events: [...named, ...more].sort((a, b) => a.receivedAt.getTime() - b.receivedAt.getTime()),
    pixelCheckouts,
    requests,
  };
}

/** The shop's merged pixel checkouts that name the person (their email in the state) or are one of their checkouts. */
async function pixelCheckoutsOf(db: Db, shopId: string, identity: Needles, checkoutTokens: string[]): Promise<PixelCheckout[]> {
  const conditions = [
    ...identity.caseless.map((n) => Prisma.sql`strpos(lower(coalesce("state", '')), ${n}) > 0`),
    ...identity.digits.map((d) => Prisma.sql`strpos(coalesce("state", ''), ${d}) > 0`),
    ...(checkoutTokens.length ? [Prisma.sql`"checkoutToken" IN (${Prisma.join(checkoutTokens)})`] : []),
  ];
  if (conditions.length === 0) return [];
  const ids = await db.$queryRaw<{ id: string; state: string | null; checkoutToken: string }[]>`
    SELECT "id", "state", "checkoutToken" FROM "PixelCheckout" WHERE "shopId" = ${shopId} AND (${Prisma.join(conditions, " OR ")})`;
  const matching = ids.filter((r) => checkoutTokens.includes(r.checkoutToken) || mentions(r.state, identity)).map((r) => r.id);
  return matching.length ? db.pixelCheckout.findMany({ where: { id: { in: matching } }, orderBy: { firstSeenAt: "asc" } }) : [];
}
