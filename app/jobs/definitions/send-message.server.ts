import { randomBytes, randomUUID } from "node:crypto";
import type { PrismaClient, Shop } from "@prisma/client";
import { z } from "zod";
import { composeMail } from "../../email/compose";
import { messageLinks } from "../../email/links.server";
import { renderEmail, TemplateRenderError } from "../../email/render";
import { createRecoveryDiscount } from "../../email/shopify-admin.server";
import { classifySendError, deliver, emailSetupProblem, fromAddress } from "../../email/transport.server";
import { templateInputFor } from "../../email/variables";
import { env } from "../../env.server";
import { logger } from "../../logger.server";
import { cancelContactMessages, suppressContact } from "../../models/contact.server";
import { cancelPendingMessages } from "../../models/ingest.server";
import {
  claimMessage,
  existingDiscountCode,
  finishWithoutSending,
  handOff,
  holdMessage,
  loadMessageForSend,
  markSent,
  MAX_SEND_ATTEMPTS,
  rememberDiscountCode,
  retryLater,
  SEND_MESSAGE_JOB,
  type SendRow,
} from "../../models/message.server";
import { decide, type ConsentPolicy, type DecisionInput } from "../../recovery/decide";
import { discountCodeFrom, stepIncentive } from "../../recovery/incentive";
import type { Consent, ConsentEvidence } from "../../recovery/model";
import { isValidTimeZone } from "../../recovery/quiet-hours";
import { templateVariables, type IncentiveFacts } from "../../recovery/template";
import { defineJob } from "../runner.server";
import { refuseOtherShopsRow } from "../../security/job-scope.server";

const APP_HOST = new URL(env.SHOPIFY_APP_URL).host;

export function policyFor(shop: Shop): DecisionInput["policy"] {
  return {
    consentPolicy: (shop.consentPolicy === "implied" ? "implied" : "explicit") as ConsentPolicy,
    frequencyCapHours: Math.max(0, shop.frequencyCapHours),
    quietHours:
      shop.quietHoursStartMinute != null && shop.quietHoursEndMinute != null
        ? { startMinute: shop.quietHoursStartMinute, endMinute: shop.quietHoursEndMinute }
        : null,
    timeZone: isValidTimeZone(shop.timezone) ? shop.timezone : "UTC",
    setupProblem: shop.uninstalledAt ? "Reclaim is uninstalled from this shop" : emailSetupProblem(shop),
  };
}

function parseEvidence(raw: string): ConsentEvidence | null {
  try {
    const value = JSON.parse(raw);
    return value && typeof value === "object" && "state" in value ? (value as ConsentEvidence) : null;
  } catch {
    return null;
  }
}

const RECOVERY_LEVEL_REASONS = new Set<string>(["purchased", "superseded", "not_contactable", "link_expired", "closed"]);
const CONTACT_LEVEL_REASONS = new Set<string>(["unsubscribed", "suppressed"]);

/** Thrown before handoff when trying again later may help (e.g. Shopify throttled the discount call). */
class TryAgainLater extends Error {
  name = "TryAgainLater";
}

/**
 * The recovery's single-use code for an incentive step (Shopify recoveries only). The code is stored on the claimed
 * message *before* Shopify is asked to create it, so a retry after a crash asks for the same code (Shopify then
 * answers TAKEN, which counts as created) instead of minting a second one.
 */
async function ensureIncentive(db: PrismaClient, row: SendRow, claimToken: string, now: Date): Promise<{ facts: IncentiveFacts | null; note: string | null }> {
  const { message: m, recovery: r, shop } = row;
  const incentive = stepIncentive(row.step);
  if (!incentive || r.source !== "shopify") return { facts: null, note: null };
  const code = m.discountCode ?? (await existingDiscountCode(db, m.recoveryId)) ?? discountCodeFrom(randomBytes(8));
  if (m.discountCode !== code) await rememberDiscountCode(db, m.id, claimToken, code);
  const alreadySent = await db.message.findFirst({ where: { recoveryId: m.recoveryId, discountCode: code, status: "sent" }, select: { sentAt: true } });
  const createdAt = alreadySent?.sentAt ?? now;
  if (!alreadySent) {
    const result = await createRecoveryDiscount(shop.domain, { code, incentive, shopCurrency: shop.currency, checkoutName: r.name, now });
    if (!result.ok) {
      if (!result.permanent && m.attempts < MAX_SEND_ATTEMPTS) throw new TryAgainLater(`Discount code not created yet: ${result.message}`);
      // Sending without the code beats not sending: the template's {% if incentive %} branch handles it.
      await db.message.updateMany({ where: { id: m.id, claimedBy: claimToken }, data: { discountCode: null } });
      return { facts: null, note: `incentive not created (${result.message})` };
    }
  }
  return {
    facts: { code, type: incentive.type, value: incentive.value, currency: shop.currency, expiresAt: new Date(createdAt.getTime() + incentive.expiresDays * 86_400_000) },
    note: `code ${code}`,
  };
}

/**
 * Sends one scheduled message: claim → decide again → (incentive) → render → hand off → SMTP → record.
 * Every path that does not send records why; see app/models/message.server.ts for the at-most-once states.
 */
export const sendMessage = defineJob({
  name: SEND_MESSAGE_JOB,
  payload: z.object({ messageId: z.string().min(1) }),
  backoffMs: (attempt) => Math.min(30_000 * 2 ** (attempt - 1), 30 * 60_000),
  async run({ payload, db, clock, job }) {
    const now = clock.now();
    await refuseOtherShopsRow(job, async () => (await db.message.findUnique({ where: { id: payload.messageId }, select: { shopId: true } }))?.shopId, `message ${payload.messageId}`);
    // Claim first (only a due, scheduled message can be claimed, by one worker), then read everything fresh.
    const claimToken = `${job.id}.${job.attempts}.${randomUUID().slice(0, 8)}`;
    if (!(await claimMessage(db, payload.messageId, claimToken, now))) return; // not due, already handled, or another worker has it
    const row = await loadMessageForSend(db, payload.messageId);
    if (!row) return; // deleted (shop/redact) in between
    const { message: m, recovery: r, shop } = row;
    const ref = { id: m.id, shopId: m.shopId, recoveryId: m.recoveryId, attempts: m.attempts };

    let mail: ReturnType<typeof composeMail>;
    let sendDetail: string;
    let discountCode: string | null = null;
    try {
      const decision = decide({
        now,
        recovery: {
          source: r.source === "stripe" ? "stripe" : "shopify",
          status: r.status,
          consent: r.consent as Consent,
          consentEvidence: parseEvidence(r.consentEvidence),
          abandonedAt: r.abandonedAt,
          completedAt: r.completedAt,
          recoveryUrl: r.recoveryUrl,
          recoveryUrlExpiresAt: r.recoveryUrlExpiresAt,
          notContactableReason: r.notContactableReason,
          pixelOnly: r.pixelOnly,
          pixelCompletedAt: r.pixelCompletedAt,
        },
        contact: row.contact,
        policy: policyFor(shop),
        history: row.history,
      });
      if (decision.outcome === "skip") {
        await finishWithoutSending(db, ref, claimToken, { status: "skipped", reason: decision.reason, detail: decision.detail }, now);
        // Reasons that will still hold at the later steps end them now (the log then says why at once).
        if (RECOVERY_LEVEL_REASONS.has(decision.reason)) await cancelPendingMessages(db, r.id, m.shopId, decision.reason, decision.detail, now);
        if (CONTACT_LEVEL_REASONS.has(decision.reason) && r.contactId) await cancelContactMessages(db, r.contactId, decision.reason, decision.detail, now);
        return;
      }
      if (decision.outcome === "hold") {
        await holdMessage(db, ref, claimToken, decision, now);
        return;
      }
      const incentive = await ensureIncentive(db, row, claimToken, now);
      discountCode = incentive.facts?.code ?? null;
      const links = messageLinks(m.id);
      const rendered = renderEmail(row.step, templateVariables(templateInputFor(shop, r, { recoveryUrl: links.clickUrl, unsubscribeUrl: links.unsubscribeUrl }, incentive.facts)));
      mail = composeMail({
        from: fromAddress(shop),
        replyTo: shop.replyTo,
        to: r.email!,
        rendered,
        unsubscribeUrl: links.unsubscribeUrl,
        messageId: m.id,
        appHost: APP_HOST,
      });
      sendDetail = incentive.note ? `${decision.detail}; ${incentive.note}` : decision.detail;
    } catch (error) {
      if (error instanceof TemplateRenderError) {
        await finishWithoutSending(db, ref, claimToken, { status: "failed", reason: "template_error", detail: `The template could not be rendered: ${error.message}` }, now);
        return;
      }
      // Nothing was handed over: give the message back for a later attempt.
      const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      logger.warn("send prepared nothing; will retry", { messageId: m.id, error: message });
      await retryLater(db, ref, claimToken, message, now);
      return;
    }

    const capHours = Math.max(0, shop.frequencyCapHours);
    const capSince = capHours > 0 ? new Date(now.getTime() - capHours * 3_600_000) : null;
    const handed = await handOff(db, { id: m.id, recoveryId: m.recoveryId, contactId: r.contactId! }, claimToken, capSince, { toEmail: r.email!, discountCode }, now);
    if (handed === "lost_claim") return;
    if (handed === "frequency_cap") {
      await finishWithoutSending(db, ref, claimToken, { status: "skipped", reason: "frequency_cap", detail: `Another checkout's email to this contact went out in the last ${capHours} h` }, now);
      return;
    }

    let providerMessageId: string;
    try {
      providerMessageId = (await deliver(shop, mail)).messageId;
    } catch (error) {
      const failure = classifySendError(error);
      logger.warn("email not delivered", { messageId: m.id, shop: shop.domain, kind: failure.kind, error: failure.message });
      if (failure.kind === "retry") {
        await retryLater(db, ref, claimToken, failure.message, now);
      } else if (failure.kind === "rejected") {
        await finishWithoutSending(db, ref, claimToken, { status: "failed", reason: failure.hardBounce ? "hard_bounce" : "rejected", detail: `The mail server refused it: ${failure.message}` }, now);
        if (failure.hardBounce && r.contactId) await suppressContact(db, r.contactId, "hard_bounce", `The address bounced: ${failure.message}`, now);
      } else {
        await finishWithoutSending(db, ref, claimToken, { status: "failed", reason: "delivery_unknown", detail: `The connection broke during delivery; not resent so nobody gets it twice: ${failure.message}` }, now);
      }
      return;
    }
    await markSent(db, { id: m.id, shopId: m.shopId, recoveryId: m.recoveryId, contactId: r.contactId!, recoveryStatus: r.status }, claimToken, { providerMessageId, detail: sendDetail }, now);
  },
});
