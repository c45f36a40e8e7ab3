import type { ActionFunctionArgs, LoaderFunctionArgs } from "@remix-run/node";
import { json } from "@remix-run/node";
import { Form, useActionData, useLoaderData, useNavigation } from "@remix-run/react";
import { Badge, Banner, BlockStack, Button, Card, InlineStack, Layout, List, Page, Text, type BadgeProps } from "@shopify/polaris";
import { requireAdmin } from "../auth.server";
import { dateTime } from "../components/format";
import { NavigationProgress, PageError } from "../components/page-states";
import { db } from "../db.server";
import { PIXEL_COMPLETION_HOLD_MS } from "../recovery/decide";
import { readFormWithLimit } from "../security/request-limits.server";
import { countUnconfirmedPixelRecoveries, lastPixelEvent } from "../models/pixel-checkout.server";
import { activateAndRecord, enqueuePixelActivation, type WebPixelStatus } from "../sources/pixel/activate.server";
import { adminGraphqlFor } from "../sources/shopify/admin-client.server";
import type { MetaFunction } from "@remix-run/node";
import { pageTitle } from "../components/page-title";

/**
 * Settings → Checkout pixel: whether Reclaim's web pixel is on for this shop, why not if it is not, the last event it
 * sent, and "Activate again". The page also says plainly what the pixel may and may not cause (docs/decisions/050).
 */

const EVENT_NAMES: Record<string, string> = {
  checkout_started: "checkout started",
  checkout_contact_info_submitted: "contact details entered",
  checkout_completed: "checkout completed",
};

export const loader = async ({ request }: LoaderFunctionArgs) => {
  const { shop } = await requireAdmin(request);
  const [lastEvent, unconfirmed] = await Promise.all([lastPixelEvent(db, shop), countUnconfirmedPixelRecoveries(db, shop.id)]);
  return json({
    status: (shop.webPixelStatus as WebPixelStatus) ?? "not_activated",
    error: shop.webPixelError,
    updatedAt: shop.webPixelUpdatedAt?.toISOString() ?? null,
    lastEvent: lastEvent ? { at: lastEvent.at.toISOString(), name: EVENT_NAMES[lastEvent.name] ?? lastEvent.name } : null,
    unconfirmed,
    holdHours: PIXEL_COMPLETION_HOLD_MS / 3_600_000,
    locale: shop.locale,
    timezone: shop.timezone,
  });
};

export const action = async ({ request }: ActionFunctionArgs) => {
  const { shop } = await requireAdmin(request);
  const form = await readFormWithLimit(request, 4 * 1024);
  if (form.get("intent") !== "activate") return json({ ok: false, message: "Unknown action." }, { status: 400 });
  const result = await activateAndRecord(db, shop.id, adminGraphqlFor, new Date());
  if (!result) return json({ ok: false, message: "Reclaim is not installed on this shop." }, { status: 409 });
  // Shopify did not answer: the job keeps trying with backoff, and this page shows the outcome.
  if (result.retry) await enqueuePixelActivation(db, shop.id);
  return json(
    result.status === "active"
      ? { ok: true, message: "The checkout pixel is active." }
      : { ok: false, message: result.error ?? "The checkout pixel could not be activated." },
  );
};

const STATUS: Record<WebPixelStatus, { label: string; tone: BadgeProps["tone"] }> = {
  active: { label: "Active", tone: "success" },
  not_activated: { label: "Not activated", tone: undefined },
  missing_scopes: { label: "Needs permissions", tone: "warning" },
  failed: { label: "Failed", tone: "critical" },
};

export const meta: MetaFunction = () => [{ title: pageTitle("Checkout pixel · Settings") }];

export default function PixelSettings() {
  const data = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const busy = useNavigation().state !== "idle";
  const status = STATUS[data.status] ?? STATUS.not_activated;
  const when = (iso: string) => dateTime(iso, data.locale, data.timezone);

  return (
    <Page title="Checkout pixel" backAction={{ content: "Settings", url: "/app/settings" }}>
      <NavigationProgress />
      <Layout>
        {result && (
          <Layout.Section>
            <Banner tone={result.ok ? "success" : "critical"}>{result.message}</Banner>
          </Layout.Section>
        )}
        <Layout.Section>
          <Card>
            <BlockStack gap="300">
              <InlineStack gap="200" blockAlign="center">
                <Text as="h2" variant="headingMd">
                  Status
                </Text>
                <Badge tone={status.tone}>{status.label}</Badge>
              </InlineStack>
              {data.status === "not_activated" && (
                <Text as="p">Reclaim turns the pixel on when it is installed. If that has not happened yet, activate it here.</Text>
              )}
              {data.error && data.status !== "active" && <Banner tone={data.status === "missing_scopes" ? "warning" : "critical"}>{data.error}</Banner>}
              <Text as="p">
                {data.lastEvent
                  ? `Last event received: ${data.lastEvent.name}, ${when(data.lastEvent.at)}.`
                  : "No event received yet. Events arrive when buyers who allow marketing reach checkout."}
              </Text>
              {data.updatedAt && <Text as="p" tone="subdued">{`Last activation attempt: ${when(data.updatedAt)}.`}</Text>}
              {data.unconfirmed > 0 && (
                <Text as="p">{`${data.unconfirmed} checkout${data.unconfirmed === 1 ? "" : "s"} seen by the pixel ${data.unconfirmed === 1 ? "is" : "are"} waiting for Shopify to confirm ${data.unconfirmed === 1 ? "it" : "them"}.`}</Text>
              )}
              <InlineStack>
                <Form method="post">
                  <input type="hidden" name="intent" value="activate" />
                  <Button submit loading={busy}>
                    Activate again
                  </Button>
                </Form>
              </InlineStack>
            </BlockStack>
          </Card>
        </Layout.Section>
        <Layout.Section variant="oneHalf">
          <Card>
            <BlockStack gap="200">
              <Text as="h2" variant="headingMd">
                What it does
              </Text>
              <List>
                <List.Item>
                  Shows a checkout under Recoveries the moment the buyer enters their email, marked “Unconfirmed (seen at checkout)”, instead of at the next
                  sync.
                </List.Item>
                <List.Item>{`Reports completed checkouts, so a reminder due at that moment waits up to ${data.holdHours} hours for Shopify's order instead of going out.`}</List.Item>
                <List.Item>
                  Runs only for visitors who allow marketing, in Shopify's sandbox, and sends the checkout's email, marketing choice, items and totals.
                </List.Item>
              </List>
            </BlockStack>
          </Card>
        </Layout.Section>
        <Layout.Section variant="oneHalf">
          <Card>
            <BlockStack gap="200">
              <Text as="h2" variant="headingMd">
                What it never does
              </Text>
              <List>
                <List.Item>
                  Never causes an email on its own: Reclaim emails a checkout only after Shopify confirms it, with Shopify's email address and consent.
                </List.Item>
                <List.Item>Never records a sale or changes recovered revenue: those come from your orders only.</List.Item>
                <List.Item>{`Never stops an email for good: if no order confirms a reported completion within ${data.holdHours} hours, reminders resume.`}</List.Item>
                <List.Item>Never collects addresses, phone numbers or payment details, and never reads cookies.</List.Item>
              </List>
            </BlockStack>
          </Card>
        </Layout.Section>
      </Layout>
    </Page>
  );
}

export function ErrorBoundary() {
  return <PageError title="Checkout pixel" />;
}
