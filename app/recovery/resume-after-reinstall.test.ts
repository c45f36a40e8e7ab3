import { describe, expect, it } from "vitest";
import { planResume, type PendingStep } from "./resume-after-reinstall";
import { MAX_CATCH_UP_MS } from "./schedule";

const H = 3_600_000;
const now = new Date("2027-03-10T12:00:00Z");
const at = (hoursFromNow: number) => new Date(now.getTime() + hoursFromNow * H);
const step = (recoveryId: string, position: number, dueInHours: number): PendingStep => ({
  messageId: `${recoveryId}-${position}`,
  recoveryId,
  position,
  scheduledFor: at(dueInHours),
});

describe("planResume", () => {
  it("moves a recovery's next step to now and the later ones by the same amount", () => {
    const plan = planResume([step("a", 2, -6), step("a", 3, 42)], now);
    expect(plan.moved).toEqual([
      { messageId: "a-2", recoveryId: "a", scheduledFor: now, lateByMs: 6 * H },
      { messageId: "a-3", recoveryId: "a", scheduledFor: at(48), lateByMs: 6 * H },
    ]);
    expect(plan.tooLate).toEqual([]);
  });

  it("never sends two overdue steps of one recovery together: the second keeps its distance from the first", () => {
    const plan = planResume([step("b", 1, -25), step("b", 2, -2)], now);
    expect(plan.moved.map((m) => m.scheduledFor)).toEqual([now, at(23)]);
  });

  it("leaves alone recoveries with nothing overdue, and handles each recovery separately", () => {
    const plan = planResume([step("a", 1, 3), step("b", 1, -1), step("b", 2, 22)], now);
    expect(plan.moved.map((m) => [m.messageId, m.scheduledFor])).toEqual([
      ["b-1", now],
      ["b-2", at(23)],
    ]);
  });

  it("stops a campaign whose next step is overdue by more than the catch-up limit", () => {
    const late = -(MAX_CATCH_UP_MS / H) - 1;
    const plan = planResume([step("c", 1, late), step("c", 2, late + 23), step("d", 1, -(MAX_CATCH_UP_MS / H))], now);
    expect(plan.tooLate).toEqual([{ recoveryId: "c", messageIds: ["c-1", "c-2"], lateByMs: MAX_CATCH_UP_MS + H }]);
    expect(plan.moved.map((m) => m.messageId)).toEqual(["d-1"]); // exactly at the limit still resumes
  });
});
