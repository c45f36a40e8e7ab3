-- The sweep's question "which shops have a Shopify recovery's incentive email due within the hour with no code yet?"
-- (app/models/incentive-codes.server.ts, docs/decisions/098) answered per incentive step: a partial index holding only
-- the messages that may still need a code (scheduled, none created, none given up on), by step then due time. Written
-- here only: schema.prisma cannot declare a partial index (Prisma 6), so it carries a comment instead, and
-- test/integration/migrations.test.ts checks this definition apart from the schema comparison.

-- CreateIndex
CREATE INDEX "Message_needing_code_idx" ON "Message"("stepId", "scheduledFor") WHERE "status" = 'scheduled' AND "discountCreatedAt" IS NULL AND "discountError" IS NULL;
