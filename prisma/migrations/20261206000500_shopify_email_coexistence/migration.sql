-- Shopify's own abandoned-checkout email (docs/decisions/075-shopify-own-email.md): the shop's choice, and what the send
-- job last read about a checkout's Shopify email. Hand-written: exactly what `prisma migrate diff` derives from
-- schema.prisma for these columns (test/integration/migrations.test.ts checks that they agree).

-- AlterTable
ALTER TABLE "Recovery" ADD COLUMN     "shopifyEmailCheckedAt" TIMESTAMP(3),
ADD COLUMN     "shopifyEmailHeldAt" TIMESTAMP(3),
ADD COLUMN     "shopifyEmailSentAt" TIMESTAMP(3),
ADD COLUMN     "shopifyEmailState" TEXT;

-- AlterTable
ALTER TABLE "Shop" ADD COLUMN     "shopifyEmailPolicy" TEXT NOT NULL DEFAULT 'defer';

-- CreateIndex
CREATE INDEX "Recovery_shopId_shopifyEmailHeldAt_idx" ON "Recovery"("shopId", "shopifyEmailHeldAt");
