import type { ActionFunctionArgs } from "@remix-run/node";
import { receiveShopifyWebhook } from "../sources/shopify/receive-webhook.server";

/**
 * customers/data_request, customers/redact, shop/redact: verified (401 on a bad HMAC), recorded durably, and processed
 * by the job this enqueues, which runs at once (app/privacy/compliance.server.ts). The shop is the one in
 * X-Shopify-Shop-Domain, never the payload's `shop_domain` (Shopify's samples carry a placeholder there).
 */
export const action = async ({ request }: ActionFunctionArgs) => {
  await receiveShopifyWebhook(request);
  return new Response(null, { status: 200 });
};
