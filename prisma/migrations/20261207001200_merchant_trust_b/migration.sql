-- Issue 21 (part B): the email as sent, and a recoveries search that matches anywhere (docs/decisions/083).

-- CreateExtension
CREATE EXTENSION IF NOT EXISTS "pg_trgm";

-- AlterTable: the subject and HTML exactly as rendered at hand-off (the timeline's "View this email").
ALTER TABLE "Message" ADD COLUMN     "bodyHtml" TEXT,
ADD COLUMN     "subject" TEXT;

-- AlterTable: what the search matches, kept by PostgreSQL itself so no write path can forget it (schema.prisma
-- declares it as a plain optional text column; Prisma never writes it).
ALTER TABLE "Recovery" ADD COLUMN "searchText" TEXT GENERATED ALWAYS AS (
  lower(
    coalesce("email", '') || ' ' || coalesce("name", '') || ' ' || coalesce("firstName", '') || ' ' ||
    "externalId" || ' ' || coalesce("checkoutToken", '')
  )
) STORED;

-- CreateIndex
CREATE INDEX "Recovery_searchText_idx" ON "Recovery" USING GIN ("searchText" gin_trgm_ops);
