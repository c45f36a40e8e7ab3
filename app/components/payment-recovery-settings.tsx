import { Form } from "@remix-run/react";
import { Badge, BlockStack, Button, Card, FormLayout, InlineCode, InlineStack, List, Text } from "@shopify/polaris";

export interface PaymentRecoverySettingsView {
  paymentRecovery: boolean;
  stripeEmailsFailedPayments: boolean;
  stripeEmailsActionRequired: boolean;
}

/**
 * Settings › Stripe › Payment recovery (docs/decisions/087): the opt-in, the extra events to select in Stripe and what
 * each does, and the question about Stripe Billing's own customer emails (Reclaim then skips its steps of that kind).
 */
export function PaymentRecoverySettings({
  connectionId,
  settings,
  eventTypes,
  busy,
}: {
  connectionId: string;
  settings: PaymentRecoverySettingsView;
  eventTypes: { type: string; note: string }[];
  busy: boolean;
}) {
  return (
    <Card>
      <BlockStack gap="300">
        <InlineStack gap="200" blockAlign="center">
          <Text as="h2" variant="headingMd">
            5. Failed subscription payments (Stripe Billing)
          </Text>
          {settings.paymentRecovery ? <Badge tone="success">On</Badge> : <Badge>Off</Badge>}
        </InlineStack>
        <Text as="p">
          When a subscription renewal fails or a payment needs the customer to confirm it (3-D Secure), Reclaim emails them a link to Stripe&apos;s hosted
          invoice page, and stops the moment the invoice is paid, voided or marked uncollectible, or the subscription is canceled. These are notices about an
          existing subscription, so they go out without marketing consent; unsubscribes are still honoured.
        </Text>
        <Text as="p">{`To use it, also select these ${eventTypes.length} events on the same endpoint in Stripe:`}</Text>
        <List>
          {eventTypes.map(({ type, note }) => (
            <List.Item key={type}>
              <InlineCode>{type}</InlineCode> — {note}
            </List.Item>
          ))}
        </List>
        <Form method="post">
          <input type="hidden" name="intent" value="payment-recovery" />
          <input type="hidden" name="connectionId" value={connectionId} />
          <FormLayout>
            <label>
              <input type="checkbox" name="paymentRecovery" defaultChecked={settings.paymentRecovery} /> Recover failed subscription payments
            </label>
            <Text as="p" tone="subdued">
              Does Stripe already email your customers? (Stripe Dashboard › Settings › Billing › Subscriptions and emails › Manage failed payments and Customer
              emails.) Reclaim then skips its own emails of that kind and says so in each recovery&apos;s log, so nobody is told twice.
            </Text>
            <label>
              <input type="checkbox" name="stripeEmailsFailedPayments" defaultChecked={settings.stripeEmailsFailedPayments} /> Stripe already emails customers
              about failed payments
            </label>
            <label>
              <input type="checkbox" name="stripeEmailsActionRequired" defaultChecked={settings.stripeEmailsActionRequired} /> Stripe already sends customers a
              link to confirm payments that need 3-D Secure
            </label>
            <Button submit loading={busy}>
              Save payment recovery
            </Button>
          </FormLayout>
        </Form>
      </BlockStack>
    </Card>
  );
}
