import { BlockStack, Card, InlineCode, Link, Text } from "@shopify/polaris";
import type { ReactNode } from "react";
import { Trans, useTranslation } from "react-i18next";

/** An id in code type; its text comes from the translated sentence (<Trans>). */
const Code = ({ children }: { children?: ReactNode }) => <InlineCode>{children}</InlineCode>;

/** What a merchant needs to know about a failed subscription payment (docs/decisions/087), on its recovery's page. */
export function PaymentFacts({
  payment,
  invoiceId,
  hostedInvoiceUrl,
  amountDue,
  formatAt,
}: {
  payment: { reason: string | null; attemptCount: number | null; nextPaymentAttemptAt: string | null; subscriptionId: string | null };
  invoiceId: string;
  hostedInvoiceUrl: string | null;
  amountDue: string;
  formatAt: (iso: string) => string;
}) {
  const { t } = useTranslation("recoveries");
  return (
    <Card>
      <BlockStack gap="200">
        <Text as="h2" variant="headingMd">
          {t("payment.heading")}
        </Text>
        <Text as="p">{payment.reason === "action_required" ? t("payment.actionRequired") : t("payment.cardFailed")}</Text>
        <Text as="p">{t("payment.amountDue", { amount: amountDue })}</Text>
        <Text as="p">{t("payment.attempts", { attempts: payment.attemptCount ?? t("payment.notReported") })}</Text>
        <Text as="p">{payment.nextPaymentAttemptAt ? t("payment.retryOn", { at: formatAt(payment.nextPaymentAttemptAt) }) : t("payment.noRetry")}</Text>
        <Text as="p">
          {payment.subscriptionId ? (
            <Trans
              t={t}
              i18nKey="payment.invoiceOfSubscription"
              values={{ invoiceId, subscriptionId: payment.subscriptionId }}
              components={[<Code key="invoice" />, <Code key="subscription" />]}
            />
          ) : (
            <Trans t={t} i18nKey="payment.invoice" values={{ invoiceId }} components={[<Code key="invoice" />]} />
          )}
        </Text>
        {hostedInvoiceUrl ? (
          <Link url={hostedInvoiceUrl} target="_blank">
            {t("payment.invoicePage")}
          </Link>
        ) : (
          <Text as="p" tone="subdued">
            {t("payment.noInvoicePage")}
          </Text>
        )}
      </BlockStack>
    </Card>
  );
}
