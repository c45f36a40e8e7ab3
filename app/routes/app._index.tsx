import type { LoaderFunctionArgs } from "@remix-run/node";
import { json } from "@remix-run/node";
import { useLoaderData } from "@remix-run/react";
import { BlockStack, Card, InlineGrid, Layout, Page, Text } from "@shopify/polaris";
import { db } from "../db.server";
import { requireAdmin } from "../auth.server";

export const loader = async ({ request }: LoaderFunctionArgs) => {
  const { shop } = await requireAdmin(request);
  const [shopify, stripe, sent, recovered] = await Promise.all([
    db.recovery.count({ where: { shopId: shop.id, source: "shopify" } }),
    db.recovery.count({ where: { shopId: shop.id, source: "stripe" } }),
    db.message.count({ where: { shopId: shop.id, status: "sent" } }),
    db.recovery.count({ where: { shopId: shop.id, status: "recovered" } }),
  ]);
  return json({ shopDomain: shop.domain, counts: { shopify, stripe, sent, recovered } });
};

function Stat({ label, value }: { label: string; value: number }) {
  return (
    <Card>
      <BlockStack gap="200">
        <Text as="h3" variant="headingSm" tone="subdued">
          {label}
        </Text>
        <Text as="p" variant="heading2xl">
          {value.toLocaleString()}
        </Text>
      </BlockStack>
    </Card>
  );
}

export default function Overview() {
  const { shopDomain, counts } = useLoaderData<typeof loader>();
  return (
    <Page title="Overview" subtitle={shopDomain}>
      <Layout>
        <Layout.Section>
          <InlineGrid columns={{ xs: 1, sm: 2, md: 4 }} gap="400">
            <Stat label="Abandoned on Shopify" value={counts.shopify} />
            <Stat label="Abandoned on Stripe" value={counts.stripe} />
            <Stat label="Recovery emails sent" value={counts.sent} />
            <Stat label="Recovered" value={counts.recovered} />
          </InlineGrid>
        </Layout.Section>
      </Layout>
    </Page>
  );
}
