import type { JobDefinition } from "./engine.server";
import { processShopifyWebhook } from "./definitions/process-shopify-webhook.server";
import { processStripeEvent } from "./definitions/process-stripe-event.server";
import { enrichStripeRecovery } from "./definitions/enrich-stripe-recovery.server";
import { shopInstalled } from "./definitions/shop-installed.server";
import { mirrorUnsubscribe } from "./definitions/mirror-unsubscribe.server";
import { sendDueMessages } from "./definitions/send-due-messages.server";
import { sendShopMessages } from "./definitions/send-message.server";
import { prepareIncentiveCodes } from "./definitions/prepare-incentive-codes.server";
import { syncShopifyCheckoutsJob } from "./definitions/sync-shopify-checkouts.server";
import { activateWebPixelJob } from "./definitions/activate-web-pixel.server";
import { refreshShopDetails } from "./definitions/refresh-shop-details.server";
import { processPixelEvent } from "./definitions/process-pixel-event.server";
import { fireFlowTrigger } from "./definitions/fire-flow-trigger.server";
import { pruneRetention } from "./definitions/prune-retention.server";
import { repairSplitCheckouts } from "./definitions/repair-split-checkouts.server";

/** Every job the runner knows, in one list. */
export const jobDefinitions: JobDefinition<any>[] = [
  processShopifyWebhook,
  processStripeEvent,
  enrichStripeRecovery,
  shopInstalled,
  sendDueMessages,
  sendShopMessages,
  prepareIncentiveCodes,
  mirrorUnsubscribe,
  syncShopifyCheckoutsJob,
  activateWebPixelJob,
  refreshShopDetails,
  processPixelEvent,
  fireFlowTrigger,
  pruneRetention,
  repairSplitCheckouts,
];
