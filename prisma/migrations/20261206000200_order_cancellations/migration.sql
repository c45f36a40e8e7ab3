-- Shopify orders as they really are: a purchase keeps the buyer's (presentment) amount and, apart, the shop's; an order
-- can be cancelled (orders/cancelled), and a conversion it credited is then reversed, not deleted. Hand-written: the
-- columns and the index are what `prisma migrate diff` derives from schema.prisma (test/integration/migrations.test.ts
-- checks that they agree); the triggers are not part of schema.prisma.

-- AlterTable
ALTER TABLE "Purchase" ADD COLUMN "shopAmountMinor" BIGINT,
ADD COLUMN "shopCurrency" TEXT,
ADD COLUMN "cancelledAt" TIMESTAMP(3);

-- AlterTable
ALTER TABLE "Conversion" ADD COLUMN "reversedAt" TIMESTAMP(3),
ADD COLUMN "reversedReason" TEXT;

-- CreateIndex
CREATE INDEX "Conversion_shopId_source_externalId_idx" ON "Conversion"("shopId", "source", "externalId");

-- The dashboard's daily totals (prisma/migrations/20261206000100_daily_stats_triggers) count a conversion once, on its
-- insert, when an email preceded it ("messageId" set). A conversion stored already reversed never counted: the insert
-- trigger now skips it.
DROP TRIGGER "Conversion_daily_stat" ON "Conversion";
CREATE TRIGGER "Conversion_daily_stat" AFTER INSERT ON "Conversion"
  FOR EACH ROW WHEN (NEW."messageId" IS NOT NULL AND NEW."reversedAt" IS NULL) EXECUTE FUNCTION "Conversion_daily_stat"();

-- Adds (sign = 1) or removes (sign = -1) one conversion's count and revenue, on the day and under the currency and source
-- its insert counted them.
CREATE FUNCTION "daily_stat_conversion"(c "Conversion", sign integer) RETURNS void LANGUAGE sql AS $$
  INSERT INTO "DailyStat" ("shopId", "day", "currency", "source", "linkConversions", "linkRevenueMinor", "windowConversions", "windowRevenueMinor")
  SELECT c."shopId", to_char(c."convertedAt", 'YYYY-MM-DD'), c."currency", r."source",
    sign * (c."method" = 'link')::int, sign * CASE WHEN c."method" = 'link' THEN c."amountMinor" ELSE 0 END,
    sign * (c."method" = 'window')::int, sign * CASE WHEN c."method" = 'window' THEN c."amountMinor" ELSE 0 END
  FROM "Recovery" r WHERE r."id" = c."recoveryId"
  ON CONFLICT ("shopId", "currency", "day", "source") DO UPDATE SET
    "linkConversions" = "DailyStat"."linkConversions" + excluded."linkConversions",
    "linkRevenueMinor" = "DailyStat"."linkRevenueMinor" + excluded."linkRevenueMinor",
    "windowConversions" = "DailyStat"."windowConversions" + excluded."windowConversions",
    "windowRevenueMinor" = "DailyStat"."windowRevenueMinor" + excluded."windowRevenueMinor";
$$;

-- Reversal subtracts exactly once: only the step from NULL to a time does, so setting "reversedAt" again (a redelivered
-- cancellation) changes nothing. Clearing it (NULL again) adds the conversion back, so the totals stay a recount of the
-- rows whatever is written. Only conversions that counted ("messageId" set) are subtracted; one whose email was since
-- deleted (redaction sets "messageId" to NULL) keeps its count, as deletions never decrement.
CREATE FUNCTION "Conversion_reversed_daily_stat"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD."reversedAt" IS NULL AND NEW."reversedAt" IS NOT NULL AND OLD."messageId" IS NOT NULL THEN
    PERFORM "daily_stat_conversion"(OLD, -1);
  ELSIF OLD."reversedAt" IS NOT NULL AND NEW."reversedAt" IS NULL AND NEW."messageId" IS NOT NULL THEN
    PERFORM "daily_stat_conversion"(NEW, 1);
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER "Conversion_reversed_daily_stat" AFTER UPDATE OF "reversedAt" ON "Conversion"
  FOR EACH ROW EXECUTE FUNCTION "Conversion_reversed_daily_stat"();
