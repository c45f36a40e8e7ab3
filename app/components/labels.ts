/** Merchant-facing words for the codes stored in the database (client-safe: used by pages and loaders). */
import type { NotContactableReason } from "../recovery/model";

export type { NotContactableReason };

export const NOT_CONTACTABLE_LABELS: Record<NotContactableReason, string> = {
  no_email: "No email address",
  no_recovery_link: "No recovery link",
  no_consent: "No marketing consent",
  unsubscribed: "Unsubscribed or suppressed",
  link_expired: "Recovery link expired before an email went out",
};

/**
 * A recovery's status in merchant words, and its badge tone. `recovered` is only ever a purchase that followed a Reclaim
 * email (green); `purchased` is a checkout bought without any Reclaim email before it: labelled so and never counted
 * (docs/decisions/082). Shared by every page that shows a recovery's status.
 */
export const RECOVERY_STATUS_LABELS: Record<string, string> = {
  open: "Waiting for the first email",
  contacting: "Emails going out",
  recovered: "Recovered",
  purchased: "Bought without an email",
  lost: "Not recovered",
  superseded: "Replaced by a newer cart",
  suppressed: "Suppressed",
  merged: "Merged into another record",
};

export const RECOVERY_STATUS_TONE: Record<string, "success" | "info" | "attention" | "warning" | undefined> = {
  recovered: "success",
  contacting: "info",
  open: "attention",
  suppressed: "warning",
  purchased: undefined,
  lost: undefined,
  superseded: undefined,
  merged: undefined,
};

/** A failed subscription payment's status (docs/decisions/087): paid is never "bought", closed is the invoice's end. */
export const PAYMENT_STATUS_LABELS: Record<string, string> = {
  recovered: "Recovered (paid through the email's link)",
  purchased: "Paid on Stripe (not by link)",
  lost: "Closed unpaid (voided, uncollectible or canceled)",
};

export const recoveryStatusLabel = (status: string, kind?: string) =>
  (kind === "payment" ? PAYMENT_STATUS_LABELS[status] : undefined) ?? RECOVERY_STATUS_LABELS[status] ?? status;
