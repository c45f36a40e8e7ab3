import type { ActionFunctionArgs } from "@remix-run/node";
import { receiveShopifyWebhook } from "../sources/shopify/receive-webhook.server";

/** orders/cancelled: the order is no longer a purchase; a job marks it cancelled and reverses what it credited. */
export const action = async ({ request }: ActionFunctionArgs) => {
  await receiveShopifyWebhook(request);
  return new Response(null, { status: 200 });
};
