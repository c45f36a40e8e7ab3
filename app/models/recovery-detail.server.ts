/** One recovery's page: what happened to it, in order, and why (the timeline). */
import type { PrismaClient } from "@prisma/client";
import { messageSentence, messageTime, reasonInWords, wontBeEmailedReason } from "../recovery/timeline";

export type TimelineEvent =
  | { at: string; kind: "abandoned"; label: string }
  | {
      at: string;
      kind: "message";
      label: string;
      status: string;
      detail: string | null;
      /** The message, when its email as sent can be opened ("View this email"). */
      viewableMessageId: string | null;
      /** What the decision log recorded for this email (codes and details), shown under "Technical details". */
      technical: { at: string; outcome: string; reason: string; detail: string | null }[];
    }
  | { at: string; kind: "decision"; label: string; outcome: string; reason: string; detail: string | null }
  | { at: string; kind: "click"; label: string }
  | { at: string; kind: "conversion"; label: string; method: string; matchedBy: string; amountMinor: number; currency: string };

const MATCHED_BY: Record<string, string> = {
  completedAt: "the checkout was completed (Shopify completedAt)",
  recovered_from: "Stripe recovered_from on the completed session",
  checkout_token: "an order with this checkout's token",
  cart_token: "an order from this checkout's cart",
  order: "an order by the same contact after a click",
  payment: "a payment by the same contact after a click",
  invoice_paid: "the invoice was paid on Stripe",
};

const paymentOpenedLabel = (r: { paymentReason: string | null; attemptCount: number | null }) =>
  r.paymentReason === "action_required"
    ? "Subscription payment needs the customer's confirmation on Stripe"
    : `Subscription payment failed on Stripe${r.attemptCount ? ` (attempt ${r.attemptCount})` : ""}`;

/**
 * The recovery with its cart, contact, consent evidence and a timeline of sentences, or null if it is not this shop's.
 * `formatAt` formats times inside sentences (the shop's locale and time zone); `consentPolicy` decides "won't be emailed".
 */
export async function loadRecoveryDetail(
  db: PrismaClient,
  shopId: string,
  id: string,
  options: { consentPolicy?: string; formatAt?: (iso: string) => string; now?: Date } = {},
) {
  const formatAt = options.formatAt ?? ((iso: string) => iso);
  const nowIso = (options.now ?? new Date()).toISOString();
  const recovery = await db.recovery.findFirst({
    where: { id, shopId },
    include: {
      contact: true,
      // bodyHtml stays in the database: only "View this email" reads it.
      messages: {
        orderBy: { position: "asc" },
        select: {
          id: true,
          position: true,
          status: true,
          scheduledFor: true,
          sentAt: true,
          subject: true,
          skipReason: true,
          lastError: true,
          updatedAt: true,
          bodyHtml: false,
        },
      },
      decisions: { orderBy: { decidedAt: "asc" } },
      clicks: { orderBy: { clickedAt: "asc" } },
      conversions: true,
    },
  });
  if (!recovery) return null;

  const wontBeEmailed = wontBeEmailedReason({
    status: recovery.status,
    notContactableReason: recovery.notContactableReason,
    pixelOnly: recovery.pixelOnly,
    consent: recovery.consent,
    consentPolicy: options.consentPolicy ?? "explicit",
    kind: recovery.kind,
    contact: recovery.contact,
    messages: recovery.messages,
  });
  const timeline: TimelineEvent[] = [
    {
      at: recovery.abandonedAt.toISOString(),
      kind: "abandoned",
      label: recovery.kind === "payment" ? paymentOpenedLabel(recovery) : `Abandoned on ${recovery.source === "shopify" ? "Shopify" : "Stripe"}`,
    },
  ];
  const technicalOf = (messageId: string) =>
    recovery.decisions
      .filter((d) => d.messageId === messageId)
      .map((d) => ({ at: d.decidedAt.toISOString(), outcome: d.outcome, reason: d.reason, detail: d.detail }));
  for (const m of recovery.messages) {
    const times = {
      status: m.status,
      scheduledFor: m.scheduledFor.toISOString(),
      sentAt: m.sentAt?.toISOString() ?? null,
      updatedAt: m.updatedAt.toISOString(),
    };
    timeline.push({
      at: messageTime(times, nowIso),
      kind: "message",
      label: messageSentence({ ...m, scheduledFor: times.scheduledFor, sentAt: times.sentAt }, formatAt, wontBeEmailed),
      status: m.status,
      detail: m.lastError ?? null,
      viewableMessageId: m.subject !== null && (m.status === "sent" || m.status === "sending" || m.status === "failed") ? m.id : null,
      technical: technicalOf(m.id),
    });
  }
  for (const d of recovery.decisions) {
    // Sends, skips, holds and cancels of an email are on that email's line (and under its technical details).
    if (d.outcome === "send" || (d.messageId && recovery.messages.some((m) => m.id === d.messageId))) {
      if (d.outcome === "hold") {
        timeline.push({
          at: d.decidedAt.toISOString(),
          kind: "decision",
          label: `Email ${recovery.messages.find((m) => m.id === d.messageId)?.position ?? ""} postponed: ${d.detail ?? reasonInWords(d.reason)}`,
          outcome: d.outcome,
          reason: d.reason,
          detail: d.detail,
        });
      }
      continue;
    }
    timeline.push({
      at: d.decidedAt.toISOString(),
      kind: "decision",
      label: d.detail ?? reasonInWords(d.reason),
      outcome: d.outcome,
      reason: d.reason,
      detail: d.detail,
    });
  }
  for (const c of recovery.clicks) timeline.push({ at: c.clickedAt.toISOString(), kind: "click", label: "Clicked the recovery link" });
  for (const v of recovery.conversions) {
    timeline.push({
      at: v.convertedAt.toISOString(),
      kind: "conversion",
      label: `Recovered (${v.method === "link" ? "by link" : "by window"}): ${MATCHED_BY[v.matchedBy] ?? v.matchedBy}`,
      method: v.method,
      matchedBy: v.matchedBy,
      amountMinor: Number(v.amountMinor),
      currency: v.currency,
    });
  }
  timeline.sort((a, b) => a.at.localeCompare(b.at));

  return {
    id: recovery.id,
    source: recovery.source,
    externalId: recovery.externalId,
    name: recovery.name,
    status: recovery.status,
    email: recovery.email,
    firstName: recovery.firstName,
    consent: recovery.consent,
    consentEvidence: JSON.parse(recovery.consentEvidence) as Record<string, unknown>,
    lineItems: JSON.parse(recovery.lineItems) as {
      title: string;
      variantTitle: string | null;
      quantity: number;
      imageUrl: string | null;
      unitPriceMinor: number;
      totalPriceMinor: number;
    }[],
    totalMinor: Number(recovery.totalMinor),
    currency: recovery.currency,
    locale: recovery.locale,
    recoveryUrl: recovery.recoveryUrl,
    recoveryUrlExpiresAt: recovery.recoveryUrlExpiresAt?.toISOString() ?? null,
    notContactableReason: recovery.notContactableReason,
    pixelOnly: recovery.pixelOnly,
    pixelCompletedAt: recovery.pixelCompletedAt?.toISOString() ?? null,
    abandonedAt: recovery.abandonedAt.toISOString(),
    /** Stripe Checkout mode (`payment` | `subscription`), null for Shopify (docs/decisions/076-stripe-modes-and-reversals.md). */
    checkoutMode: recovery.checkoutMode,
    kind: recovery.kind,
    /** Payment recoveries (docs/decisions/087): why, Stripe's attempts and next retry, the subscription. */
    payment:
      recovery.kind === "payment"
        ? {
            reason: recovery.paymentReason,
            attemptCount: recovery.attemptCount,
            nextPaymentAttemptAt: recovery.nextPaymentAttemptAt?.toISOString() ?? null,
            subscriptionId: recovery.subscriptionId,
          }
        : null,
    contact: recovery.contact
      ? {
          email: recovery.contact.email,
          unsubscribedAt: recovery.contact.unsubscribedAt?.toISOString() ?? null,
          suppressedAt: recovery.contact.suppressedAt?.toISOString() ?? null,
          suppressionReason: recovery.contact.suppressionReason,
          lastPurchaseAt: recovery.contact.lastPurchaseAt?.toISOString() ?? null,
        }
      : null,
    pendingMessages: recovery.messages.filter((m) => m.status === "scheduled").length,
    /** Why no email will go out as things stand (a reason code; words in app/recovery/timeline.ts), or null. */
    wontBeEmailed,
    timeline,
  };
}
