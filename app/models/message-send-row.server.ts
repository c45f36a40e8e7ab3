/** Loading everything one send needs, in one raw statement (docs/decisions/024-send-path-in-raw-sql.md). */
import type { Prisma, PrismaClient, Recovery, Shop } from "@prisma/client";
import { supersedingRecoverySql } from "./supersession.server";

type Db = PrismaClient | Prisma.TransactionClient;
// The send path runs once per email, thousands of times a minute, so it speaks SQL directly: Prisma 6.19's client
// engine compiles every query in WASM (≈ 0.3–1.4 ms each, measured) where a raw statement costs ≈ 0.06 ms.
// See docs/decisions/024-send-path-in-raw-sql.md. Raw results still come back typed: timestamp → Date, boolean → boolean; bigint → string (node-postgres), hence Number().

export interface SendRow {
  message: {
    id: string;
    shopId: string;
    recoveryId: string;
    status: string;
    scheduledFor: Date;
    attempts: number;
    discountCode: string | null;
    /** When Shopify created discountCode ahead of the send (app/models/incentive-codes.server); null: not yet. */
    discountCreatedAt: Date | null;
    position: number;
  };
  recovery: Pick<
    Recovery,
    | "id"
    | "shopId"
    | "source"
    | "status"
    | "consent"
    | "consentEvidence"
    | "abandonedAt"
    | "startedAt"
    | "completedAt"
    | "recoveryUrl"
    | "recoveryUrlExpiresAt"
    | "notContactableReason"
    | "contactId"
    | "email"
    | "firstName"
    | "lastName"
    | "name"
    | "lineItems"
    | "currency"
    | "locale"
    | "pixelOnly"
    | "pixelCompletedAt"
    | "externalId"
    | "shopifyEmailState"
    | "shopifyEmailSentAt"
    | "shopifyEmailCheckedAt"
    | "kind"
    | "paymentReason"
    | "attemptCount"
    | "nextPaymentAttemptAt"
    | "sourceMetadata"
  > & { totalMinor: number; /** Payment recoveries: the merchant said Stripe Billing emails this kind of payment itself. */ stripeSendsOwnEmail: boolean };
  contact: { unsubscribedAt: Date | null; suppressedAt: Date | null; suppressionReason: string | null; lastPurchaseAt: Date | null } | null;
  /**
   * The step's main version (subject, body, `language`) and its translations in the buyer's and the shop's languages
   * (the only ones the email can go out in: app/recovery/email-language.ts).
   */
  step: {
    subject: string;
    bodyTemplate: string;
    language: string;
    translations: { language: string; subject: string; bodyTemplate: string }[];
    incentiveType: string | null;
    incentiveValue: number | null;
    incentiveExpiresDays: number | null;
    /** The merchant's Stripe promotion code for this step (Stripe recoveries' incentive, ADR 077). */
    stripePromotionCode: string | null;
  };
  shop: Shop;
  /** The email's campaign: turned off since scheduling means the email is skipped at send. */
  campaign: { enabled: boolean; name: string };
  /** What decide() needs beyond the rows, read in the same statement. */
  history: SendHistory;
}

export interface SendHistory {
  newerRecovery: { source: "shopify" | "stripe"; abandonedAt: Date } | null;
  purchaseSinceAbandonment: { source: "shopify" | "stripe"; at: Date } | null;
  lastEmailedForOtherRecoveryAt: Date | null;
}

const SHOP_COLUMNS = [
  "id",
  "domain",
  "name",
  "email",
  "currency",
  "locale",
  "timezone",
  "installedAt",
  "uninstalledAt",
  "grantedScopes",
  "consentPolicy",
  "frequencyCapHours",
  "quietHoursStartMinute",
  "quietHoursEndMinute",
  "attributionWindowDays",
  "backfillDays",
  "syncIntervalMinutes",
  "postalAddress",
  "emailTransport",
  "senderName",
  "senderEmail",
  "replyTo",
  "smtpHost",
  "smtpPort",
  "smtpSecure",
  "smtpUser",
  "smtpPasswordEncrypted",
  "shopifyEmailPolicy",
  "createdAt",
  "updatedAt",
] as const satisfies readonly (keyof Shop)[];

const SEND_ROW_SQL = `SELECT m."id", m."shopId", m."recoveryId", m."status", m."scheduledFor", m."attempts", m."discountCode", m."discountCreatedAt", m."position",
  r."source" AS "r_source", r."status" AS "r_status", r."consent" AS "r_consent", r."consentEvidence" AS "r_consentEvidence", r."abandonedAt" AS "r_abandonedAt",
  r."startedAt" AS "r_startedAt", r."completedAt" AS "r_completedAt", r."recoveryUrl" AS "r_recoveryUrl", r."recoveryUrlExpiresAt" AS "r_recoveryUrlExpiresAt",
  r."notContactableReason" AS "r_notContactableReason", r."contactId" AS "r_contactId", r."email" AS "r_email", r."firstName" AS "r_firstName", r."lastName" AS "r_lastName",
  r."name" AS "r_name", r."lineItems" AS "r_lineItems", r."totalMinor" AS "r_totalMinor", r."currency" AS "r_currency", r."locale" AS "r_locale",
  r."pixelOnly" AS "r_pixelOnly", r."pixelCompletedAt" AS "r_pixelCompletedAt",
  r."externalId" AS "r_externalId", r."shopifyEmailState" AS "r_shopifyEmailState", r."shopifyEmailSentAt" AS "r_shopifyEmailSentAt",
  r."shopifyEmailCheckedAt" AS "r_shopifyEmailCheckedAt",
  r."kind" AS "r_kind", r."paymentReason" AS "r_paymentReason", r."attemptCount" AS "r_attemptCount", r."nextPaymentAttemptAt" AS "r_nextPaymentAttemptAt",
  -- Payment recoveries (docs/decisions/087): the shop's connection's answer about Stripe Billing's own customer emails.
  CASE WHEN r."kind" = 'payment' THEN (SELECT CASE WHEN r."paymentReason" = 'action_required' THEN sc."stripeEmailsActionRequired" ELSE sc."stripeEmailsFailedPayments" END
    FROM "StripeConnection" sc WHERE sc."shopId" = r."shopId" ORDER BY sc."createdAt" ASC, sc."id" ASC LIMIT 1) END AS "r_stripeSendsOwnEmail",
  c."id" AS "c_id", c."unsubscribedAt" AS "c_unsubscribedAt", c."suppressedAt" AS "c_suppressedAt", c."suppressionReason" AS "c_suppressionReason",
  c."lastPurchaseAt" AS "c_lastPurchaseAt",
  st."subject" AS "st_subject", st."bodyTemplate" AS "st_bodyTemplate", st."incentiveType" AS "st_incentiveType",
  st."incentiveValue" AS "st_incentiveValue", st."incentiveExpiresDays" AS "st_incentiveExpiresDays", st."language" AS "st_language",
  st."stripePromotionCode" AS "st_stripePromotionCode", r."sourceMetadata" AS "r_sourceMetadata",
  -- The step's versions in the buyer's and the shop's primary language (docs/decisions/093): the only ones it can be sent in.
  (SELECT json_agg(json_build_object('language', tr."language", 'subject', tr."subject", 'bodyTemplate', tr."bodyTemplate"))
    FROM "CampaignStepTranslation" tr WHERE tr."stepId" = st."id"
      AND tr."language" IN (lower(split_part(replace(coalesce(r."locale", ''), '_', '-'), '-', 1)), lower(split_part(replace(s."locale", '_', '-'), '-', 1)))
  ) AS "st_translations",
  cp."enabled" AS "cp_enabled", cp."name" AS "cp_name",
  ${SHOP_COLUMNS.map((c) => `s."${c}" AS "s_${c}"`).join(", ")},
  -- History for decide(): a newer contactable recovery of the contact, a purchase by the same email since the buyer
  -- started the checkout (startedAt, else abandonedAt; either source; docs/decisions/076), and the last email for another
  -- recovery of the contact. Each an indexed look-up.
  (SELECT x."source" || '|' || to_char(x."abandonedAt", 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') FROM "Recovery" x
    WHERE ${supersedingRecoverySql("x", "r")}
    ORDER BY x."abandonedAt" DESC LIMIT 1) AS "h_newer",
  (SELECT p."source" || '|' || to_char(p."occurredAt", 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') FROM "Purchase" p
    WHERE p."shopId" = r."shopId" AND p."email" = r."email" AND p."occurredAt" >= COALESCE(r."startedAt", r."abandonedAt")
    ORDER BY p."occurredAt" ASC LIMIT 1) AS "h_purchase",
  (SELECT max(o."claimedAt") FROM "Recovery" x JOIN "Message" o ON o."recoveryId" = x."id"
    WHERE x."contactId" = r."contactId" AND x."id" <> r."id" AND o."status" IN ('sending', 'sent') AND x."kind" = 'cart') AS "h_lastOther"
FROM "Message" m
JOIN "Shop" s ON s."id" = m."shopId"
JOIN "Recovery" r ON r."id" = m."recoveryId"
JOIN "CampaignStep" st ON st."id" = m."stepId"
JOIN "Campaign" cp ON cp."id" = st."campaignId"
LEFT JOIN "Contact" c ON c."id" = r."contactId"
WHERE m."id" = ANY($1::text[])`;

export async function loadMessageForSend(db: Db, messageId: string): Promise<SendRow | null> {
  return (await loadMessagesForSend(db, [messageId]))[0] ?? null;
}

/** Everything decide() and the email need for these messages, in one statement (oldest due first). */
export async function loadMessagesForSend(db: Db, messageIds: string[]): Promise<SendRow[]> {
  if (messageIds.length === 0) return [];
  const rows = (await db.$queryRawUnsafe(SEND_ROW_SQL, messageIds)) as Record<string, any>[];
  return rows.map(sendRowFrom).sort((a, b) => a.message.scheduledFor.getTime() - b.message.scheduledFor.getTime());
}

function sendRowFrom(row: Record<string, any>): SendRow {
  const shop = Object.fromEntries(SHOP_COLUMNS.map((c) => [c, row[`s_${c}`]])) as unknown as Shop;
  return {
    message: {
      id: row.id,
      shopId: row.shopId,
      recoveryId: row.recoveryId,
      status: row.status,
      scheduledFor: row.scheduledFor,
      attempts: Number(row.attempts),
      discountCode: row.discountCode,
      discountCreatedAt: row.discountCreatedAt,
      position: Number(row.position),
    },
    recovery: {
      id: row.recoveryId,
      shopId: row.shopId,
      source: row.r_source,
      status: row.r_status,
      consent: row.r_consent,
      consentEvidence: row.r_consentEvidence,
      abandonedAt: row.r_abandonedAt,
      startedAt: row.r_startedAt,
      completedAt: row.r_completedAt,
      recoveryUrl: row.r_recoveryUrl,
      recoveryUrlExpiresAt: row.r_recoveryUrlExpiresAt,
      notContactableReason: row.r_notContactableReason,
      contactId: row.r_contactId,
      email: row.r_email,
      firstName: row.r_firstName,
      lastName: row.r_lastName ?? null,
      name: row.r_name,
      lineItems: row.r_lineItems,
      totalMinor: Number(row.r_totalMinor),
      currency: row.r_currency,
      locale: row.r_locale,
      pixelOnly: Boolean(row.r_pixelOnly),
      pixelCompletedAt: textDate(row.r_pixelCompletedAt),
      externalId: row.r_externalId,
      shopifyEmailState: row.r_shopifyEmailState,
      shopifyEmailSentAt: row.r_shopifyEmailSentAt,
      shopifyEmailCheckedAt: row.r_shopifyEmailCheckedAt,
      kind: row.r_kind,
      paymentReason: row.r_paymentReason,
      attemptCount: row.r_attemptCount === null ? null : Number(row.r_attemptCount),
      nextPaymentAttemptAt: textDate(row.r_nextPaymentAttemptAt),
      sourceMetadata: row.r_sourceMetadata,
      stripeSendsOwnEmail: row.r_stripeSendsOwnEmail === true,
    },
    contact: row.c_id
      ? {
          unsubscribedAt: row.c_unsubscribedAt,
          suppressedAt: row.c_suppressedAt,
          suppressionReason: row.c_suppressionReason,
          lastPurchaseAt: row.c_lastPurchaseAt,
        }
      : null,
    step: {
      subject: row.st_subject,
      bodyTemplate: row.st_bodyTemplate,
      language: row.st_language ?? "en",
      translations: stepTranslations(row.st_translations),
      incentiveType: row.st_incentiveType,
      incentiveValue: row.st_incentiveValue === null ? null : Number(row.st_incentiveValue),
      incentiveExpiresDays: row.st_incentiveExpiresDays === null ? null : Number(row.st_incentiveExpiresDays),
      stripePromotionCode: row.st_stripePromotionCode ?? null,
    },
    shop: { ...shop, smtpSecure: Boolean(shop.smtpSecure) },
    campaign: { enabled: Boolean(row.cp_enabled), name: String(row.cp_name) },
    history: row.r_contactId
      ? (() => {
          const newer = sourceAndDate(row.h_newer);
          return {
            newerRecovery: newer ? { source: newer.source, abandonedAt: newer.at } : null,
            purchaseSinceAbandonment: sourceAndDate(row.h_purchase),
            lastEmailedForOtherRecoveryAt: textDate(row.h_lastOther),
          };
        })()
      : { newerRecovery: null, purchaseSinceAbandonment: null, lastEmailedForOtherRecoveryAt: null },
  };
}

/** The json_agg of a step's translations (node-postgres parses json; a string is parsed here), or none. */
function stepTranslations(value: unknown): SendRow["step"]["translations"] {
  let list: unknown = value;
  if (typeof value === "string") {
    try {
      list = JSON.parse(value);
    } catch {
      return [];
    }
  }
  if (!Array.isArray(list)) return [];
  return list
    .filter((t): t is Record<string, unknown> => typeof t === "object" && t !== null)
    .map((t) => ({ language: String(t.language ?? ""), subject: String(t.subject ?? ""), bodyTemplate: String(t.bodyTemplate ?? "") }));
}

/** `stripe|2026-11-20T10:00:00.000Z` (a concatenated sub-select) → {source, at}. */
function sourceAndDate(value: string | null): { source: "shopify" | "stripe"; at: Date } | null {
  if (!value) return null;
  const i = value.indexOf("|");
  const at = textDate(value.slice(i + 1));
  return at ? { source: value.slice(0, i) === "stripe" ? "stripe" : "shopify", at } : null;
}

/** A datetime from an expression column: a Date, or ISO 8601 text (to_char in SEND_ROW_SQL). */
function textDate(value: unknown): Date | null {
  if (value == null) return null;
  if (value instanceof Date) return value;
  const d = new Date(String(value).replace(" ", "T"));
  return Number.isNaN(d.getTime()) ? null : d;
}
