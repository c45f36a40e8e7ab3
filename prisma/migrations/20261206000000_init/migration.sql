-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateTable
CREATE TABLE "Session" (
    "id" TEXT NOT NULL,
    "shop" TEXT NOT NULL,
    "state" TEXT NOT NULL,
    "isOnline" BOOLEAN NOT NULL DEFAULT false,
    "scope" TEXT,
    "expires" TIMESTAMP(3),
    "accessToken" TEXT NOT NULL,
    "userId" BIGINT,
    "firstName" TEXT,
    "lastName" TEXT,
    "email" TEXT,
    "accountOwner" BOOLEAN NOT NULL DEFAULT false,
    "locale" TEXT,
    "collaborator" BOOLEAN DEFAULT false,
    "emailVerified" BOOLEAN DEFAULT false,
    "refreshToken" TEXT,
    "refreshTokenExpires" TIMESTAMP(3),

    CONSTRAINT "Session_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Shop" (
    "id" TEXT NOT NULL,
    "domain" TEXT NOT NULL,
    "name" TEXT,
    "email" TEXT,
    "currency" TEXT NOT NULL DEFAULT 'USD',
    "locale" TEXT NOT NULL DEFAULT 'en',
    "timezone" TEXT NOT NULL DEFAULT 'UTC',
    "installedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "uninstalledAt" TIMESTAMP(3),
    "grantedScopes" TEXT NOT NULL DEFAULT '',
    "consentPolicy" TEXT NOT NULL DEFAULT 'explicit',
    "frequencyCapHours" INTEGER NOT NULL DEFAULT 16,
    "quietHoursStartMinute" INTEGER,
    "quietHoursEndMinute" INTEGER,
    "attributionWindowDays" INTEGER NOT NULL DEFAULT 5,
    "backfillDays" INTEGER NOT NULL DEFAULT 30,
    "syncIntervalMinutes" INTEGER NOT NULL DEFAULT 5,
    "postalAddress" TEXT NOT NULL DEFAULT '',
    "emailTransport" TEXT NOT NULL DEFAULT 'log',
    "senderName" TEXT,
    "senderEmail" TEXT,
    "replyTo" TEXT,
    "smtpHost" TEXT,
    "smtpPort" INTEGER,
    "smtpSecure" BOOLEAN NOT NULL DEFAULT false,
    "smtpUser" TEXT,
    "smtpPasswordEncrypted" TEXT,
    "webPixelId" TEXT,
    "webPixelStatus" TEXT NOT NULL DEFAULT 'not_activated',
    "webPixelError" TEXT,
    "webPixelUpdatedAt" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Shop_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "SourceSync" (
    "id" TEXT NOT NULL,
    "shopId" TEXT NOT NULL,
    "source" TEXT NOT NULL,
    "watermark" TIMESTAMP(3),
    "syncRun" TEXT,
    "backfillStatus" TEXT NOT NULL DEFAULT 'pending',
    "backfillCursor" TEXT,
    "bulkOperationId" TEXT,
    "lastAttemptAt" TIMESTAMP(3),
    "lastSuccessAt" TIMESTAMP(3),
    "lastError" TEXT,
    "consecutiveFailures" INTEGER NOT NULL DEFAULT 0,
    "status" TEXT NOT NULL DEFAULT 'healthy',
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "SourceSync_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "StripeConnection" (
    "id" TEXT NOT NULL,
    "shopId" TEXT NOT NULL,
    "webhookSecretEncrypted" TEXT NOT NULL,
    "previousWebhookSecretEncrypted" TEXT,
    "previousSecretExpiresAt" TIMESTAMP(3),
    "apiKeyEncrypted" TEXT,
    "apiKeyLast4" TEXT,
    "stripeAccountId" TEXT,
    "livemode" BOOLEAN,
    "lastEventAt" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "StripeConnection_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Contact" (
    "id" TEXT NOT NULL,
    "shopId" TEXT NOT NULL,
    "email" TEXT NOT NULL,
    "firstName" TEXT,
    "shopifyCustomerId" TEXT,
    "unsubscribedAt" TIMESTAMP(3),
    "suppressedAt" TIMESTAMP(3),
    "suppressionReason" TEXT,
    "lastEmailedAt" TIMESTAMP(3),
    "lastPurchaseAt" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Contact_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Recovery" (
    "id" TEXT NOT NULL,
    "shopId" TEXT NOT NULL,
    "source" TEXT NOT NULL,
    "externalId" TEXT NOT NULL,
    "checkoutToken" TEXT,
    "cartToken" TEXT,
    "name" TEXT,
    "contactId" TEXT,
    "email" TEXT,
    "firstName" TEXT,
    "consent" TEXT NOT NULL DEFAULT 'unknown',
    "consentEvidence" TEXT NOT NULL DEFAULT '{}',
    "lineItems" TEXT NOT NULL DEFAULT '[]',
    "totalMinor" BIGINT NOT NULL,
    "currency" TEXT NOT NULL,
    "shopTotalMinor" BIGINT,
    "shopCurrency" TEXT,
    "locale" TEXT,
    "discountCodes" TEXT NOT NULL DEFAULT '[]',
    "recoveryUrl" TEXT,
    "recoveryUrlExpiresAt" TIMESTAMP(3),
    "sourceMetadata" TEXT NOT NULL DEFAULT '{}',
    "abandonedAt" TIMESTAMP(3) NOT NULL,
    "sourceUpdatedAt" TIMESTAMP(3) NOT NULL,
    "completedAt" TIMESTAMP(3),
    "status" TEXT NOT NULL DEFAULT 'open',
    "notContactableReason" TEXT,
    "pixelOnly" BOOLEAN NOT NULL DEFAULT false,
    "pixelCompletedAt" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Recovery_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Campaign" (
    "id" TEXT NOT NULL,
    "shopId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "isDefault" BOOLEAN NOT NULL DEFAULT false,
    "minCartMinor" INTEGER,
    "currencies" TEXT NOT NULL DEFAULT '',
    "sources" TEXT NOT NULL DEFAULT 'both',
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Campaign_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "CampaignStep" (
    "id" TEXT NOT NULL,
    "campaignId" TEXT NOT NULL,
    "position" INTEGER NOT NULL,
    "delayMinutes" INTEGER NOT NULL,
    "subject" TEXT NOT NULL,
    "bodyTemplate" TEXT NOT NULL,
    "incentiveType" TEXT,
    "incentiveValue" INTEGER,
    "incentiveExpiresDays" INTEGER,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "CampaignStep_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Message" (
    "id" TEXT NOT NULL,
    "shopId" TEXT NOT NULL,
    "recoveryId" TEXT NOT NULL,
    "campaignId" TEXT NOT NULL,
    "stepId" TEXT NOT NULL,
    "position" INTEGER NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'scheduled',
    "scheduledFor" TIMESTAMP(3) NOT NULL,
    "claimedAt" TIMESTAMP(3),
    "claimedBy" TEXT,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "sentAt" TIMESTAMP(3),
    "skipReason" TEXT,
    "lastError" TEXT,
    "providerMessageId" TEXT,
    "toEmail" TEXT,
    "discountCode" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Message_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Click" (
    "id" TEXT NOT NULL,
    "shopId" TEXT NOT NULL,
    "messageId" TEXT NOT NULL,
    "recoveryId" TEXT NOT NULL,
    "clickedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Click_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Conversion" (
    "id" TEXT NOT NULL,
    "shopId" TEXT NOT NULL,
    "recoveryId" TEXT NOT NULL,
    "messageId" TEXT,
    "method" TEXT NOT NULL,
    "matchedBy" TEXT NOT NULL,
    "source" TEXT NOT NULL,
    "externalId" TEXT NOT NULL,
    "amountMinor" BIGINT NOT NULL,
    "currency" TEXT NOT NULL,
    "convertedAt" TIMESTAMP(3) NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Conversion_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Purchase" (
    "id" TEXT NOT NULL,
    "shopId" TEXT NOT NULL,
    "source" TEXT NOT NULL,
    "externalId" TEXT NOT NULL,
    "email" TEXT,
    "contactId" TEXT,
    "checkoutToken" TEXT,
    "cartToken" TEXT,
    "recoveredFrom" TEXT,
    "amountMinor" BIGINT NOT NULL,
    "currency" TEXT NOT NULL,
    "occurredAt" TIMESTAMP(3) NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Purchase_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "DecisionLog" (
    "id" TEXT NOT NULL,
    "shopId" TEXT NOT NULL,
    "recoveryId" TEXT NOT NULL,
    "messageId" TEXT,
    "outcome" TEXT NOT NULL,
    "reason" TEXT NOT NULL,
    "detail" TEXT,
    "decidedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "DecisionLog_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "InboundEvent" (
    "id" TEXT NOT NULL,
    "source" TEXT NOT NULL,
    "receiver" TEXT NOT NULL,
    "externalId" TEXT NOT NULL,
    "topic" TEXT NOT NULL,
    "payload" TEXT NOT NULL,
    "receivedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "processedAt" TIMESTAMP(3),
    "error" TEXT,

    CONSTRAINT "InboundEvent_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Job" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "payload" TEXT NOT NULL DEFAULT '{}',
    "key" TEXT,
    "shopId" TEXT,
    "status" TEXT NOT NULL DEFAULT 'queued',
    "runAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "maxAttempts" INTEGER NOT NULL DEFAULT 8,
    "lockedAt" TIMESTAMP(3),
    "lockedBy" TEXT,
    "lastError" TEXT,
    "finishedAt" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Job_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "DailyStat" (
    "shopId" TEXT NOT NULL,
    "day" TEXT NOT NULL,
    "currency" TEXT NOT NULL,
    "source" TEXT NOT NULL,
    "abandoned" INTEGER NOT NULL DEFAULT 0,
    "abandonedValueMinor" BIGINT NOT NULL DEFAULT 0,
    "noEmail" INTEGER NOT NULL DEFAULT 0,
    "noRecoveryLink" INTEGER NOT NULL DEFAULT 0,
    "optIn" INTEGER NOT NULL DEFAULT 0,
    "optOut" INTEGER NOT NULL DEFAULT 0,
    "consentUnknown" INTEGER NOT NULL DEFAULT 0,
    "recovered" INTEGER NOT NULL DEFAULT 0,
    "emailsSent" INTEGER NOT NULL DEFAULT 0,
    "clicks" INTEGER NOT NULL DEFAULT 0,
    "linkConversions" INTEGER NOT NULL DEFAULT 0,
    "linkRevenueMinor" BIGINT NOT NULL DEFAULT 0,
    "windowConversions" INTEGER NOT NULL DEFAULT 0,
    "windowRevenueMinor" BIGINT NOT NULL DEFAULT 0,

    CONSTRAINT "DailyStat_pkey" PRIMARY KEY ("shopId","currency","day","source")
);

-- CreateTable
CREATE TABLE "ComplianceRequest" (
    "id" TEXT NOT NULL,
    "shopId" TEXT NOT NULL,
    "topic" TEXT NOT NULL,
    "inboundEventId" TEXT NOT NULL,
    "customerId" TEXT,
    "email" TEXT,
    "orderIds" TEXT NOT NULL DEFAULT '[]',
    "dataRequestId" TEXT,
    "status" TEXT NOT NULL DEFAULT 'pending',
    "export" TEXT,
    "summary" TEXT NOT NULL DEFAULT '{}',
    "receivedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "completedAt" TIMESTAMP(3),

    CONSTRAINT "ComplianceRequest_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "FlowTriggerDelivery" (
    "id" TEXT NOT NULL,
    "shopId" TEXT NOT NULL,
    "conversionId" TEXT NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'pending',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "lastError" TEXT,
    "payload" TEXT NOT NULL,
    "sentAt" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "FlowTriggerDelivery_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "Session_shop_idx" ON "Session"("shop");

-- CreateIndex
CREATE UNIQUE INDEX "Shop_domain_key" ON "Shop"("domain");

-- CreateIndex
CREATE UNIQUE INDEX "SourceSync_shopId_source_key" ON "SourceSync"("shopId", "source");

-- CreateIndex
CREATE INDEX "StripeConnection_shopId_idx" ON "StripeConnection"("shopId");

-- CreateIndex
CREATE INDEX "Contact_shopId_shopifyCustomerId_idx" ON "Contact"("shopId", "shopifyCustomerId");

-- CreateIndex
CREATE INDEX "Contact_shopId_unsubscribedAt_idx" ON "Contact"("shopId", "unsubscribedAt");

-- CreateIndex
CREATE INDEX "Contact_shopId_suppressedAt_idx" ON "Contact"("shopId", "suppressedAt");

-- CreateIndex
CREATE UNIQUE INDEX "Contact_shopId_email_key" ON "Contact"("shopId", "email");

-- CreateIndex
CREATE INDEX "Recovery_shopId_currency_abandonedAt_source_status_consent__idx" ON "Recovery"("shopId", "currency", "abandonedAt", "source", "status", "consent", "notContactableReason", "totalMinor", "contactId");

-- CreateIndex
CREATE INDEX "Recovery_shopId_source_checkoutToken_idx" ON "Recovery"("shopId", "source", "checkoutToken");

-- CreateIndex
CREATE INDEX "Recovery_shopId_source_cartToken_idx" ON "Recovery"("shopId", "source", "cartToken");

-- CreateIndex
CREATE INDEX "Recovery_shopId_abandonedAt_idx" ON "Recovery"("shopId", "abandonedAt");

-- CreateIndex
CREATE INDEX "Recovery_shopId_contactId_abandonedAt_idx" ON "Recovery"("shopId", "contactId", "abandonedAt");

-- CreateIndex
CREATE INDEX "Recovery_shopId_source_abandonedAt_idx" ON "Recovery"("shopId", "source", "abandonedAt");

-- CreateIndex
CREATE INDEX "Recovery_shopId_status_abandonedAt_idx" ON "Recovery"("shopId", "status", "abandonedAt");

-- CreateIndex
CREATE INDEX "Recovery_shopId_email_idx" ON "Recovery"("shopId", "email");

-- CreateIndex
CREATE INDEX "Recovery_contactId_idx" ON "Recovery"("contactId");

-- CreateIndex
CREATE UNIQUE INDEX "Recovery_shopId_source_externalId_key" ON "Recovery"("shopId", "source", "externalId");

-- CreateIndex
CREATE INDEX "Campaign_shopId_idx" ON "Campaign"("shopId");

-- CreateIndex
CREATE UNIQUE INDEX "CampaignStep_campaignId_position_key" ON "CampaignStep"("campaignId", "position");

-- CreateIndex
CREATE INDEX "Message_status_scheduledFor_idx" ON "Message"("status", "scheduledFor");

-- CreateIndex
CREATE INDEX "Message_shopId_status_scheduledFor_idx" ON "Message"("shopId", "status", "scheduledFor");

-- CreateIndex
CREATE INDEX "Message_shopId_sentAt_idx" ON "Message"("shopId", "sentAt");

-- CreateIndex
CREATE UNIQUE INDEX "Message_recoveryId_stepId_key" ON "Message"("recoveryId", "stepId");

-- CreateIndex
CREATE INDEX "Click_shopId_clickedAt_idx" ON "Click"("shopId", "clickedAt");

-- CreateIndex
CREATE INDEX "Click_recoveryId_idx" ON "Click"("recoveryId");

-- CreateIndex
CREATE INDEX "Click_messageId_idx" ON "Click"("messageId");

-- CreateIndex
CREATE INDEX "Conversion_shopId_convertedAt_idx" ON "Conversion"("shopId", "convertedAt");

-- CreateIndex
CREATE INDEX "Conversion_messageId_idx" ON "Conversion"("messageId");

-- CreateIndex
CREATE UNIQUE INDEX "Conversion_recoveryId_method_key" ON "Conversion"("recoveryId", "method");

-- CreateIndex
CREATE INDEX "Purchase_shopId_recoveredFrom_idx" ON "Purchase"("shopId", "recoveredFrom");

-- CreateIndex
CREATE INDEX "Purchase_shopId_checkoutToken_idx" ON "Purchase"("shopId", "checkoutToken");

-- CreateIndex
CREATE INDEX "Purchase_shopId_cartToken_idx" ON "Purchase"("shopId", "cartToken");

-- CreateIndex
CREATE INDEX "Purchase_shopId_email_occurredAt_idx" ON "Purchase"("shopId", "email", "occurredAt");

-- CreateIndex
CREATE UNIQUE INDEX "Purchase_shopId_source_externalId_key" ON "Purchase"("shopId", "source", "externalId");

-- CreateIndex
CREATE INDEX "DecisionLog_recoveryId_decidedAt_idx" ON "DecisionLog"("recoveryId", "decidedAt");

-- CreateIndex
CREATE INDEX "DecisionLog_shopId_decidedAt_idx" ON "DecisionLog"("shopId", "decidedAt");

-- CreateIndex
CREATE INDEX "DecisionLog_shopId_reason_decidedAt_idx" ON "DecisionLog"("shopId", "reason", "decidedAt");

-- CreateIndex
CREATE INDEX "InboundEvent_receiver_receivedAt_idx" ON "InboundEvent"("receiver", "receivedAt");

-- CreateIndex
CREATE INDEX "InboundEvent_receivedAt_idx" ON "InboundEvent"("receivedAt");

-- CreateIndex
CREATE UNIQUE INDEX "InboundEvent_source_receiver_externalId_key" ON "InboundEvent"("source", "receiver", "externalId");

-- CreateIndex
CREATE UNIQUE INDEX "Job_key_key" ON "Job"("key");

-- CreateIndex
CREATE INDEX "Job_status_runAt_idx" ON "Job"("status", "runAt");

-- CreateIndex
CREATE INDEX "Job_shopId_status_idx" ON "Job"("shopId", "status");

-- CreateIndex
CREATE INDEX "Job_status_finishedAt_idx" ON "Job"("status", "finishedAt");

-- CreateIndex
CREATE UNIQUE INDEX "ComplianceRequest_inboundEventId_key" ON "ComplianceRequest"("inboundEventId");

-- CreateIndex
CREATE INDEX "ComplianceRequest_shopId_receivedAt_idx" ON "ComplianceRequest"("shopId", "receivedAt");

-- CreateIndex
CREATE UNIQUE INDEX "FlowTriggerDelivery_conversionId_key" ON "FlowTriggerDelivery"("conversionId");

-- CreateIndex
CREATE INDEX "FlowTriggerDelivery_shopId_status_createdAt_idx" ON "FlowTriggerDelivery"("shopId", "status", "createdAt");

-- AddForeignKey
ALTER TABLE "SourceSync" ADD CONSTRAINT "SourceSync_shopId_fkey" FOREIGN KEY ("shopId") REFERENCES "Shop"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "StripeConnection" ADD CONSTRAINT "StripeConnection_shopId_fkey" FOREIGN KEY ("shopId") REFERENCES "Shop"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Contact" ADD CONSTRAINT "Contact_shopId_fkey" FOREIGN KEY ("shopId") REFERENCES "Shop"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Recovery" ADD CONSTRAINT "Recovery_shopId_fkey" FOREIGN KEY ("shopId") REFERENCES "Shop"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Recovery" ADD CONSTRAINT "Recovery_contactId_fkey" FOREIGN KEY ("contactId") REFERENCES "Contact"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Campaign" ADD CONSTRAINT "Campaign_shopId_fkey" FOREIGN KEY ("shopId") REFERENCES "Shop"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "CampaignStep" ADD CONSTRAINT "CampaignStep_campaignId_fkey" FOREIGN KEY ("campaignId") REFERENCES "Campaign"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Message" ADD CONSTRAINT "Message_shopId_fkey" FOREIGN KEY ("shopId") REFERENCES "Shop"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Message" ADD CONSTRAINT "Message_recoveryId_fkey" FOREIGN KEY ("recoveryId") REFERENCES "Recovery"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Message" ADD CONSTRAINT "Message_campaignId_fkey" FOREIGN KEY ("campaignId") REFERENCES "Campaign"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Message" ADD CONSTRAINT "Message_stepId_fkey" FOREIGN KEY ("stepId") REFERENCES "CampaignStep"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Click" ADD CONSTRAINT "Click_shopId_fkey" FOREIGN KEY ("shopId") REFERENCES "Shop"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Click" ADD CONSTRAINT "Click_messageId_fkey" FOREIGN KEY ("messageId") REFERENCES "Message"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Click" ADD CONSTRAINT "Click_recoveryId_fkey" FOREIGN KEY ("recoveryId") REFERENCES "Recovery"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Conversion" ADD CONSTRAINT "Conversion_shopId_fkey" FOREIGN KEY ("shopId") REFERENCES "Shop"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Conversion" ADD CONSTRAINT "Conversion_recoveryId_fkey" FOREIGN KEY ("recoveryId") REFERENCES "Recovery"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Conversion" ADD CONSTRAINT "Conversion_messageId_fkey" FOREIGN KEY ("messageId") REFERENCES "Message"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Purchase" ADD CONSTRAINT "Purchase_shopId_fkey" FOREIGN KEY ("shopId") REFERENCES "Shop"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "DecisionLog" ADD CONSTRAINT "DecisionLog_shopId_fkey" FOREIGN KEY ("shopId") REFERENCES "Shop"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "DecisionLog" ADD CONSTRAINT "DecisionLog_recoveryId_fkey" FOREIGN KEY ("recoveryId") REFERENCES "Recovery"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ComplianceRequest" ADD CONSTRAINT "ComplianceRequest_shopId_fkey" FOREIGN KEY ("shopId") REFERENCES "Shop"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "FlowTriggerDelivery" ADD CONSTRAINT "FlowTriggerDelivery_shopId_fkey" FOREIGN KEY ("shopId") REFERENCES "Shop"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "FlowTriggerDelivery" ADD CONSTRAINT "FlowTriggerDelivery_conversionId_fkey" FOREIGN KEY ("conversionId") REFERENCES "Conversion"("id") ON DELETE CASCADE ON UPDATE CASCADE;
