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
import { useState, type ReactNode } from "react";
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
import { Trans, useTranslation } from "react-i18next";
import { pageTitle } from "../components/page-title";

/**
 * Settings → Privacy: "Mirror unsubscribes to Shopify" (an optional permission requested at runtime, docs/decisions/078-mirror-unsubscribes.md),
 * and the data requests and erasures Shopify sent on customers' behalf (GDPR/CCPA), with what Reclaim did about each.
 * Data request exports are downloaded from here; everything is scoped to the signed-in shop.
 */
export const loader = async ({ request }: LoaderFunctionArgs) => {
  const { shop, t, locale } = await requireAdmin(request);
  return json({
    title: t("integrations:privacy.metaTitle"),
    locale,
    timezone: shop.timezone,
    mirror: { state: mirrorUnsubscribesState(shop) },
    requests: await listPrivacyRequests(db, shop.id, undefined, t),
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
  const m = (key: string) => admin.t(`integrations:privacy.messages.${key}`);
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
      if (hasMirrorScope(shop.grantedScopes)) return answer(shop, true, m("mirrored"));
      return answer(shop, false, unconfirmed ? m("notConfirmed") : m("notGranted"));
    }
    case "disable": {
      const shop = await setMirrorUnsubscribes(db, admin.shop.id, false);
      return answer(shop, true, m("disabled"));
    }
    case "recheck": {
      const checked = await recheckGrantedScopes(admin);
      if (!checked) return answer(admin.shop, false, m("noAnswer"));
      return answer(checked, true, hasMirrorScope(checked.grantedScopes) ? m("hasPermission") : m("lostPermission"));
    }
    default:
      return json({ ok: false, state: mirrorUnsubscribesState(admin.shop), message: m("unknownAction") }, { status: 400 });
  }
};

/** The optional scope "Mirror unsubscribes to Shopify" needs (shopify.app.toml `optional_scopes`). */
const WRITE_CUSTOMERS = "write_customers";

/** Each state's badge tone; its label and detail are privacy.mirror.states.<state>. */
const MIRROR_TONE: Record<MirrorUnsubscribesState, BadgeProps["tone"]> = {
  off: undefined,
  on: "success",
  requested: "attention",
  granted_off: "info",
};

const Code = ({ children }: { children?: ReactNode }) => <InlineCode>{children}</InlineCode>;

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
  const { t } = useTranslation("integrations");
  const shown = Object.hasOwn(MIRROR_TONE, state) ? state : "off";

  const turnOn = async () => {
    setProblem(null);
    let requestResult = "already-granted";
    if (!granted) {
      setAsking("request");
      try {
        requestResult = (await shopify.scopes.request([WRITE_CUSTOMERS])).result;
      } catch {
        requestResult = "failed";
        setProblem(t("privacy.mirror.requestFailed"));
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
      setProblem(t("privacy.mirror.revokeFailed"));
    } finally {
      setAsking(null);
    }
  };

  return (
    <Card>
      <BlockStack gap="300">
        <InlineStack gap="200" blockAlign="center">
          <Text as="h2" variant="headingMd">
            {t("privacy.mirror.heading")}
          </Text>
          <Badge tone={MIRROR_TONE[shown]}>{t(`privacy.mirror.states.${shown}.label`)}</Badge>
        </InlineStack>
        <Text as="p">{t("privacy.mirror.intro")}</Text>
        <Text as="p" tone="subdued">
          <Trans t={t} i18nKey="privacy.mirror.permission" components={{ code: <Code /> }} />
        </Text>
        <Text as="p">{t(`privacy.mirror.states.${shown}.detail`)}</Text>
        {fetcher.data && fetcher.state === "idle" && <Banner tone={fetcher.data.ok ? "success" : "warning"}>{fetcher.data.message}</Banner>}
        {problem && <Banner tone="critical">{problem}</Banner>}
        <InlineStack gap="200">
          {(state === "off" || state === "granted_off") && (
            <Button variant="primary" onClick={turnOn} loading={busy} disabled={busy}>
              {t("privacy.mirror.turnOn")}
            </Button>
          )}
          {state === "requested" && (
            <Button variant="primary" onClick={turnOn} loading={busy} disabled={busy}>
              {t("privacy.mirror.askAgain")}
            </Button>
          )}
          {(state === "on" || state === "requested") && (
            <Button onClick={() => fetcher.submit({ intent: "disable" }, { method: "post" })} disabled={busy}>
              {t("privacy.mirror.turnOff")}
            </Button>
          )}
          {state === "granted_off" && (
            <Button variant="tertiary" tone="critical" onClick={removePermission} disabled={busy}>
              {t("privacy.mirror.removePermission")}
            </Button>
          )}
        </InlineStack>
      </BlockStack>
    </Card>
  );
}

function StatusBadge({ status }: { status: PrivacyRequestRow["status"] }) {
  const { t } = useTranslation("integrations");
  if (status === "done") return <Badge tone="success">{t("privacy.status.done")}</Badge>;
  if (status === "unreadable") return <Badge tone="critical">{t("privacy.status.unreadable")}</Badge>;
  return <Badge tone="attention">{t("privacy.status.pending")}</Badge>;
}

/**
 * The export is fetched rather than linked: in the Shopify admin, the app's own fetches carry the session token (App
 * Bridge adds it), a plain link would not. The file is then saved from memory.
 */
function DownloadExport({ row }: { row: PrivacyRequestRow }) {
  const [state, setState] = useState<"idle" | "loading" | "failed">("idle");
  const { t } = useTranslation("integrations");
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
      <Button
        size="slim"
        onClick={download}
        loading={state === "loading"}
        accessibilityLabel={t("privacy.download.accessibilityLabel", { customerId: row.customerId ?? "" })}
      >
        {t("privacy.download.label")}
      </Button>
      {state === "failed" && (
        <Text as="span" tone="critical" variant="bodySm">
          {t("privacy.download.failed")}
        </Text>
      )}
    </BlockStack>
  );
}

export const meta: MetaFunction<typeof loader> = ({ data }) => [{ title: pageTitle(data?.title ?? "Privacy · Settings") }];

const Strong = ({ children }: { children?: ReactNode }) => (
  <Text as="span" fontWeight="semibold">
    {children}
  </Text>
);

export default function PrivacySettings() {
  const { requests, locale, timezone, mirror } = useLoaderData<typeof loader>();
  const { t } = useTranslation("integrations");
  return (
    <Page title={t("privacy.title")} subtitle={t("privacy.subtitle")} backAction={{ content: t("common:nav.settings"), url: "/app/settings" }}>
      <NavigationProgress />
      <Layout>
        <Layout.Section>
          <MirrorUnsubscribesCard state={mirror.state} />
        </Layout.Section>
        <Layout.Section>
          <Card>
            <BlockStack gap="200">
              <Text as="h2" variant="headingMd">
                {t("privacy.howTo.heading")}
              </Text>
              <List>
                {(["dataRequest", "customerRedact", "shopRedact"] as const).map((topic) => (
                  <List.Item key={topic}>
                    <Strong>{t(`privacy.howTo.${topic}Title`)}</Strong> {t(`privacy.howTo.${topic}`)}
                  </List.Item>
                ))}
              </List>
            </BlockStack>
          </Card>
        </Layout.Section>
        <Layout.Section>
          <Card padding="0">
            {requests.length === 0 ? (
              <EmptyState heading={t("privacy.empty.heading")} image="">
                <p>{t("privacy.empty.body")}</p>
              </EmptyState>
            ) : (
              <IndexTable
                resourceName={{ singular: t("privacy.table.singular"), plural: t("privacy.table.plural") }}
                itemCount={requests.length}
                selectable={false}
                headings={[
                  { title: t("privacy.table.received") },
                  { title: t("privacy.table.request") },
                  { title: t("privacy.table.customer") },
                  { title: t("privacy.table.status") },
                  { title: t("privacy.table.outcome") },
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
                        <Text as="span">{r.customerId ? t("privacy.table.customerId", { customerId: r.customerId }) : "—"}</Text>
                        {r.orderIds.length > 0 && (
                          <Text as="span" tone="subdued" variant="bodySm">
                            {t("privacy.table.orders", { orderIds: r.orderIds.join(", ") })}
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
  const { t } = useTranslation("integrations");
  return <PageError title={t("privacy.title")} />;
}
