/**
 * What a merchant reads about one recovery: the stored reason codes in words, whether the recovery will ever be
 * emailed (and why not), and each email's line on the timeline as a sentence, in the admin's language through the `t`
 * passed in (docs/decisions/093). Pure and client-safe: the models gather the facts, the pages print the strings.
 */
import type { Translate } from "../i18n/locales";
import type { ConsentPolicy } from "./decide";
import { consentAllows } from "./decide";
import type { Consent } from "./model";

export type { Translate };

/**
 * A reason code (Message.skipReason, DecisionLog.reason, Recovery.notContactableReason) as a merchant would say it,
 * finishing the sentence "… because …" / "Won't be emailed: …" (catalogue `recoveries:reasons`). An unknown code is
 * shown as it is rather than hidden.
 */
export const reasonInWords = (code: string | null | undefined, t: Translate): string =>
  code ? t(`recoveries:reasons.${code}`, { defaultValue: code.replace(/_/g, " ") }) : t("recoveries:reasons.none");

export interface ReachFacts {
  status: string;
  notContactableReason: string | null;
  pixelOnly: boolean;
  consent: Consent | string;
  consentPolicy: ConsentPolicy | string;
  /** `payment` recoveries are transactional: marketing consent does not apply (docs/decisions/087). */
  kind?: string;
  contact: { unsubscribedAt: Date | string | null; suppressedAt: Date | string | null } | null;
  /** Every message of the recovery: status and skip/cancel reason. */
  messages: { status: string; skipReason: string | null }[];
}

const PENDING = new Set(["scheduled", "claimed", "sending"]);
const FINISHED = new Set(["recovered", "purchased", "lost", "superseded", "merged"]);

/**
 * Why Reclaim will never email this recovery as things stand (a reason code for reasonInWords), or null when an email
 * may still go out, one already went out, or the recovery is finished (its status says so). The same checks as the
 * send path's first ones (decide()), read from what is stored: a later consent or a newer checkout can change it.
 */
export function wontBeEmailedReason(f: ReachFacts): string | null {
  if (FINISHED.has(f.status)) return null;
  if (f.messages.some((m) => m.status === "sent")) return null;
  if (f.pixelOnly) return null; // "Unconfirmed" says it: emailed once Shopify confirms the checkout
  if (f.notContactableReason) return f.notContactableReason;
  if (f.contact?.unsubscribedAt) return "unsubscribed";
  if (f.contact?.suppressedAt || f.status === "suppressed") return "suppressed";
  const policy: ConsentPolicy = f.consentPolicy === "implied" ? "implied" : "explicit";
  const consent = (["opt_in", "opt_out", "unknown"].includes(f.consent) ? f.consent : "unknown") as Consent;
  if (f.kind !== "payment" && !consentAllows(policy, consent)) return "no_consent";
  if (f.messages.length > 0 && !f.messages.some((m) => PENDING.has(m.status))) {
    const last = [...f.messages].reverse().find((m) => m.skipReason);
    return last?.skipReason ?? "closed";
  }
  return null;
}

export interface TimelineMessage {
  position: number;
  status: string;
  scheduledFor: string;
  sentAt: string | null;
  subject: string | null;
  skipReason: string | null;
  lastError: string | null;
}

/**
 * One email's line on the timeline, in the admin's language. `formatAt` formats an ISO time in the admin's locale and
 * the shop's time zone. A recovery that won't be emailed shows its pending emails as "won't be sent", never as
 * scheduled; cancelled and skipped emails carry no future planned time.
 */
export function messageSentence(m: TimelineMessage, formatAt: (iso: string) => string, wontBeEmailed: string | null, t: Translate): string {
  const position = m.position;
  switch (m.status) {
    case "sent": {
      const at = formatAt(m.sentAt ?? m.scheduledFor);
      return m.subject ? t("recoveries:timeline.sentWithSubject", { position, at, subject: m.subject }) : t("recoveries:timeline.sent", { position, at });
    }
    case "scheduled":
    case "claimed":
      return wontBeEmailed
        ? t("recoveries:timeline.wontBeSent", { position, reason: reasonInWords(wontBeEmailed, t) })
        : t("recoveries:timeline.scheduled", { position, at: formatAt(m.scheduledFor) });
    case "sending":
      return t("recoveries:timeline.sending", { position });
    case "skipped":
      return t("recoveries:timeline.skipped", { position, reason: reasonInWords(m.skipReason, t) });
    case "cancelled":
      return t("recoveries:timeline.cancelled", { position, reason: reasonInWords(m.skipReason, t) });
    case "failed":
      return t("recoveries:timeline.notSent", { position, reason: m.skipReason ? reasonInWords(m.skipReason, t) : t("recoveries:timeline.unreachable") });
    default:
      return t("recoveries:timeline.otherStatus", { position, status: m.status });
  }
}

/**
 * When an email's line sits on the timeline: sent → when it went out; still to come → its planned time; skipped,
 * cancelled or failed → when that was decided (never a planned time still in the future).
 */
export function messageTime(m: { status: string; scheduledFor: string; sentAt: string | null; updatedAt: string }, now: string): string {
  if (m.sentAt) return m.sentAt;
  if (PENDING.has(m.status)) return m.scheduledFor;
  return m.scheduledFor < now ? m.scheduledFor : m.updatedAt;
}
