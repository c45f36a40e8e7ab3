import { Links, Meta, Outlet, Scripts, ScrollRestoration, useMatches } from "@remix-run/react";
import { isLanguage } from "./i18n/locales";

export default function App() {
  // The document's language is the deepest route's that says one: the admin's (routes/app.tsx), or the buyer's on the
  // public email pages.
  const language =
    useMatches()
      .map((m) => (m.data as { language?: unknown } | undefined)?.language)
      .filter(isLanguage)
      .at(-1) ?? "en";
  return (
    <html lang={language}>
      <head>
        <meta charSet="utf-8" />
        <meta name="viewport" content="width=device-width,initial-scale=1" />
        <link rel="preconnect" href="https://cdn.shopify.com/" />
        <link rel="stylesheet" href="https://cdn.shopify.com/static/fonts/inter/v4/styles.css" />
        <Meta />
        <Links />
      </head>
      <body>
        <Outlet />
        <ScrollRestoration />
        <Scripts />
      </body>
    </html>
  );
}
