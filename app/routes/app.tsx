import type { HeadersFunction, LinksFunction, LoaderFunctionArgs } from "@remix-run/node";
import { json } from "@remix-run/node";
import { Link, Outlet, useLoaderData, useRouteError } from "@remix-run/react";
import { NavMenu } from "@shopify/app-bridge-react";
import polarisStyles from "@shopify/polaris/build/esm/styles.css?url";
import polarisEnglish from "@shopify/polaris/locales/en.json";
import { boundary } from "@shopify/shopify-app-remix/server";
import { AppProvider } from "@shopify/shopify-app-remix/react";
import { requireAdmin } from "../auth.server";
import { env } from "../env.server";
import type { MetaFunction } from "@remix-run/node";

export const links: LinksFunction = () => [{ rel: "stylesheet", href: polarisStyles }];

/** Every /app/* page is authenticated here (session token → stored offline session; no network when it is fresh). */
export const loader = async ({ request }: LoaderFunctionArgs) => {
  await requireAdmin(request);
  return json({ apiKey: env.SHOPIFY_API_KEY });
};

export const meta: MetaFunction = () => [{ title: "Reclaim" }];

/**
 * Polaris reads a toned badge with its tone's name first, in visually hidden text run into the label ("SuccessShopify",
 * "CriticalFailed"). Every badge here says what it means in its own words, and colour is never the only signal, so the
 * tone names are dropped; a badge that needs context says it (app/components/badges.tsx: "Source: Shopify").
 */
const POLARIS_I18N = [
  { Polaris: { Badge: { TONE_LABELS: { info: "", success: "", warning: "", critical: "", attention: "", new: "", readOnly: "", enabled: "" } } } },
  polarisEnglish,
];

export default function AppShell() {
  const { apiKey } = useLoaderData<typeof loader>();
  return (
    <AppProvider isEmbeddedApp apiKey={apiKey} i18n={POLARIS_I18N}>
      <NavMenu>
        <Link to="/app" rel="home">
          Overview
        </Link>
        <Link to="/app/recoveries">Recoveries</Link>
        <Link to="/app/campaigns">Campaigns</Link>
        <Link to="/app/settings">Settings</Link>
      </NavMenu>
      <Outlet />
    </AppProvider>
  );
}

// Shopify needs Remix to catch thrown responses (redirects, 401) to add the right headers for the admin.
export function ErrorBoundary() {
  return boundary.error(useRouteError());
}

export const headers: HeadersFunction = (headersArgs) => boundary.headers(headersArgs);
