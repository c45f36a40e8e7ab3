import { BlockStack, Button, Card, DataTable, Text } from "@shopify/polaris";
import { useTranslation } from "react-i18next";
import type { PaymentOverview } from "../recovery/payment-recovery";
import { money, number } from "./format";

/**
 * The Overview's failed-subscription-payments section (docs/decisions/087), beside the carts and with the same period
 * and currency. Recovered by link and by window are shown apart and never added; invoices that Stripe's Smart Retries
 * (or the customer) paid before any Reclaim email are shown as such and never claimed.
 */
export function PaymentOverviewCard({ p, currency, locale }: { p: PaymentOverview; currency: string; locale: string }) {
  const { t } = useTranslation("overview");
  const m = (minor: number) => money(minor, currency, locale);
  const n = (value: number) => number(value, locale);
  const rows = [
    [t("payments.failed"), t("payments.due", { n: n(p.failed), amount: m(p.amountDueMinor) })],
    [t("payments.declined"), n(p.byReason.payment_failed)],
    [t("payments.needsConfirmation"), n(p.byReason.action_required)],
    [t("payments.emailsAndClicks"), `${n(p.emailsSent)} · ${n(p.clicks)}`],
    [t("payments.recoveredByLink"), `${n(p.recoveredByLink.count)} · ${m(p.recoveredByLink.amountMinor)}`],
    [t("payments.recoveredByWindow"), `${n(p.recoveredByWindow.count)} · ${m(p.recoveredByWindow.amountMinor)}`],
    [t("payments.paidWithoutEmail"), n(p.outcomes.paidWithoutEmail)],
    [t("payments.open"), n(p.outcomes.open)],
    [t("payments.closed"), n(p.outcomes.closed)],
  ];
  return (
    <Card>
      <BlockStack gap="300">
        <Text as="h2" variant="headingMd">
          {t("payments.heading")}
        </Text>
        <DataTable columnContentTypes={["text", "numeric"]} headings={["", t("payments.thisPeriod")]} rows={rows} />
        <Button variant="plain" url="/app/recoveries?kind=payment">
          {t("payments.seeAll")}
        </Button>
      </BlockStack>
    </Card>
  );
}
