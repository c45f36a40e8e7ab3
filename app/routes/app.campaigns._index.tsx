import type { ActionFunctionArgs, LoaderFunctionArgs } from "@remix-run/node";
import { json } from "@remix-run/node";
import { Form, useLoaderData, useNavigate, useNavigation, useSearchParams, useSubmit } from "@remix-run/react";
import { Badge, BlockStack, Button, Card, EmptyState, IndexTable, InlineStack, Modal, Page, Select, Text } from "@shopify/polaris";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { z } from "zod";
import { requireAdmin } from "../auth.server";
import { number } from "../components/format";
import { NavigationProgress, PageError } from "../components/page-states";
import { db } from "../db.server";
import { campaignResults, ensureDefaultCampaign, listCampaigns, updateCampaignFilters } from "../models/campaign.server";
import { formatMoney } from "../recovery/money";
import { currencySummary, PERIODS, periodBounds, type RecoveredByCurrency } from "../recovery/recovered";
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
  const { shop, locale, t } = await requireAdmin(request);
  const params = query.parse(Object.fromEntries(new URL(request.url).searchParams));
  // The Overview's period and currency, so the two pages show the same recovered figures.
  const { from, to } = periodBounds(Number(params.period), new Date());
  const campaigns = await listCampaigns(db, shop.id);
  const results = await Promise.all(campaigns.map((c) => campaignResults(db, shop.id, c.id, { from, to })));
  return json({
    title: t("campaigns:index.title"),
    locale,
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
  const { shop, t } = await requireAdmin(request);
  const form = await readFormWithLimit(request);
  const intent = form.get("intent");
  if (intent === "create-default") {
    await ensureDefaultCampaign(db, shop.id);
    return json({ ok: true });
  }
  if (intent === "enable" || intent === "disable") {
    const result = await updateCampaignFilters(db, shop.id, String(form.get("campaignId") ?? ""), { enabled: intent === "enable" });
    if (!result.ok) throw new Response(t("campaigns:errors.campaignNotFoundPage"), { status: 404 });
    return json({ ok: true });
  }
  return json({ ok: false, message: t("campaigns:errors.unknownAction") }, { status: 400 });
};

const SOURCES = ["both", "shopify", "stripe"];

export const meta: MetaFunction<typeof loader> = ({ data }) => [{ title: pageTitle(data?.title ?? "Campaigns") }];

export default function Campaigns() {
  const { campaigns, locale, period, currency } = useLoaderData<typeof loader>();
  const navigate = useNavigate();
  const navigation = useNavigation();
  const submit = useSubmit();
  const [params] = useSearchParams();
  const [confirmDisable, setConfirmDisable] = useState<{ id: string; name: string } | null>(null);
  const { t } = useTranslation("campaigns");
  // The selected currency first, every other one summarised beside it, never added (app/recovery/recovered.ts).
  const figure = (byCurrency: RecoveredByCurrency, method: "link" | "window") => {
    const s = currencySummary(byCurrency, method, currency, locale);
    const othersText = s.others.length
      ? t("index.otherCurrencies", {
          count: s.others.length,
          amounts: s.others.map((o) => formatMoney({ amountMinor: o.revenueMinor, currency: o.currency }, locale)).join(", "),
        })
      : null;
    return (
      <BlockStack gap="050">
        <Text as="span" numeric>
          {s.text}
        </Text>
        {othersText ? (
          <Text as="span" variant="bodySm" tone="subdued">
            {othersText}
          </Text>
        ) : null}
      </BlockStack>
    );
  };
  const toggle = (id: string, intent: "enable" | "disable") => submit({ campaignId: id, intent }, { method: "post" });

  if (campaigns.length === 0) {
    return (
      <Page title={t("index.title")}>
        <Card>
          <EmptyState heading={t("index.empty.heading")} image="">
            <p>{t("index.empty.body")}</p>
            <Form method="post">
              <input type="hidden" name="intent" value="create-default" />
              <Button submit variant="primary" loading={navigation.state === "submitting"}>
                {t("index.empty.create")}
              </Button>
            </Form>
          </EmptyState>
        </Card>
      </Page>
    );
  }

  return (
    <Page title={t("index.title")}>
      <NavigationProgress />
      <BlockStack gap="300">
        <InlineStack gap="300" blockAlign="end">
          <Select
            label={t("index.recoveredIn")}
            options={PERIODS.map((p) => ({ label: t(`periods.${p}`), value: p }))}
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
            resourceName={{ singular: t("index.resource.singular"), plural: t("index.resource.plural") }}
            itemCount={campaigns.length}
            selectable={false}
            headings={[
              { title: t("index.columns.campaign") },
              { title: t("index.columns.status") },
              { title: t("index.columns.cartsFrom") },
              { title: t("index.columns.steps"), alignment: "end" },
              { title: t("index.columns.emailsSent"), alignment: "end" },
              { title: t("index.columns.recoveredByLink") },
              { title: t("index.columns.recoveredByWindow") },
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
                <IndexTable.Cell>{c.enabled ? <Badge tone="success">{t("status.enabled")}</Badge> : <Badge>{t("status.disabled")}</Badge>}</IndexTable.Cell>
                <IndexTable.Cell>{SOURCES.includes(c.sources) ? t(`sources.${c.sources}`) : c.sources}</IndexTable.Cell>
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
                        {t("index.disable")}
                      </Button>
                    ) : (
                      <Button size="slim" onClick={() => toggle(c.id, "enable")}>
                        {t("index.enable")}
                      </Button>
                    )}
                  </div>
                </IndexTable.Cell>
              </IndexTable.Row>
            ))}
          </IndexTable>
        </Card>
        <Text as="p" tone="subdued">
          {t("index.explanation", { period: t(`periods.${period}`) })}
        </Text>
      </BlockStack>
      <Modal
        open={confirmDisable !== null}
        onClose={() => setConfirmDisable(null)}
        title={t("index.disableModal.title", { name: confirmDisable?.name ?? "" })}
        primaryAction={{
          content: t("index.disableModal.confirm"),
          destructive: true,
          onAction: () => {
            if (confirmDisable) toggle(confirmDisable.id, "disable");
            setConfirmDisable(null);
          },
        }}
        secondaryActions={[{ content: t("index.disableModal.keep"), onAction: () => setConfirmDisable(null) }]}
      >
        <Modal.Section>
          <Text as="p">{t("index.disableModal.body")}</Text>
        </Modal.Section>
      </Modal>
    </Page>
  );
}

export function ErrorBoundary() {
  const { t } = useTranslation("campaigns");
  return <PageError title={t("index.title")} />;
}
