-- Issue 18: checkout-pixel events merged per (shop, checkout) instead of stored one row and one job each
-- (docs/decisions/051, 079). Hand-written as `prisma migrate diff` derives it from schema.prisma
-- (test/integration/migrations.test.ts checks that they agree). Pixel events already stored in "InboundEvent" stay
-- there until retention removes them; their queued jobs still process them.

-- CreateTable
CREATE TABLE "PixelCheckout" (
    "id" TEXT NOT NULL,
    "shopId" TEXT NOT NULL,
    "checkoutToken" TEXT NOT NULL,
    "state" TEXT,
    "completedAt" TIMESTAMP(3),
    "lastEvent" TEXT NOT NULL,
    "recentEventIds" TEXT NOT NULL DEFAULT '[]',
    "eventCount" INTEGER NOT NULL DEFAULT 1,
    "processedCount" INTEGER NOT NULL DEFAULT 0,
    "processedAt" TIMESTAMP(3),
    "error" TEXT,
    "firstSeenAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lastSeenAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "PixelCheckout_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "PixelCheckout_shopId_firstSeenAt_idx" ON "PixelCheckout"("shopId", "firstSeenAt");

-- CreateIndex
CREATE INDEX "PixelCheckout_shopId_lastSeenAt_idx" ON "PixelCheckout"("shopId", "lastSeenAt");

-- CreateIndex
CREATE INDEX "PixelCheckout_lastSeenAt_idx" ON "PixelCheckout"("lastSeenAt");

-- CreateIndex
CREATE UNIQUE INDEX "PixelCheckout_shopId_checkoutToken_key" ON "PixelCheckout"("shopId", "checkoutToken");

-- AddForeignKey
ALTER TABLE "PixelCheckout" ADD CONSTRAINT "PixelCheckout_shopId_fkey" FOREIGN KEY ("shopId") REFERENCES "Shop"("id") ON DELETE CASCADE ON UPDATE CASCADE;
