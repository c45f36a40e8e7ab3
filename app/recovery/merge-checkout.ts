import type { CheckoutObserved, Consent, ConsentEvidence, LineItem } from "./model";
import { normalizeEmail } from "./model";

/** What the store holds about a recovery, as far as merging observations is concerned. */
export interface StoredCheckout {
  email: string | null;
  firstName: string | null;
  fullName?: string | null;
  /** The buyer's family name; may be absent (optional) like fullName. */
  lastName?: string | null;
  consent: Consent;
  consentEvidence: ConsentEvidence | null;
  lineItems: LineItem[];
  recoveryUrl: string | null;
  recoveryUrlExpiresAt: Date | null;
  checkoutToken: string | null;
  sourceUpdatedAt: Date;
  completedAt: Date | null;
  abandonedAt: Date;
}

export interface MergedCheckout extends StoredCheckout {
  /** True when this observation is the first to report completion. */
  becameCompleted: boolean;
  /** True when anything stored changes. */
  changed: boolean;
}

/**
 * Merges one observation of a checkout into what is stored, so that a webhook and a poll (in any order, any number
 * of times) converge on the same record:
 * - a newer observation (by the source's updatedAt) wins field by field, but never erases something known with
 *   "unknown" (GraphQL has no email or consent for guests; the webhook does);
 * - an older observation only fills gaps;
 * - completion is sticky: once completed, always completed (earliest completion time kept).
 */
export function mergeCheckout(stored: StoredCheckout | null, seen: CheckoutObserved): MergedCheckout {
  const email = normalizeEmail(seen.email);
  const fresh: StoredCheckout = {
    email,
    firstName: seen.firstName,
    fullName: seen.fullName ?? null,
    lastName: seen.lastName ?? null,
    consent: seen.consent.state,
    consentEvidence: seen.consent.state === "unknown" && !email ? null : seen.consent,
    lineItems: seen.lineItems ?? [],
    recoveryUrl: seen.recoveryUrl,
    recoveryUrlExpiresAt: seen.recoveryUrlExpiresAt,
    checkoutToken: seen.checkoutToken ?? null,
    sourceUpdatedAt: seen.updatedAt,
    completedAt: seen.completedAt,
    abandonedAt: seen.abandonedAt,
  };
  if (!stored) return { ...fresh, becameCompleted: fresh.completedAt !== null, changed: true };

  const newer = seen.updatedAt.getTime() >= stored.sourceUpdatedAt.getTime();
  const pick = <T>(incoming: T | null, current: T | null): T | null => (newer ? (incoming ?? current) : (current ?? incoming));

  // Consent: explicit evidence beats "unknown"; between two explicit ones the newer observation wins.
  let consent = stored.consent;
  let consentEvidence = stored.consentEvidence;
  if (seen.consent.state !== "unknown" && (newer || stored.consent === "unknown")) {
    consent = seen.consent.state;
    consentEvidence = seen.consent;
  } else if (stored.consent === "unknown" && !stored.consentEvidence && fresh.consentEvidence) {
    consentEvidence = fresh.consentEvidence;
  }

  const completedAt =
    stored.completedAt && seen.completedAt
      ? new Date(Math.min(stored.completedAt.getTime(), seen.completedAt.getTime()))
      : (stored.completedAt ?? seen.completedAt);

  const merged: StoredCheckout = {
    email: pick(email, stored.email),
    firstName: pick(seen.firstName, stored.firstName),
    fullName: pick(seen.fullName ?? null, stored.fullName ?? null),
    lastName: pick(seen.lastName ?? null, stored.lastName ?? null),
    consent,
    consentEvidence,
    lineItems:
      seen.lineItems && seen.lineItems.length > 0 && (newer || stored.lineItems.length === 0)
        ? withKnownImages(seen.lineItems, stored.lineItems)
        : withKnownImages(stored.lineItems, seen.lineItems ?? []),
    recoveryUrl: pick(seen.recoveryUrl, stored.recoveryUrl),
    recoveryUrlExpiresAt: pick(seen.recoveryUrlExpiresAt, stored.recoveryUrlExpiresAt),
    checkoutToken: stored.checkoutToken ?? fresh.checkoutToken,
    sourceUpdatedAt: newer ? seen.updatedAt : stored.sourceUpdatedAt,
    completedAt,
    abandonedAt: new Date(Math.min(stored.abandonedAt.getTime(), seen.abandonedAt.getTime())),
  };
  return {
    ...merged,
    becameCompleted: stored.completedAt === null && completedAt !== null,
    changed: comparable(merged) !== comparable(stored),
  };
}

/** A stored checkout as compared for "changed": fullName and lastName may be absent (optional) or null, which is the same. */
const comparable = ({ fullName, lastName, ...rest }: StoredCheckout) => JSON.stringify([rest, fullName ?? null, lastName ?? null]);

/**
 * Webhook line items carry no image (only GraphQL has them): whichever side's list is kept, an item without an image
 * takes the one the other side has for the same product (same title and variant), so the email still shows it.
 */
function withKnownImages(incoming: LineItem[], stored: LineItem[]): LineItem[] {
  if (incoming.every((item) => item.imageUrl)) return incoming;
  const known = new Map(stored.filter((item) => item.imageUrl).map((item) => [`${item.title}\u0000${item.variantTitle ?? ""}`, item.imageUrl]));
  return incoming.map((item) => (item.imageUrl ? item : { ...item, imageUrl: known.get(`${item.title}\u0000${item.variantTitle ?? ""}`) ?? null }));
}

/** Why a recovery can never be contacted, or null if it can (consent is decided later, per send). */
export function notContactableReason(m: Pick<StoredCheckout, "email" | "recoveryUrl">): string | null {
  if (!m.email) return "no_email";
  if (!m.recoveryUrl) return "no_recovery_link";
  return null;
}
