import { Form } from "@remix-run/react";
import { Badge, BlockStack, Button, Card, FormLayout, InlineCode, InlineStack, List, Text } from "@shopify/polaris";
import { useTranslation } from "react-i18next";

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
  /** Each event type with what it does, already in the admin's language (the route's loader translates them). */
  eventTypes: { type: string; note: string }[];
  busy: boolean;
}) {
  const { t } = useTranslation("integrations");
  return (
    <Card>
      <BlockStack gap="300">
        <InlineStack gap="200" blockAlign="center">
          <Text as="h2" variant="headingMd">
            {t("paymentRecovery.heading")}
          </Text>
          {settings.paymentRecovery ? <Badge tone="success">{t("paymentRecovery.on")}</Badge> : <Badge>{t("paymentRecovery.off")}</Badge>}
        </InlineStack>
        <Text as="p">{t("paymentRecovery.intro")}</Text>
        <Text as="p">{t("paymentRecovery.selectEvents", { count: eventTypes.length })}</Text>
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
              <input type="checkbox" name="paymentRecovery" defaultChecked={settings.paymentRecovery} /> {t("paymentRecovery.enable")}
            </label>
            <Text as="p" tone="subdued">
              {t("paymentRecovery.stripeEmailsQuestion")}
            </Text>
            <label>
              <input type="checkbox" name="stripeEmailsFailedPayments" defaultChecked={settings.stripeEmailsFailedPayments} />{" "}
              {t("paymentRecovery.stripeEmailsFailedPayments")}
            </label>
            <label>
              <input type="checkbox" name="stripeEmailsActionRequired" defaultChecked={settings.stripeEmailsActionRequired} />{" "}
              {t("paymentRecovery.stripeEmailsActionRequired")}
            </label>
            <Button submit loading={busy}>
              {t("paymentRecovery.save")}
            </Button>
          </FormLayout>
        </Form>
      </BlockStack>
    </Card>
  );
}
