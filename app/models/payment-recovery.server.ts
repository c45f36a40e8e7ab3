/**
 * Payment recoveries (docs/decisions/087): a Stripe invoice whose subscription payment failed or needs the customer's
 * confirmation, stored as a Recovery of kind `payment` so that scheduling, the send path, clicks, attribution, the
 * recoveries list and the dashboard work for it as for carts. Every write runs under the shop's ingest lock
 * (lockShopIngest), so a redelivered or concurrent event cannot make a second recovery or a second conversion, and the
 * end of an invoice or subscription is remembered (StripeBillingEnd) so that events arriving out of order converge.
 */
import type { Prisma, PrismaClient, Recovery } from "@prisma/client";
import { PAYMENT_CAMPAIGN_DEFAULTS_BY_LANGUAGE } from "../recovery/payment-campaign-defaults";
import { defaultStepsCreate, type DefaultStep } from "../recovery/campaign-defaults";
import { LANGUAGES, shippedLanguage, type Language } from "../i18n/locales";
import {
  billingEndReason,
  campaignKindFor,
  creditForPaidInvoice,
  firstNameOf,
  PAYMENT_CONSENT_NOTE,
  type BillingEnd,
  type InvoiceFailureObserved,
  type PaymentOverview,
} from "../recovery/payment-recovery";
import { chooseCampaign, planMessages } from "../recovery/schedule";
import { campaignsForScheduling } from "./campaign.server";
import { upsertContact } from "./ingest-contact.server";
import { lockShopIngest } from "./ingest-lock.server";
import { cancelScheduledMessages } from "./message-cancel.server";
import { createPlannedMessages } from "./message-schedule.server";
import { ensureSweepScheduled } from "./message-sweep.server";

type Tx = Prisma.TransactionClient;
type Db = PrismaClient | Tx;

const CLOSED = new Set(["recovered", "purchased", "lost", "merged"]);
const ACTIVE_MESSAGE = { in: ["scheduled", "claimed", "sending", "sent"] };

// ---------------------------------------------------------------------------------------------------------------
// Settings

/** Creates the two default payment campaigns ("Confirm your payment", "Update your card") unless the shop has them. */
export async function ensurePaymentCampaigns(db: Db, shopId: string): Promise<void> {
  // Each step in the shop's primary language, with a translation in each other shipped language (docs/decisions/093).
  const shop = await db.shop.findUnique({ where: { id: shopId }, select: { locale: true } });
  const language = shippedLanguage(shop?.locale) ?? "en";
  for (const kind of ["payment_action_required", "payment_failed"] as const) {
    const existing = await db.campaign.findFirst({ where: { shopId, kind, isDefault: true }, select: { id: true } });
    if (existing) continue;
    const steps = Object.fromEntries(LANGUAGES.map((l) => [l, PAYMENT_CAMPAIGN_DEFAULTS_BY_LANGUAGE[l][kind].steps])) as Record<Language, DefaultStep[]>;
    await db.campaign.create({
      data: {
        shopId,
        kind,
        name: PAYMENT_CAMPAIGN_DEFAULTS_BY_LANGUAGE[language][kind].name,
        isDefault: true,
        enabled: true,
        sources: "stripe",
        steps: { create: defaultStepsCreate(steps, language) },
      },
    });
  }
}

export interface PaymentRecoverySettings {
  paymentRecovery: boolean;
  stripeEmailsFailedPayments: boolean;
  stripeEmailsActionRequired: boolean;
}

/** Turns payment recovery on or off for the shop's connection, with the answers about Stripe's own emails. */
export async function savePaymentRecoverySettings(
  db: PrismaClient,
  shopId: string,
  connectionId: string,
  settings: PaymentRecoverySettings,
): Promise<{ ok: true } | { ok: false; error: string }> {
  return db.$transaction(async (tx) => {
    const { count } = await tx.stripeConnection.updateMany({ where: { id: connectionId, shopId }, data: settings });
    if (count === 0) return { ok: false, error: "This Stripe connection no longer exists. Reload the page." };
    if (settings.paymentRecovery) await ensurePaymentCampaigns(tx, shopId);
    return { ok: true };
  });
}

export async function paymentRecoverySettings(db: Db, connectionId: string): Promise<PaymentRecoverySettings | null> {
  return db.stripeConnection.findUnique({
    where: { id: connectionId },
    select: { paymentRecovery: true, stripeEmailsFailedPayments: true, stripeEmailsActionRequired: true },
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Events

export type PaymentIngestResult =
  | { kind: "created"; recoveryId: string; scheduled: number }
  | { kind: "created_closed"; recoveryId: string; end: BillingEnd }
  | { kind: "updated"; recoveryId: string; changed: boolean; scheduled: number };

const findByInvoice = (tx: Tx, shopId: string, invoiceId: string) =>
  tx.recovery.findUnique({ where: { shopId_source_externalId: { shopId, source: "stripe", externalId: invoiceId } } });

/** `invoice.payment_failed` / `invoice.payment_action_required`: opens the invoice's payment recovery, or updates it. */
export async function ingestInvoiceFailure(db: PrismaClient, shopId: string, f: InvoiceFailureObserved, now: Date): Promise<PaymentIngestResult> {
  return db.$transaction(async (tx) => {
    await lockShopIngest(tx, shopId);
    const existing = await findByInvoice(tx, shopId, f.invoiceId);
    if (existing) return updateFromFailure(tx, existing, f, now);

    // The invoice (or its subscription) ended before this failure was processed: events arrived out of order. The
    // recovery is stored as it would be had they come in order (paid without an email, or closed), and nothing is sent.
    const ended = await tx.stripeBillingEnd.findFirst({
      where: { shopId, objectId: { in: [f.invoiceId, ...(f.subscriptionId ? [f.subscriptionId] : [])] } },
      orderBy: { endedAt: "asc" },
    });
    const contact = await upsertContact(tx, shopId, f.email, { firstName: firstNameOf(f.fullName) });
    const end = ended?.outcome as BillingEnd | undefined;
    const recovery = await tx.recovery.create({
      data: {
        shopId,
        source: "stripe",
        kind: "payment",
        externalId: f.invoiceId,
        name: f.invoiceNumber ? `Invoice ${f.invoiceNumber}` : null,
        contactId: contact?.id ?? null,
        email: f.email,
        firstName: firstNameOf(f.fullName),
        fullName: f.fullName,
        consent: "unknown",
        consentEvidence: JSON.stringify({ state: "unknown", source: "stripe.invoice", detail: { notice: PAYMENT_CONSENT_NOTE }, at: null }),
        lineItems: JSON.stringify(f.lineItems),
        totalMinor: f.amountDue.amountMinor,
        currency: f.amountDue.currency,
        recoveryUrl: f.hostedInvoiceUrl,
        sourceMetadata: JSON.stringify({ customer: f.customerId, billing_reason: f.billingReason, invoice_number: f.invoiceNumber }),
        abandonedAt: f.at,
        sourceUpdatedAt: f.at,
        notContactableReason: !f.email ? "no_email" : !f.hostedInvoiceUrl ? "no_recovery_link" : null,
        paymentReason: f.reason,
        attemptCount: f.attemptCount,
        nextPaymentAttemptAt: f.nextPaymentAttemptAt,
        subscriptionId: f.subscriptionId,
        ...(ended ? { status: end === "paid" ? "purchased" : "lost", completedAt: end === "paid" ? ended.endedAt : null } : {}),
      },
    });
    if (ended && end) {
      const { reason, detail } = billingEndReason(end);
      await tx.decisionLog.create({
        data: {
          shopId,
          recoveryId: recovery.id,
          outcome: "close",
          reason,
          detail: `${detail} (${ended.endedAt.toISOString().slice(0, 16).replace("T", " ")} UTC) before this failure reached Reclaim: nothing is sent`,
          decidedAt: now,
        },
      });
      return { kind: "created_closed", recoveryId: recovery.id, end };
    }
    return { kind: "created", recoveryId: recovery.id, scheduled: await schedulePayment(tx, recovery, recovery.abandonedAt, now) };
  });
}

async function updateFromFailure(tx: Tx, existing: Recovery, f: InvoiceFailureObserved, now: Date): Promise<PaymentIngestResult> {
  const newer = f.at.getTime() > existing.sourceUpdatedAt.getTime();
  const attemptCount = Math.max(existing.attemptCount ?? 0, f.attemptCount ?? 0) || null;
  const data: Prisma.RecoveryUpdateInput = {
    ...(attemptCount !== existing.attemptCount ? { attemptCount } : {}),
    ...(newer
      ? {
          sourceUpdatedAt: f.at,
          nextPaymentAttemptAt: f.nextPaymentAttemptAt,
          totalMinor: f.amountDue.amountMinor,
          paymentReason: f.reason,
          ...(f.hostedInvoiceUrl && f.hostedInvoiceUrl !== existing.recoveryUrl ? { recoveryUrl: f.hostedInvoiceUrl } : {}),
        }
      : {}),
  };
  const changed = Object.keys(data).length > 0;
  // A closed invoice stays closed: a late failure event only fills in what it knew.
  if (CLOSED.has(existing.status)) {
    if (changed) await tx.recovery.update({ where: { id: existing.id }, data: { attemptCount: data.attemptCount as number | null | undefined } });
    return { kind: "updated", recoveryId: existing.id, changed, scheduled: 0 };
  }
  const recovery = changed ? await tx.recovery.update({ where: { id: existing.id }, data }) : existing;
  let scheduled = 0;
  // The payment now needs the customer's confirmation (3-D Secure on a renewal is reported as a failure and as action
  // required): "Confirm your payment" replaces "Update your card" while nothing has been sent yet.
  if (newer && f.reason === "action_required" && existing.paymentReason !== "action_required") {
    const sentOrSending = await tx.message.count({ where: { recoveryId: existing.id, status: { in: ["claimed", "sending", "sent"] } } });
    if (sentOrSending === 0) {
      await cancelScheduledMessages(
        tx,
        { recoveryId: existing.id },
        "needs_confirmation",
        "The payment now needs the customer's confirmation (3-D Secure)",
        now,
      );
      scheduled = await schedulePayment(tx, recovery, f.at, now);
    }
  } else {
    scheduled = await schedulePayment(tx, recovery, recovery.abandonedAt, now);
  }
  return { kind: "updated", recoveryId: existing.id, changed, scheduled };
}

/** The payment campaign of the recovery's reason, planned from `from`, unless it already has messages. */
async function schedulePayment(tx: Tx, recovery: Recovery, from: Date, now: Date): Promise<number> {
  if (recovery.notContactableReason || !recovery.contactId || recovery.status !== "open") return 0;
  if ((await tx.message.count({ where: { recoveryId: recovery.id, status: ACTIVE_MESSAGE } })) > 0) return 0;
  const log = (outcome: string, reason: string, detail: string) =>
    tx.decisionLog.create({ data: { shopId: recovery.shopId, recoveryId: recovery.id, outcome, reason, detail, decidedAt: now } });
  const campaignKind = campaignKindFor(recovery.kind, recovery.paymentReason);
  const chosen = chooseCampaign(await campaignsForScheduling(tx, recovery.shopId), {
    source: "stripe",
    totalMinor: Number(recovery.totalMinor),
    currency: recovery.currency,
    abandonedAt: from,
    campaignKind,
  });
  if (!chosen.campaign) {
    await log("skip", "no_matching_campaign", chosen.detail);
    return 0;
  }
  const plan = planMessages(chosen.campaign, from, now);
  if (plan.kind === "none") {
    await log("skip", plan.reason, plan.detail);
    return 0;
  }
  await createPlannedMessages(tx, recovery, plan, now);
  await ensureSweepScheduled(tx, plan.messages[0]!.scheduledFor);
  return plan.messages.length;
}

export type BillingEndResult =
  { kind: "remembered" } | { kind: "closed"; recoveryIds: string[]; credited: "link" | "window" | null } | { kind: "unchanged"; reason: string };

/** Remembers that an invoice or subscription ended (the earliest report wins), for failures that arrive after it. */
async function rememberEnd(tx: Tx, shopId: string, objectId: string, outcome: BillingEnd, at: Date): Promise<void> {
  const existing = await tx.stripeBillingEnd.findUnique({ where: { shopId_objectId: { shopId, objectId } } });
  if (!existing) await tx.stripeBillingEnd.create({ data: { shopId, objectId, outcome, endedAt: at } });
}

/** `invoice.paid` / `invoice.voided` / `invoice.marked_uncollectible`: closes the invoice's payment recovery. */
export async function endInvoice(
  db: PrismaClient,
  shopId: string,
  e: { invoiceId: string; end: Exclude<BillingEnd, "canceled">; at: Date },
  now: Date,
): Promise<BillingEndResult> {
  return db.$transaction(async (tx) => {
    await lockShopIngest(tx, shopId);
    const recovery = await findByInvoice(tx, shopId, e.invoiceId);
    if (!recovery || recovery.kind !== "payment") {
      await rememberEnd(tx, shopId, e.invoiceId, e.end, e.at);
      return { kind: "remembered" };
    }
    if (CLOSED.has(recovery.status)) return { kind: "unchanged", reason: `the payment recovery is already ${recovery.status}` };
    if (e.end !== "paid") {
      await close(tx, recovery, e.end, billingEndReason(e.end).detail, now);
      return { kind: "closed", recoveryIds: [recovery.id], credited: null };
    }
    const [click, lastSent, shop] = await Promise.all([
      tx.click.findFirst({ where: { recoveryId: recovery.id, clickedAt: { lte: e.at } }, orderBy: { clickedAt: "desc" } }),
      tx.message.findFirst({ where: { recoveryId: recovery.id, status: "sent", sentAt: { lte: e.at } }, orderBy: { sentAt: "desc" } }),
      tx.shop.findUniqueOrThrow({ where: { id: shopId }, select: { attributionWindowDays: true } }),
    ]);
    const credit = creditForPaidInvoice({
      paidAt: e.at,
      click: click ? { messageId: click.messageId, at: click.clickedAt } : null,
      lastSent: lastSent?.sentAt ? { messageId: lastSent.id, at: lastSent.sentAt } : null,
      windowDays: shop.attributionWindowDays,
    });
    if (credit.method) {
      await tx.conversion.create({
        data: {
          shopId,
          recoveryId: recovery.id,
          messageId: credit.messageId,
          method: credit.method,
          matchedBy: "invoice_paid",
          source: "stripe",
          externalId: recovery.externalId,
          amountMinor: recovery.totalMinor,
          currency: recovery.currency,
          convertedAt: e.at,
        },
      });
    }
    await tx.recovery.update({ where: { id: recovery.id }, data: { status: credit.status, completedAt: e.at } });
    await cancelScheduledMessages(tx, { recoveryId: recovery.id }, "invoice_paid", credit.detail, now);
    await tx.decisionLog.create({ data: { shopId, recoveryId: recovery.id, outcome: "close", reason: "invoice_paid", detail: credit.detail, decidedAt: now } });
    return { kind: "closed", recoveryIds: [recovery.id], credited: credit.method };
  });
}

/** `customer.subscription.deleted` (or updated to canceled / incomplete_expired): stops every payment recovery of it. */
export async function endSubscription(db: PrismaClient, shopId: string, e: { subscriptionId: string; at: Date }, now: Date): Promise<BillingEndResult> {
  return db.$transaction(async (tx) => {
    await lockShopIngest(tx, shopId);
    await rememberEnd(tx, shopId, e.subscriptionId, "canceled", e.at);
    const open = await tx.recovery.findMany({
      where: { shopId, kind: "payment", subscriptionId: e.subscriptionId, status: { in: ["open", "contacting"] } },
    });
    for (const recovery of open) await close(tx, recovery, "canceled", billingEndReason("canceled").detail, now);
    return { kind: "closed", recoveryIds: open.map((r) => r.id), credited: null };
  });
}

async function close(tx: Tx, recovery: Recovery, end: BillingEnd, detail: string, now: Date): Promise<void> {
  const { reason } = billingEndReason(end);
  await tx.recovery.update({ where: { id: recovery.id }, data: { status: "lost" } });
  await cancelScheduledMessages(tx, { recoveryId: recovery.id }, reason, detail, now);
  await tx.decisionLog.create({ data: { shopId: recovery.shopId, recoveryId: recovery.id, outcome: "close", reason, detail, decidedAt: now } });
}

// ---------------------------------------------------------------------------------------------------------------
// Dashboard

/**
 * Payment recoveries for the Overview, with the cart figures' filters: whole UTC days `from`…`to` and one currency.
 * Counts and amounts come from DailyStat rows filed under `stripe_billing` (the triggers of migration
 * 20261207001400_payment_recovery); where each recovery stands now is read live from the (shopId, kind, abandonedAt) index.
 */
export async function loadPaymentOverview(db: PrismaClient, q: { shopId: string; from: Date; to: Date; currency: string }): Promise<PaymentOverview> {
  const fromDay = q.from.toISOString().slice(0, 10);
  const toDay = q.to.toISOString().slice(0, 10);
  const from = new Date(`${fromDay}T00:00:00Z`);
  const to = new Date(new Date(`${toDay}T00:00:00Z`).getTime() + 86_400_000);
  const where = { shopId: q.shopId, kind: "payment", currency: q.currency, abandonedAt: { gte: from, lt: to }, status: { not: "merged" } };
  const [stats, groups, withoutEmail, byWindow] = await Promise.all([
    db.dailyStat.aggregate({
      where: { shopId: q.shopId, currency: q.currency, source: "stripe_billing", day: { gte: fromDay, lte: toDay } },
      _sum: {
        abandoned: true,
        abandonedValueMinor: true,
        emailsSent: true,
        clicks: true,
        linkConversions: true,
        linkRevenueMinor: true,
        windowConversions: true,
        windowRevenueMinor: true,
      },
    }),
    db.recovery.groupBy({ by: ["status", "paymentReason"], where, _count: { _all: true } }),
    db.recovery.count({ where: { ...where, status: "purchased", messages: { none: { status: "sent" } } } }),
    db.recovery.count({ where: { ...where, status: "purchased", conversions: { some: { method: "window", reversedAt: null } } } }),
  ]);
  const overview: PaymentOverview = {
    failed: stats._sum.abandoned ?? 0,
    amountDueMinor: Number(stats._sum.abandonedValueMinor ?? 0),
    byReason: { payment_failed: 0, action_required: 0 },
    outcomes: { open: 0, recoveredByLink: 0, paidByWindow: byWindow, paidWithoutEmail: withoutEmail, closed: 0 },
    emailsSent: stats._sum.emailsSent ?? 0,
    clicks: stats._sum.clicks ?? 0,
    recoveredByLink: { count: stats._sum.linkConversions ?? 0, amountMinor: Number(stats._sum.linkRevenueMinor ?? 0) },
    recoveredByWindow: { count: stats._sum.windowConversions ?? 0, amountMinor: Number(stats._sum.windowRevenueMinor ?? 0) },
  };
  for (const g of groups) {
    const n = g._count._all;
    overview.byReason[g.paymentReason === "action_required" ? "action_required" : "payment_failed"] += n;
    if (g.status === "open" || g.status === "contacting") overview.outcomes.open += n;
    else if (g.status === "recovered") overview.outcomes.recoveredByLink += n;
    else if (g.status === "lost") overview.outcomes.closed += n;
  }
  return overview;
}
