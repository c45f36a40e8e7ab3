/**
 * Merchant-facing words for the codes stored in the database (client-safe: used by pages and loaders), in the admin's
 * language through the `t` passed in (catalogue `recoveries`; docs/decisions/093). The English maps stay exported for
 * code that has no `t`.
 */
import english from "../i18n/catalogues/en/recoveries.json";
import type { NotContactableReason } from "../recovery/model";
import type { Translate } from "../recovery/timeline";

export type { NotContactableReason };

export const NOT_CONTACTABLE_LABELS: Record<NotContactableReason, string> = english.notContactable;

/** Why a recovery cannot be contacted, in the admin's language. */
export const notContactableLabel = (reason: NotContactableReason, t: Translate) => t(`recoveries:notContactable.${reason}`);

/**
 * A recovery's status in merchant words, and its badge tone. `recovered` is only ever a purchase that followed a Reclaim
 * email (green); `purchased` is a checkout bought without any Reclaim email before it: labelled so and never counted
 * (docs/decisions/082). Shared by every page that shows a recovery's status.
 */
export const RECOVERY_STATUS_LABELS: Record<string, string> = english.status;

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
export const PAYMENT_STATUS_LABELS: Record<string, string> = english.paymentStatus;

/** A recovery's status in words: in the admin's language with `t`, in English without. An unknown status shows as is. */
export function recoveryStatusLabel(status: string, kind?: string, t?: Translate): string {
  const payment = kind === "payment" && status in PAYMENT_STATUS_LABELS;
  if (t) return payment ? t(`recoveries:paymentStatus.${status}`) : t(`recoveries:status.${status}`, { defaultValue: status });
  return (payment ? PAYMENT_STATUS_LABELS[status] : undefined) ?? RECOVERY_STATUS_LABELS[status] ?? status;
}
