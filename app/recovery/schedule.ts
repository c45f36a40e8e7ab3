/**
 * Which campaign a recovery enters and when each of its steps is due. Pure: campaigns, the recovery and `now` in,
 * a plan out. The decision to actually send is taken again right before each send (decide.ts).
 */
import type { Source } from "./model";
import { formatMoney } from "./money";

export type CampaignSources = "both" | Source;

export interface CampaignForScheduling {
  id: string;
  name: string;
  enabled: boolean;
  isDefault: boolean;
  createdAt: Date;
  /** Minimum cart total in the recovery's currency (minor units); null = no minimum. */
  minCartMinor: number | null;
  /** Upper-case ISO codes; empty = every currency. */
  currencies: string[];
  sources: CampaignSources;
  steps: { id: string; position: number; delayMinutes: number }[];
  /** `cart` (absent) | `payment_failed` | `payment_action_required` (docs/decisions/087). */
  kind?: string;
}

export interface RecoveryForScheduling {
  source: Source;
  totalMinor: number;
  currency: string;
  abandonedAt: Date;
  /** Which kind of campaign it may enter (payment-recovery.ts campaignKindFor); absent = `cart`. */
  campaignKind?: string;
}

export interface PlannedMessage {
  stepId: string;
  position: number;
  scheduledFor: Date;
}

export type Plan =
  | { kind: "scheduled"; campaignId: string; messages: PlannedMessage[]; /** how late the first step was when planned (ms, 0 = on time) */ shiftedByMs: number }
  | { kind: "none"; reason: "no_matching_campaign" | "too_old"; detail: string };

/**
 * How late a recovery may be detected and still start its campaign (first step sent at once, later ones keeping
 * their spacing). 48 h covers Stripe sessions, which expire up to 24 h after they were created; older recoveries
 * (e.g. a 30-day Shopify backfill) are not emailed out of the blue.
 */
export const MAX_CATCH_UP_MS = 48 * 3_600_000;

/** Parses the stored comma-separated currency filter. */
export function parseCurrencies(stored: string): string[] {
  return stored
    .split(",")
    .map((c) => c.trim().toUpperCase())
    .filter((c) => /^[A-Z]{3}$/.test(c));
}

/** Why a campaign's filters exclude a recovery (a merchant-readable sentence), or null when it matches. */
export function campaignFilterMismatch(campaign: CampaignForScheduling, recovery: RecoveryForScheduling): string | null {
  if (!campaign.enabled) return `"${campaign.name}" is turned off`;
  if (campaign.steps.length === 0) return `"${campaign.name}" has no steps`;
  if (campaign.sources !== "both" && campaign.sources !== recovery.source) return `"${campaign.name}" is for ${campaign.sources} checkouts only`;
  const currency = recovery.currency.toUpperCase();
  if (campaign.currencies.length > 0 && !campaign.currencies.includes(currency)) {
    return `"${campaign.name}" is for ${campaign.currencies.join(", ")} only`;
  }
  if (campaign.minCartMinor != null && recovery.totalMinor < campaign.minCartMinor) {
    return `"${campaign.name}" needs a cart of at least ${formatMoney({ amountMinor: campaign.minCartMinor, currency })}`;
  }
  return null;
}

/** The campaign a recovery enters: the oldest matching non-default campaign, else the default one. */
export function chooseCampaign(
  campaigns: CampaignForScheduling[],
  recovery: RecoveryForScheduling,
): { campaign: CampaignForScheduling } | { campaign: null; detail: string } {
  // A recovery only enters a campaign of its own kind (a cart never gets a payment notice, nor the other way round).
  const ordered = campaigns
    .filter((c) => (c.kind ?? "cart") === (recovery.campaignKind ?? "cart"))
    .sort((a, b) => Number(a.isDefault) - Number(b.isDefault) || a.createdAt.getTime() - b.createdAt.getTime() || a.id.localeCompare(b.id));
  const reasons: string[] = [];
  for (const campaign of ordered) {
    const mismatch = campaignFilterMismatch(campaign, recovery);
    if (!mismatch) return { campaign };
    reasons.push(mismatch);
  }
  return { campaign: null, detail: reasons.length ? `No campaign matches: ${reasons.join("; ")}` : "No campaign set up" };
}

/** Each step is due `delayMinutes` after the abandonment; a late-detected recovery starts now and keeps the spacing. */
export function planMessages(campaign: Pick<CampaignForScheduling, "id" | "steps">, abandonedAt: Date, now: Date, maxCatchUpMs = MAX_CATCH_UP_MS): Plan {
  const steps = [...campaign.steps].sort((a, b) => a.position - b.position);
  if (steps.length === 0) return { kind: "none", reason: "no_matching_campaign", detail: "The campaign has no steps" };
  const firstDue = abandonedAt.getTime() + steps[0]!.delayMinutes * 60_000;
  const late = Math.max(0, now.getTime() - firstDue);
  if (late > maxCatchUpMs) {
    return {
      kind: "none",
      reason: "too_old",
      detail: `Abandoned ${Math.round((now.getTime() - abandonedAt.getTime()) / 3_600_000)} h ago: too old to start a campaign`,
    };
  }
  return {
    kind: "scheduled",
    campaignId: campaign.id,
    shiftedByMs: late,
    messages: steps.map((s) => ({ stepId: s.id, position: s.position, scheduledFor: new Date(abandonedAt.getTime() + s.delayMinutes * 60_000 + late) })),
  };
}

/** Steps closer together than the frequency cap are fine within one recovery, but worth a word in the editor. */
export function stepSpacingWarnings(steps: { position: number; delayMinutes: number }[]): string[] {
  const sorted = [...steps].sort((a, b) => a.position - b.position);
  const warnings: string[] = [];
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]!.delayMinutes <= sorted[i - 1]!.delayMinutes) {
      warnings.push(`Step ${i + 1} is not later than step ${i}; it will be sent at the same time or before it.`);
    }
  }
  return warnings;
}

const hoursText = (minutes: number) => `${+(minutes / 60).toFixed(2)} ${minutes === 60 ? "hour" : "hours"}`;

/**
 * Why a step's new delay would put the campaign out of order (a merchant-readable sentence for the delay field), or
 * null. Each email must come strictly after the one before it and before the one after it: Email 2 is never sent
 * before Email 1.
 */
export function stepOrderProblem(steps: { id: string; position: number; delayMinutes: number }[], stepId: string, delayMinutes: number): string | null {
  const sorted = [...steps].sort((a, b) => a.position - b.position);
  const i = sorted.findIndex((s) => s.id === stepId);
  if (i < 0) return null;
  const before = sorted[i - 1];
  const after = sorted[i + 1];
  const self = `Email ${sorted[i]!.position}`;
  if (before && delayMinutes <= before.delayMinutes) {
    return `${self} must be sent after Email ${before.position} (${hoursText(before.delayMinutes)} after abandonment): use a delay longer than ${hoursText(before.delayMinutes)}`;
  }
  if (after && delayMinutes >= after.delayMinutes) {
    return `${self} must be sent before Email ${after.position} (${hoursText(after.delayMinutes)} after abandonment): use a delay shorter than ${hoursText(after.delayMinutes)}, or change Email ${after.position} first`;
  }
  return null;
}
