-- Issue 19: the admin in the merchant's language and emails in the buyer's (docs/decisions/093). The buyer's language is
-- Recovery.locale, already stored. Nullable or defaulted columns and one new table: no table rewrite.

-- AlterTable
ALTER TABLE "Shop" ADD COLUMN "adminLocale" TEXT;

-- AlterTable
ALTER TABLE "Recovery" ADD COLUMN "lastName" TEXT;

-- AlterTable
ALTER TABLE "CampaignStep" ADD COLUMN "language" TEXT NOT NULL DEFAULT 'en';

-- AlterTable
ALTER TABLE "Message" ADD COLUMN "language" TEXT;

-- CreateTable
CREATE TABLE "CampaignStepTranslation" (
    "id" TEXT NOT NULL,
    "stepId" TEXT NOT NULL,
    "language" TEXT NOT NULL,
    "subject" TEXT NOT NULL,
    "bodyTemplate" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "CampaignStepTranslation_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "StaffLanguage" (
    "shopId" TEXT NOT NULL,
    "userId" TEXT NOT NULL,
    "locale" TEXT NOT NULL,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "StaffLanguage_pkey" PRIMARY KEY ("shopId","userId")
);

-- AddForeignKey
ALTER TABLE "StaffLanguage" ADD CONSTRAINT "StaffLanguage_shopId_fkey" FOREIGN KEY ("shopId") REFERENCES "Shop"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- CreateIndex
CREATE UNIQUE INDEX "CampaignStepTranslation_stepId_language_key" ON "CampaignStepTranslation"("stepId", "language");

-- AddForeignKey
ALTER TABLE "CampaignStepTranslation" ADD CONSTRAINT "CampaignStepTranslation_stepId_fkey" FOREIGN KEY ("stepId") REFERENCES "CampaignStep"("id") ON DELETE CASCADE ON UPDATE CASCADE;
