import { db } from "../../db.server";
import { recordInboundEvent } from "../../models/inbound-event.server";
import { authenticate } from "../../shopify.server";

/** Shopify normalises topics to `CHECKOUTS_CREATE`; we store them the way the TOML names them (`checkouts/create`). */
export function topicName(normalised: string): string {
  const lower = normalised.toLowerCase();
  for (const prefix of ["customers_email_marketing_consent", "customers", "checkouts", "orders", "app", "shop"]) {
    if (lower.startsWith(prefix + "_")) return `${prefix}/${lower.slice(prefix.length + 1)}`;
  }
  return lower;
}

/**
 * The whole of a Shopify webhook route: verify the HMAC on the raw body (401, nothing written), store the delivery
 * once keyed by X-Shopify-Webhook-Id, enqueue its processing, answer 200. Returns what was stored for routes that
 * do more (app/uninstalled).
 */
export async function receiveShopifyWebhook(request: Request) {
  const webhook = await authenticate.webhook(request);
  const topic = topicName(webhook.topic);
  const shop = await db.shop.findUnique({ where: { domain: webhook.shop }, select: { id: true } });
  const outcome = await recordInboundEvent(
    db,
    {
      source: "shopify",
      receiver: webhook.shop,
      externalId: webhook.webhookId,
      topic,
      payload: JSON.stringify(webhook.payload),
      shopId: shop?.id ?? null,
    },
    { name: "process-shopify-webhook" },
  );
  return { ...webhook, topic, outcome };
}
