import type { ActionFunctionArgs, LoaderFunctionArgs } from "@remix-run/node";
import { json } from "@remix-run/node";
import { Form, useLoaderData, useNavigate, useNavigation } from "@remix-run/react";
import { Badge, BlockStack, Button, Card, EmptyState, IndexTable, InlineStack, Page, Text } from "@shopify/polaris";
import { requireAdmin } from "../auth.server";
import { money, number } from "../components/format";
import { NavigationProgress, PageError } from "../components/page-states";
import { db } from "../db.server";
import { campaignResults, ensureDefaultCampaign, updateCampaignFilters } from "../models/campaign.server";
import { readFormWithLimit } from "../security/request-limits.server";

export const loader = async ({ request }: LoaderFunctionArgs) => {
  const { shop } = await requireAdmin(request);
  const campaigns = await db.campaign.findMany({
    where: { shopId: shop.id },
    orderBy: [{ isDefault: "desc" }, { createdAt: "asc" }],
    include: { _count: { select: { steps: true } } },
  });
  const results = await Promise.all(campaigns.map((c) => campaignResults(db, shop.id, c.id)));
  return json({
    locale: shop.locale,
    campaigns: campaigns.map((c, i) => ({
      id: c.id,
      name: c.name,
      enabled: c.enabled,
      isDefault: c.isDefault,
      sources: c.sources,
      steps: c._count.steps,
      sent: results[i]!.steps.reduce((n, s) => n + s.sent, 0),
      link: results[i]!.conversionsByLink,
      window: results[i]!.conversionsByWindow,
    })),
  });
};

export const action = async ({ request }: ActionFunctionArgs) => {
  const { shop } = await requireAdmin(request);
  const form = await readFormWithLimit(request);
  const intent = form.get("intent");
  if (intent === "create-default") {
    await ensureDefaultCampaign(db, shop.id);
    return json({ ok: true });
  }
  if (intent === "enable" || intent === "disable") {
    const result = await updateCampaignFilters(db, shop.id, String(form.get("campaignId") ?? ""), { enabled: intent === "enable" });
    if (!result.ok) throw new Response("Campaign not found", { status: 404 });
    return json({ ok: true });
  }
  return json({ ok: false, message: "Unknown action" }, { status: 400 });
};

const SOURCES: Record<string, string> = { both: "Shopify and Stripe", shopify: "Shopify only", stripe: "Stripe only" };

export default function Campaigns() {
  const { campaigns, locale } = useLoaderData<typeof loader>();
  const navigate = useNavigate();
  const navigation = useNavigation();
  // Amounts in different currencies are listed side by side, never added.
  const amounts = (byCurrency: Record<string, number>) =>
    Object.entries(byCurrency).map(([currency, minor]) => money(minor, currency, locale)).join(" + ") || "—";

  if (campaigns.length === 0) {
    return (
      <Page title="Campaigns">
        <Card>
          <EmptyState heading="No campaign yet" image="">
            <p>A campaign is the series of emails sent after a cart is abandoned. Start from the recommended one: 1 hour, 24 hours and 72 hours after abandonment, the last with a discount.</p>
            <Form method="post">
              <input type="hidden" name="intent" value="create-default" />
              <Button submit variant="primary" loading={navigation.state === "submitting"}>Create the default campaign</Button>
            </Form>
          </EmptyState>
        </Card>
      </Page>
    );
  }

  return (
    <Page title="Campaigns">
      <NavigationProgress />
      <BlockStack gap="300">
        <Card padding="0">
          <IndexTable
            resourceName={{ singular: "campaign", plural: "campaigns" }}
            itemCount={campaigns.length}
            selectable={false}
            headings={[{ title: "Campaign" }, { title: "Status" }, { title: "Carts from" }, { title: "Steps", alignment: "end" }, { title: "Emails sent", alignment: "end" }, { title: "Recovered by link" }, { title: "Recovered by window" }, { title: "" }]}
          >
            {campaigns.map((c, index) => (
              <IndexTable.Row id={c.id} key={c.id} position={index} onClick={() => navigate(`/app/campaigns/${c.id}`)}>
                <IndexTable.Cell><Text as="span" fontWeight="semibold">{c.name}</Text></IndexTable.Cell>
                <IndexTable.Cell>{c.enabled ? <Badge tone="success">Enabled</Badge> : <Badge>Disabled</Badge>}</IndexTable.Cell>
                <IndexTable.Cell>{SOURCES[c.sources] ?? c.sources}</IndexTable.Cell>
                <IndexTable.Cell><InlineStack align="end">{number(c.steps, locale)}</InlineStack></IndexTable.Cell>
                <IndexTable.Cell><InlineStack align="end">{number(c.sent, locale)}</InlineStack></IndexTable.Cell>
                <IndexTable.Cell>{number(c.link.count, locale)} · {amounts(c.link.amountByCurrency)}</IndexTable.Cell>
                <IndexTable.Cell>{number(c.window.count, locale)} · {amounts(c.window.amountByCurrency)}</IndexTable.Cell>
                <IndexTable.Cell>
                  {/* The form stops the row's click so that toggling does not also open the campaign. */}
                  <div onClick={(e) => e.stopPropagation()}>
                    <Form method="post">
                      <input type="hidden" name="campaignId" value={c.id} />
                      <input type="hidden" name="intent" value={c.enabled ? "disable" : "enable"} />
                      <Button submit size="slim">{c.enabled ? "Disable" : "Enable"}</Button>
                    </Form>
                  </div>
                </IndexTable.Cell>
              </IndexTable.Row>
            ))}
          </IndexTable>
        </Card>
        <Text as="p" tone="subdued">Recovered by link: the buyer completed the same checkout (Shopify) or the recovered session (Stripe). By window: the same buyer ordered within the attribution window after clicking. The two are never added together.</Text>
      </BlockStack>
    </Page>
  );
}

export function ErrorBoundary() {
  return <PageError title="Campaigns" />;
}
