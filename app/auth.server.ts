import type { Shop } from "@prisma/client";
import { onShopAuthenticated } from "./models/shop.server";
import { authenticate } from "./shopify.server";

/**
 * Authenticates an embedded admin request and returns the shop it is for. Every /app loader and action starts here,
 * so every query below it can be scoped by `shop.id` (invariant 4). Remix runs loaders in parallel, so each one
 * makes sure the Shop row exists rather than relying on the parent layout.
 */
export async function requireAdmin(request: Request) {
  const context = await authenticate.admin(request);
  const shop: Shop = await onShopAuthenticated(context.session.shop, context.session.scope ?? "");
  return { ...context, shop };
}
