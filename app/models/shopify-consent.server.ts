/**
 * A buyer's email marketing consent changed in Shopify (`customers_email_marketing_consent/update`), applied to the
 * people and recoveries Reclaim knows. See docs/decisions/073-shopify-consent-updates.md.
 *
 * - An unsubscribe is about the person: it reaches the contact (`unsubscribedAt`, the field decide() already reads
 *   before every send, for recoveries from either source) and cancels what is scheduled, with a decision log that
 *   names Shopify. Each open Shopify recovery of the contact also takes the update as its consent evidence.
 * - A subscription only rewrites the consent of the contact's open Shopify recoveries (an unknown consent becomes an
 *   opt-in; the shop's consent policy decides at send time what that allows). It never lifts an unsubscribe.
 * - Older updates never overwrite newer evidence: `consent_updated_at` is compared with the evidence's `at`. An update
 *   that says neither subscribed nor unsubscribed (not_subscribed, pending, invalid, redacted) changes nothing.
 */
import type { Prisma, PrismaClient, Recovery } from "@prisma/client";
import type { ConsentEvidence } from "../recovery/model";
import type { ShopifyConsentUpdate } from "../recovery/decide";
import { cancelScheduledMessages } from "./message-cancel.server";
import { lockShopIngest } from "./ingest-lock.server";

type Tx = Prisma.TransactionClient;

export type ConsentUpdateOutcome =
  | { kind: "unknown_customer" }
  | { kind: "no_signal"; contacts: number }
  | { kind: "applied"; contacts: number; unsubscribed: number; recoveries: number; cancelledMessages: number; stale: number };

const stamp = (d: Date) => d.toISOString().slice(0, 16).replace("T", " ") + " UTC";

function parseEvidence(raw: string): ConsentEvidence | null {
  try {
    const value = JSON.parse(raw);
    return value && typeof value === "object" && typeof value.state === "string" ? (value as ConsentEvidence) : null;
  } catch {
    return null;
  }
}

/** When a recovery's consent evidence was true: its own `at`, else the checkout observation it came with. */
function evidenceTime(r: Pick<Recovery, "consentEvidence" | "sourceUpdatedAt">, evidence: ConsentEvidence | null): Date {
  const at = evidence?.at ? new Date(evidence.at) : null;
  return at && !Number.isNaN(at.getTime()) ? at : r.sourceUpdatedAt;
}

/** Whether the update replaces the recovery's consent: explicit beats unknown; between explicit ones, strictly newer wins. */
function replaces(r: Pick<Recovery, "consent" | "consentEvidence" | "sourceUpdatedAt">, when: Date): boolean {
  if (r.consent !== "opt_in" && r.consent !== "opt_out") return true;
  return when.getTime() > evidenceTime(r, parseEvidence(r.consentEvidence)).getTime();
}

/**
 * Applies one consent update to the shop's contacts matched by Shopify customer id or email, and their open
 * recoveries. Idempotent (a redelivery finds nothing newer to change) and order-independent (an older update arriving
 * after a newer one changes nothing). `receivedAt` dates an update whose body has no `consent_updated_at`.
 */
export async function applyShopifyConsentUpdate(
  db: PrismaClient,
  shopId: string,
  update: ShopifyConsentUpdate,
  times: { receivedAt: Date; now: Date },
): Promise<ConsentUpdateOutcome> {
  return db.$transaction(async (tx) => {
    // Ingest holds this lock while it writes recoveries and contacts: no checkout of this shop is half-written meanwhile.
    await lockShopIngest(tx, shopId);
    const who: Prisma.ContactWhereInput[] = [
      ...(update.shopifyCustomerId ? [{ shopifyCustomerId: update.shopifyCustomerId }] : []),
      ...(update.email ? [{ email: update.email }] : []),
    ];
    const contacts = await tx.contact.findMany({ where: { shopId, OR: who } });
    if (contacts.length === 0) return { kind: "unknown_customer" };

    // A contact found by email learns its Shopify customer id (later updates and orders then find it by id too).
    if (update.shopifyCustomerId) {
      const ids = contacts.filter((c) => c.shopifyCustomerId === null).map((c) => c.id);
      if (ids.length > 0)
        await tx.contact.updateMany({ where: { id: { in: ids }, shopifyCustomerId: null }, data: { shopifyCustomerId: update.shopifyCustomerId } });
    }
    if (update.state === "unknown") return { kind: "no_signal", contacts: contacts.length };

    const { now } = times;
    const when = update.at ?? times.receivedAt;
    const evidence: ConsentEvidence = { ...update.evidence, at: when.toISOString() };
    const recoveries = await tx.recovery.findMany({
      where: { shopId, contactId: { in: contacts.map((c) => c.id) }, status: { in: ["open", "contacting"] } },
    });
    let changed = 0;
    let stale = 0;
    for (const r of recoveries.filter((x) => x.source === "shopify")) {
      if (!replaces(r, when)) {
        if (r.consent !== update.state) stale++;
        continue;
      }
      await tx.recovery.update({ where: { id: r.id }, data: { consent: update.state, consentEvidence: JSON.stringify(evidence) } });
      changed++;
    }

    let unsubscribed = 0;
    let cancelledMessages = 0;
    if (update.state === "opt_out") {
      for (const contact of contacts) {
        if (contact.unsubscribedAt) continue;
        // A newer opt-in on one of the person's open recoveries (e.g. the box ticked at a later checkout) outranks
        // this unsubscribe: it is an older statement arriving late.
        const newerOptIn = recoveries.some(
          (r) => r.contactId === contact.id && r.consent === "opt_in" && evidenceTime(r, parseEvidence(r.consentEvidence)).getTime() > when.getTime(),
        );
        if (newerOptIn) {
          stale++;
          continue;
        }
        const at = when.getTime() < now.getTime() ? when : now;
        const { count } = await tx.contact.updateMany({ where: { id: contact.id, unsubscribedAt: null }, data: { unsubscribedAt: at, updatedAt: now } });
        if (count === 0) continue;
        unsubscribed++;
        cancelledMessages += await cancelScheduledMessages(
          tx as Tx,
          { contactId: contact.id },
          "unsubscribed",
          `Unsubscribed in Shopify on ${stamp(when)}`,
          now,
        );
      }
    }
    return { kind: "applied", contacts: contacts.length, unsubscribed, recoveries: changed, cancelledMessages, stale };
  });
}
