/**
 * Per-shop limits on what the campaign editor and the settings page make the server render (docs/decisions/079):
 * live previews (the editor asks for one 400 ms after each edit) and test emails (each one also goes out through the
 * shop's SMTP server). A shop past its limit gets 429 with the reason in words, shown in the editor; other shops are
 * unaffected. In memory, per process, like the pixel collector's buckets (app/sources/pixel/rate-limit.server.ts).
 */
import type { TFunction } from "i18next";
import { translatorFor } from "../i18n/translator";
import { TokenBuckets, type RateLimit } from "../sources/pixel/rate-limit.server";

/** 60 previews a minute, at once or spread out: well above a merchant typing, far below a script. */
export const PREVIEW_LIMIT: RateLimit = { capacity: 60, refillPerSecond: 1 };
/** 5 test emails a minute. */
export const TEST_SEND_LIMIT: RateLimit = { capacity: 5, refillPerSecond: 5 / 60 };

export interface Limited {
  /** A sentence for the merchant. */
  message: string;
  retryAfterSeconds: number;
}

const previews = new TokenBuckets(PREVIEW_LIMIT, 10_000);
const testSends = new TokenBuckets(TEST_SEND_LIMIT, 10_000);

const english = translatorFor("en");

/** Takes one preview from the shop's allowance; null when allowed, otherwise why not (in the admin's language with `t`). */
export function takePreview(shopId: string, nowMs = Date.now(), t: TFunction = english): Limited | null {
  const taken = previews.take(shopId, nowMs);
  if (taken.ok) return null;
  return {
    message: t("campaigns:limits.tooManyPreviews", { limit: PREVIEW_LIMIT.capacity, count: taken.retryAfterSeconds }),
    retryAfterSeconds: taken.retryAfterSeconds,
  };
}

/** Takes one test email from the shop's allowance; null when allowed, otherwise why not (in the admin's language with `t`). */
export function takeTestSend(shopId: string, nowMs = Date.now(), t: TFunction = english): Limited | null {
  const taken = testSends.take(shopId, nowMs);
  if (taken.ok) return null;
  return {
    message: t("campaigns:limits.tooManyTestEmails", { limit: TEST_SEND_LIMIT.capacity, count: taken.retryAfterSeconds }),
    retryAfterSeconds: taken.retryAfterSeconds,
  };
}

/**
 * The render pool's key for a shop's editor work (previews, test emails, the check on save): they run one at a time
 * per shop, so one shop's editor never occupies every render worker (app/email/render-pool.server.ts).
 */
export const editorRenderKey = (shopId: string) => `editor:${shopId}`;
