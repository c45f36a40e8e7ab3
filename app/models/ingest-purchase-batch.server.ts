/**
 * Purchases seen for the first time, stored as a batch (issue 14, docs/decisions/099): a batch of Stripe completed
 * sessions or Shopify orders in a dozen statements instead of a dozen per purchase. Same rules as the one-by-one path
 * (ingestPurchase in ingest-purchase.server.ts): the row is purchaseRow's, the recovery a purchase converts is found by
 * the keys of linkKeysOf in their precedence order, else by a click within the shop's attribution window; a link credit
 * is creditLinkConversion's (the last email sent before the purchase, statusAfterLinkPurchase, the recovery's messages
 * stopped), and the buyer's purchase stops their other carts started before it (notePurchase). Only the reads and
 * writes are grouped. Whatever this path does not take goes one by one through ingestPurchase, in order.
 */
import type { Prisma } from "@prisma/client";
import { attributionWindowStart, linkKeysOf, windowMatchedBy, type LinkKey, type LinkMatch } from "../recovery/attribution";
import { normalizeEmail, type PurchaseObserved, type SourceEvent } from "../recovery/model";
import { statusAfterLinkPurchase } from "../recovery/recovered";
import { recordFlowTrigger } from "./flow-trigger.server";
import type { IngestResult } from "./ingest.server";
import { lookupKeysOf } from "./ingest-checkout-batch.server";
import { cancelScheduledMessagesOf } from "./message-cancel.server";
import { purchaseRow } from "./ingest-purchase-row";
import { suppressionsAfterRedaction } from "./redacted-suppression.server";
import { moveLastPurchaseForward } from "./ingest-contact.server";

type Tx = Prisma.TransactionClient;

/** Everything an event can be joined by: the buyer's email, its lookup keys, and a purchase's own id (a redelivery). */
export function keysOf(event: SourceEvent): string[] {
  const email = normalizeEmail(event.email);
  return [
    ...(email ? [`email:${email}`] : []),
    ...lookupKeysOf(event),
    ...(event.kind === "purchase.observed" ? [`purchase:${event.source}:${event.externalId}`] : []),
  ];
}

/**
 * Purchase events of the batch that share no identifier with another event of it and are purchases at all (not a test
 * order, not one that arrives cancelled): candidates for the batch path. `stored`: events the checkout batch has
 * stored already, which no longer count (a purchase completing one of them finds its row, as it would in order).
 */
export function lonePurchases(events: SourceEvent[], stored: ReadonlySet<number> = new Set()): number[] {
  const seen = new Map<string, number>();
  for (const [index, event] of events.entries()) if (!stored.has(index)) for (const key of new Set(keysOf(event))) seen.set(key, (seen.get(key) ?? 0) + 1);
  return events.flatMap((event, index) =>
    event.kind === "purchase.observed" && event.test !== true && !event.cancelledAt && keysOf(event).every((k) => seen.get(k) === 1) ? [index] : [],
  );
}

/**
 * Stripe purchases through the recovery link of a session that expired earlier in the same batch, joined to nothing
 * else: purchase index → session index. The session can be stored by the checkout batch as if the purchase were not
 * there (it comes first), and the purchase then by the purchase batch, crediting it as it would in order.
 */
export function purchasesOfEarlierSessions(events: SourceEvent[]): Map<number, number> {
  const sessionAt = new Map<string, number>();
  for (const [index, e] of events.entries()) if (e.kind === "checkout.observed" && e.source === "stripe") sessionAt.set(e.externalId, index);
  const seen = new Map<string, number>();
  for (const event of events) for (const key of new Set(keysOf(event))) seen.set(key, (seen.get(key) ?? 0) + 1);
  const pairs = new Map<number, number>();
  for (const [index, e] of events.entries()) {
    if (e.kind !== "purchase.observed" || !e.recoveredFrom) continue;
    const session = sessionAt.get(e.recoveredFrom);
    const link = `stripe:${e.recoveredFrom}`;
    // Only the link is shared, and only with the session, which comes first.
    if (session === undefined || session > index || seen.get(link) !== 2 || !keysOf(e).every((k) => k === link || seen.get(k) === 1)) continue;
    pairs.set(index, session);
  }
  return pairs;
}

const STORED_RECOVERY = {
  id: true,
  shopId: true,
  source: true,
  externalId: true,
  email: true,
  contactId: true,
  status: true,
  completedAt: true,
  checkoutToken: true,
  cartToken: true,
  abandonedAt: true,
} as const;
type StoredRecovery = Prisma.RecoveryGetPayload<{ select: typeof STORED_RECOVERY }>;

/** Every stored recovery any event of the batch could find by an id or a token (a superset: no status filter). */
export async function recoveriesByKeys(tx: Tx, shopId: string, events: SourceEvent[]): Promise<StoredRecovery[]> {
  const bySource = new Map<string, Set<string>>();
  for (const key of events.flatMap(lookupKeysOf)) {
    const at = key.indexOf(":");
    const source = key.slice(0, at);
    if (!bySource.has(source)) bySource.set(source, new Set());
    bySource.get(source)!.add(key.slice(at + 1));
  }
  if (bySource.size === 0) return [];
  return tx.recovery.findMany({
    where: {
      shopId,
      OR: [...bySource].map(([source, set]) => {
        const keys = [...set];
        return { source, OR: [{ externalId: { in: keys } }, { checkoutToken: { in: keys } }, { cartToken: { in: keys } }] };
      }),
    },
    select: STORED_RECOVERY,
  });
}

/** The stored rows an event finds by one of its lookup keys. */
export function rowsFoundBy(event: SourceEvent, rows: StoredRecovery[]): StoredRecovery[] {
  const keys = new Set(lookupKeysOf(event));
  return rows.filter((r) => [r.externalId, r.checkoutToken, r.cartToken].some((k) => k !== null && keys.has(`${r.source}:${k}`)));
}

/**
 * The recovery the first link key finds, as ingestPurchase's lookups find it; `ambiguous` when a lookup could answer
 * with one of several rows (findFirst without a unique order): that purchase goes one by one.
 */
function linkTarget(e: PurchaseObserved, rows: StoredRecovery[]): { target: StoredRecovery; matchedBy: LinkMatch } | null | "ambiguous" {
  const candidates = (key: LinkKey) => {
    switch (key.matchedBy) {
      case "recovered_from":
        return rows.filter((r) => r.source === "stripe" && r.externalId === key.externalId);
      case "checkout_token":
        return rows.filter((r) => r.source === e.source && r.checkoutToken === key.checkoutToken);
      case "cart_token": {
        const found = rows.filter((r) => r.source === e.source && r.cartToken === key.cartToken && (!key.withoutCheckoutToken || r.checkoutToken === null));
        // The latest abandoned wins (orderBy abandonedAt desc); a tie would be the database's pick.
        const latest = Math.max(...found.map((r) => r.abandonedAt.getTime()));
        return found.filter((r) => r.abandonedAt.getTime() === latest);
      }
    }
  };
  for (const key of linkKeysOf(e)) {
    const found = candidates(key);
    if (found.length > 1) return "ambiguous";
    if (found.length === 1) return { target: found[0]!, matchedBy: key.matchedBy };
  }
  return null;
}

/**
 * Stores the events at `candidates` (indices into `events`, from lonePurchases) that are new to the store and whose
 * outcome no other event of the batch can change, and returns their results by index. The caller holds the shop's
 * ingest lock and runs the others one by one.
 */
export async function ingestNewPurchases(
  tx: Tx,
  shopId: string,
  events: SourceEvent[],
  candidates: number[],
  now: Date,
  stored: ReadonlySet<number> = new Set(),
): Promise<Map<number, IngestResult>> {
  const results = new Map<number, IngestResult>();
  if (candidates.length === 0) return results;
  let fresh = candidates.map((index) => ({ index, e: events[index] as PurchaseObserved }));

  // 1. Which candidates stay in the batch. Not one stored before (a redelivery: purchaseRefusal and the existing row).
  // Nor one whose buyer, or the buyer of the recovery it converts, another event of the batch may change: what a
  // purchase reads (the buyer's contact, carts and clicks; its recovery's status, messages and conversions) must be
  // what it reads when the events are stored one by one, in order. An event "reaches" its buyer's email and the stored
  // rows its keys find (and their buyers); two events whose reaches meet are stored one by one.
  const storedBefore = await tx.purchase.findMany({
    where: { shopId, OR: fresh.map(({ e }) => ({ source: e.source, externalId: e.externalId })) },
    select: { source: true, externalId: true },
  });
  const storedKeys = new Set(storedBefore.map((p) => `${p.source}:${p.externalId}`));
  fresh = fresh.filter(({ e }) => !storedKeys.has(`${e.source}:${e.externalId}`));
  if (fresh.length === 0) return results;
  const rows = await recoveriesByKeys(tx, shopId, events);
  const reachOf = (event: SourceEvent) => {
    const found = rowsFoundBy(event, rows);
    const email = normalizeEmail(event.email);
    return [...(email ? [`email:${email}`] : []), ...found.flatMap((r) => [`row:${r.id}`, ...(r.email ? [`email:${normalizeEmail(r.email)}`] : [])])];
  };
  const reachCount = new Map<string, number>();
  for (const [index, event] of events.entries())
    if (!stored.has(index)) for (const key of new Set(reachOf(event))) reachCount.set(key, (reachCount.get(key) ?? 0) + 1);
  const planned = fresh.flatMap(({ index, e }) => {
    const link = linkTarget(e, rows);
    if (link === "ambiguous" || !reachOf(e).every((k) => reachCount.get(k) === 1)) return [];
    return [{ index, e, email: normalizeEmail(e.email), link }];
  });
  if (planned.length === 0) return results;

  // 2. Contacts (read, created or updated as upsertContact does), then the Purchase rows.
  const contacts = await contactsFor(
    tx,
    shopId,
    planned.flatMap(({ e, email }) => (email ? [{ email, shopifyCustomerId: e.shopifyCustomerId ?? null, purchasedAt: e.occurredAt }] : [])),
    now,
  );
  const purchases = await tx.purchase.createManyAndReturn({
    data: planned.map(({ e, email }) => purchaseRow(shopId, e, email, email ? (contacts.get(email)?.id ?? null) : null)),
    select: { id: true, source: true, externalId: true },
  });
  const purchaseId = new Map(purchases.map((p) => [`${p.source}:${p.externalId}`, p.id]));
  const converted = new Map<number, string[]>(planned.map(({ index }) => [index, []]));
  /** Messages to stop: recovery id → the sentence the merchant reads. */
  const stops = new Map<string, string>();

  // 3. Link attribution (creditLinkConversion): an order teaches its recovery the token it lacks, then the recovery is
  // credited once, with the last email sent before the purchase.
  const linked = planned.flatMap((p) => (p.link ? [{ ...p, ...p.link }] : []));
  for (const { e, target } of linked) {
    if (!e.recoveredFrom && ((!target.cartToken && e.cartToken) || (!target.checkoutToken && e.checkoutToken))) {
      await tx.recovery.update({
        where: { id: target.id },
        data: { cartToken: target.cartToken ?? e.cartToken ?? null, checkoutToken: target.checkoutToken ?? e.checkoutToken ?? null },
      });
    }
  }
  const credited = new Set<string>();
  if (linked.length) {
    const targetIds = linked.map(({ target }) => target.id);
    const already = await tx.conversion.findMany({ where: { recoveryId: { in: targetIds }, method: "link" }, select: { recoveryId: true } });
    const alreadyCredited = new Set(already.map((c) => c.recoveryId));
    const toCredit = linked.filter(({ target }) => !alreadyCredited.has(target.id));
    const sent = toCredit.length
      ? await tx.message.findMany({
          where: { recoveryId: { in: toCredit.map(({ target }) => target.id) }, status: "sent", sentAt: { not: null } },
          select: { id: true, recoveryId: true, sentAt: true },
          orderBy: { sentAt: "desc" },
        })
      : [];
    const credits = toCredit.map(({ index, e, target, matchedBy }) => ({
      index,
      target,
      at: e.occurredAt,
      lastSent: sent.find((m) => m.recoveryId === target.id && m.sentAt! <= e.occurredAt) ?? null,
      data: {
        shopId,
        recoveryId: target.id,
        method: "link",
        matchedBy,
        source: e.source,
        externalId: e.externalId,
        amountMinor: e.amount.amountMinor,
        currency: e.amount.currency,
        convertedAt: e.occurredAt,
      },
    }));
    if (credits.length) {
      const conversions = await tx.conversion.createManyAndReturn({ data: credits.map((c) => ({ ...c.data, messageId: c.lastSent?.id ?? null })) });
      // A Flow trigger only for a conversion an email came before (recordFlowTrigger reads nothing otherwise).
      for (const conversion of conversions) if (conversion.messageId) await recordFlowTrigger(tx, conversion, now);
      // Recovered only when a Reclaim email came first; otherwise "Bought without an email" (docs/decisions/082).
      await tx.$executeRawUnsafe(
        `UPDATE "Recovery" r SET "status" = v.status, "completedAt" = COALESCE(r."completedAt", v.at), "updatedAt" = $4
         FROM unnest($1::text[], $2::text[], $3::timestamp(3)[]) AS v(id, status, at) WHERE r."id" = v.id`,
        credits.map((c) => c.target.id),
        credits.map((c) => statusAfterLinkPurchase(c.lastSent !== null)),
        // ISO instants (UTC), as Prisma stores DateTime in timestamp(3) columns.
        credits.map((c) => c.at.toISOString()),
        now,
      );
      for (const c of credits) {
        credited.add(c.target.id);
        converted.get(c.index)!.push(c.target.id);
        stops.set(c.target.id, "the checkout was completed");
      }
    }
  }

  // 4. Window attribution, only without a link: the buyer's latest click within the window before the purchase, on a
  // cart not already recovered. Only contacts stored before this batch can have clicked anything.
  const byWindow = planned.filter(({ link, email }) => !link && email && contacts.get(email)?.existed);
  if (byWindow.length) {
    const shop = await tx.shop.findUniqueOrThrow({ where: { id: shopId }, select: { attributionWindowDays: true } });
    const since = (e: PurchaseObserved) => attributionWindowStart(e.occurredAt, shop.attributionWindowDays);
    const clicks = await tx.click.findMany({
      where: {
        shopId,
        clickedAt: {
          gte: new Date(Math.min(...byWindow.map(({ e }) => since(e).getTime()))),
          lte: new Date(Math.max(...byWindow.map(({ e }) => e.occurredAt.getTime()))),
        },
        // A cart purchase is never credited to a payment notice (docs/decisions/087).
        recovery: { contactId: { in: byWindow.map(({ email }) => contacts.get(email!)!.id) }, status: { not: "recovered" }, kind: "cart" },
      },
      orderBy: { clickedAt: "desc" },
      select: { recoveryId: true, messageId: true, clickedAt: true, recovery: { select: { contactId: true } } },
    });
    const chosen = byWindow.flatMap(({ index, e, email }) => {
      const contactId = contacts.get(email!)!.id;
      const click = clicks.find((c) => c.recovery.contactId === contactId && c.clickedAt >= since(e) && c.clickedAt <= e.occurredAt);
      return click ? [{ index, e, click }] : [];
    });
    const windowed = chosen.length
      ? new Set(
          (
            await tx.conversion.findMany({
              where: { recoveryId: { in: chosen.map(({ click }) => click.recoveryId) }, method: "window" },
              select: { recoveryId: true },
            })
          ).map((c) => c.recoveryId),
        )
      : new Set<string>();
    const credits = chosen.filter(({ click }) => !windowed.has(click.recoveryId));
    if (credits.length) {
      const conversions = await tx.conversion.createManyAndReturn({
        data: credits.map(({ e, click }) => ({
          shopId,
          recoveryId: click.recoveryId,
          messageId: click.messageId,
          method: "window",
          matchedBy: windowMatchedBy(e.source),
          source: e.source,
          externalId: e.externalId,
          amountMinor: e.amount.amountMinor,
          currency: e.amount.currency,
          convertedAt: e.occurredAt,
        })),
      });
      for (const conversion of conversions) await recordFlowTrigger(tx, conversion, now);
      for (const { index, click } of credits) converted.get(index)!.push(click.recoveryId);
    }
  }

  // 5. notePurchase: the buyer's other carts started before the purchase stop (their last purchase moved in contactsFor).
  const stoppedBy = new Map<string, number>();
  const buyers = planned.filter(({ email }) => email && contacts.get(email)?.existed);
  if (buyers.length) {
    const carts = await tx.recovery.findMany({
      where: { shopId, contactId: { in: buyers.map(({ email }) => contacts.get(email!)!.id) }, status: { in: ["open", "contacting"] }, kind: "cart" },
      select: { id: true, contactId: true, startedAt: true, abandonedAt: true },
    });
    for (const { index, e, email } of buyers) {
      const contactId = contacts.get(email!)!.id;
      const detail = e.source === "stripe" ? "bought on Stripe" : "ordered on Shopify";
      for (const cart of carts) {
        // A cart credited just now is bought, no longer open.
        if (cart.contactId !== contactId || credited.has(cart.id) || (cart.startedAt ?? cart.abandonedAt) > e.occurredAt) continue;
        stops.set(cart.id, detail);
        stoppedBy.set(cart.id, index);
      }
    }
  }
  const stopped = new Map<string, number>();
  if (stops.size)
    for (const m of await cancelScheduledMessagesOf(tx, { recoveryIds: [...stops.keys()] }, "purchased", (id) => stops.get(id)!, now))
      stopped.set(m.recoveryId, (stopped.get(m.recoveryId) ?? 0) + 1);
  const stoppedCount = new Map<number, number>();
  for (const [recoveryId, count] of stopped) {
    const index = stoppedBy.get(recoveryId);
    if (index !== undefined) stoppedCount.set(index, (stoppedCount.get(index) ?? 0) + count);
  }

  for (const { index, e } of planned)
    results.set(index, {
      kind: "purchase",
      purchaseId: purchaseId.get(`${e.source}:${e.externalId}`)!,
      created: true,
      convertedRecoveryIds: converted.get(index)!,
      stoppedMessages: stoppedCount.get(index) ?? 0,
    });
  return results;
}

/**
 * The batch's buyers by email, as upsertContact leaves them, with their last purchase moved forward (notePurchase):
 * read in one statement; the missing ones created in one, with the purchase already on them (keeping a redacted
 * person's unsubscribe); a changed Shopify customer id written as upsertContact writes it; the others' lastPurchaseAt
 * in one UPDATE (their rows locked in id order first, as the send path locks them). `existed`: stored before the batch.
 */
async function contactsFor(tx: Tx, shopId: string, buyers: { email: string; shopifyCustomerId: string | null; purchasedAt: Date }[], now: Date) {
  const contacts = new Map<string, { id: string; existed: boolean }>();
  if (buyers.length === 0) return contacts;
  const existing = await tx.contact.findMany({
    where: { shopId, email: { in: buyers.map((b) => b.email) } },
    select: { id: true, email: true, shopifyCustomerId: true },
  });
  for (const c of existing) {
    contacts.set(c.email, { id: c.id, existed: true });
    const buyer = buyers.find((b) => b.email === c.email)!;
    if (buyer.shopifyCustomerId && buyer.shopifyCustomerId !== c.shopifyCustomerId)
      await tx.contact.update({ where: { id: c.id }, data: { shopifyCustomerId: buyer.shopifyCustomerId } });
  }
  const missing = buyers.filter((b) => !contacts.has(b.email));
  if (missing.length) {
    const kept = await suppressionsAfterRedaction(
      tx,
      shopId,
      missing.map((m) => m.email),
    );
    const created = await tx.contact.createManyAndReturn({
      data: missing.map((m) => ({
        shopId,
        email: m.email,
        firstName: null,
        shopifyCustomerId: m.shopifyCustomerId,
        lastPurchaseAt: m.purchasedAt,
        ...(kept.get(m.email) ?? {}),
      })),
      select: { id: true, email: true },
      skipDuplicates: true,
    });
    for (const c of created) contacts.set(c.email, { id: c.id, existed: false });
    // Created meanwhile outside the ingest lock (a consent webhook): read them, and treat them as stored before.
    const raced = missing.filter((m) => !contacts.has(m.email)).map((m) => m.email);
    if (raced.length)
      for (const c of await tx.contact.findMany({ where: { shopId, email: { in: raced } }, select: { id: true, email: true } }))
        contacts.set(c.email, { id: c.id, existed: true });
  }
  // Stored before: their last purchase moves forward as notePurchase moves it.
  const latest = new Map(buyers.flatMap((b) => (contacts.get(b.email)?.existed ? [[contacts.get(b.email)!.id, b.purchasedAt] as const] : [])));
  await moveLastPurchaseForward(tx, latest, now);
  return contacts;
}
