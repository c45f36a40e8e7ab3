/** The Contact an observed email belongs to, created on first sight (keeping a redacted person's unsubscribe). */
import type { Prisma } from "@prisma/client";
import { suppressionAfterRedaction } from "./redacted-suppression.server";

type Tx = Prisma.TransactionClient;
export async function upsertContact(tx: Tx, shopId: string, email: string | null, extra: { firstName?: string | null; shopifyCustomerId?: string | null }) {
  if (!email) return null;
  const existing = await tx.contact.findUnique({ where: { shopId_email: { shopId, email } } });
  if (existing) {
    const update = {
      ...(extra.firstName && extra.firstName !== existing.firstName ? { firstName: extra.firstName } : {}),
      ...(extra.shopifyCustomerId && extra.shopifyCustomerId !== existing.shopifyCustomerId ? { shopifyCustomerId: extra.shopifyCustomerId } : {}),
    };
    return Object.keys(update).length > 0 ? tx.contact.update({ where: { id: existing.id }, data: update }) : existing;
  }
  // A person whose data was erased (customers/redact) after they unsubscribed or bounced stays unsubscribed when they
  // come back: only a hash of their address was kept for this (docs/decisions/040).
  const kept = await suppressionAfterRedaction(tx, shopId, email);
  return tx.contact.create({
    data: { shopId, email, firstName: extra.firstName ?? null, shopifyCustomerId: extra.shopifyCustomerId ?? null, ...(kept ?? {}) },
  });
}

/**
 * notePurchase for several contacts at once (the batch paths): each contact's `lastPurchaseAt` moves forward to its
 * purchase's time, never back. The rows are locked in id order first, as the send path locks them.
 */
export async function moveLastPurchaseForward(tx: Tx, latest: Map<string, Date>, now: Date): Promise<void> {
  if (latest.size === 0) return;
  const ids = [...latest.keys()].sort();
  await tx.$queryRawUnsafe(`SELECT 1 FROM "Contact" WHERE "id" = ANY($1::text[]) ORDER BY "id" FOR UPDATE`, ids);
  await tx.$executeRawUnsafe(
    `UPDATE "Contact" c SET "lastPurchaseAt" = v.at, "updatedAt" = $3
     FROM unnest($1::text[], $2::timestamp(3)[]) AS v(id, at)
     WHERE c."id" = v.id AND (c."lastPurchaseAt" IS NULL OR c."lastPurchaseAt" < v.at)`,
    ids,
    // ISO instants (UTC), as Prisma stores DateTime in timestamp(3) columns.
    ids.map((id) => latest.get(id)!.toISOString()),
    now,
  );
}
