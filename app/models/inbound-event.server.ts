import { Prisma, type PrismaClient } from "@prisma/client";
import { enqueueJob } from "../jobs/queue.server";

export interface InboundEventInput {
  source: "shopify" | "stripe" | "pixel";
  /** Shop domain (Shopify) or Stripe connection id. */
  receiver: string;
  /** Delivery id: X-Shopify-Webhook-Id, Stripe event id. */
  externalId: string;
  topic: string;
  payload: string;
  shopId?: string | null;
}

/**
 * Stores an inbound event once and enqueues its processing in the same transaction (invariant 1: stored durably
 * before it is acknowledged; a redelivery changes nothing). Returns whether this delivery was new.
 */
export async function recordInboundEvent(
  db: PrismaClient,
  input: InboundEventInput,
  job: { name: string },
): Promise<"new" | "duplicate"> {
  try {
    await db.$transaction(async (tx) => {
      const row = await tx.inboundEvent.create({
        data: {
          source: input.source,
          receiver: input.receiver,
          externalId: input.externalId,
          topic: input.topic,
          payload: input.payload,
        },
        select: { id: true },
      });
      await enqueueJob(tx, job.name, { inboundEventId: row.id }, { shopId: input.shopId ?? null });
    });
    return "new";
  } catch (error) {
    if (isUniqueViolation(error)) return "duplicate";
    throw error;
  }
}

export function isUniqueViolation(error: unknown): boolean {
  return error instanceof Prisma.PrismaClientKnownRequestError && error.code === "P2002";
}
