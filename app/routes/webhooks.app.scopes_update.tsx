import type { ActionFunctionArgs } from "@remix-run/node";
import { receiveShopifyWebhook } from "../sources/shopify/receive-webhook.server";

/** app/scopes_update: the job records the granted scopes on the shop and its sessions. */
export const action = async ({ request }: ActionFunctionArgs) => {
  await receiveShopifyWebhook(request);
  return new Response(null, { status: 200 });
};
