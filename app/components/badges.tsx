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

/** Which kind of recovery: a cart, or a failed subscription payment (docs/decisions/087). */
export function KindBadge({ kind }: { kind: string }) {
  return (
    <LabelledBadge what="Kind" tone={kind === "payment" ? "warning" : undefined}>
      {kind === "payment" ? "Failed payment" : "Cart"}
    </LabelledBadge>
  );
}

export function SourceBadge({ source }: { source: string }) {
  return (
    <LabelledBadge what="Source" tone={source === "shopify" ? "success" : "info"}>
      {source === "shopify" ? "Shopify" : "Stripe"}
    </LabelledBadge>
  );
}
