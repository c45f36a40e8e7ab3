-- Payment recovery (docs/decisions/087): failed Stripe subscription payments become recoveries of kind `payment` in the
-- same recovery/campaign/message pipeline as abandoned carts.

-- AlterTable
ALTER TABLE "StripeConnection" ADD COLUMN     "paymentRecovery" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "stripeEmailsFailedPayments" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "stripeEmailsActionRequired" BOOLEAN NOT NULL DEFAULT false;

-- AlterTable
ALTER TABLE "Recovery" ADD COLUMN     "kind" TEXT NOT NULL DEFAULT 'cart',
ADD COLUMN     "paymentReason" TEXT,
ADD COLUMN     "attemptCount" INTEGER,
ADD COLUMN     "nextPaymentAttemptAt" TIMESTAMP(3),
ADD COLUMN     "subscriptionId" TEXT;

-- AlterTable
ALTER TABLE "Campaign" ADD COLUMN     "kind" TEXT NOT NULL DEFAULT 'cart';

-- CreateTable
CREATE TABLE "StripeBillingEnd" (
    "id" TEXT NOT NULL,
    "shopId" TEXT NOT NULL,
    "objectId" TEXT NOT NULL,
    "outcome" TEXT NOT NULL,
    "endedAt" TIMESTAMP(3) NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "StripeBillingEnd_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "Recovery_shopId_subscriptionId_idx" ON "Recovery"("shopId", "subscriptionId");

-- CreateIndex
CREATE INDEX "Recovery_shopId_kind_abandonedAt_idx" ON "Recovery"("shopId", "kind", "abandonedAt");

-- CreateIndex
CREATE INDEX "StripeBillingEnd_createdAt_idx" ON "StripeBillingEnd"("createdAt");

-- CreateIndex
CREATE UNIQUE INDEX "StripeBillingEnd_shopId_objectId_key" ON "StripeBillingEnd"("shopId", "objectId");

-- AddForeignKey
ALTER TABLE "StripeBillingEnd" ADD CONSTRAINT "StripeBillingEnd_shopId_fkey" FOREIGN KEY ("shopId") REFERENCES "Shop"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Hand-written: the dashboard's daily totals keep payment recoveries apart from carts. Every DailyStat row of a
-- payment recovery (its failure, emails, clicks, conversions) is filed under the source `stripe_billing`, so the cart
-- figures (sources `shopify` and `stripe`) are exactly what they were, and the payments section reads its own rows.
CREATE FUNCTION "daily_stat_source"(r "Recovery") RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN r."kind" = 'payment' THEN 'stripe_billing' ELSE r."source" END;
$$;

CREATE OR REPLACE FUNCTION "daily_stat_recovery"(r "Recovery", sign integer) RETURNS void LANGUAGE sql AS $$
  INSERT INTO "DailyStat" ("shopId", "day", "currency", "source", "abandoned", "abandonedValueMinor", "noEmail", "noRecoveryLink", "optIn", "optOut", "consentUnknown", "recovered")
  SELECT r."shopId", to_char(r."abandonedAt", 'YYYY-MM-DD'), r."currency", "daily_stat_source"(r), sign, sign * r."totalMinor",
    sign * (r."notContactableReason" IS NOT DISTINCT FROM 'no_email')::int,
    sign * (r."notContactableReason" IS NOT DISTINCT FROM 'no_recovery_link')::int,
    sign * (r."notContactableReason" IS NULL AND r."consent" = 'opt_in')::int,
    sign * (r."notContactableReason" IS NULL AND r."consent" = 'opt_out')::int,
    sign * (r."notContactableReason" IS NULL AND r."consent" NOT IN ('opt_in', 'opt_out'))::int,
    sign * (r."status" = 'recovered')::int
  WHERE NOT r."pixelOnly" AND r."status" <> 'merged'
  ON CONFLICT ("shopId", "currency", "day", "source") DO UPDATE SET
    "abandoned" = "DailyStat"."abandoned" + excluded."abandoned",
    "abandonedValueMinor" = "DailyStat"."abandonedValueMinor" + excluded."abandonedValueMinor",
    "noEmail" = "DailyStat"."noEmail" + excluded."noEmail",
    "noRecoveryLink" = "DailyStat"."noRecoveryLink" + excluded."noRecoveryLink",
    "optIn" = "DailyStat"."optIn" + excluded."optIn",
    "optOut" = "DailyStat"."optOut" + excluded."optOut",
    "consentUnknown" = "DailyStat"."consentUnknown" + excluded."consentUnknown",
    "recovered" = "DailyStat"."recovered" + excluded."recovered";
$$;

CREATE OR REPLACE FUNCTION "daily_stat_message"(m "Message", sign integer) RETURNS void LANGUAGE sql AS $$
  INSERT INTO "DailyStat" ("shopId", "day", "currency", "source", "emailsSent")
  SELECT r."shopId", to_char(m."sentAt", 'YYYY-MM-DD'), r."currency", "daily_stat_source"(r), sign FROM "Recovery" r WHERE r."id" = m."recoveryId"
  ON CONFLICT ("shopId", "currency", "day", "source") DO UPDATE SET "emailsSent" = "DailyStat"."emailsSent" + excluded."emailsSent";
$$;

CREATE OR REPLACE FUNCTION "Click_daily_stat"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO "DailyStat" ("shopId", "day", "currency", "source", "clicks")
  SELECT r."shopId", to_char(NEW."clickedAt", 'YYYY-MM-DD'), r."currency", "daily_stat_source"(r), 1 FROM "Recovery" r WHERE r."id" = NEW."recoveryId"
  ON CONFLICT ("shopId", "currency", "day", "source") DO UPDATE SET "clicks" = "DailyStat"."clicks" + excluded."clicks";
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION "daily_stat_conversion"(c "Conversion", sign integer) RETURNS void LANGUAGE sql AS $$
  INSERT INTO "DailyStat" ("shopId", "day", "currency", "source", "linkConversions", "linkRevenueMinor", "windowConversions", "windowRevenueMinor")
  SELECT c."shopId", to_char(c."convertedAt", 'YYYY-MM-DD'), c."currency", "daily_stat_source"(r),
    sign * (c."method" = 'link')::int, sign * CASE WHEN c."method" = 'link' THEN c."amountMinor" - c."refundedMinor" ELSE 0 END,
    sign * (c."method" = 'window')::int, sign * CASE WHEN c."method" = 'window' THEN c."amountMinor" - c."refundedMinor" ELSE 0 END
  FROM "Recovery" r WHERE r."id" = c."recoveryId"
  ON CONFLICT ("shopId", "currency", "day", "source") DO UPDATE SET
    "linkConversions" = "DailyStat"."linkConversions" + excluded."linkConversions",
    "linkRevenueMinor" = "DailyStat"."linkRevenueMinor" + excluded."linkRevenueMinor",
    "windowConversions" = "DailyStat"."windowConversions" + excluded."windowConversions",
    "windowRevenueMinor" = "DailyStat"."windowRevenueMinor" + excluded."windowRevenueMinor";
$$;

CREATE OR REPLACE FUNCTION "Conversion_refunded_daily_stat"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD."reversedAt" IS NULL AND NEW."reversedAt" IS NULL AND OLD."messageId" IS NOT NULL
     AND NEW."refundedMinor" IS DISTINCT FROM OLD."refundedMinor" THEN
    INSERT INTO "DailyStat" ("shopId", "day", "currency", "source", "linkRevenueMinor", "windowRevenueMinor")
    SELECT OLD."shopId", to_char(OLD."convertedAt", 'YYYY-MM-DD'), OLD."currency", "daily_stat_source"(r),
      CASE WHEN OLD."method" = 'link' THEN OLD."refundedMinor" - NEW."refundedMinor" ELSE 0 END,
      CASE WHEN OLD."method" = 'window' THEN OLD."refundedMinor" - NEW."refundedMinor" ELSE 0 END
    FROM "Recovery" r WHERE r."id" = OLD."recoveryId"
    ON CONFLICT ("shopId", "currency", "day", "source") DO UPDATE SET
      "linkRevenueMinor" = "DailyStat"."linkRevenueMinor" + excluded."linkRevenueMinor",
      "windowRevenueMinor" = "DailyStat"."windowRevenueMinor" + excluded."windowRevenueMinor";
  END IF;
  RETURN NULL;
END $$;
