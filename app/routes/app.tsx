import type { HeadersFunction, LinksFunction, LoaderFunctionArgs } from "@remix-run/node";
import { json } from "@remix-run/node";
import { Link, Outlet, useLoaderData, useRouteError } from "@remix-run/react";
import { NavMenu } from "@shopify/app-bridge-react";
import polarisStyles from "@shopify/polaris/build/esm/styles.css?url";
import { boundary } from "@shopify/shopify-app-remix/server";
import { AppProvider } from "@shopify/shopify-app-remix/react";
import { requireAdmin } from "../auth.server";
import { env } from "../env.server";

export const links: LinksFunction = () => [{ rel: "stylesheet", href: polarisStyles }];

/** Every /app/* page is authenticated here (session token → stored offline session; no network when it is fresh). */
export const loader = async ({ request }: LoaderFunctionArgs) => {
  await requireAdmin(request);
  return json({ apiKey: env.SHOPIFY_API_KEY });
};

export default function AppShell() {
  const { apiKey } = useLoaderData<typeof loader>();
  return (
    <AppProvider isEmbeddedApp apiKey={apiKey}>
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
