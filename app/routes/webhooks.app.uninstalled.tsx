import type { ActionFunctionArgs } from "@remix-run/node";
import { markShopUninstalled } from "../models/shop.server";
import { receiveShopifyWebhook } from "../sources/shopify/receive-webhook.server";

/** app/uninstalled: tokens are revoked, so sessions go and jobs stop now (idempotent); data stays until shop/redact. */
export const action = async ({ request }: ActionFunctionArgs) => {
  const { shop, triggeredAt } = await receiveShopifyWebhook(request);
  // A retry that arrives after the merchant reinstalled must not uninstall the new installation.
  const at = triggeredAt ? new Date(triggeredAt) : null;
  await markShopUninstalled(shop, { triggeredAt: at && !Number.isNaN(at.getTime()) ? at : null });
  return new Response(null, { status: 200 });
};
