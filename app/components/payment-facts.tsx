import { BlockStack, Card, InlineCode, Link, Text } from "@shopify/polaris";

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
  return (
    <Card>
      <BlockStack gap="200">
        <Text as="h2" variant="headingMd">
          Failed subscription payment
        </Text>
        <Text as="p">
          {payment.reason === "action_required"
            ? "The customer's bank asks them to confirm this payment (3-D Secure). Reclaim sends “Confirm your payment”."
            : "Stripe could not charge the customer's card. Reclaim sends “Update your card” between Stripe's retries."}
        </Text>
        <Text as="p">{`Amount due: ${amountDue}`}</Text>
        <Text as="p">{`Attempts so far: ${payment.attemptCount ?? "not reported"}`}</Text>
        <Text as="p">
          {payment.nextPaymentAttemptAt ? `Stripe tries again on ${formatAt(payment.nextPaymentAttemptAt)}` : "Stripe will not retry this payment on its own"}
        </Text>
        <Text as="p">
          Invoice <InlineCode>{invoiceId}</InlineCode>
          {payment.subscriptionId ? (
            <>
              {" "}
              of subscription <InlineCode>{payment.subscriptionId}</InlineCode>
            </>
          ) : null}
        </Text>
        {hostedInvoiceUrl ? (
          <Link url={hostedInvoiceUrl} target="_blank">
            Stripe&apos;s invoice page (the link in the emails)
          </Link>
        ) : (
          <Text as="p" tone="subdued">
            Stripe has not given this invoice a payment page yet.
          </Text>
        )}
      </BlockStack>
    </Card>
  );
}
