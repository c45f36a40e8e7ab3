import { z } from "zod";
import { mirrorUnsubscribeToShopify } from "../../email/shopify-admin.server";
import { logger } from "../../logger.server";
import { defineJob, PermanentJobError } from "../engine.server";
import { refuseOtherShopsRow } from "../../security/job-scope.server";
import { mirrorsUnsubscribes } from "../../models/mirror-unsubscribes.server";

export const MIRROR_UNSUBSCRIBE_JOB = "mirror-unsubscribe-to-shopify";

/**
 * An unsubscribe from a Reclaim email, written back to the shop's Shopify customer as UNSUBSCRIBED
 * (customerEmailMarketingConsentUpdate, needs write_customers). Queued by the unsubscribe endpoint, in its
 * transaction, only when the shop has "Mirror unsubscribes to Shopify" on and the scope granted (checked again here);
 * retried with backoff when Shopify is unavailable.
 */
export const mirrorUnsubscribe = defineJob({
  name: MIRROR_UNSUBSCRIBE_JOB,
  payload: z.object({ contactId: z.string().min(1) }),
  async run({ payload, db, job }) {
    const contact = await db.contact.findUnique({ where: { id: payload.contactId }, include: { shop: true } });
    await refuseOtherShopsRow(job, async () => contact?.shopId, `contact ${payload.contactId}`);
    if (!contact?.unsubscribedAt) return;
    // The merchant's setting and Shopify's grant, as they are now: turned off or revoked since it was queued, nothing.
    if (!mirrorsUnsubscribes(contact.shop)) return;
    const result = await mirrorUnsubscribeToShopify(
      contact.shop.domain,
      { email: contact.email, shopifyCustomerId: contact.shopifyCustomerId },
      contact.unsubscribedAt,
    );
    if (result.ok) {
      if (result.customerId && result.customerId !== contact.shopifyCustomerId) {
        await db.contact.update({ where: { id: contact.id }, data: { shopifyCustomerId: result.customerId } });
      }
      return;
    }
    logger.warn("unsubscribe not mirrored to Shopify", { shop: contact.shop.domain, permanent: result.permanent, error: result.message });
    if (result.permanent) throw new PermanentJobError(result.message);
    throw new Error(result.message);
  },
});
