/**
 * The columns (and PostgreSQL types) of the rows the batch ingest and the cancel path insert with insertRows
 * (app/database/insert-rows.server.ts): what each insert writes; the other columns keep their database defaults.
 */
import type { ColumnType } from "../database/insert-rows.server";

export const MESSAGE_COLUMNS = {
  id: "text",
  shopId: "text",
  recoveryId: "text",
  campaignId: "text",
  stepId: "text",
  position: "integer",
  scheduledFor: "timestamp(3)",
  toEmail: "text",
  createdAt: "timestamp(3)",
  updatedAt: "timestamp(3)",
} satisfies Record<string, ColumnType>;

export const CONTACT_COLUMNS = {
  id: "text",
  shopId: "text",
  email: "text",
  firstName: "text",
  shopifyCustomerId: "text",
  unsubscribedAt: "timestamp(3)",
  suppressedAt: "timestamp(3)",
  suppressionReason: "text",
  updatedAt: "timestamp(3)",
} satisfies Record<string, ColumnType>;

export const CONVERSION_COLUMNS = {
  id: "text",
  shopId: "text",
  recoveryId: "text",
  messageId: "text",
  method: "text",
  matchedBy: "text",
  source: "text",
  externalId: "text",
  amountMinor: "bigint",
  currency: "text",
  convertedAt: "timestamp(3)",
} satisfies Record<string, ColumnType>;

export const DECISION_LOG_COLUMNS = {
  id: "text",
  shopId: "text",
  recoveryId: "text",
  messageId: "text",
  outcome: "text",
  reason: "text",
  detail: "text",
  decidedAt: "timestamp(3)",
} satisfies Record<string, ColumnType>;
