-- Poll, webhooks and orders of one Shopify checkout converge on one recovery (docs/decisions/074).

-- A second record of a checkout, folded into another one ("status" = 'merged').
ALTER TABLE "Recovery" ADD COLUMN "mergedIntoId" TEXT;

-- The poll used to file the recovery URL's segment as the checkout token; on live shops it is the cart token
-- (`…/checkouts/ac/<cart token>/recover`). Move it where it belongs; a webhook brings the real checkout token back.
UPDATE "Recovery" SET "cartToken" = "checkoutToken", "checkoutToken" = NULL
WHERE "source" = 'shopify' AND "cartToken" IS NULL AND "checkoutToken" IS NOT NULL
  AND "recoveryUrl" ~ '/checkouts/[a-z]{2}/[^/]+/recover';
UPDATE "Recovery" SET "checkoutToken" = NULL
WHERE "source" = 'shopify' AND "checkoutToken" IS NOT NULL AND "checkoutToken" = "cartToken";
-- The rows this leaves as pairs are merged by the `repair-split-checkouts` job (it cancels duplicate emails).

-- A merged record no longer counts: the update that merges it removes its contribution (sent emails, clicks and
-- conversions keep theirs: they happened).
CREATE OR REPLACE FUNCTION "daily_stat_recovery"(r "Recovery", sign integer) RETURNS void LANGUAGE sql AS $$
  INSERT INTO "DailyStat" ("shopId", "day", "currency", "source", "abandoned", "abandonedValueMinor", "noEmail", "noRecoveryLink", "optIn", "optOut", "consentUnknown", "recovered")
  SELECT r."shopId", to_char(r."abandonedAt", 'YYYY-MM-DD'), r."currency", r."source", sign, sign * r."totalMinor",
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
