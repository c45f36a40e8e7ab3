import type { ActionFunctionArgs, LoaderFunctionArgs } from "@remix-run/node";
import { json } from "@remix-run/node";
import { useFetcher, useLoaderData } from "@remix-run/react";
import { useAppBridge } from "@shopify/app-bridge-react";
import {
  Badge,
  Banner,
  BlockStack,
  Button,
  Card,
  EmptyState,
  IndexTable,
  InlineCode,
  InlineStack,
  Layout,
  List,
  Page,
  Text,
  type BadgeProps,
} from "@shopify/polaris";
import { useState } from "react";
import { requireAdmin } from "../auth.server";
import { dateTime } from "../components/format";
import { NavigationProgress, PageError } from "../components/page-states";
import { db } from "../db.server";
import { logger } from "../logger.server";
import {
  hasMirrorScope,
  mirrorUnsubscribesState,
  recordGrantedScopes,
  setMirrorUnsubscribes,
  type MirrorUnsubscribesState,
} from "../models/mirror-unsubscribes.server";
import { listPrivacyRequests, type PrivacyRequestRow } from "../privacy/requests.server";
import { readFormWithLimit } from "../security/request-limits.server";
import type { MetaFunction } from "@remix-run/node";
import { pageTitle } from "../components/page-title";

/**
 * Settings → Privacy: "Mirror unsubscribes to Shopify" (an optional permission requested at runtime, docs/decisions/078-mirror-unsubscribes.md),
 * and the data requests and erasures Shopify sent on customers' behalf (GDPR/CCPA), with what Reclaim did about each.
 * Data request exports are downloaded from here; everything is scoped to the signed-in shop.
 */
export const loader = async ({ request }: LoaderFunctionArgs) => {
  const { shop } = await requireAdmin(request);
  return json({
    locale: shop.locale,
    timezone: shop.timezone,
    mirror: { state: mirrorUnsubscribesState(shop) },
    requests: await listPrivacyRequests(db, shop.id),
  });
};

type Admin = Awaited<ReturnType<typeof requireAdmin>>;

/**
 * Asks Shopify which scopes Reclaim holds on this shop (Admin API `app { installation { accessScopes } }`) and records
 * them. Null when Shopify did not answer: what was recorded stands.
 */
async function recheckGrantedScopes({ shop, scopes }: Admin) {
  try {
    const detail = await scopes.query();
    return await recordGrantedScopes(db, shop, detail.granted);
  } catch (error) {
    logger.warn("granted scopes not read from Shopify", { shop: shop.domain, error: error instanceof Response ? `HTTP ${error.status}` : String(error) });
    return null;
  }
}

/**
 * `enable` / `disable` set the merchant's choice; `recheck` re-reads the grant from Shopify (after a revoke in the
 * browser). What is granted is never taken from the form: `requestResult` (App Bridge's answer to scopes.request)
 * only tells the server that asking Shopify again is worthwhile.
 */
export const action = async ({ request }: ActionFunctionArgs) => {
  const admin = await requireAdmin(request);
  const form = await readFormWithLimit(request, 4 * 1024);
  const answer = (shop: { mirrorUnsubscribes: boolean; grantedScopes: string }, ok: boolean, message: string) =>
    json({ ok, state: mirrorUnsubscribesState(shop), message });
  switch (form.get("intent")) {
    case "enable": {
      let shop = await setMirrorUnsubscribes(db, admin.shop.id, true);
      let unconfirmed = false;
      if (!hasMirrorScope(shop.grantedScopes) && form.get("requestResult") === "granted-all") {
        const checked = await recheckGrantedScopes({ ...admin, shop });
        if (checked) shop = checked;
        else unconfirmed = true;
      }
      if (hasMirrorScope(shop.grantedScopes)) return answer(shop, true, "Unsubscribes from Reclaim's emails are now mirrored to Shopify.");
      return answer(
        shop,
        false,
        unconfirmed
          ? "Shopify has not confirmed the permission yet. Mirroring starts as soon as it does."
          : "Shopify has not granted Reclaim the permission to update customers, so nothing is mirrored yet.",
      );
    }
    case "disable": {
      const shop = await setMirrorUnsubscribes(db, admin.shop.id, false);
      return answer(shop, true, "Unsubscribes are no longer mirrored to Shopify.");
    }
    case "recheck": {
      const checked = await recheckGrantedScopes(admin);
      if (!checked) return answer(admin.shop, false, "Shopify did not answer. Reload the page in a moment to see the permission as Shopify reports it.");
      return answer(
        checked,
        true,
        hasMirrorScope(checked.grantedScopes) ? "Reclaim has the permission to update customers." : "Reclaim no longer has the permission to update customers.",
      );
    }
    default:
      return json({ ok: false, state: mirrorUnsubscribesState(admin.shop), message: "Unknown action." }, { status: 400 });
  }
};

/** The optional scope "Mirror unsubscribes to Shopify" needs (shopify.app.toml `optional_scopes`). */
const WRITE_CUSTOMERS = "write_customers";

const MIRROR_STATE: Record<MirrorUnsubscribesState, { label: string; tone: BadgeProps["tone"]; detail: string }> = {
  off: { label: "Off", tone: undefined, detail: "Unsubscribes stay within Reclaim: your other marketing is not told about them." },
  on: {
    label: "On",
    tone: "success",
    detail: "Permission granted. Each unsubscribe from a Reclaim email is also recorded on the buyer's Shopify customer record.",
  },
  requested: {
    label: "Requested, not granted",
    tone: "attention",
    detail:
      "You turned this on, but Shopify reports that Reclaim does not have the permission to update customers: it was declined, not answered yet, or removed later. Nothing is mirrored until it is granted.",
  },
  granted_off: {
    label: "Granted, turned off",
    tone: "info",
    detail: "Reclaim has the permission to update customers, but mirroring is off, so Reclaim does not use it. You can remove the permission.",
  },
};

/**
 * The setting: turning it on asks Shopify for `write_customers` with App Bridge's Scopes API (Shopify shows the merchant
 * a permission dialog), then tells the server, which checks the grant with Shopify itself.
 */
function MirrorUnsubscribesCard({ state }: { state: MirrorUnsubscribesState }) {
  const shopify = useAppBridge();
  const fetcher = useFetcher<typeof action>();
  const [asking, setAsking] = useState<"request" | "revoke" | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const busy = asking !== null || fetcher.state !== "idle";
  const granted = state === "on" || state === "granted_off";
  const view = MIRROR_STATE[state] ?? MIRROR_STATE.off;

  const turnOn = async () => {
    setProblem(null);
    let requestResult = "already-granted";
    if (!granted) {
      setAsking("request");
      try {
        requestResult = (await shopify.scopes.request([WRITE_CUSTOMERS])).result;
      } catch {
        requestResult = "failed";
        setProblem("Shopify's permission request could not be opened. Reload the page and try again.");
      } finally {
        setAsking(null);
      }
    }
    fetcher.submit({ intent: "enable", requestResult }, { method: "post" });
  };
  const removePermission = async () => {
    setProblem(null);
    setAsking("revoke");
    try {
      await shopify.scopes.revoke([WRITE_CUSTOMERS]);
      fetcher.submit({ intent: "recheck" }, { method: "post" });
    } catch {
      setProblem("Shopify did not remove the permission. Reload the page and try again.");
    } finally {
      setAsking(null);
    }
  };

  return (
    <Card>
      <BlockStack gap="300">
        <InlineStack gap="200" blockAlign="center">
          <Text as="h2" variant="headingMd">
            Mirror unsubscribes to Shopify
          </Text>
          <Badge tone={view.tone}>{view.label}</Badge>
        </InlineStack>
        <Text as="p">
          When a buyer unsubscribes from a Reclaim email, Reclaim also marks them as unsubscribed from email marketing in Shopify, on their customer record.
          Your other marketing (Shopify Email, other apps, your newsletters) then respects their choice too. Reclaim never subscribes anyone and changes nothing
          else about your customers. Buyers who are not Shopify customers (for example, Stripe-only buyers) are unsubscribed in Reclaim only.
        </Text>
        <Text as="p" tone="subdued">
          The permission: Shopify&apos;s &quot;write customers&quot; access (<InlineCode>write_customers</InlineCode>) lets Reclaim update customer records.
          Reclaim works without it, and asks for it only when you turn this on; Shopify shows you the request to approve. You can remove it at any time.
        </Text>
        <Text as="p">{view.detail}</Text>
        {fetcher.data && fetcher.state === "idle" && <Banner tone={fetcher.data.ok ? "success" : "warning"}>{fetcher.data.message}</Banner>}
        {problem && <Banner tone="critical">{problem}</Banner>}
        <InlineStack gap="200">
          {(state === "off" || state === "granted_off") && (
            <Button variant="primary" onClick={turnOn} loading={busy} disabled={busy}>
              Turn on
            </Button>
          )}
          {state === "requested" && (
            <Button variant="primary" onClick={turnOn} loading={busy} disabled={busy}>
              Ask for the permission again
            </Button>
          )}
          {(state === "on" || state === "requested") && (
            <Button onClick={() => fetcher.submit({ intent: "disable" }, { method: "post" })} disabled={busy}>
              Turn off
            </Button>
          )}
          {state === "granted_off" && (
            <Button variant="tertiary" tone="critical" onClick={removePermission} disabled={busy}>
              Remove the permission
            </Button>
          )}
        </InlineStack>
      </BlockStack>
    </Card>
  );
}

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

export const meta: MetaFunction = () => [{ title: pageTitle("Privacy · Settings") }];

export default function PrivacySettings() {
  const { requests, locale, timezone, mirror } = useLoaderData<typeof loader>();
  return (
    <Page
      title="Privacy"
      subtitle="Unsubscribes, and the data requests and erasures Shopify sends on your customers' behalf, with what Reclaim did."
      backAction={{ content: "Settings", url: "/app/settings" }}
    >
      <NavigationProgress />
      <Layout>
        <Layout.Section>
          <MirrorUnsubscribesCard state={mirror.state} />
        </Layout.Section>
        <Layout.Section>
          <Card>
            <BlockStack gap="200">
              <Text as="h2" variant="headingMd">
                Privacy requests: how Reclaim handles them
              </Text>
              <List>
                <List.Item>
                  <Text as="span" fontWeight="semibold">
                    Customer data request:
                  </Text>{" "}
                  Reclaim gathers everything it holds about the customer (their abandoned checkouts from Shopify and Stripe, consent, emails, clicks, purchases)
                  into a file. Download it and send it to the customer within the deadline that applies to you (30 days under GDPR).
                </List.Item>
                <List.Item>
                  <Text as="span" fontWeight="semibold">
                    Customer data erasure:
                  </Text>{" "}
                  Reclaim deletes the customer&apos;s data from both sources and cancels any email still scheduled. Your dashboard totals are kept as counts. If
                  the customer had unsubscribed, a one-way hash of the address is kept so they are not emailed again.
                </List.Item>
                <List.Item>
                  <Text as="span" fontWeight="semibold">
                    Store data erasure:
                  </Text>{" "}
                  Shopify sends it 48 hours after Reclaim is uninstalled, and Reclaim then deletes everything it holds for the store. Reinstalling before then
                  keeps your data.
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
                headings={[
                  { title: "Received" },
                  { title: "Request" },
                  { title: "Customer" },
                  { title: "Status" },
                  { title: "What Reclaim did" },
                  { title: "" },
                ]}
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
  return <PageError title="Privacy" />;
}
