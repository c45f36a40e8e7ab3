/**
 * Scheduling a recovery's messages (called by ingest, in the ingest transaction), and supersession of a contact's
 * older recoveries.
 */
import type { Prisma, Recovery } from "@prisma/client";
import { chooseCampaign, planMessages, type Plan } from "../recovery/schedule";
import { campaignsForScheduling } from "./campaign.server";
import { cancelScheduledMessages } from "./message-cancel.server";
import { findSupersedingRecovery, supersededRecoveryWhere } from "./supersession.server";
import { ensureSweepScheduled } from "./message-sweep.server";

export type ScheduleOutcome =
  | { kind: "scheduled"; messages: number; firstDueAt: Date }
  | { kind: "superseded"; byRecoveryId: string }
  | { kind: "none"; reason: string }
  | { kind: "not_applicable" };

/**
 * Schedules a recovery's campaign the first time it is contactable (new, or it just gained an email/link), and makes
 * the contact's newest recovery supersede the older ones (either source). Order-independent: an older checkout
 * arriving after a newer one is superseded at once.
 */
export async function scheduleRecovery(tx: Prisma.TransactionClient, recovery: Recovery, now: Date): Promise<ScheduleOutcome> {
  // A pixel-only recovery waits for Shopify to confirm it (docs/decisions/050): the campaign starts at confirmation.
  if (recovery.notContactableReason || !recovery.contactId || recovery.completedAt || recovery.status !== "open" || recovery.pixelOnly)
    return { kind: "not_applicable" };
  if ((await tx.message.count({ where: { recoveryId: recovery.id } })) > 0) return { kind: "not_applicable" };
  const log = (outcome: string, reason: string, detail: string) =>
    tx.decisionLog.create({ data: { shopId: recovery.shopId, recoveryId: recovery.id, outcome, reason, detail, decidedAt: now } });

  // Bought since starting this checkout (either source): nothing to recover. Measured from startedAt (Stripe: the
  // session's `created`), not the expiry, which can come up to 24 h later (docs/decisions/076).
  const startedAt = recovery.startedAt ?? recovery.abandonedAt;
  const bought = await tx.purchase.findFirst({
    where: {
      shopId: recovery.shopId,
      cancelledAt: null,
      occurredAt: { gte: startedAt },
      OR: [{ contactId: recovery.contactId }, ...(recovery.email ? [{ email: recovery.email }] : [])],
    },
    orderBy: { occurredAt: "asc" },
    select: { source: true, occurredAt: true },
  });
  if (bought) {
    await log("skip", "purchased", boughtDetail(bought));
    return { kind: "none", reason: "purchased" };
  }

  const newer = await findSupersedingRecovery(tx, recovery);
  if (newer) {
    await tx.recovery.update({ where: { id: recovery.id }, data: { status: "superseded" } });
    await log("skip", "superseded", supersededDetail(newer.source));
    return { kind: "superseded", byRecoveryId: newer.id };
  }
  const older = await tx.recovery.findMany({
    where: { ...supersededRecoveryWhere(recovery), status: { in: ["open", "contacting"] } },
    select: { id: true },
  });
  await supersedeOlder(tx, recovery, older, now);

  const campaigns = await campaignsForScheduling(tx, recovery.shopId);
  // A shop with no campaign at all is one whose install step has not run yet: nothing to explain per recovery.
  if (campaigns.length === 0) return { kind: "none", reason: "no_campaign" };
  const chosen = chooseCampaign(campaigns, { ...recovery, totalMinor: Number(recovery.totalMinor) } as Omit<Recovery, "totalMinor"> & {
    totalMinor: number;
    source: "shopify" | "stripe";
  });
  if (!chosen.campaign) {
    await log("skip", "no_matching_campaign", chosen.detail);
    return { kind: "none", reason: "no_matching_campaign" };
  }
  const plan = planMessages(chosen.campaign, recovery.abandonedAt, now);
  if (plan.kind === "none") {
    await log("skip", plan.reason, plan.detail);
    return { kind: "none", reason: plan.reason };
  }
  await createPlannedMessages(tx, recovery, plan, now);
  const firstDueAt = plan.messages[0]!.scheduledFor;
  if (plan.shiftedByMs > 0) {
    await log("hold", "late_start", lateStartDetail(plan.shiftedByMs));
  }
  await ensureSweepScheduled(tx, firstDueAt);
  return { kind: "scheduled", messages: plan.messages.length, firstDueAt };
}

/** The decision-log sentences of scheduling (the one-by-one path above and the batch path, ingest-checkout-batch). */
export const boughtDetail = (bought: { source: string; occurredAt: Date }) =>
  `Bought on ${bought.source === "stripe" ? "Stripe" : "Shopify"} on ${bought.occurredAt.toISOString().slice(0, 16).replace("T", " ")} UTC, after starting this checkout`;
export const supersededDetail = (newerSource: string) => `A newer checkout on ${newerSource === "stripe" ? "Stripe" : "Shopify"} replaces this one`;
export const lateStartDetail = (shiftedByMs: number) =>
  `Detected ${Math.round(shiftedByMs / 60_000)} min after the first step was due: the campaign starts now and keeps its spacing`;

/**
 * A newer recovery from `recovery.source` supersedes `older` (its contact's open or contacting carts; the batch path
 * passes several contacts' at once): each stops, saying why.
 */
export async function supersedeOlder(tx: Prisma.TransactionClient, recovery: Pick<Recovery, "shopId" | "source">, older: { id: string }[], now: Date) {
  if (older.length === 0) return;
  const recoveryIds = older.map((o) => o.id);
  await tx.recovery.updateMany({ where: { id: { in: recoveryIds } }, data: { status: "superseded" } });
  await cancelScheduledMessages(tx, { recoveryIds }, "superseded", supersededDetail(recovery.source), now, {
    recordWhenNone: { shopId: recovery.shopId, recoveryIds },
  });
}

/** Writes a plan's messages for a recovery (either kind); a message already planned for a step is kept as it is. */
export async function createPlannedMessages(
  tx: Prisma.TransactionClient,
  recovery: Pick<Recovery, "id" | "shopId" | "email">,
  plan: Extract<Plan, { kind: "scheduled" }>,
  now: Date,
): Promise<void> {
  await tx.message.createMany({
    data: plan.messages.map((m) => ({
      shopId: recovery.shopId,
      recoveryId: recovery.id,
      campaignId: plan.campaignId,
      stepId: m.stepId,
      position: m.position,
      scheduledFor: m.scheduledFor,
      toEmail: recovery.email,
      createdAt: now,
      updatedAt: now,
    })),
    skipDuplicates: true,
  });
}
