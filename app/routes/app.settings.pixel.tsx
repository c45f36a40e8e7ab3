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
import type { TFunction } from "i18next";
import { useTranslation } from "react-i18next";
import { pageTitle } from "../components/page-title";

/**
 * Settings → Checkout pixel: whether Reclaim's web pixel is on for this shop, why not if it is not, the last event it
 * sent, and "Activate again". The page also says plainly what the pixel may and may not cause (docs/decisions/050).
 */

/** The pixel's event names that have a catalogue entry (pixel.events.<name>); any other is shown as Shopify names it. */
const EVENT_NAMES = new Set(["checkout_started", "checkout_contact_info_submitted", "checkout_completed"]);

/**
 * The activation's outcome is stored in English on the shop (Shop.webPixelError, written by the activation job, which
 * has no admin language): each known sentence of app/sources/pixel/activate.server.ts is recognised here and shown in
 * the admin's language, with its details (Shopify's own message, the permissions) kept as they are. An unknown sentence
 * is shown as stored.
 */
const ACTIVATION_ERRORS: { pattern: RegExp; translate: (t: TFunction, m: RegExpExecArray, locale: string) => string }[] = [
  {
    pattern: /^Reclaim needs the (.+?) permissions? for its checkout pixel /s,
    translate: (t, m, locale) => {
      const scopes = [...m[1]!.matchAll(/"([^"]+)"/g)].map((q) => `"${q[1]}"`);
      return t("integrations:pixel.errors.missingScopes", {
        count: scopes.length,
        scopes: new Intl.ListFormat(locale, { type: "conjunction" }).format(scopes),
      });
    },
  },
  {
    pattern: /^Shopify refused Reclaim's access to this shop \((.*)\)\. Open Reclaim from Apps to sign in again\.$/s,
    translate: (t, m) => t("integrations:pixel.errors.unauthorized", { detail: m[1] }),
  },
  {
    pattern: /^Shopify did not answer the activation request; Reclaim tries again automatically\.$/,
    translate: (t) => t("integrations:pixel.errors.noAnswer"),
  },
  {
    pattern: /^Shopify could not activate the pixel: (.*)$/s,
    translate: (t, m) => t("integrations:pixel.errors.couldNotActivateDetail", { detail: m[1] }),
  },
  {
    pattern: /^Shopify does not have Reclaim's pixel extension for this app version \((.*)\)\. The app's operator must deploy it with "shopify app deploy"\.$/s,
    translate: (t, m) => t("integrations:pixel.errors.notDeployed", { detail: m[1] }),
  },
  {
    pattern: /^Shopify refused the pixel's settings: (.*)$/s,
    translate: (t, m) => t("integrations:pixel.errors.settingsRefused", { detail: m[1] }),
  },
];

function translateActivationError(t: TFunction, locale: string, error: string): string {
  for (const { pattern, translate } of ACTIVATION_ERRORS) {
    const match = pattern.exec(error);
    if (match) return translate(t, match, locale);
  }
  return error;
}

export const loader = async ({ request }: LoaderFunctionArgs) => {
  const { shop, t, locale } = await requireAdmin(request);
  const [lastEvent, unconfirmed] = await Promise.all([lastPixelEvent(db, shop), countUnconfirmedPixelRecoveries(db, shop.id)]);
  return json({
    status: (shop.webPixelStatus as WebPixelStatus) ?? "not_activated",
    title: t("integrations:pixel.metaTitle"),
    error: shop.webPixelError && translateActivationError(t, locale, shop.webPixelError),
    updatedAt: shop.webPixelUpdatedAt?.toISOString() ?? null,
    lastEvent: lastEvent
      ? { at: lastEvent.at.toISOString(), name: EVENT_NAMES.has(lastEvent.name) ? t(`integrations:pixel.events.${lastEvent.name}`) : lastEvent.name }
      : null,
    unconfirmed,
    holdHours: PIXEL_COMPLETION_HOLD_MS / 3_600_000,
    locale,
    timezone: shop.timezone,
  });
};

export const action = async ({ request }: ActionFunctionArgs) => {
  const { shop, t, locale } = await requireAdmin(request);
  const form = await readFormWithLimit(request, 4 * 1024);
  if (form.get("intent") !== "activate") return json({ ok: false, message: t("integrations:pixel.unknownAction") }, { status: 400 });
  const result = await activateAndRecord(db, shop.id, adminGraphqlFor, new Date());
  if (!result) return json({ ok: false, message: t("integrations:pixel.notInstalled") }, { status: 409 });
  // Shopify did not answer: the job keeps trying with backoff, and this page shows the outcome.
  if (result.retry) await enqueuePixelActivation(db, shop.id);
  return json(
    result.status === "active"
      ? { ok: true, message: t("integrations:pixel.activated") }
      : { ok: false, message: result.error ? translateActivationError(t, locale, result.error) : t("integrations:pixel.couldNotActivate") },
  );
};

/** Each status's badge; its label is pixel.status.<status>. */
const STATUS_TONE: Record<WebPixelStatus, BadgeProps["tone"]> = {
  active: "success",
  not_activated: undefined,
  missing_scopes: "warning",
  failed: "critical",
};

export const meta: MetaFunction<typeof loader> = ({ data }) => [{ title: pageTitle(data?.title ?? "Checkout pixel · Settings") }];

export default function PixelSettings() {
  const data = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const busy = useNavigation().state !== "idle";
  const { t } = useTranslation("integrations");
  const status = Object.hasOwn(STATUS_TONE, data.status) ? data.status : "not_activated";
  const when = (iso: string) => dateTime(iso, data.locale, data.timezone);

  return (
    <Page title={t("pixel.title")} backAction={{ content: t("common:nav.settings"), url: "/app/settings" }}>
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
                  {t("pixel.statusHeading")}
                </Text>
                <Badge tone={STATUS_TONE[status]}>{t(`pixel.status.${status}`)}</Badge>
              </InlineStack>
              {data.status === "not_activated" && <Text as="p">{t("pixel.notActivatedHelp")}</Text>}
              {data.error && data.status !== "active" && <Banner tone={data.status === "missing_scopes" ? "warning" : "critical"}>{data.error}</Banner>}
              <Text as="p">{data.lastEvent ? t("pixel.lastEvent", { name: data.lastEvent.name, time: when(data.lastEvent.at) }) : t("pixel.noEvent")}</Text>
              {data.updatedAt && (
                <Text as="p" tone="subdued">
                  {t("pixel.lastAttempt", { time: when(data.updatedAt) })}
                </Text>
              )}
              {data.unconfirmed > 0 && <Text as="p">{t("pixel.unconfirmed", { count: data.unconfirmed })}</Text>}
              <InlineStack>
                <Form method="post">
                  <input type="hidden" name="intent" value="activate" />
                  <Button submit loading={busy}>
                    {t("pixel.activateAgain")}
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
                {t("pixel.doesHeading")}
              </Text>
              <List>
                <List.Item>{t("pixel.does.showsEarly")}</List.Item>
                <List.Item>{t("pixel.does.reportsCompleted", { hours: data.holdHours })}</List.Item>
                <List.Item>{t("pixel.does.runsOnly")}</List.Item>
              </List>
            </BlockStack>
          </Card>
        </Layout.Section>
        <Layout.Section variant="oneHalf">
          <Card>
            <BlockStack gap="200">
              <Text as="h2" variant="headingMd">
                {t("pixel.neverHeading")}
              </Text>
              <List>
                <List.Item>{t("pixel.never.causesEmail")}</List.Item>
                <List.Item>{t("pixel.never.recordsSale")}</List.Item>
                <List.Item>{t("pixel.never.stopsForGood", { hours: data.holdHours })}</List.Item>
                <List.Item>{t("pixel.never.collects")}</List.Item>
              </List>
            </BlockStack>
          </Card>
        </Layout.Section>
      </Layout>
    </Page>
  );
}

export function ErrorBoundary() {
  const { t } = useTranslation("integrations");
  return <PageError title={t("pixel.title")} />;
}
