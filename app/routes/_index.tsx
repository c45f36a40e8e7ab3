import type { LoaderFunctionArgs } from "@remix-run/node";
import { redirect } from "@remix-run/node";

/** Opening the app URL with a shop (as the admin does) goes to the embedded app; otherwise explain how to install. */
export const loader = async ({ request }: LoaderFunctionArgs) => {
  const url = new URL(request.url);
  if (url.searchParams.get("shop")) throw redirect(`/app?${url.searchParams.toString()}`);
  return null;
};

export default function Landing() {
  return (
    <main style={{ fontFamily: "system-ui, sans-serif", maxWidth: 640, margin: "4rem auto", lineHeight: 1.5 }}>
      <h1>Reclaim</h1>
      <p>Abandoned-cart recovery for Shopify checkouts and Stripe Checkout, in one pipeline.</p>
      <p>Install Reclaim from the Shopify admin; it opens inside your admin once installed.</p>
    </main>
  );
}
