import { BlockStack, Button, Card, DataTable, Text } from "@shopify/polaris";
import type { PaymentOverview } from "../recovery/payment-recovery";
import { money, number } from "./format";

/**
 * The Overview's failed-subscription-payments section (docs/decisions/087), beside the carts and with the same period
 * and currency. Recovered by link and by window are shown apart and never added; invoices that Stripe's Smart Retries
 * (or the customer) paid before any Reclaim email are shown as such and never claimed.
 */
export function PaymentOverviewCard({ p, currency, locale }: { p: PaymentOverview; currency: string; locale: string }) {
  const m = (minor: number) => money(minor, currency, locale);
  const n = (value: number) => number(value, locale);
  const rows = [
    ["Failed payments", `${n(p.failed)} · ${m(p.amountDueMinor)} due`],
    ["Card declined or failed (Update your card)", n(p.byReason.payment_failed)],
    ["Needs the customer's confirmation (Confirm your payment)", n(p.byReason.action_required)],
    ["Emails sent · clicks", `${n(p.emailsSent)} · ${n(p.clicks)}`],
    ["Recovered by link", `${n(p.recoveredByLink.count)} · ${m(p.recoveredByLink.amountMinor)}`],
    ["Recovered by window (paid after an email, no click)", `${n(p.recoveredByWindow.count)} · ${m(p.recoveredByWindow.amountMinor)}`],
    ["Paid before any Reclaim email (Smart Retries; not claimed)", n(p.outcomes.paidWithoutEmail)],
    ["Still open", n(p.outcomes.open)],
    ["Closed unpaid (voided, uncollectible, canceled)", n(p.outcomes.closed)],
  ];
  return (
    <Card>
      <BlockStack gap="300">
        <Text as="h2" variant="headingMd">
          Failed subscription payments
        </Text>
        <DataTable columnContentTypes={["text", "numeric"]} headings={["", "This period"]} rows={rows} />
        <Button variant="plain" url="/app/recoveries?kind=payment">
          See failed payments
        </Button>
      </BlockStack>
    </Card>
  );
}
