import type { ActionFunctionArgs } from "@remix-run/node";
import { receiveShopifyWebhook } from "../sources/shopify/receive-webhook.server";

/** customers_email_marketing_consent/update: a buyer (un)subscribed in Shopify; a job applies it to the contact (docs/decisions/073). */
export const action = async ({ request }: ActionFunctionArgs) => {
  await receiveShopifyWebhook(request);
  return new Response(null, { status: 200 });
};
