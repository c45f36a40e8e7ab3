-- Stripe as merchants really use it (docs/decisions/076): a connection has a mode (live or test) and may be a Connect
-- platform; inbound events keep their API version and why they were ignored; a recovery knows when the buyer started
-- it and the session's mode; a Stripe purchase keeps its payment_intent (refunds and disputes name it); a conversion can
-- be partly refunded. Hand-written: the columns and indexes are what `prisma migrate diff` derives from schema.prisma
-- (test/integration/migrations.test.ts checks that they agree); the functions and trigger are not part of schema.prisma.

-- AlterTable
ALTER TABLE "StripeConnection" ADD COLUMN     "connectPlatform" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "mode" TEXT,
ADD COLUMN     "modeSetAt" TIMESTAMP(3),
ADD COLUMN     "modeSource" TEXT;

-- AlterTable
ALTER TABLE "Recovery" ADD COLUMN     "checkoutMode" TEXT,
ADD COLUMN     "startedAt" TIMESTAMP(3);

-- AlterTable
ALTER TABLE "Conversion" ADD COLUMN     "refundedMinor" BIGINT NOT NULL DEFAULT 0;

-- AlterTable
ALTER TABLE "Purchase" ADD COLUMN     "paymentIntentId" TEXT;

-- AlterTable
ALTER TABLE "InboundEvent" ADD COLUMN     "apiVersion" TEXT,
ADD COLUMN     "ignoredReason" TEXT;

-- CreateIndex
CREATE INDEX "Purchase_shopId_paymentIntentId_idx" ON "Purchase"("shopId", "paymentIntentId");

-- CreateIndex
CREATE INDEX "InboundEvent_receiver_ignoredReason_receivedAt_idx" ON "InboundEvent"("receiver", "ignoredReason", "receivedAt");

-- A conversion counts for what is left of it after refunds: amountMinor - refundedMinor. The function that adds or
-- removes one conversion (20261206000200_order_cancellations) now uses that, so a reversal of a partly refunded
-- conversion removes only what still counted, and restoring it (a dispute won) adds back only that.
CREATE OR REPLACE FUNCTION "daily_stat_conversion"(c "Conversion", sign integer) RETURNS void LANGUAGE sql AS $$
  INSERT INTO "DailyStat" ("shopId", "day", "currency", "source", "linkConversions", "linkRevenueMinor", "windowConversions", "windowRevenueMinor")
  SELECT c."shopId", to_char(c."convertedAt", 'YYYY-MM-DD'), c."currency", r."source",
    sign * (c."method" = 'link')::int, sign * CASE WHEN c."method" = 'link' THEN c."amountMinor" - c."refundedMinor" ELSE 0 END,
    sign * (c."method" = 'window')::int, sign * CASE WHEN c."method" = 'window' THEN c."amountMinor" - c."refundedMinor" ELSE 0 END
  FROM "Recovery" r WHERE r."id" = c."recoveryId"
  ON CONFLICT ("shopId", "currency", "day", "source") DO UPDATE SET
    "linkConversions" = "DailyStat"."linkConversions" + excluded."linkConversions",
    "linkRevenueMinor" = "DailyStat"."linkRevenueMinor" + excluded."linkRevenueMinor",
    "windowConversions" = "DailyStat"."windowConversions" + excluded."windowConversions",
    "windowRevenueMinor" = "DailyStat"."windowRevenueMinor" + excluded."windowRevenueMinor";
$$;

-- The insert counts the same way (a row is never inserted already refunded by the app, but the totals stay a recount).
CREATE OR REPLACE FUNCTION "Conversion_daily_stat"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM "daily_stat_conversion"(NEW, 1);
  RETURN NULL;
END $$;

-- A refund (Stripe charge.refunded; refundedMinor is Stripe's cumulative amount_refunded) removes the change in revenue,
-- not the conversion: the count stays. Only while the conversion counts (not reversed, an email preceded it); a reversed
-- one is re-added at its then-current amount when it is restored (see daily_stat_conversion). Setting the same value
-- again (a redelivered event) changes nothing.
CREATE FUNCTION "Conversion_refunded_daily_stat"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD."reversedAt" IS NULL AND NEW."reversedAt" IS NULL AND OLD."messageId" IS NOT NULL
     AND NEW."refundedMinor" IS DISTINCT FROM OLD."refundedMinor" THEN
    INSERT INTO "DailyStat" ("shopId", "day", "currency", "source", "linkRevenueMinor", "windowRevenueMinor")
    SELECT OLD."shopId", to_char(OLD."convertedAt", 'YYYY-MM-DD'), OLD."currency", r."source",
      CASE WHEN OLD."method" = 'link' THEN OLD."refundedMinor" - NEW."refundedMinor" ELSE 0 END,
      CASE WHEN OLD."method" = 'window' THEN OLD."refundedMinor" - NEW."refundedMinor" ELSE 0 END
    FROM "Recovery" r WHERE r."id" = OLD."recoveryId"
    ON CONFLICT ("shopId", "currency", "day", "source") DO UPDATE SET
      "linkRevenueMinor" = "DailyStat"."linkRevenueMinor" + excluded."linkRevenueMinor",
      "windowRevenueMinor" = "DailyStat"."windowRevenueMinor" + excluded."windowRevenueMinor";
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER "Conversion_refunded_daily_stat" AFTER UPDATE OF "refundedMinor" ON "Conversion"
  FOR EACH ROW EXECUTE FUNCTION "Conversion_refunded_daily_stat"();
