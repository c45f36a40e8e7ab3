-- AlterTable
ALTER TABLE "CampaignStep" ADD COLUMN     "stripePromotionCode" TEXT;

-- CreateTable
CREATE TABLE "StripePaymentLink" (
    "id" TEXT NOT NULL,
    "shopId" TEXT NOT NULL,
    "connectionId" TEXT NOT NULL,
    "paymentLinkId" TEXT NOT NULL,
    "url" TEXT NOT NULL,
    "active" BOOLEAN NOT NULL,
    "allowPromotionCodes" BOOLEAN NOT NULL DEFAULT false,
    "fetchedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "StripePaymentLink_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "StripePaymentLink_shopId_idx" ON "StripePaymentLink"("shopId");

-- CreateIndex
CREATE UNIQUE INDEX "StripePaymentLink_connectionId_paymentLinkId_key" ON "StripePaymentLink"("connectionId", "paymentLinkId");

-- AddForeignKey
ALTER TABLE "StripePaymentLink" ADD CONSTRAINT "StripePaymentLink_shopId_fkey" FOREIGN KEY ("shopId") REFERENCES "Shop"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "StripePaymentLink" ADD CONSTRAINT "StripePaymentLink_connectionId_fkey" FOREIGN KEY ("connectionId") REFERENCES "StripeConnection"("id") ON DELETE CASCADE ON UPDATE CASCADE;

