-- Recoveries seen only by the checkout pixel (Recovery.pixelOnly, docs/decisions/050) are public, unconfirmed input:
-- they are not counted in the dashboard's rollups until Shopify confirms them (the update that clears pixelOnly then
-- adds them, with Shopify's figures).
DROP TRIGGER "Recovery_daily_stat_insert";
CREATE TRIGGER "Recovery_daily_stat_insert" AFTER INSERT ON "Recovery"
WHEN NEW."pixelOnly" = 0
BEGIN
  INSERT INTO "DailyStat" ("shopId", "day", "currency", "source", "abandoned", "abandonedValueMinor", "noEmail", "noRecoveryLink", "optIn", "optOut", "consentUnknown", "recovered")
    VALUES (NEW."shopId", substr(NEW."abandonedAt", 1, 10), NEW."currency", NEW."source", 1, NEW."totalMinor",
      (NEW."notContactableReason" IS 'no_email'), (NEW."notContactableReason" IS 'no_recovery_link'),
      (NEW."notContactableReason" IS NULL AND NEW."consent" = 'opt_in'), (NEW."notContactableReason" IS NULL AND NEW."consent" = 'opt_out'),
      (NEW."notContactableReason" IS NULL AND NEW."consent" NOT IN ('opt_in', 'opt_out')), (NEW."status" = 'recovered'))
    ON CONFLICT ("shopId", "currency", "day", "source") DO UPDATE SET abandoned = abandoned + excluded.abandoned, abandonedValueMinor = abandonedValueMinor + excluded.abandonedValueMinor, noEmail = noEmail + excluded.noEmail, noRecoveryLink = noRecoveryLink + excluded.noRecoveryLink, optIn = optIn + excluded.optIn, optOut = optOut + excluded.optOut, consentUnknown = consentUnknown + excluded.consentUnknown, recovered = recovered + excluded.recovered;
END;

DROP TRIGGER "Recovery_daily_stat_update";
CREATE TRIGGER "Recovery_daily_stat_update" AFTER UPDATE ON "Recovery"
WHEN OLD."abandonedAt" IS NOT NEW."abandonedAt" OR OLD."currency" IS NOT NEW."currency" OR OLD."source" IS NOT NEW."source"
  OR OLD."totalMinor" IS NOT NEW."totalMinor" OR OLD."status" IS NOT NEW."status" OR OLD."consent" IS NOT NEW."consent"
  OR OLD."notContactableReason" IS NOT NEW."notContactableReason" OR OLD."shopId" IS NOT NEW."shopId"
  OR OLD."pixelOnly" IS NOT NEW."pixelOnly"
BEGIN
  INSERT INTO "DailyStat" ("shopId", "day", "currency", "source", "abandoned", "abandonedValueMinor", "noEmail", "noRecoveryLink", "optIn", "optOut", "consentUnknown", "recovered")
    SELECT OLD."shopId", substr(OLD."abandonedAt", 1, 10), OLD."currency", OLD."source", -1, -OLD."totalMinor",
      -(OLD."notContactableReason" IS 'no_email'), -(OLD."notContactableReason" IS 'no_recovery_link'),
      -(OLD."notContactableReason" IS NULL AND OLD."consent" = 'opt_in'), -(OLD."notContactableReason" IS NULL AND OLD."consent" = 'opt_out'),
      -(OLD."notContactableReason" IS NULL AND OLD."consent" NOT IN ('opt_in', 'opt_out')), -(OLD."status" = 'recovered')
    WHERE OLD."pixelOnly" = 0
    ON CONFLICT ("shopId", "currency", "day", "source") DO UPDATE SET abandoned = abandoned + excluded.abandoned, abandonedValueMinor = abandonedValueMinor + excluded.abandonedValueMinor, noEmail = noEmail + excluded.noEmail, noRecoveryLink = noRecoveryLink + excluded.noRecoveryLink, optIn = optIn + excluded.optIn, optOut = optOut + excluded.optOut, consentUnknown = consentUnknown + excluded.consentUnknown, recovered = recovered + excluded.recovered;
  INSERT INTO "DailyStat" ("shopId", "day", "currency", "source", "abandoned", "abandonedValueMinor", "noEmail", "noRecoveryLink", "optIn", "optOut", "consentUnknown", "recovered")
    SELECT NEW."shopId", substr(NEW."abandonedAt", 1, 10), NEW."currency", NEW."source", 1, NEW."totalMinor",
      (NEW."notContactableReason" IS 'no_email'), (NEW."notContactableReason" IS 'no_recovery_link'),
      (NEW."notContactableReason" IS NULL AND NEW."consent" = 'opt_in'), (NEW."notContactableReason" IS NULL AND NEW."consent" = 'opt_out'),
      (NEW."notContactableReason" IS NULL AND NEW."consent" NOT IN ('opt_in', 'opt_out')), (NEW."status" = 'recovered')
    WHERE NEW."pixelOnly" = 0
    ON CONFLICT ("shopId", "currency", "day", "source") DO UPDATE SET abandoned = abandoned + excluded.abandoned, abandonedValueMinor = abandonedValueMinor + excluded.abandonedValueMinor, noEmail = noEmail + excluded.noEmail, noRecoveryLink = noRecoveryLink + excluded.noRecoveryLink, optIn = optIn + excluded.optIn, optOut = optOut + excluded.optOut, consentUnknown = consentUnknown + excluded.consentUnknown, recovered = recovered + excluded.recovered;
END;
