import { describe, expect, it } from "vitest";
import { translatorFor } from "../i18n/translator";
import { messageSentence, messageTime, reasonInWords, wontBeEmailedReason, type ReachFacts } from "./timeline";

const base: ReachFacts = {
  status: "open",
  notContactableReason: null,
  pixelOnly: false,
  consent: "opt_in",
  consentPolicy: "explicit",
  contact: { unsubscribedAt: null, suppressedAt: null },
  messages: [
    { status: "scheduled", skipReason: null },
    { status: "scheduled", skipReason: null },
  ],
};
const at = (iso: string) => `<${iso}>`;
const en = translatorFor("en");
const ja = translatorFor("ja");
const de = translatorFor("de");

describe("won't be emailed", () => {
  it.each([
    ["no consent under the explicit policy", { consent: "unknown" }, "no_consent"],
    ["opted out under the implied policy", { consent: "opt_out", consentPolicy: "implied" }, "no_consent"],
    ["no email address", { notContactableReason: "no_email" }, "no_email"],
    ["unsubscribed", { contact: { unsubscribedAt: "2026-12-01T00:00:00Z", suppressedAt: null } }, "unsubscribed"],
    ["suppressed", { contact: { unsubscribedAt: null, suppressedAt: "2026-12-01T00:00:00Z" } }, "suppressed"],
    [
      "every email skipped by the frequency cap",
      {
        messages: [
          { status: "skipped", skipReason: "frequency_cap" },
          { status: "cancelled", skipReason: "frequency_cap" },
        ],
      },
      "frequency_cap",
    ],
    ["stopped by the merchant", { messages: [{ status: "cancelled", skipReason: "stopped_by_merchant" }] }, "stopped_by_merchant"],
  ] as const)("%s", (_name, change, reason) => {
    expect(wontBeEmailedReason({ ...base, ...change } as ReachFacts)).toBe(reason);
  });

  it.each([
    ["emails are coming", {}],
    ["unknown consent under the implied policy", { consent: "unknown", consentPolicy: "implied" }],
    [
      "an email already went out (the status says the rest)",
      {
        consent: "unknown",
        messages: [
          { status: "sent", skipReason: null },
          { status: "scheduled", skipReason: null },
        ],
      },
    ],
    ["recovered", { status: "recovered", consent: "unknown" }],
    ["seen only by the pixel (its own banner says why)", { pixelOnly: true, consent: "unknown" }],
  ] as const)("not when %s", (_name, change) => {
    expect(wontBeEmailedReason({ ...base, ...change } as ReachFacts)).toBeNull();
  });
});

describe("timeline sentences", () => {
  const m = {
    position: 2,
    status: "sent",
    scheduledFor: "2026-12-03T14:00:00.000Z",
    sentAt: "2026-12-03T14:02:00.000Z",
    subject: "You left something behind",
    skipReason: null,
    lastError: null,
  };

  it("a sent email: when, and the subject that was sent", () => {
    expect(messageSentence(m, at, null, en)).toBe("Email 2 sent on <2026-12-03T14:02:00.000Z> — subject: “You left something behind”");
  });
  it("a skipped or cancelled email: why, in words, never a code", () => {
    expect(messageSentence({ ...m, status: "skipped", skipReason: "no_consent" }, at, null, en)).toBe(
      "Email 2 skipped: the buyer has not agreed to marketing emails",
    );
    expect(messageSentence({ ...m, status: "cancelled", skipReason: "frequency_cap" }, at, null, en)).toBe(
      "Email 2 cancelled: the buyer was emailed about another cart recently (frequency limit)",
    );
  });
  it("a scheduled email of a recovery that won't be emailed is not 'scheduled'", () => {
    expect(messageSentence({ ...m, status: "scheduled", sentAt: null }, at, null, en)).toBe("Email 2 scheduled for <2026-12-03T14:00:00.000Z>");
    expect(messageSentence({ ...m, status: "scheduled", sentAt: null }, at, "unsubscribed", en)).toBe("Email 2 won't be sent: the buyer unsubscribed");
  });
  it("a cancelled email sits at when it was cancelled, not at its future planned time", () => {
    const now = "2026-12-01T10:00:00.000Z";
    expect(messageTime({ status: "cancelled", scheduledFor: "2026-12-05T10:00:00.000Z", sentAt: null, updatedAt: "2026-12-01T09:00:00.000Z" }, now)).toBe(
      "2026-12-01T09:00:00.000Z",
    );
    expect(messageTime({ status: "scheduled", scheduledFor: "2026-12-05T10:00:00.000Z", sentAt: null, updatedAt: "2026-12-01T09:00:00.000Z" }, now)).toBe(
      "2026-12-05T10:00:00.000Z",
    );
  });
  it("an unknown code is shown as words rather than hidden", () => {
    expect(reasonInWords("some_new_reason", en)).toBe("some new reason");
    expect(reasonInWords("some_new_reason", ja)).toBe("some new reason");
  });
  it("reads in the admin's language, with the subject as it was sent", () => {
    expect(messageSentence(m, at, null, ja)).toBe("メール2を<2026-12-03T14:02:00.000Z>に送信しました — 件名：「You left something behind」");
    expect(messageSentence({ ...m, status: "scheduled", sentAt: null }, at, "unsubscribed", de)).toBe(
      "E-Mail 2 wird nicht gesendet: Der Käufer hat sich abgemeldet",
    );
    expect(messageSentence({ ...m, status: "cancelled", skipReason: "stopped_by_merchant" }, at, null, ja)).toBe(
      "メール2をキャンセルしました：このカートへのメール送信を停止しました",
    );
  });
});
