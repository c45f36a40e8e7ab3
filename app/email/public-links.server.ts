/**
 * What the public email endpoints do (app/routes/email.*.tsx stay thin): the signed click redirect and the
 * one-click unsubscribe. Neither needs a cookie or a login: the signed token is the authority.
 */
import type { PrismaClient } from "@prisma/client";
import { unsubscribeContact } from "../models/contact.server";
import { mirrorsUnsubscribes } from "../models/mirror-unsubscribes.server";
import { storefrontDiscountUrl } from "../recovery/incentive";
import { isStripeCheckoutUrl, RECOVERY_LINK_FALLBACK_DAYS } from "../sources/stripe/to-source-event";
import { isHostedInvoiceUrl } from "../sources/stripe/to-payment-event";
import { env } from "../env.server";
import { lockKey } from "../models/ingest-lock.server";
import { checkShopifyRecoveryUrl } from "../sources/shopify/recovery-url";
import { verifyMessageToken } from "./links.server";
import type { Language } from "../i18n/locales";
import { pageLanguage } from "../recovery/email-language";

/**
 * Clicks stored per message are bounded: a click within CLICK_REPEAT_MS of the last stored one is the same visit
 * (link scanners and double taps open a link several times in seconds) and is not stored again, and no message
 * stores more than MAX_CLICKS_PER_MESSAGE. Window attribution reads the latest click, so it stays within minutes.
 */
export const CLICK_REPEAT_MS = 10 * 60 * 1000;
export const MAX_CLICKS_PER_MESSAGE = 50;
const CLICK_LOCK_SPACE = 71_002;

export type ClickOutcome = { ok: true; location: string } | { ok: false; status: 400 | 410; message: string };

/** Records the click and returns where to send the buyer: the provider's recovery link, with the code applied on Shopify. */
export async function recordClick(db: PrismaClient, token: string | null, now: Date, options: { record?: boolean } = {}): Promise<ClickOutcome> {
  const messageId = verifyMessageToken("click", token);
  if (!messageId) return { ok: false, status: 400, message: "This link is not valid. Please use the link from the email as it was sent." };
  const message = await db.message.findUnique({
    where: { id: messageId },
    select: {
      id: true,
      shopId: true,
      recoveryId: true,
      discountCode: true,
      shop: { select: { domain: true } },
      recovery: { select: { source: true, kind: true, recoveryUrl: true, recoveryUrlExpiresAt: true, abandonedAt: true } },
    },
  });
  if (!message?.recovery.recoveryUrl) return { ok: false, status: 410, message: "This link is no longer available." };
  if (options.record !== false) {
    // One decision at a time per message (an advisory lock held until commit): concurrent clicks — a scanner or a
    // script firing the link in parallel — would otherwise all see "no recent click" and all be stored.
    await db.$transaction(async (tx) => {
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(${CLICK_LOCK_SPACE}::int, ${lockKey(message.id)}::int)`;
      const stored = await tx.click.aggregate({ where: { messageId: message.id }, _count: { _all: true }, _max: { clickedAt: true } });
      const repeat = stored._max.clickedAt !== null && Math.abs(now.getTime() - stored._max.clickedAt.getTime()) < CLICK_REPEAT_MS;
      if (!repeat && stored._count._all < MAX_CLICKS_PER_MESSAGE) {
        await tx.click.create({ data: { shopId: message.shopId, messageId: message.id, recoveryId: message.recoveryId, clickedAt: now } });
      }
    });
  }
  // A Stripe link past its expiry (or stored before hosts were checked and not Stripe's) opens a dead page: the buyer
  // lands on the shop instead (ADR 077).
  // A payment recovery's link is the invoice's Stripe-hosted page (docs/decisions/087), checked again here.
  if (message.recovery.kind === "payment") {
    return { ok: true, location: isHostedInvoiceUrl(message.recovery.recoveryUrl) ? message.recovery.recoveryUrl : shopHomeUrl(message.shop.domain) };
  }
  if (message.recovery.source === "stripe" && !usableStripeLink(message.recovery, now)) return { ok: true, location: shopHomeUrl(message.shop.domain) };
  // A Shopify link is checked again (a row stored before links were checked, or by any path that skipped the check):
  // never a redirect to a host that is not the shop's (app/sources/shopify/recovery-url.ts).
  if (message.recovery.source === "shopify") {
    const checked = checkShopifyRecoveryUrl(message.recovery.recoveryUrl, message.shop.domain, env.SHOPIFY_STOREFRONT_EXTRA_HOSTS);
    if (!checked.url) return { ok: true, location: shopHomeUrl(message.shop.domain) };
    const target = message.discountCode ? storefrontDiscountUrl(message.shop.domain, message.discountCode, checked.url) : checked.url;
    return { ok: true, location: target };
  }
  const location =
    message.recovery.source === "shopify" && message.discountCode
      ? storefrontDiscountUrl(message.shop.domain, message.discountCode, message.recovery.recoveryUrl)
      : message.recovery.recoveryUrl;
  return { ok: true, location };
}

/** The shop's storefront (its permanent domain redirects to the primary one). */
export function shopHomeUrl(domain: string): string {
  return `https://${domain}/`;
}

/** A Stripe recovery link works until its expiry: Stripe's, else 30 days after the session expired (abandonedAt). */
export function usableStripeLink(r: { recoveryUrl: string | null; recoveryUrlExpiresAt: Date | null; abandonedAt: Date }, now: Date): boolean {
  if (!isStripeCheckoutUrl(r.recoveryUrl, env.STRIPE_CHECKOUT_EXTRA_HOSTS)) return false;
  const expiresAt = r.recoveryUrlExpiresAt ?? new Date(r.abandonedAt.getTime() + RECOVERY_LINK_FALLBACK_DAYS * 86_400_000);
  return expiresAt.getTime() > now.getTime();
}

/** The id carried by the unsubscribe link of a "send test email". */
export const TEST_EMAIL_ID = "test";

/**
 * What the unsubscribe page shows, and in which language: the email's the link came from (Message.language), else the
 * buyer's, else the shop's (docs/decisions/093); English when the link names no email.
 */
export type UnsubscribeView =
  | { state: "invalid"; language: Language }
  | { state: "test"; language: Language }
  | {
      state: "confirm" | "done";
      language: Language;
      shopName: string;
      maskedEmail: string;
      /** True when the unsubscribe is (or will be) written back to the shop's Shopify customer record. */
      mirroredToShopify: boolean;
    };

function maskEmail(email: string): string {
  const [local = "", domain = ""] = email.split("@");
  return `${local.slice(0, 1)}${"•".repeat(Math.max(1, Math.min(6, local.length - 1)))}@${domain}`;
}

async function contactForToken(db: PrismaClient, token: string | null) {
  const messageId = verifyMessageToken("unsubscribe", token);
  if (!messageId) return null;
  const message = await db.message.findUnique({
    where: { id: messageId },
    select: {
      language: true,
      shop: { select: { name: true, domain: true, grantedScopes: true, mirrorUnsubscribes: true, uninstalledAt: true, locale: true } },
      recovery: { select: { contact: true, locale: true } },
    },
  });
  const contact = message?.recovery.contact;
  if (!message || !contact) return null;
  return {
    contact,
    language: pageLanguage(message.language, message.recovery.locale, message.shop.locale),
    shopName: message.shop.name?.trim() || message.shop.domain,
    mirroredToShopify: mirrorsUnsubscribes(message.shop),
  };
}

/** GET: shows a confirmation page and changes nothing (mail scanners follow links). */
export async function unsubscribePage(db: PrismaClient, token: string | null): Promise<UnsubscribeView> {
  if (verifyMessageToken("unsubscribe", token) === TEST_EMAIL_ID) return { state: "test", language: "en" };
  const found = await contactForToken(db, token);
  if (!found) return { state: "invalid", language: "en" };
  return {
    state: found.contact.unsubscribedAt ? "done" : "confirm",
    language: found.language,
    shopName: found.shopName,
    maskedEmail: maskEmail(found.contact.email),
    mirroredToShopify: found.mirroredToShopify,
  };
}

/**
 * POST (RFC 8058 one-click, or the confirmation page's button): unsubscribes the contact from every recovery
 * email of the shop, both sources, at once. Idempotent.
 */
export async function unsubscribeByToken(db: PrismaClient, token: string | null, now: Date, via: "one-click" | "page"): Promise<UnsubscribeView> {
  if (verifyMessageToken("unsubscribe", token) === TEST_EMAIL_ID) return { state: "test", language: "en" };
  const found = await contactForToken(db, token);
  if (!found) return { state: "invalid", language: "en" };
  await unsubscribeContact(db, found.contact, now, {
    via: via === "one-click" ? "one-click unsubscribe from the inbox" : "unsubscribe page",
    mirrorToShopify: found.mirroredToShopify,
  });
  return {
    state: "done",
    language: found.language,
    shopName: found.shopName,
    maskedEmail: maskEmail(found.contact.email),
    mirroredToShopify: found.mirroredToShopify,
  };
}
