-- Issue 14: an incentive step's Shopify discount code is created ahead of the send, paced against the shop's Admin
-- API budget (docs/decisions/092). Nullable columns: no table rewrite.

-- AlterTable
ALTER TABLE "Message" ADD COLUMN "discountCreatedAt" TIMESTAMP(3),
ADD COLUMN "discountError" TEXT;
