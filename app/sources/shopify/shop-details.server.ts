/**
 * Install step: the shop's own details from Admin GraphQL (`shop { name email currencyCode ianaTimezone }`), so money
 * is shown in the shop's currency and quiet hours use the shop's time zone from the start (issue 21). A time zone the
 * merchant already chose in Settings is kept: only the default (UTC) is replaced. Stripe-only shops never get here and
 * keep UTC with a time-zone select. Idempotent; a failure is logged and leaves the defaults (the install carries on).
 */
import type { PrismaClient } from "@prisma/client";
import { logger } from "../../logger.server";
import { isValidTimeZone } from "../../recovery/quiet-hours";
import { adminGraphqlFor, type AdminGraphql } from "./admin-client.server";

export const SHOP_DETAILS_QUERY = `#graphql
query ReclaimShopDetails {
  shop { name email currencyCode ianaTimezone }
}`;

interface ShopDetails {
  shop: { name: string | null; email: string | null; currencyCode: string | null; ianaTimezone: string | null } | null;
}

export async function storeShopDetails(db: PrismaClient, shopId: string, graphql?: AdminGraphql): Promise<void> {
  const shop = await db.shop.findUnique({ where: { id: shopId } });
  if (!shop) return;
  const outcome = await (graphql ?? adminGraphqlFor(shop.domain))<ShopDetails>(SHOP_DETAILS_QUERY, {});
  if (outcome.kind !== "ok" || !outcome.data?.shop) {
    logger.warn("shop details not read", { shop: shop.domain, outcome: outcome.kind });
    return;
  }
  const d = outcome.data.shop;
  await db.shop.update({
    where: { id: shop.id },
    data: {
      ...(d.name ? { name: d.name } : {}),
      ...(d.email && !shop.email ? { email: d.email } : {}),
      ...(d.currencyCode && /^[A-Z]{3}$/.test(d.currencyCode) ? { currency: d.currencyCode } : {}),
      ...(d.ianaTimezone && isValidTimeZone(d.ianaTimezone) && shop.timezone === "UTC" ? { timezone: d.ianaTimezone } : {}),
    },
  });
}
