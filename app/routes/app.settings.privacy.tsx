import type { LoaderFunctionArgs } from "@remix-run/node";
import { json } from "@remix-run/node";
import { useLoaderData } from "@remix-run/react";
import { Badge, BlockStack, Button, Card, EmptyState, IndexTable, Layout, List, Page, Text } from "@shopify/polaris";
import { useState } from "react";
import { requireAdmin } from "../auth.server";
import { dateTime } from "../components/format";
import { NavigationProgress, PageError } from "../components/page-states";
import { db } from "../db.server";
import { listPrivacyRequests, type PrivacyRequestRow } from "../privacy/requests.server";

/**
 * Settings → Privacy: the data requests and erasures Shopify sent on customers' behalf (GDPR/CCPA), and what Reclaim
 * did about each. Data request exports are downloaded from here; everything is scoped to the signed-in shop.
 */
export const loader = async ({ request }: LoaderFunctionArgs) => {
  const { shop } = await requireAdmin(request);
  return json({ locale: shop.locale, timezone: shop.timezone, requests: await listPrivacyRequests(db, shop.id) });
};

function StatusBadge({ status }: { status: PrivacyRequestRow["status"] }) {
  if (status === "done") return <Badge tone="success">Done</Badge>;
  if (status === "unreadable") return <Badge tone="critical">Could not read</Badge>;
  return <Badge tone="attention">In progress</Badge>;
}

/**
 * The export is fetched rather than linked: in the Shopify admin, the app's own fetches carry the session token (App
 * Bridge adds it), a plain link would not. The file is then saved from memory.
 */
function DownloadExport({ row }: { row: PrivacyRequestRow }) {
  const [state, setState] = useState<"idle" | "loading" | "failed">("idle");
  const download = async () => {
    setState("loading");
    try {
      const response = await fetch(`/app/privacy/exports/${row.id}`);
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const fileName = /filename="([^"]+)"/.exec(response.headers.get("content-disposition") ?? "")?.[1] ?? "reclaim-customer-data.json";
      const url = URL.createObjectURL(await response.blob());
      const link = document.createElement("a");
      link.href = url;
      link.download = fileName;
      document.body.appendChild(link);
      link.click();
      link.remove();
      URL.revokeObjectURL(url);
      setState("idle");
    } catch {
      setState("failed");
    }
  };
  return (
    <BlockStack gap="100">
      <Button size="slim" onClick={download} loading={state === "loading"} accessibilityLabel={`Download the data of customer ${row.customerId ?? ""}`}>
        Download
      </Button>
      {state === "failed" && (
        <Text as="span" tone="critical" variant="bodySm">
          The download failed. Reload the page and try again.
        </Text>
      )}
    </BlockStack>
  );
}

export default function PrivacySettings() {
  const { requests, locale, timezone } = useLoaderData<typeof loader>();
  return (
    <Page title="Privacy requests" subtitle="Data requests and erasures Shopify sends on your customers' behalf, and what Reclaim did." backAction={{ content: "Settings", url: "/app/settings" }}>
      <NavigationProgress />
      <Layout>
        <Layout.Section>
          <Card>
            <BlockStack gap="200">
              <Text as="h2" variant="headingMd">
                How Reclaim handles them
              </Text>
              <List>
                <List.Item>
                  <Text as="span" fontWeight="semibold">Customer data request:</Text> Reclaim gathers everything it holds about the customer (their
                  abandoned checkouts from Shopify and Stripe, consent, emails, clicks, purchases) into a file. Download it and send it to the
                  customer within the deadline that applies to you (30 days under GDPR).
                </List.Item>
                <List.Item>
                  <Text as="span" fontWeight="semibold">Customer data erasure:</Text> Reclaim deletes the customer&apos;s data from both sources
                  and cancels any email still scheduled. Your dashboard totals are kept as counts. If the customer had unsubscribed, a one-way
                  hash of the address is kept so they are not emailed again.
                </List.Item>
                <List.Item>
                  <Text as="span" fontWeight="semibold">Store data erasure:</Text> Shopify sends it 48 hours after Reclaim is uninstalled, and
                  Reclaim then deletes everything it holds for the store. Reinstalling before then keeps your data.
                </List.Item>
              </List>
            </BlockStack>
          </Card>
        </Layout.Section>
        <Layout.Section>
          <Card padding="0">
            {requests.length === 0 ? (
              <EmptyState heading="No privacy requests yet" image="">
                <p>When a customer asks your store for their data, or to be forgotten, Shopify tells Reclaim, and the request appears here.</p>
              </EmptyState>
            ) : (
              <IndexTable
                resourceName={{ singular: "privacy request", plural: "privacy requests" }}
                itemCount={requests.length}
                selectable={false}
                headings={[{ title: "Received" }, { title: "Request" }, { title: "Customer" }, { title: "Status" }, { title: "What Reclaim did" }, { title: "" }]}
              >
                {requests.map((r, index) => (
                  <IndexTable.Row id={r.id} key={r.id} position={index}>
                    <IndexTable.Cell>{dateTime(r.receivedAt, locale, timezone)}</IndexTable.Cell>
                    <IndexTable.Cell>
                      <Text as="span" fontWeight="semibold">
                        {r.topicLabel}
                      </Text>
                    </IndexTable.Cell>
                    <IndexTable.Cell>
                      <BlockStack gap="050">
                        <Text as="span">{r.customerId ? `Customer ${r.customerId}` : "—"}</Text>
                        {r.orderIds.length > 0 && (
                          <Text as="span" tone="subdued" variant="bodySm">
                            {`Orders ${r.orderIds.join(", ")}`}
                          </Text>
                        )}
                      </BlockStack>
                    </IndexTable.Cell>
                    <IndexTable.Cell>
                      <StatusBadge status={r.status} />
                    </IndexTable.Cell>
                    <IndexTable.Cell>
                      <div style={{ whiteSpace: "normal", maxWidth: "32rem" }}>
                        <Text as="p">{r.outcome}</Text>
                      </div>
                    </IndexTable.Cell>
                    <IndexTable.Cell>{r.downloadable ? <DownloadExport row={r} /> : null}</IndexTable.Cell>
                  </IndexTable.Row>
                ))}
              </IndexTable>
            )}
          </Card>
        </Layout.Section>
      </Layout>
    </Page>
  );
}

export function ErrorBoundary() {
  return <PageError title="Privacy requests" />;
}
