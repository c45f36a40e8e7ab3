import type { Shop } from "@prisma/client";
import { db } from "../db.server";
import { formattingLocale, isLocaleTag, shippedLanguage, type Language } from "./locales";

export type AdminLanguage = {
  /** The language the admin's pages are shown in. */
  language: Language;
  /** The locale numbers, money and dates are formatted with (`ja-JP`, `de-CH`, `en`). */
  locale: string;
};

/**
 * The admin's language for this request (docs/decisions/093). Shopify opens an embedded app with `locale` set to the
 * staff member's admin language; later requests (client navigations, form posts, fetchers) do not carry it, so the
 * last one seen is kept per staff member (the session token's `sub`), and on the shop for requests without one.
 * Without either, the shop's primary language; a language Reclaim does not ship shows English.
 */
export async function adminLanguage(request: Request, shop: Pick<Shop, "id" | "locale" | "adminLocale">, userId?: string): Promise<AdminLanguage> {
  const param = new URL(request.url).searchParams.get("locale");
  if (param && isLocaleTag(param)) {
    if (userId) {
      // One statement, so the layout's and the page's loaders (run in parallel) cannot both try to insert the row.
      await db.$executeRaw`INSERT INTO "StaffLanguage" ("shopId", "userId", "locale", "updatedAt") VALUES (${shop.id}, ${userId}, ${param}, now())
        ON CONFLICT ("shopId", "userId") DO UPDATE SET "locale" = EXCLUDED."locale", "updatedAt" = now()
        WHERE "StaffLanguage"."locale" IS DISTINCT FROM EXCLUDED."locale"`;
    }
    if (param !== shop.adminLocale) await db.shop.update({ where: { id: shop.id }, data: { adminLocale: param } });
    return resolve(param);
  }
  const staff = userId ? await db.staffLanguage.findUnique({ where: { shopId_userId: { shopId: shop.id, userId } }, select: { locale: true } }) : null;
  return resolve(staff?.locale ?? shop.adminLocale ?? shop.locale);
}

function resolve(tag: string | null): AdminLanguage {
  const language = shippedLanguage(tag) ?? "en";
  return { language, locale: formattingLocale(tag, language) };
}
