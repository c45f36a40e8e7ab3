import type { PrismaClient } from "@prisma/client";
import type { PaymentLinkFacts } from "../recovery/model";

/**
 * Payment Links as read with a connection's key, cached per (connection, link): a busy link expires many sessions a
 * day, and its address rarely changes. A cached answer is reused for CACHE_MS; deactivation is therefore seen within
 * that time. Only answers from Stripe about the link are cached, never "could not read it".
 */
export const PAYMENT_LINK_CACHE_MS = 60 * 60 * 1000;

export async function paymentLinkFacts(
  db: PrismaClient,
  where: { shopId: string; connectionId: string; paymentLinkId: string },
  now: Date,
  fetch: () => Promise<PaymentLinkFacts>,
): Promise<PaymentLinkFacts> {
  const cached = await db.stripePaymentLink.findUnique({
    where: { connectionId_paymentLinkId: { connectionId: where.connectionId, paymentLinkId: where.paymentLinkId } },
  });
  if (cached && cached.shopId === where.shopId && now.getTime() - cached.fetchedAt.getTime() < PAYMENT_LINK_CACHE_MS) {
    return { ok: true, url: cached.url, active: cached.active, allowPromotionCodes: cached.allowPromotionCodes };
  }
  const fresh = await fetch();
  if (fresh.ok) {
    const data = { url: fresh.url, active: fresh.active, allowPromotionCodes: fresh.allowPromotionCodes, fetchedAt: now };
    await db.stripePaymentLink.upsert({
      where: { connectionId_paymentLinkId: { connectionId: where.connectionId, paymentLinkId: where.paymentLinkId } },
      create: { ...where, ...data },
      update: data,
    });
  }
  return fresh;
}
