/**
 * Install step: the shop's own details from Admin GraphQL (`shop { name email currencyCode ianaTimezone }`), so money
 * is shown in the shop's currency and quiet hours use the shop's time zone from the start (issue 21), and its primary
 * language (`shopLocales`), the language of its default campaign and of emails to buyers of unknown language (issue 19). A time zone the
 * merchant already chose in Settings is kept: only the default (UTC) is replaced. Stripe-only shops never get here and
 * keep UTC with a time-zone select. Idempotent; a failure leaves the defaults (the install carries on), is shown on the
 * Overview (Shop.detailsProblem) and is retried by its own job.
 */
import type { PrismaClient } from "@prisma/client";
import { logger } from "../../logger.server";
import { isLocaleTag } from "../../i18n/locales";
import { isValidTimeZone } from "../../recovery/quiet-hours";
import { adminGraphqlFor, type AdminGraphql } from "./admin-client.server";
import { enqueueJob } from "../../jobs/queue.server";

export const SHOP_DETAILS_QUERY = `#graphql
query ReclaimShopDetails {
  shop { name email currencyCode ianaTimezone }
}`;

/**
 * The shop's primary language, asked apart: it needs `read_locales`, which a shop installed before Reclaim asked for it
 * has not granted until the merchant approves the new scope. Refused or unanswered, the shop keeps its language
 * (English by default) and nothing else is held up.
 */
export const SHOP_LOCALES_QUERY = `#graphql
query ReclaimShopLocales {
  shopLocales(published: true) { locale primary }
}`;

interface ShopLocales {
  shopLocales: { locale: string; primary: boolean }[] | null;
}

interface ShopDetails {
  shop: { name: string | null; email: string | null; currencyCode: string | null; ianaTimezone: string | null } | null;
}

export const REFRESH_SHOP_DETAILS_JOB = "refresh-shop-details";
/** The first retry; later ones follow the job runner's backoff. */
export const RETRY_AFTER_MS = 30_000;

/** What a merchant is told when the details could not be read (never Shopify's raw message: it may quote a token). */
const PROBLEM: Record<string, string> = {
  throttled: "Shopify was busy and asked Reclaim to wait.",
  transient: "Shopify could not be reached.",
  unauthorized: "Reclaim has no valid access to this store yet; opening Reclaim from your Shopify admin restores it.",
  access_denied: "Shopify refused to share the store's details.",
  max_cost: "Shopify refused the request.",
  failed: "Shopify answered with an error.",
  missing: "Shopify's answer had no store details.",
};

export type ShopDetailsOutcome = { ok: true } | { ok: false; problem: string } | null;

/** Reads and stores the details once; returns null for an unknown shop, else whether it worked (and why not). */
export async function storeShopDetails(db: PrismaClient, shopId: string, graphql?: AdminGraphql): Promise<ShopDetailsOutcome> {
  const shop = await db.shop.findUnique({ where: { id: shopId } });
  if (!shop) return null;
  const client = graphql ?? adminGraphqlFor(shop.domain);
  const outcome = await client<ShopDetails>(SHOP_DETAILS_QUERY, {});
  if (outcome.kind !== "ok" || !outcome.data?.shop) {
    const problem = PROBLEM[outcome.kind === "ok" ? "missing" : outcome.kind] ?? PROBLEM.failed!;
    logger.warn("shop details not read", { shop: shop.domain, outcome: outcome.kind });
    await db.shop.update({ where: { id: shop.id }, data: { detailsProblem: problem } });
    return { ok: false, problem };
  }
  const d = outcome.data.shop;
  const locale = await primaryLocale(client, shop.domain);
  await db.shop.update({
    where: { id: shop.id },
    data: {
      ...(d.name ? { name: d.name } : {}),
      ...(d.email && !shop.email ? { email: d.email } : {}),
      ...(d.currencyCode && /^[A-Z]{3}$/.test(d.currencyCode) ? { currency: d.currencyCode } : {}),
      ...(d.ianaTimezone && isValidTimeZone(d.ianaTimezone) && shop.timezone === "UTC" ? { timezone: d.ianaTimezone } : {}),
      ...(locale ? { locale } : {}),
      detailsProblem: null,
    },
  });
  return { ok: true };
}

/** The primary locale's tag (`ja`, `pt-BR`), or null when Shopify did not say. */
async function primaryLocale(graphql: AdminGraphql, domain: string): Promise<string | null> {
  const outcome = await graphql<ShopLocales>(SHOP_LOCALES_QUERY, {});
  if (outcome.kind !== "ok") {
    logger.info("shop language not read", { shop: domain, outcome: outcome.kind });
    return null;
  }
  const primary = outcome.data?.shopLocales?.find((l) => l.primary)?.locale;
  return primary && isLocaleTag(primary) ? primary : null;
}

/**
 * The install step: read the details now; when Shopify does not answer, the install carries on with the defaults and
 * a job of its own retries the read with backoff (REFRESH_SHOP_DETAILS_JOB), so the other install steps are not
 * repeated and the merchant is not left with the defaults for good.
 */
export async function storeShopDetailsAtInstall(db: PrismaClient, shopId: string, now: Date, graphql?: AdminGraphql): Promise<void> {
  const outcome = await storeShopDetails(db, shopId, graphql);
  if (outcome && !outcome.ok)
    await enqueueJob(
      db,
      REFRESH_SHOP_DETAILS_JOB,
      { shopId },
      { key: `${REFRESH_SHOP_DETAILS_JOB}:${shopId}`, shopId, runAt: new Date(now.getTime() + RETRY_AFTER_MS) },
    );
}
