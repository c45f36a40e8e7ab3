/** Merchant-facing words for the codes stored in the database (client-safe: used by pages and loaders). */
export type NotContactableReason = "no_email" | "no_recovery_link" | "no_consent" | "unsubscribed" | "link_expired";

export const NOT_CONTACTABLE_LABELS: Record<NotContactableReason, string> = {
  no_email: "No email address",
  no_recovery_link: "No recovery link",
  no_consent: "No marketing consent",
  unsubscribed: "Unsubscribed or suppressed",
  link_expired: "Recovery link expired before an email went out",
};
