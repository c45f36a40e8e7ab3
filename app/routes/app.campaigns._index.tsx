import type { ActionFunctionArgs, LoaderFunctionArgs } from "@remix-run/node";
import { json } from "@remix-run/node";
import { Form, useLoaderData, useNavigate, useNavigation, useSearchParams, useSubmit } from "@remix-run/react";
import { Badge, BlockStack, Button, Card, EmptyState, IndexTable, InlineStack, Modal, Page, Select, Text } from "@shopify/polaris";
import { useState } from "react";
import { z } from "zod";
import { requireAdmin } from "../auth.server";
import { number } from "../components/format";
import { NavigationProgress, PageError } from "../components/page-states";
import { db } from "../db.server";
import { campaignResults, ensureDefaultCampaign, listCampaigns, updateCampaignFilters } from "../models/campaign.server";
import { currencySummary, PERIOD_LABELS, PERIODS, periodBounds, type RecoveredByCurrency } from "../recovery/recovered";
import { readFormWithLimit } from "../security/request-limits.server";
import type { MetaFunction } from "@remix-run/node";
import { pageTitle } from "../components/page-title";

const query = z.object({
  period: z.enum(PERIODS).catch("30"),
  currency: z
    .string()
    .regex(/^[A-Z]{3}$/)
    .optional()
    .catch(undefined),
});

export const loader = async ({ request }: LoaderFunctionArgs) => {
  const { shop } = await requireAdmin(request);
  const params = query.parse(Object.fromEntries(new URL(request.url).searchParams));
  // The Overview's period and currency, so the two pages show the same recovered figures.
  const { from, to } = periodBounds(Number(params.period), new Date());
  const campaigns = await listCampaigns(db, shop.id);
  const results = await Promise.all(campaigns.map((c) => campaignResults(db, shop.id, c.id, { from, to })));
  return json({
    locale: shop.locale,
    period: params.period,
    currency: params.currency ?? shop.currency,
    campaigns: campaigns.map((c, i) => ({
      id: c.id,
      name: c.name,
      enabled: c.enabled,
      isDefault: c.isDefault,
      sources: c.sources,
      steps: c._count.steps,
      sent: results[i]!.steps.reduce((n, s) => n + s.sent, 0),
      recovered: results[i]!.recoveredByCurrency,
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

export const meta: MetaFunction = () => [{ title: pageTitle("Campaigns") }];

export default function Campaigns() {
  const { campaigns, locale, period, currency } = useLoaderData<typeof loader>();
  const navigate = useNavigate();
  const navigation = useNavigation();
  const submit = useSubmit();
  const [params] = useSearchParams();
  const [confirmDisable, setConfirmDisable] = useState<{ id: string; name: string } | null>(null);
  // The selected currency first, every other one summarised beside it, never added (app/recovery/recovered.ts).
  const figure = (byCurrency: RecoveredByCurrency, method: "link" | "window") => {
    const s = currencySummary(byCurrency, method, currency, locale);
    return (
      <BlockStack gap="050">
        <Text as="span" numeric>
          {s.text}
        </Text>
        {s.othersText ? (
          <Text as="span" variant="bodySm" tone="subdued">
            {s.othersText}
          </Text>
        ) : null}
      </BlockStack>
    );
  };
  const toggle = (id: string, intent: "enable" | "disable") => submit({ campaignId: id, intent }, { method: "post" });

  if (campaigns.length === 0) {
    return (
      <Page title="Campaigns">
        <Card>
          <EmptyState heading="No campaign yet" image="">
            <p>
              A campaign is the series of emails sent after a cart is abandoned. Start from the recommended one: 1 hour, 24 hours and 72 hours after
              abandonment, the last with a discount.
            </p>
            <Form method="post">
              <input type="hidden" name="intent" value="create-default" />
              <Button submit variant="primary" loading={navigation.state === "submitting"}>
                Create the default campaign
              </Button>
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
        <InlineStack gap="300" blockAlign="end">
          <Select
            label="Recovered in"
            options={PERIODS.map((p) => ({ label: PERIOD_LABELS[p], value: p }))}
            value={period}
            onChange={(v) => {
              const next = new URLSearchParams(params);
              next.set("period", v);
              submit(next, { method: "get", replace: true });
            }}
          />
        </InlineStack>
        <Card padding="0">
          <IndexTable
            resourceName={{ singular: "campaign", plural: "campaigns" }}
            itemCount={campaigns.length}
            selectable={false}
            headings={[
              { title: "Campaign" },
              { title: "Status" },
              { title: "Carts from" },
              { title: "Steps", alignment: "end" },
              { title: "Emails sent", alignment: "end" },
              { title: "Recovered by link" },
              { title: "Recovered by window" },
              { title: "" },
            ]}
          >
            {campaigns.map((c, index) => (
              <IndexTable.Row id={c.id} key={c.id} position={index} onClick={() => navigate(`/app/campaigns/${c.id}`)}>
                <IndexTable.Cell>
                  <Text as="span" fontWeight="semibold">
                    {c.name}
                  </Text>
                </IndexTable.Cell>
                <IndexTable.Cell>{c.enabled ? <Badge tone="success">Enabled</Badge> : <Badge>Disabled</Badge>}</IndexTable.Cell>
                <IndexTable.Cell>{SOURCES[c.sources] ?? c.sources}</IndexTable.Cell>
                <IndexTable.Cell>
                  <InlineStack align="end">{number(c.steps, locale)}</InlineStack>
                </IndexTable.Cell>
                <IndexTable.Cell>
                  <InlineStack align="end">{number(c.sent, locale)}</InlineStack>
                </IndexTable.Cell>
                <IndexTable.Cell>
                  <div data-testid={`campaign-recovered-link-${c.id}`}>{figure(c.recovered, "link")}</div>
                </IndexTable.Cell>
                <IndexTable.Cell>{figure(c.recovered, "window")}</IndexTable.Cell>
                <IndexTable.Cell>
                  {/* Stops the row's click so that toggling does not also open the campaign. */}
                  <div onClick={(e) => e.stopPropagation()}>
                    {c.enabled ? (
                      <Button size="slim" onClick={() => setConfirmDisable({ id: c.id, name: c.name })}>
                        Disable
                      </Button>
                    ) : (
                      <Button size="slim" onClick={() => toggle(c.id, "enable")}>
                        Enable
                      </Button>
                    )}
                  </div>
                </IndexTable.Cell>
              </IndexTable.Row>
            ))}
          </IndexTable>
        </Card>
        <Text as="p" tone="subdued">
          {`${PERIOD_LABELS[period]}, by purchase date, as on the Overview. Recovered means bought after a Reclaim email: by link, the buyer completed the same checkout (Shopify) or the recovered session (Stripe); by window, the same buyer ordered within the attribution window after clicking. The two are never added together, and carts bought without an email are not counted.`}
        </Text>
      </BlockStack>
      <Modal
        open={confirmDisable !== null}
        onClose={() => setConfirmDisable(null)}
        title={`Disable “${confirmDisable?.name ?? ""}”?`}
        primaryAction={{
          content: "Disable campaign",
          destructive: true,
          onAction: () => {
            if (confirmDisable) toggle(confirmDisable.id, "disable");
            setConfirmDisable(null);
          },
        }}
        secondaryActions={[{ content: "Keep it on", onAction: () => setConfirmDisable(null) }]}
      >
        <Modal.Section>
          <Text as="p">
            No new abandoned cart will enter this campaign while it is off, and the emails it has already scheduled are not sent (each cart's timeline will say
            the campaign was turned off). You can enable it again at any time; emails skipped while it was off are not sent later.
          </Text>
        </Modal.Section>
      </Modal>
    </Page>
  );
}

export function ErrorBoundary() {
  return <PageError title="Campaigns" />;
}
