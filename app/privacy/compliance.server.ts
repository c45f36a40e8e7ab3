/**
 * Shopify's privacy webhooks, processed from the webhook inbox by `process-shopify-webhook` as soon as they are stored:
 * customers/data_request → an export the merchant downloads; customers/redact → the customer's data removed;
 * shop/redact → the shop's data removed. One ComplianceRequest row per delivery records what was done (except after a
 * shop/redact, which removes the shop and its rows; that one is logged, without personal data).
 */
import type { InboundEvent, PrismaClient } from "@prisma/client";
import { logger } from "../logger.server";
import { emailHash } from "../models/email-hash.server";
import { exportCustomerData } from "./export.server";
import { redactCustomer, redactedBody } from "./redact-customer.server";
import { redactShop } from "./redact-shop.server";
import { CompliancePayloadError, subjectFromPayload, type ComplianceTopic, type PrivacySubject } from "./subject";

export interface ComplianceContext {
  now: Date;
  /** The job processing this delivery (kept, detached from the shop, when the shop is deleted under it). */
  jobId?: string;
}

/**
 * `recorded`: the delivery was handled and its InboundEvent row still exists (the caller marks it processed).
 * `event_deleted`: shop/redact deleted the shop's deliveries, this one included.
 * `unreadable`: nothing could be done (the reason is recorded on the request and returned).
 */
export type ComplianceOutcome = { kind: "recorded" } | { kind: "event_deleted" } | { kind: "unreadable"; reason: string };

export async function processComplianceDelivery(
  db: PrismaClient,
  event: InboundEvent,
  topic: ComplianceTopic,
  ctx: ComplianceContext,
): Promise<ComplianceOutcome> {
  if (topic === "shop/redact") return processShopRedact(db, event, ctx);

  const shop = await db.shop.findUnique({ where: { domain: event.receiver }, select: { id: true, domain: true } });
  if (!shop) {
    // Reclaim holds nothing for a shop it does not know (or has already erased); the request's own body names the
    // customer, so it does not stay either.
    await db.inboundEvent.update({ where: { id: event.id }, data: { payload: redactedBody(ctx.now) } });
    logger.info("privacy request for a shop with no data", { shop: event.receiver, topic });
    return { kind: "recorded" };
  }
  const existing = await db.complianceRequest.findUnique({ where: { inboundEventId: event.id } });
  if (existing?.status === "done") return { kind: "recorded" }; // a retried job: the work is committed

  let subject: PrivacySubject;
  try {
    subject = subjectFromPayload(event.payload);
  } catch (error) {
    if (!(error instanceof CompliancePayloadError)) throw error;
    await db.complianceRequest.upsert({
      where: { inboundEventId: event.id },
      create: {
        shopId: shop.id,
        topic,
        inboundEventId: event.id,
        status: "done",
        summary: JSON.stringify({ error: error.message }),
        receivedAt: event.receivedAt,
        completedAt: ctx.now,
      },
      update: { status: "done", summary: JSON.stringify({ error: error.message }), completedAt: ctx.now },
    });
    return { kind: "unreadable", reason: error.message };
  }

  const request = await db.complianceRequest.upsert({
    where: { inboundEventId: event.id },
    create: {
      shopId: shop.id,
      topic,
      inboundEventId: event.id,
      customerId: subject.customerId,
      // A redaction never stores the address it erases, not even while it runs.
      email: subject.email && topic === "customers/redact" ? emailHash(shop.id, subject.email) : subject.email,
      orderIds: JSON.stringify(subject.orderIds),
      dataRequestId: subject.dataRequestId,
      status: "pending",
      receivedAt: event.receivedAt,
    },
    update: {},
  });

  if (topic === "customers/data_request") {
    const { document, counts } = await exportCustomerData(db, shop, subject, ctx.now);
    await db.complianceRequest.update({
      where: { id: request.id },
      data: { status: "done", export: JSON.stringify(document), summary: JSON.stringify(counts), completedAt: ctx.now },
    });
    logger.info("customer data request exported", { shop: shop.domain, requestId: request.id, ...counts });
  } else {
    const summary = await redactCustomer(db, shop, subject, ctx.now, { requestId: request.id, currentEventId: event.id });
    const { keptSuppressions, ...counts } = summary;
    logger.info("customer redacted", { shop: shop.domain, requestId: request.id, ...counts, suppressionsKept: keptSuppressions.length });
  }
  return { kind: "recorded" };
}

async function processShopRedact(db: PrismaClient, event: InboundEvent, ctx: ComplianceContext): Promise<ComplianceOutcome> {
  const result = await redactShop(db, event.receiver, { exceptJobId: ctx.jobId });
  if (result.outcome === "kept_installed") {
    // Shopify sends shop/redact 48 h after an uninstall; the merchant has reinstalled since, so the data is theirs again.
    await db.complianceRequest.upsert({
      where: { inboundEventId: event.id },
      create: {
        shopId: result.shopId,
        topic: "shop/redact",
        inboundEventId: event.id,
        status: "done",
        summary: JSON.stringify({ kept: true, reason: "reinstalled", installedAt: result.installedAt.toISOString() }),
        receivedAt: event.receivedAt,
        completedAt: ctx.now,
      },
      update: {},
    });
    logger.warn("shop/redact for a shop that is installed again: data kept", { shop: event.receiver, installedAt: result.installedAt.toISOString() });
    return { kind: "recorded" };
  }
  logger.info("shop redacted", { shop: event.receiver, ...result.counts });
  return { kind: "event_deleted" };
}
