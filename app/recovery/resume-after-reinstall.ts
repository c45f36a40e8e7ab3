/**
 * What happens to a shop's scheduled emails when it reinstalls Reclaim after an uninstall. Nothing was sent while the
 * app was uninstalled (the sweep skips uninstalled shops), so steps may have come due meanwhile. Sending every overdue
 * step at once would put two or three reminders in one inbox in the same minute; instead each recovery's campaign
 * resumes now and keeps its spacing, as a late-detected recovery starts (schedule.ts). A campaign whose next step is
 * more than MAX_CATCH_UP_MS overdue is not resumed: the buyer has long moved on.
 */
import { MAX_CATCH_UP_MS } from "./schedule";

export interface PendingStep {
  messageId: string;
  recoveryId: string;
  position: number;
  scheduledFor: Date;
}

export interface ResumePlan {
  /** New due times (only the messages that move). */
  moved: { messageId: string; recoveryId: string; scheduledFor: Date; lateByMs: number }[];
  /** Recoveries whose pending steps are cancelled, with how late the next one was. */
  tooLate: { recoveryId: string; messageIds: string[]; lateByMs: number }[];
}

export function planResume(pending: PendingStep[], now: Date, maxCatchUpMs = MAX_CATCH_UP_MS): ResumePlan {
  const byRecovery = new Map<string, PendingStep[]>();
  for (const step of pending) byRecovery.set(step.recoveryId, [...(byRecovery.get(step.recoveryId) ?? []), step]);
  const plan: ResumePlan = { moved: [], tooLate: [] };
  for (const [recoveryId, steps] of byRecovery) {
    steps.sort((a, b) => a.scheduledFor.getTime() - b.scheduledFor.getTime() || a.position - b.position);
    const late = now.getTime() - steps[0]!.scheduledFor.getTime();
    if (late <= 0) continue; // nothing came due while uninstalled
    if (late > maxCatchUpMs) {
      plan.tooLate.push({ recoveryId, messageIds: steps.map((s) => s.messageId), lateByMs: late });
      continue;
    }
    for (const s of steps) plan.moved.push({ messageId: s.messageId, recoveryId, scheduledFor: new Date(s.scheduledFor.getTime() + late), lateByMs: late });
  }
  return plan;
}
