-- Issue 21: search by the buyer's full name ("Ashby", "Robin Ashby"), and the shop-details install step retried
-- when Shopify does not answer (docs/decisions/084).

-- AlterTable: the buyer's full name as the source gives it (Shopify first + last name, Stripe customer_details.name).
ALTER TABLE "Recovery" ADD COLUMN "fullName" TEXT;

-- The generated search column gains the full name. PostgreSQL 15/16 cannot change a generation expression in place
-- (SET EXPRESSION is 17+), so the column and its trigram index are dropped and made again (one table rewrite).
DROP INDEX "Recovery_searchText_idx";
ALTER TABLE "Recovery" DROP COLUMN "searchText";
ALTER TABLE "Recovery" ADD COLUMN "searchText" TEXT GENERATED ALWAYS AS (
  lower(
    coalesce("email", '') || ' ' || coalesce("name", '') || ' ' || coalesce("firstName", '') || ' ' ||
    coalesce("fullName", '') || ' ' || "externalId" || ' ' || coalesce("checkoutToken", '')
  )
) STORED;

-- CreateIndex
CREATE INDEX "Recovery_searchText_idx" ON "Recovery" USING GIN ("searchText" gin_trgm_ops);

-- AlterTable: why the shop's details could not be read yet (null once read), shown on the Overview while retried.
ALTER TABLE "Shop" ADD COLUMN "detailsProblem" TEXT;
