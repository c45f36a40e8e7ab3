/**
 * The variables a recovery email template sees (Liquid, snake_case as in Shopify themes). Pure: the caller passes
 * the recovery, the signed links and the incentive; prices are formatted in the checkout's currency and locale.
 */
import type { LineItem, Source } from "./model";
import { currencyExponent, formatMoney } from "./money";
import { boundedFirstName } from "./first-name";
import { isLanguage, shippedLanguage, type Language } from "../i18n/locales";
import { emailFormattingLocale } from "./email-language";

// One Intl.NumberFormat per (locale, currency): building one costs more than formatting thousands of prices.
const moneyFormats = new Map<string, Intl.NumberFormat | null>();
/** formatMoney (money.ts), with the formatter cached. */
function formatMoneyCached(amountMinor: number, currency: string, locale: string): string {
  const key = `${locale}|${currency}`;
  let format = moneyFormats.get(key);
  if (format === undefined) {
    const exp = currencyExponent(currency);
    try {
      format = new Intl.NumberFormat(locale, { style: "currency", currency, minimumFractionDigits: exp, maximumFractionDigits: exp });
    } catch {
      format = null;
    }
    if (moneyFormats.size > 1000) moneyFormats.clear();
    moneyFormats.set(key, format);
  }
  return format ? format.format(amountMinor / 10 ** currencyExponent(currency)) : formatMoney({ amountMinor, currency }, locale);
}

export interface IncentiveFacts {
  code: string;
  /** `percentage` (value 1–100) or `fixed_amount` (value in minor units of `currency`). */
  type: "percentage" | "fixed_amount";
  value: number;
  currency: string;
  expiresAt: Date | null;
}

export interface TemplateInput {
  /**
   * `locale` is the language the templates are written in (the shop's): dates in the email use it, never the buyer's
   * browser locale, so an English email does not print "2026年12月15日". Brand kit: logo (https) and accent colour.
   */
  shop: { name: string; domain: string; postalAddress: string; timeZone: string; locale: string; logoUrl?: string | null; accentColor?: string | null };
  recovery: {
    source: Source;
    name: string | null;
    firstName: string | null;
    /** The buyer's family name (Japanese emails greet with it: `{{ customer.last_name }} 様`); null when unknown. */
    lastName?: string | null;
    email: string | null;
    lineItems: LineItem[];
    totalMinor: number;
    currency: string;
    locale: string | null;
  };
  links: { recoveryUrl: string; unsubscribeUrl: string };
  incentive: IncentiveFacts | null;
  /** Payment recoveries (docs/decisions/087): Stripe's attempt count and next automatic retry; absent for carts. */
  payment?: { attemptCount: number | null; nextAttemptAt: Date | null } | null;
  /**
   * The language the email is rendered in (app/recovery/email-language.ts, docs/decisions/093): money, numbers and
   * dates follow it (in the buyer's own locale when it is of the same language, so `de-CH` keeps its grouping). Absent:
   * dates in the shop's language and money in the buyer's locale, as before languages existed.
   */
  language?: Language;
}

export interface TemplateLineItem {
  title: string;
  variant_title: string | null;
  quantity: number;
  image_url: string | null;
  /** Unit price, formatted. */
  price: string;
  /** Quantity × unit price, formatted. */
  line_price: string;
}

export interface TemplateVariables {
  shop: { name: string; domain: string; postal_address: string; logo_url: string | null; accent_color: string };
  customer: { first_name: string | null; last_name: string | null; email: string | null };
  checkout: {
    source: Source;
    name: string | null;
    currency: string;
    locale: string;
    line_items: TemplateLineItem[];
    /** Whether any item has an image: templates leave the image column out otherwise (Stripe carts often have none). */
    has_images: boolean;
    item_count: number;
    subtotal: string;
    total: string;
  };
  recovery_url: string;
  unsubscribe_url: string;
  incentive: { code: string; description: string; expires_on: string | null } | null;
  /** Payment recoveries only (null for carts): the amount due is `checkout.total`, the subscription's items `checkout.line_items`. */
  payment: { attempt_count: number | null; next_attempt_on: string | null } | null;
}

/** Every variable a template may use, with what it holds: shown in the editor next to the template. */
export const TEMPLATE_VARIABLE_HELP: Record<string, string> = {
  "shop.name": "Your shop's name",
  "shop.postal_address": "Your postal address (also printed in the footer of every email)",
  "shop.accent_color": "Your brand's accent colour (Settings › Brand), e.g. for buttons",
  "shop.logo_url": "Your logo's address (Settings › Brand); shown above every email when set",
  "customer.first_name": "The buyer's first name (may be empty: use | default: 'there')",
  "customer.last_name": "The buyer's family name (may be empty; Japanese emails greet with it: {{ customer.last_name }} 様)",
  "checkout.line_items": "Items: title, variant_title, quantity, image_url, price, line_price",
  "checkout.item_count": "Number of items",
  "checkout.subtotal": "Sum of the items, formatted in the checkout's currency",
  "checkout.total": "Checkout total, formatted in the checkout's currency",
  recovery_url: "Link back to the checkout (through Reclaim's click tracking)",
  unsubscribe_url: "One-click unsubscribe link",
  "incentive.code": "Discount code (Shopify checkouts, steps with an incentive); empty otherwise",
  "incentive.description": "e.g. 10% or €5.00",
  "incentive.expires_on": "Date the code stops working",
  "payment.attempt_count": "Payment emails: how many times Stripe has tried to charge the card",
  "payment.next_attempt_on": "Payment emails: the date Stripe tries the card again (empty when it will not retry)",
};

export function resolveLocale(...candidates: (string | null | undefined)[]): string {
  for (const c of candidates) {
    if (!c) continue;
    const tag = c.replace("_", "-");
    try {
      if (Intl.NumberFormat.supportedLocalesOf([tag]).length > 0) return tag;
    } catch {
      // not a BCP 47 tag
    }
  }
  return "en";
}

export function describeIncentive(i: Pick<IncentiveFacts, "type" | "value" | "currency">, locale: string): string {
  return i.type === "percentage" ? `${i.value}%` : formatMoney({ amountMinor: i.value, currency: i.currency }, locale);
}

/** The accent colour when none is set: the default templates' near-black. */
/** The longest body template a step may have (saving refuses more; rendering checks it again). */
export const MAX_BODY_LENGTH = 100_000;

export const DEFAULT_ACCENT_COLOR = "#111827";

export function templateVariables(input: TemplateInput): TemplateVariables {
  const { shop, recovery: r, links, incentive, payment } = input;
  // With the email's language known, money, numbers and dates follow it (the buyer's own tag when it is of that
  // language). Without: money in the buyer's locale, and dates in the template's language, the shop's.
  const locale = input.language ? resolveLocale(emailFormattingLocale(input.language, r.locale, shop.locale)) : resolveLocale(r.locale, shop.locale);
  const templateLocale = input.language ? locale : resolveLocale(shop.locale);
  const money = (amountMinor: number) => formatMoneyCached(amountMinor, r.currency, locale);
  const items = r.lineItems.map((li) => ({
    title: li.title,
    variant_title: li.variantTitle,
    quantity: li.quantity,
    image_url: li.imageUrl,
    price: money(li.unitPriceMinor),
    line_price: money(li.totalPriceMinor),
  }));
  return {
    shop: {
      name: shop.name,
      domain: shop.domain,
      postal_address: shop.postalAddress,
      logo_url: shop.logoUrl && /^https:\/\//.test(shop.logoUrl) ? shop.logoUrl : null,
      accent_color: shop.accentColor && /^#[0-9a-fA-F]{6}$/.test(shop.accentColor) ? shop.accentColor : DEFAULT_ACCENT_COLOR,
    },
    // buyer-typed: bounded, no control characters
    customer: { first_name: boundedFirstName(r.firstName), last_name: boundedFirstName(r.lastName), email: r.email },
    checkout: {
      source: r.source,
      name: r.name,
      currency: r.currency,
      locale,
      line_items: items,
      has_images: items.some((i) => Boolean(i.image_url)),
      item_count: r.lineItems.reduce((n, li) => n + li.quantity, 0),
      subtotal: money(r.lineItems.reduce((n, li) => n + li.totalPriceMinor, 0)),
      total: money(r.totalMinor),
    },
    recovery_url: links.recoveryUrl,
    unsubscribe_url: links.unsubscribeUrl,
    incentive: incentive
      ? {
          code: incentive.code,
          description: describeIncentive(incentive, locale),
          expires_on: incentive.expiresAt
            ? new Intl.DateTimeFormat(templateLocale, { dateStyle: "long", timeZone: shop.timeZone }).format(incentive.expiresAt)
            : null,
        }
      : null,
    payment: payment
      ? {
          attempt_count: payment.attemptCount,
          next_attempt_on: payment.nextAttemptAt
            ? new Intl.DateTimeFormat(templateLocale, { dateStyle: "long", timeZone: shop.timeZone }).format(payment.nextAttemptAt)
            : null,
        }
      : null,
  };
}

/** The shipped language of a template input: its `language`, else the shop's primary language, else English. */
export function inputLanguage(input: Pick<TemplateInput, "language" | "shop">): Language {
  if (input.language && isLanguage(input.language)) return input.language;
  return shippedLanguage(input.shop.locale) ?? "en";
}

/** Data for previews and for checking templates on save: every variable present, so a typo is caught. */
export function sampleTemplateInput(shop: Partial<TemplateInput["shop"]> = {}, currency = "USD"): TemplateInput {
  return {
    shop: {
      name: shop.name ?? "Acme Outfitters",
      domain: shop.domain ?? "acme.myshopify.com",
      postalAddress: shop.postalAddress || "1 Market Street, Springfield, 12345, US",
      timeZone: shop.timeZone ?? "UTC",
      locale: shop.locale ?? "en",
      logoUrl: shop.logoUrl ?? null,
      accentColor: shop.accentColor ?? null,
    },
    recovery: {
      source: "shopify",
      name: "#1001",
      firstName: "Alex",
      lastName: "Morgan",
      email: "alex@example.com",
      lineItems: [
        {
          title: "Merino crew sweater",
          variantTitle: "Forest / M",
          quantity: 1,
          imageUrl: "https://cdn.shopify.com/s/files/sample-sweater.jpg",
          unitPriceMinor: 8900,
          totalPriceMinor: 8900,
        },
        { title: "Wool socks", variantTitle: null, quantity: 2, imageUrl: null, unitPriceMinor: 1450, totalPriceMinor: 2900 },
      ],
      totalMinor: 11800,
      currency,
      locale: shop.locale ?? "en",
    },
    links: { recoveryUrl: "https://example.com/checkout", unsubscribeUrl: "https://example.com/unsubscribe" },
    incentive: { code: "BACK-SAMPLE7", type: "percentage", value: 10, currency, expiresAt: new Date("2030-01-08T00:00:00Z") },
    payment: { attemptCount: 1, nextAttemptAt: new Date("2030-01-04T00:00:00Z") },
  };
}
