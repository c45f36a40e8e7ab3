import type { ActionFunctionArgs } from "@remix-run/node";
import { markShopUninstalled } from "../models/shop.server";
import { receiveShopifyWebhook } from "../sources/shopify/receive-webhook.server";

/** app/uninstalled: tokens are revoked, so sessions go and jobs stop now (idempotent); data stays until shop/redact. */
export const action = async ({ request }: ActionFunctionArgs) => {
  const { shop } = await receiveShopifyWebhook(request);
  await markShopUninstalled(shop);
  return new Response(null, { status: 200 });
};
