import { Badge, type BadgeProps } from "@shopify/polaris";

/**
 * Badges that read properly to a screen reader. Polaris puts the tone's name ("Success", "Info") in visually hidden
 * text before a toned badge's label, so a green "Shopify" badge was read as "SuccessShopify"; these say what the badge
 * is instead ("Source: Shopify", "Status: Recovered").
 */
export function LabelledBadge({ what, tone, children }: { what: string; tone?: BadgeProps["tone"]; children: string }) {
  return (
    <Badge tone={tone} toneAndProgressLabelOverride={`${what}: `}>
      {children}
    </Badge>
  );
}

export function SourceBadge({ source }: { source: string }) {
  return (
    <LabelledBadge what="Source" tone={source === "shopify" ? "success" : "info"}>
      {source === "shopify" ? "Shopify" : "Stripe"}
    </LabelledBadge>
  );
}
