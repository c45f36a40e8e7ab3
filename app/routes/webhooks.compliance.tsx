import type { ActionFunctionArgs } from "@remix-run/node";
import { receiveShopifyWebhook } from "../sources/shopify/receive-webhook.server";

/** customers/data_request, customers/redact, shop/redact: recorded durably (401 on a bad HMAC). */
export const action = async ({ request }: ActionFunctionArgs) => {
  await receiveShopifyWebhook(request);
  return new Response(null, { status: 200 });
};
