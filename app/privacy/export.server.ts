/**
 * customers/data_request: everything Reclaim holds about one customer in one shop, as one JSON document the merchant
 * downloads from Settings → Privacy and passes on. Read-only, so running it twice gives the same content.
 */
import type { Prisma, PrismaClient } from "@prisma/client";
import { findFootprint, type Footprint } from "./footprint.server";
import { isComplianceTopic, parseForExport, type PrivacySubject } from "./subject";

type Db = PrismaClient | Prisma.TransactionClient;

export const EXPORT_FORMAT = "reclaim.customer-data/1";

const json = (raw: string | null): unknown => {
  if (raw === null) return null;
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
};
const iso = (d: Date | null) => (d ? d.toISOString() : null);

export interface CustomerExport {
  format: typeof EXPORT_FORMAT;
  about: string;
  shop: string;
  generatedAt: string;
  request: { customerId: string | null; email: string | null; phone: string | null; ordersRequested: string[]; dataRequestId: string | null };
  contacts: unknown[];
  recoveries: unknown[];
  purchases: unknown[];
  webhookDeliveries: unknown[];
  /** Checkouts the checkout pixel reported, merged per checkout (what its events said, first and last seen). */
  checkoutPixel: unknown[];
}

/** Counts for the request's summary line. */
export function exportCounts(f: Footprint) {
  return {
    contacts: f.contacts.length,
    recoveries: f.recoveries.length,
    messages: f.messages.length,
    emailsSent: f.messages.filter((m) => m.sentAt !== null).length,
    clicks: f.clicks.length,
    conversions: f.conversions.length,
    purchases: f.purchases.length,
    webhookDeliveries: f.events.filter((e) => !isComplianceTopic(e.topic)).length,
  };
}

export function buildExport(f: Footprint, subject: PrivacySubject, now: Date): CustomerExport {
  const messagesOf = (recoveryId: string) => f.messages.filter((m) => m.recoveryId === recoveryId);
  return {
    format: EXPORT_FORMAT,
    about:
      `Everything Reclaim (abandoned-cart recovery) holds about this customer in ${f.shop.domain}: their contact record, ` +
      "each abandoned Shopify checkout or Stripe Checkout session with the consent it carried, the recovery emails and what " +
      "happened to them, clicks, purchases credited to those emails, and the webhook bodies Shopify and Stripe sent about them.",
    shop: f.shop.domain,
    generatedAt: now.toISOString(),
    request: {
      customerId: subject.customerId,
      email: subject.email,
      phone: subject.phone,
      ordersRequested: subject.orderIds,
      dataRequestId: subject.dataRequestId,
    },
    contacts: f.contacts.map((c) => ({
      email: c.email,
      firstName: c.firstName,
      shopifyCustomerId: c.shopifyCustomerId,
      unsubscribedAt: iso(c.unsubscribedAt),
      suppressedAt: iso(c.suppressedAt),
      suppressionReason: c.suppressionReason,
      lastEmailedAt: iso(c.lastEmailedAt),
      lastPurchaseAt: iso(c.lastPurchaseAt),
      firstSeenAt: iso(c.createdAt),
    })),
    recoveries: f.recoveries.map((r) => ({
      source: r.source,
      externalId: r.externalId,
      checkoutName: r.name,
      email: r.email,
      firstName: r.firstName,
      fullName: r.fullName,
      lastName: r.lastName,
      consent: r.consent,
      consentEvidence: json(r.consentEvidence),
      lineItems: json(r.lineItems),
      total: { amountMinor: Number(r.totalMinor), currency: r.currency },
      locale: r.locale,
      discountCodes: json(r.discountCodes),
      recoveryUrl: r.recoveryUrl,
      recoveryUrlExpiresAt: iso(r.recoveryUrlExpiresAt),
      sourceMetadata: json(r.sourceMetadata),
      abandonedAt: iso(r.abandonedAt),
      completedAt: iso(r.completedAt),
      status: r.status,
      emails: messagesOf(r.id).map((m) => ({
        step: m.position,
        status: m.status,
        scheduledFor: iso(m.scheduledFor),
        sentAt: iso(m.sentAt),
        to: m.toEmail,
        subject: m.subject,
        reason: m.skipReason,
        discountCode: m.discountCode,
        clickedAt: f.clicks.filter((c) => c.messageId === m.id).map((c) => iso(c.clickedAt)),
      })),
      conversions: f.conversions
        .filter((c) => c.recoveryId === r.id)
        .map((c) => ({
          method: c.method,
          matchedBy: c.matchedBy,
          source: c.source,
          externalId: c.externalId,
          amount: { amountMinor: Number(c.amountMinor), currency: c.currency },
          convertedAt: iso(c.convertedAt),
          flowTrigger: f.flowDeliveries
            .filter((d) => d.conversionId === c.id)
            .map((d) => ({ status: d.status, payload: json(d.payload), sentAt: iso(d.sentAt) })),
        })),
      decisions: f.decisions
        .filter((d) => d.recoveryId === r.id)
        .map((d) => ({ outcome: d.outcome, reason: d.reason, detail: d.detail, at: iso(d.decidedAt) })),
    })),
    purchases: f.purchases.map((p) => ({
      source: p.source,
      externalId: p.externalId,
      email: p.email,
      amount: { amountMinor: Number(p.amountMinor), currency: p.currency },
      occurredAt: iso(p.occurredAt),
      recoveredFrom: p.recoveredFrom,
    })),
    // Privacy requests themselves are not data about the customer; every other stored body is, as received.
    webhookDeliveries: f.events
      .filter((e) => !isComplianceTopic(e.topic))
      .map((e) => ({ source: e.source, topic: e.topic, receivedAt: iso(e.receivedAt), body: safeBody(e.payload) })),
    checkoutPixel: f.pixelCheckouts.map((c) => ({
      checkoutToken: c.checkoutToken,
      checkout: c.state ? safeBody(c.state) : null,
      completedAt: iso(c.completedAt),
      events: c.eventCount,
      firstSeenAt: iso(c.firstSeenAt),
      lastSeenAt: iso(c.lastSeenAt),
    })),
  };
}

function safeBody(raw: string): unknown {
  try {
    // Digits kept as sent: a 64-bit Shopify id must reach the merchant intact.
    return parseForExport(raw);
  } catch {
    return raw;
  }
}

/** customers/data_request: the export document and its counts. */
export async function exportCustomerData(db: Db, shop: { id: string; domain: string }, subject: PrivacySubject, now: Date) {
  const footprint = await findFootprint(db, shop, subject);
  return { document: buildExport(footprint, subject, now), counts: exportCounts(footprint) };
}
