import { env } from "../env.server";
import { signLinkToken, verifyLinkToken, type LinkPurpose } from "./tokens";

/**
 * Public URLs of the click redirect and the unsubscribe endpoint (app/routes/email.*.tsx) for one message, signed with
 * the current link key (the first of LINK_SIGNING_SECRETS, else LINK_SIGNING_SECRET).
 */
export function messageLinks(messageId: string, appUrl = env.SHOPIFY_APP_URL) {
  const base = appUrl.replace(/\/+$/, "");
  return {
    clickUrl: `${base}/email/click?t=${signLinkToken("click", messageId, env.LINK_SIGNING_SECRET)}`,
    unsubscribeUrl: `${base}/email/unsubscribe?t=${signLinkToken("unsubscribe", messageId, env.LINK_SIGNING_SECRET)}`,
  };
}

/** The message id of a link signed with any key of the ring, so rotating the key keeps sent links working. */
export function verifyMessageToken(purpose: LinkPurpose, token: string | null): string | null {
  return verifyLinkToken(purpose, token, env.LINK_SIGNING_SECRETS);
}
