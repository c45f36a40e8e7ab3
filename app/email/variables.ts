import type { Recovery, Shop } from "@prisma/client";
import type { Language } from "../i18n/locales";
import type { LineItem } from "../recovery/model";
import { isValidTimeZone } from "../recovery/quiet-hours";
import type { IncentiveFacts, TemplateInput } from "../recovery/template";

type ShopFacts = Pick<Shop, "name" | "domain" | "postalAddress" | "timezone" | "locale"> & Partial<Pick<Shop, "brandLogoUrl" | "brandAccentColor">>;

/** The shop's side of a template's input, from its row (name, address, time zone, template language, brand kit). */
export function shopTemplateFacts(shop: ShopFacts): TemplateInput["shop"] {
  return {
    name: shop.name?.trim() || shop.domain.replace(/\.myshopify\.com$/, ""),
    domain: shop.domain,
    postalAddress: shop.postalAddress,
    timeZone: isValidTimeZone(shop.timezone) ? shop.timezone : "UTC",
    locale: shop.locale,
    logoUrl: shop.brandLogoUrl ?? null,
    accentColor: shop.brandAccentColor ?? null,
  };
}

/** Template input from stored rows (used for real sends and for previews against a real recovery). */
export function templateInputFor(
  shop: ShopFacts,
  recovery: Pick<Recovery, "source" | "name" | "firstName" | "email" | "lineItems" | "currency" | "locale"> & { totalMinor: number | bigint } & Partial<
      Pick<Recovery, "kind" | "attemptCount" | "nextPaymentAttemptAt" | "lastName">
    >,
  links: { recoveryUrl: string; unsubscribeUrl: string },
  incentive: IncentiveFacts | null,
  /** The email's language (app/recovery/email-language.ts): money and dates follow it. */
  language?: Language,
): TemplateInput {
  let lineItems: LineItem[] = [];
  try {
    const parsed = JSON.parse(recovery.lineItems);
    if (Array.isArray(parsed)) lineItems = parsed as LineItem[];
  } catch {
    // stored by ingest as JSON; an unreadable value renders as an empty cart rather than failing the send
  }
  return {
    shop: shopTemplateFacts(shop),
    recovery: {
      source: recovery.source === "stripe" ? "stripe" : "shopify",
      name: recovery.name,
      firstName: recovery.firstName,
      lastName: recovery.lastName ?? null,
      email: recovery.email,
      lineItems,
      totalMinor: Number(recovery.totalMinor),
      currency: recovery.currency,
      locale: recovery.locale,
    },
    links,
    incentive,
    // Payment recoveries (docs/decisions/087): Stripe's attempt count and next retry for the "update your card" emails.
    payment: recovery.kind === "payment" ? { attemptCount: recovery.attemptCount ?? null, nextAttemptAt: recovery.nextPaymentAttemptAt ?? null } : null,
    ...(language ? { language } : {}),
  };
}
