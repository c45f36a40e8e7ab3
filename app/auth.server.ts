import type { Shop } from "@prisma/client";
import { adminLanguage } from "./i18n/admin-language.server";
import { translatorFor } from "./i18n/translator";
import { onShopAuthenticated } from "./models/shop.server";
import { authenticate } from "./shopify.server";

/**
 * Authenticates an embedded admin request and returns the shop it is for, with the admin's language: `language` and
 * `t` for text a loader or action writes (form errors, notices), `locale` to format numbers, money and dates. Every /app loader and action starts here,
 * so every query below it can be scoped by `shop.id` (invariant 4). Remix runs loaders in parallel, so each one
 * makes sure the Shop row exists rather than relying on the parent layout.
 */
export async function requireAdmin(request: Request) {
  const context = await authenticate.admin(request);
  const shop: Shop = await onShopAuthenticated(context.session.shop, context.session.scope ?? "");
  // The staff member (the session token's `sub`) keeps their own language across the pages that follow.
  const userId = "sessionToken" in context && context.sessionToken?.sub ? String(context.sessionToken.sub) : undefined;
  const { language, locale } = await adminLanguage(request, shop, userId);
  return { ...context, shop, language, locale, t: translatorFor(language) };
}
