import { Badge, type BadgeProps } from "@shopify/polaris";
import { useTranslation } from "react-i18next";

/**
 * Badges that read properly to a screen reader. Polaris puts the tone's name ("Success", "Info") in visually hidden
 * text before a toned badge's label, so a green "Shopify" badge was read as "SuccessShopify"; these say what the badge
 * is instead ("Source: Shopify", "Status: Recovered"). `what` is already in the admin's language.
 */
export function LabelledBadge({ what, tone, children }: { what: string; tone?: BadgeProps["tone"]; children: string }) {
  const { t } = useTranslation("recoveries");
  return (
    <Badge tone={tone} toneAndProgressLabelOverride={t("badges.labelPrefix", { what })}>
      {children}
    </Badge>
  );
}

/** Which kind of recovery: a cart, or a failed subscription payment (docs/decisions/087). */
export function KindBadge({ kind }: { kind: string }) {
  const { t } = useTranslation("recoveries");
  return (
    <LabelledBadge what={t("badges.kind")} tone={kind === "payment" ? "warning" : undefined}>
      {kind === "payment" ? t("badges.failedPayment") : t("badges.cart")}
    </LabelledBadge>
  );
}

export function SourceBadge({ source }: { source: string }) {
  const { t } = useTranslation("recoveries");
  return (
    <LabelledBadge what={t("badges.source")} tone={source === "shopify" ? "success" : "info"}>
      {source === "shopify" ? "Shopify" : "Stripe"}
    </LabelledBadge>
  );
}
