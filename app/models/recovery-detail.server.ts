/** One recovery's page: what happened to it, in order, and why (the timeline). */
import { displayName } from "../recovery/full-name";
import type { PrismaClient } from "@prisma/client";
import { isLanguage, type Language } from "../i18n/locales";
import { translatorFor } from "../i18n/translator";
import { messageSentence, messageTime, reasonInWords, wontBeEmailedReason, type Translate } from "../recovery/timeline";

export type TimelineEvent =
  | { at: string; kind: "abandoned"; label: string }
  | {
      at: string;
      kind: "message";
      label: string;
      status: string;
      detail: string | null;
      /** The language the email was rendered in (docs/decisions/093); null for emails rendered before it was stored. */
      language: Language | null;
      /** The message, when its email as sent can be opened ("View this email"). */
      viewableMessageId: string | null;
      /** What the decision log recorded for this email (codes and details), shown under "Technical details". */
      technical: { at: string; outcome: string; reason: string; detail: string | null }[];
    }
  | { at: string; kind: "decision"; label: string; outcome: string; reason: string; detail: string | null }
  | { at: string; kind: "click"; label: string }
  | { at: string; kind: "conversion"; label: string; method: string; matchedBy: string; amountMinor: number; currency: string };

/** How a conversion was matched to the recovery (Conversion.matchedBy), in words; an unknown code as it is. */
const matchedByInWords = (code: string, t: Translate) => t(`recoveries:timeline.matchedBy.${code}`, { defaultValue: code });

const paymentOpenedLabel = (r: { paymentReason: string | null; attemptCount: number | null }, t: Translate) =>
  r.paymentReason === "action_required"
    ? t("recoveries:timeline.paymentNeedsConfirmation")
    : r.attemptCount
      ? t("recoveries:timeline.paymentFailedAttempt", { attempt: r.attemptCount })
      : t("recoveries:timeline.paymentFailed");

/**
 * The recovery with its cart, contact, consent evidence and a timeline of sentences, or null if it is not this shop's.
 * `formatAt` formats times inside sentences (the admin's locale and the shop's time zone); `consentPolicy` decides "won't
 * be emailed"; `language` is the admin's (docs/decisions/093; English by default). A decision's stored `detail` is an
 * English sentence written when it was decided: it is the line itself in English, and in another language the line is
 * the decision's reason in that language with the detail kept for the technical details.
 */
export async function loadRecoveryDetail(
  db: PrismaClient,
  shopId: string,
  id: string,
  options: { consentPolicy?: string; formatAt?: (iso: string) => string; now?: Date; language?: Language } = {},
) {
  const formatAt = options.formatAt ?? ((iso: string) => iso);
  const language = options.language ?? "en";
  const t = translatorFor(language);
  /** A decision's line: its stored English sentence for an English admin, its reason in words otherwise. */
  const decisionWords = (d: { reason: string; detail: string | null }) => (language === "en" && d.detail ? d.detail : reasonInWords(d.reason, t));
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
          language: true,
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
      label:
        recovery.kind === "payment"
          ? paymentOpenedLabel(recovery, t)
          : t("recoveries:timeline.abandonedOn", { source: recovery.source === "shopify" ? "Shopify" : "Stripe" }),
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
      label: messageSentence({ ...m, scheduledFor: times.scheduledFor, sentAt: times.sentAt }, formatAt, wontBeEmailed, t),
      status: m.status,
      detail: m.lastError ?? null,
      language: isLanguage(m.language) ? m.language : null,
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
          label: t("recoveries:timeline.postponed", {
            position: recovery.messages.find((m) => m.id === d.messageId)?.position ?? "",
            reason: decisionWords(d),
          }),
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
      label: decisionWords(d),
      outcome: d.outcome,
      reason: d.reason,
      detail: d.detail,
    });
  }
  for (const c of recovery.clicks) timeline.push({ at: c.clickedAt.toISOString(), kind: "click", label: t("recoveries:timeline.clicked") });
  for (const v of recovery.conversions) {
    timeline.push({
      at: v.convertedAt.toISOString(),
      kind: "conversion",
      label: t(v.method === "link" ? "recoveries:timeline.recoveredByLink" : "recoveries:timeline.recoveredByWindow", {
        how: matchedByInWords(v.matchedBy, t),
      }),
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
    /** The buyer's name in the admin's language's order (family name first in Japanese). */
    buyerName: displayName(recovery.firstName, recovery.lastName, options.language ?? "en"),
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
