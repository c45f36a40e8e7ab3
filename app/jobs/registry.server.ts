import type { JobDefinition } from "./runner.server";
import { processShopifyWebhook } from "./definitions/process-shopify-webhook.server";
import { shopInstalled } from "./definitions/shop-installed.server";

/** Every job the runner knows, in one list. */
export const jobDefinitions: JobDefinition<any>[] = [
  processShopifyWebhook,
  shopInstalled,
];
