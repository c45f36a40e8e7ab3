import type { HeadersFunction, LinksFunction, LoaderFunctionArgs } from "@remix-run/node";
import { json } from "@remix-run/node";
import { Link, Outlet, useLoaderData, useRouteError } from "@remix-run/react";
import { NavMenu } from "@shopify/app-bridge-react";
import polarisStyles from "@shopify/polaris/build/esm/styles.css?url";
import { boundary } from "@shopify/shopify-app-remix/server";
import { AppProvider } from "@shopify/shopify-app-remix/react";
import { useTranslation } from "react-i18next";
import { requireAdmin } from "../auth.server";
import { AdminI18nProvider, POLARIS_TRANSLATIONS } from "../i18n/react";
import { env } from "../env.server";
import type { MetaFunction } from "@remix-run/node";

export const links: LinksFunction = () => [{ rel: "stylesheet", href: polarisStyles }];

/** Every /app/* page is authenticated here (session token → stored offline session; no network when it is fresh). */
export const loader = async ({ request }: LoaderFunctionArgs) => {
  const { language } = await requireAdmin(request);
  return json({ apiKey: env.SHOPIFY_API_KEY, language });
};

export const meta: MetaFunction = () => [{ title: "Reclaim" }];

/**
 * Polaris reads a toned badge with its tone's name first, in visually hidden text run into the label ("SuccessShopify",
 * "CriticalFailed"). Every badge here says what it means in its own words, and colour is never the only signal, so the
 * tone names are dropped; a badge that needs context says it (app/components/badges.tsx: "Source: Shopify").
 */
const NO_TONE_LABELS = {
  Polaris: { Badge: { TONE_LABELS: { info: "", success: "", warning: "", critical: "", attention: "", new: "", readOnly: "", enabled: "" } } },
};

export default function AppShell() {
  const { apiKey, language } = useLoaderData<typeof loader>();
  return (
    <AdminI18nProvider language={language}>
      <AppProvider isEmbeddedApp apiKey={apiKey} i18n={[NO_TONE_LABELS, POLARIS_TRANSLATIONS[language]]}>
        <AppNav />
        <Outlet />
      </AppProvider>
    </AdminI18nProvider>
  );
}

function AppNav() {
  const { t } = useTranslation("common");
  return (
    <NavMenu>
      <Link to="/app" rel="home">
        {t("nav.overview")}
      </Link>
      <Link to="/app/recoveries">{t("nav.recoveries")}</Link>
      <Link to="/app/campaigns">{t("nav.campaigns")}</Link>
      <Link to="/app/settings">{t("nav.settings")}</Link>
    </NavMenu>
  );
}

// Shopify needs Remix to catch thrown responses (redirects, 401) to add the right headers for the admin.
export function ErrorBoundary() {
  return boundary.error(useRouteError());
}

export const headers: HeadersFunction = (headersArgs) => boundary.headers(headersArgs);
