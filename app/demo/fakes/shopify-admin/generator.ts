// Deterministic, realistic abandoned checkouts: the same options always give the same data.
import { currencyExponent } from "./money";
import { realisticCartToken } from "./store";
import type {
  AddressRecord,
  CheckoutInput,
  CustomerRecord,
  DiscountCodeApplication,
  EmailMarketingState,
  LineItemRecord,
  MarketingOptInLevel,
  MoneyPair,
  ShopInfo,
} from "./store";

export interface GenerateOptions {
  /** the shop (its currency is the shop money) or just its currency; default USD */
  shop?: Pick<ShopInfo, "currencyCode"> | string;
  count: number;
  seed: number;
  /** "now" in ms or a Date: checkouts are spread over the `days` before it */
  now: number | Date;
  /** default 30 */
  days?: number;
  /** share of checkouts with no Customer record (guests); default 0.35 */
  guestShare?: number;
  /** share completed (recovered) some time after abandonment; default 0.25 */
  completedShare?: number;
  /** share shown in a currency other than the shop's; default 0.3 */
  foreignCurrencyShare?: number;
  /** first checkout id; default 36_800_000_000_000 (the size of real ids) */
  firstId?: number;
  /** share of customer checkouts by a customer seen earlier in the same call (several checkouts per customer); default 0.15 */
  returningShare?: number;
  /**
   * Where this call's customers are numbered from (ids and the number in their emails), so that several calls for one
   * shop never give two different people the same id or email; default: a random id near 7_400_000_000_000, emails from 0.
   */
  firstCustomer?: { id: number; number: number };
}

export const MARKETING_STATES: EmailMarketingState[] = ["SUBSCRIBED", "NOT_SUBSCRIBED", "PENDING", "UNSUBSCRIBED", "INVALID"];
export const OPT_IN_LEVELS: MarketingOptInLevel[] = ["SINGLE_OPT_IN", "CONFIRMED_OPT_IN", "UNKNOWN"];

/** mulberry32: small, fast, good enough for test data. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Units of each currency per 1 USD (fixed, invented-but-plausible rates). */
const USD_RATES: Record<string, number> = { USD: 1, EUR: 0.92, GBP: 0.79, CAD: 1.37, AUD: 1.52, JPY: 151, SEK: 10.6, CHF: 0.88 };
const PRESENTMENT = ["EUR", "GBP", "CAD", "AUD", "JPY", "SEK", "USD"];

export function convert(minor: number, from: string, to: string): number {
  if (from === to) return minor;
  const major = minor / 10 ** currencyExponent(from);
  const rate = (USD_RATES[to] ?? 1) / (USD_RATES[from] ?? 1);
  return Math.round(major * rate * 10 ** currencyExponent(to));
}

const FIRST = [
  "Ana",
  "Ben",
  "Chloé",
  "Dmitri",
  "Emma",
  "Farah",
  "Gustavo",
  "Hana",
  "Ivan",
  "Jules",
  "Kenji",
  "Léa",
  "Mateo",
  "Nora",
  "Omar",
  "Priya",
  "Quinn",
  "Rosa",
  "Sven",
  "Tomás",
  "Uma",
  "Viktor",
  "Wen",
  "Yara",
  "Zoë",
];
const LAST = [
  "Silva",
  "Okafor",
  "Dubois",
  "Ivanova",
  "Müller",
  "Haddad",
  "Pereira",
  "Sato",
  "Novak",
  "Martin",
  "Tanaka",
  "Bernard",
  "García",
  "Lindqvist",
  "Rahman",
  "Patel",
  "O'Brien",
  "Rossi",
  "Nielsen",
  "López",
  "Kaur",
  "Petrov",
  "Chen",
  "Haddad",
  "Ng",
];
const CITIES: [string, string, string, string, string][] = [
  ["Portland", "Oregon", "OR", "United States", "US"],
  ["Toronto", "Ontario", "ON", "Canada", "CA"],
  ["Lyon", "", "", "France", "FR"],
  ["Manchester", "", "", "United Kingdom", "GB"],
  ["Osaka", "Osaka", "JP-27", "Japan", "JP"],
  ["Melbourne", "Victoria", "VIC", "Australia", "AU"],
];
/**
 * Buyers' languages as Shopify gives them (`Customer.locale`, the checkout's `customer_locale`): the shipped languages
 * (issue 19), bare and with a region, and one Reclaim does not ship (its emails fall back to the shop's language).
 * Seven entries, as before, so a seed still draws the same checkouts.
 */
const LOCALES = ["en", "en-US", "ja", "ja-JP", "de", "de-DE", "fr"];

interface Product {
  id: number;
  title: string;
  vendor: string;
  variants: { id: number; title: string | null; sku: string; priceMinor: number }[];
  image: string | null;
}

const PRODUCT_NAMES = [
  "Merino Crew Sweater",
  "Canvas Tote",
  "Trail Running Shoe",
  "Ceramic Pour-Over Set",
  "Linen Shirt",
  "Waxed Field Jacket",
  "Organic Cotton Tee",
  "Leather Card Wallet",
  "Wool Beanie",
  "Stainless Water Bottle",
  "Bamboo Cutting Board",
  "Cast Iron Skillet",
  "Scented Soy Candle",
  "Yoga Mat",
  "Rain Shell",
  "Denim Selvedge Jeans",
  "Silk Scarf",
  "Desk Lamp",
  "Notebook Set",
  "Espresso Beans 1kg",
  "Gift Card",
  "Sunglasses",
  "Hiking Socks 3-Pack",
  "Backpack 22L",
  "Ceramic Mug",
];
const SIZES = ["XS", "S", "M", "L", "XL"];
const COLORS = ["Black", "Navy", "Oat", "Forest", "Rust"];

function catalog(rand: () => number): Product[] {
  return PRODUCT_NAMES.map((title, i) => {
    const id = 8_100_000_000_000 + i * 7919;
    const base = 900 + Math.floor(rand() * 24_000);
    const kind = i % 3;
    const variantTitles: (string | null)[] = kind === 0 ? SIZES.map((s) => `${COLORS[i % COLORS.length]} / ${s}`) : kind === 1 ? COLORS.slice(0, 3) : [null];
    const handle = title.toLowerCase().replace(/[^a-z0-9]+/g, "-");
    return {
      id,
      title,
      vendor: ["Northwind", "Atelier Nord", "Kumo Goods", "Field & Fen"][i % 4]!,
      image: i % 9 === 4 ? null : `https://cdn.shopify.com/s/files/1/0612/0000/0001/files/${handle}.jpg`,
      variants: variantTitles.map((vt, j) => ({
        id: 45_000_000_000_000 + i * 1000 + j,
        title: vt,
        sku: `${handle.slice(0, 8).toUpperCase()}-${j}`,
        priceMinor: Math.round((base + j * 150) / 100) * 100 - 1, // e.g. 4899
      })),
    };
  });
}

function hex(rand: () => number, length = 32): string {
  let out = "";
  while (out.length < length)
    out += Math.floor(rand() * 0x100000000)
      .toString(16)
      .padStart(8, "0");
  return out.slice(0, length);
}

function pick<T>(rand: () => number, items: readonly T[]): T {
  return items[Math.floor(rand() * items.length)]!;
}

function optInFor(state: EmailMarketingState, rand: () => number): MarketingOptInLevel | null {
  switch (state) {
    case "SUBSCRIBED":
      return rand() < 0.6 ? "SINGLE_OPT_IN" : "CONFIRMED_OPT_IN";
    case "PENDING":
      return "CONFIRMED_OPT_IN";
    case "NOT_SUBSCRIBED":
      return rand() < 0.5 ? null : "UNKNOWN";
    case "UNSUBSCRIBED":
      return rand() < 0.5 ? "SINGLE_OPT_IN" : "UNKNOWN";
    case "INVALID":
      return "UNKNOWN";
  }
}

function address(rand: () => number, first: string, last: string): AddressRecord {
  const [city, province, provinceCode, country, countryCode] = pick(rand, CITIES);
  return {
    firstName: first,
    lastName: last,
    company: rand() < 0.1 ? "Acme Studio" : null,
    address1: `${1 + Math.floor(rand() * 990)} ${pick(rand, ["Main St", "Rue Garibaldi", "King St W", "High Street", "Chuo-dori"])}`,
    address2: rand() < 0.2 ? `Apt ${1 + Math.floor(rand() * 40)}` : null,
    city,
    province: province || null,
    provinceCode: provinceCode || null,
    country,
    countryCode,
    zip: String(10000 + Math.floor(rand() * 89999)),
    phone: rand() < 0.5 ? `+1555${String(Math.floor(rand() * 10_000_000)).padStart(7, "0")}` : null,
  };
}

/** N abandoned checkouts, ascending by id (and by creation time), with their customers inline. */
export function generateCheckouts(options: GenerateOptions): CheckoutInput[] {
  const rand = prng(options.seed);
  const now = typeof options.now === "number" ? options.now : options.now.getTime();
  const days = options.days ?? 30;
  const guestShare = options.guestShare ?? 0.35;
  const completedShare = options.completedShare ?? 0.25;
  const foreignShare = options.foreignCurrencyShare ?? 0.3;
  const shopCurrency = typeof options.shop === "string" ? options.shop : (options.shop?.currencyCode ?? "USD");
  const products = catalog(prng(options.seed ^ 0x5eed));

  // Creation times first, so ids can rise with time as Shopify's do. About one in ten shares
  // its second with the previous checkout, so sorting by CREATED_AT needs its id tie-break.
  const times: number[] = [];
  for (let i = 0; i < options.count; i++) {
    times.push(now - Math.floor(rand() * days * 86_400) * 1000);
  }
  times.sort((a, b) => a - b);
  for (let i = 1; i < times.length; i++) if (rand() < 0.1) times[i] = times[i - 1]!;

  const customers: CustomerRecord[] = [];
  let nextCustomerId = 7_400_000_000_000 + Math.floor(rand() * 1000);
  if (options.firstCustomer) nextCustomerId = options.firstCustomer.id;
  const customerNumberFrom = options.firstCustomer?.number ?? 0;
  const returningShare = options.returningShare ?? 0.15;
  let nextLineId = 52_000_000_000_000 + Math.floor(rand() * 1000);
  let id = options.firstId ?? 36_800_000_000_000 + Math.floor(rand() * 1_000_000);

  const out: CheckoutInput[] = [];
  for (let i = 0; i < options.count; i++) {
    id += 1 + Math.floor(rand() * 5000);
    const createdAtMs = times[i]!;
    const createdAt = new Date(createdAtMs).toISOString();

    // Customer: guest, a returning customer, or a new one. The first customers cycle through every
    // marketing state so that even small data sets contain all of them.
    let customer: CustomerRecord | null = null;
    const isGuest = rand() < guestShare;
    if (!isGuest) {
      if (customers.length > 5 && rand() < returningShare) {
        customer = pick(rand, customers);
      } else {
        const first = pick(rand, FIRST);
        const last = pick(rand, LAST);
        const state = customers.length < MARKETING_STATES.length * 2 ? MARKETING_STATES[customers.length % 5]! : pick(rand, MARKETING_STATES);
        const local = `${first}.${last}`
          .normalize("NFD")
          .replace(/[^\w.]/g, "")
          .toLowerCase();
        const noEmail = rand() < 0.03;
        const mixedCase = rand() < 0.05;
        const email = noEmail
          ? null
          : `${mixedCase ? `${first}.${last}` : local}${customers.length + customerNumberFrom}@${mixedCase ? "Example.COM" : "example.com"}`;
        nextCustomerId += 1 + Math.floor(rand() * 900);
        const since = new Date(createdAtMs - Math.floor(rand() * 400) * 86_400_000).toISOString();
        customer = {
          id: nextCustomerId,
          firstName: rand() < 0.05 ? null : first,
          lastName: rand() < 0.05 ? null : last,
          email,
          phone: rand() < 0.3 ? `+1555${String(Math.floor(rand() * 10_000_000)).padStart(7, "0")}` : null,
          marketingState: state,
          // In the first cycle SUBSCRIBED gets SINGLE_OPT_IN, in the second CONFIRMED_OPT_IN, so
          // every opt-in level is present too.
          marketingOptInLevel:
            customers.length < 5 && state === "SUBSCRIBED"
              ? "SINGLE_OPT_IN"
              : customers.length < 10 && state === "SUBSCRIBED"
                ? "CONFIRMED_OPT_IN"
                : optInFor(state, rand),
          marketingUpdatedAt: state === "NOT_SUBSCRIBED" && rand() < 0.5 ? null : since,
          locale: pick(rand, LOCALES),
          createdAt: since,
          updatedAt: since,
          tags: rand() < 0.2 ? ["vip"] : [],
        };
        customers.push(customer);
      }
    }

    const presentmentCurrency =
      rand() < foreignShare
        ? pick(
            rand,
            PRESENTMENT.filter((c) => c !== shopCurrency),
          )
        : shopCurrency;
    const pair = (shopMinor: number): MoneyPair => ({ shop: shopMinor, presentment: convert(shopMinor, shopCurrency, presentmentCurrency) });

    // Discount code on about one checkout in seven: 10% or 15% off every line.
    const discount =
      rand() < 0.15
        ? pick(rand, [
            { code: "WELCOME10", pct: 0.1 },
            { code: "SPRING15", pct: 0.15 },
          ])
        : null;

    // 1–20 lines, mostly small carts.
    const r = rand();
    const lineCount = r < 0.5 ? 1 + Math.floor(rand() * 2) : r < 0.85 ? 3 + Math.floor(rand() * 4) : 7 + Math.floor(rand() * 14);
    const lineItems: LineItemRecord[] = [];
    for (let l = 0; l < Math.min(20, lineCount); l++) {
      nextLineId += 1 + Math.floor(rand() * 50);
      const custom = rand() < 0.03;
      const product = pick(rand, products);
      const variant = pick(rand, product.variants);
      const unitShop = custom ? 500 + Math.floor(rand() * 5000) : convert(variant.priceMinor, "USD", shopCurrency);
      const unit = pair(unitShop);
      const discounted = discount ? { shop: Math.round(unit.shop * (1 - discount.pct)), presentment: Math.round(unit.presentment * (1 - discount.pct)) } : unit;
      lineItems.push({
        id: nextLineId,
        title: custom ? "Gift wrapping" : product.title,
        variantTitle: custom ? null : variant.title,
        quantity: rand() < 0.8 ? 1 : 2 + Math.floor(rand() * 3),
        sku: custom ? null : variant.sku,
        vendor: custom ? null : product.vendor,
        image: custom || !product.image ? null : { url: product.image, altText: rand() < 0.5 ? product.title : null },
        variantId: custom ? null : variant.id,
        productId: custom ? null : product.id,
        unitPrice: unit,
        discountedUnitPrice: discounted,
        requiresShipping: !custom,
        taxable: true,
        grams: custom ? 0 : 200 + Math.floor(rand() * 1500),
      });
    }
    const discountCodes: DiscountCodeApplication[] = discount
      ? [
          {
            code: discount.code,
            type: "percentage",
            amount: lineItems.reduce(
              (acc, li) => ({
                shop: acc.shop + (li.unitPrice.shop - li.discountedUnitPrice.shop) * li.quantity,
                presentment: acc.presentment + (li.unitPrice.presentment - li.discountedUnitPrice.presentment) * li.quantity,
              }),
              { shop: 0, presentment: 0 },
            ),
          },
        ]
      : [];
    const subtotalShop = lineItems.reduce((n, li) => n + li.discountedUnitPrice.shop * li.quantity, 0);
    const taxesIncluded = ["EUR", "GBP", "AUD", "SEK", "CHF"].includes(presentmentCurrency);
    const totalTax = rand() < 0.2 ? { shop: 0, presentment: 0 } : pair(Math.round(subtotalShop * (taxesIncluded ? 0.1667 : 0.08)));
    const shippingPrice = rand() < 0.4 ? { shop: 0, presentment: 0 } : pair(convert(pick(rand, [499, 799, 1299]), "USD", shopCurrency));

    // Later activity: contact details or cart edits, and for some a completed purchase.
    const updatedMs = Math.min(now, createdAtMs + Math.floor(rand() * 3 * 3600) * 1000);
    let completedAt: string | null = null;
    let updatedAt = new Date(updatedMs).toISOString();
    if (rand() < completedShare) {
      const completedMs = Math.min(now, updatedMs + (10 * 60 + Math.floor(rand() * 3 * 86_400)) * 1000);
      completedAt = new Date(completedMs).toISOString();
      updatedAt = completedAt;
    }

    const first = customer?.firstName ?? pick(rand, FIRST);
    const last = customer?.lastName ?? pick(rand, LAST);
    const guestEmail = rand() < 0.92 ? `${first.normalize("NFD").replace(/[^\w]/g, "").toLowerCase()}.guest${i}@example.org` : null;
    const email = customer ? customer.email : guestEmail;
    const shipping = rand() < 0.7 ? address(rand, first, last) : null;
    out.push({
      id,
      token: hex(rand),
      cartToken: rand() < 0.9 ? realisticCartToken(hex(rand)) : null,
      recoveryKey: hex(rand),
      createdAt,
      updatedAt,
      completedAt,
      closedAt: null,
      email,
      phone: customer?.phone ?? null,
      buyerAcceptsMarketing: customer ? customer.marketingState === "SUBSCRIBED" || (customer.marketingState === "PENDING" && rand() < 0.5) : rand() < 0.4,
      buyerAcceptsSmsMarketing: false,
      customer: customer ? structuredClone(customer) : null,
      customerLocale: customer?.locale ?? pick(rand, LOCALES),
      currency: shopCurrency,
      presentmentCurrency,
      lineItems,
      discountCodes,
      totalTax,
      shippingPrice,
      taxesIncluded,
      note: rand() < 0.05 ? "Please gift wrap" : "",
      customAttributes: rand() < 0.1 ? [{ key: "utm_source", value: "newsletter" }] : [],
      billingAddress: shipping && rand() < 0.8 ? shipping : null,
      shippingAddress: shipping,
      landingSite: pick(rand, ["/", "/products/canvas-tote", "/collections/sale?utm_source=instagram", null]),
      referringSite: pick(rand, ["https://www.google.com/", "https://instagram.com/", null]),
      sourceName: "web",
      emailState: "not_sent",
    });
  }
  return out;
}
