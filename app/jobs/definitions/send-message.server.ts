import { randomBytes, randomUUID } from "node:crypto";
import type { PrismaClient, Shop } from "@prisma/client";
import { z } from "zod";
import { rawMailOptions, type BuiltMail } from "../../email/compose";
import { messageLinks } from "../../email/links.server";
import { TemplateRenderError } from "../../email/render";
import { renderMailsInWorker, type MailToRender } from "../../email/render-pool.server";
import { createRecoveryDiscount } from "../../email/shopify-admin.server";
import { classifySendError, deliver, emailSetupProblem, fromAddress, shopInFlightLimit } from "../../email/transport.server";
import { templateInputFor } from "../../email/variables";
import { env } from "../../env.server";
import { logger } from "../../logger.server";
import { suppressContact } from "../../models/contact.server";
import { cancelScheduledMessages } from "../../models/message-cancel.server";
import {
  claimDueMessages,
  existingDiscountCode,
  finishWithoutSending,
  handOffBatch,
  holdMessage,
  markSentBatch,
  rememberDiscountCode,
  retryLater,
  type SentItem,
} from "../../models/message.server";
import { enqueueShopSend, MAX_SEND_ATTEMPTS, SEND_SHOP_JOB } from "../../models/message-sweep.server";
import { loadMessagesForSend, type SendRow } from "../../models/message-send-row.server";
import { markHeldForShopifyEmail, recordShopifyEmailState, shopifyCheckoutHolds } from "../../models/message-shopify-email.server";
import { chooseEmailLanguage } from "../../recovery/email-language";
import { decide, type ConsentPolicy, type DecisionInput, type ShopifyEmailFacts } from "../../recovery/decide";
import { lookupShopifyEmailState } from "../../sources/shopify/shopify-email-state.server";
import { discountCodeFrom, stepIncentive, stripeAllowsPromotionCodes } from "../../recovery/incentive";
import type { Consent, ConsentEvidence } from "../../recovery/model";
import { isValidTimeZone } from "../../recovery/quiet-hours";
import { templateVariables, type IncentiveFacts } from "../../recovery/template";
import { defineJob } from "../engine.server";
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
    shopifyEmailPolicy: shop.shopifyEmailPolicy === "send_anyway" ? "send_anyway" : "defer",
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

// `shopify_email`: Shopify's own email was sent or is scheduled; Shopify owns this checkout's recovery (docs/decisions/075).
const RECOVERY_LEVEL_REASONS = new Set<string>(["purchased", "superseded", "not_contactable", "link_expired", "closed", "shopify_email"]);

/**
 * Shopify's answer NOT_SENT is trusted this long (a retry after an SMTP hiccup does not ask again); the next step,
 * hours later, asks again, because Shopify's automation may have emailed in between. SENT and SCHEDULED are final.
 */
const SHOPIFY_EMAIL_FRESH_MS = 15 * 60_000;

/** What is already known about Shopify's own email for this checkout, without asking Shopify. */
function knownShopifyEmail(r: SendRow["recovery"], now: Date): ShopifyEmailFacts | null {
  const state = r.shopifyEmailState;
  if (state === "SENT" || state === "SCHEDULED") return { state, sentAt: r.shopifyEmailSentAt };
  if ((state === "NOT_SENT" || state === "NONE") && r.shopifyEmailCheckedAt && now.getTime() - r.shopifyEmailCheckedAt.getTime() < SHOPIFY_EMAIL_FRESH_MS) {
    return { state, sentAt: null };
  }
  return null;
}

/**
 * Asks Shopify about its own email for this checkout (one paced call), or says why it can't yet: a checkout seen only
 * by its webhook has no AbandonedCheckout gid until the next poll; Shopify unreachable → `retry` while attempts last,
 * then `unverified` (decide() then skips this step instead of sending blindly; the next step asks again).
 */
async function shopifyEmailFacts(db: PrismaClient, row: SendRow, now: Date, clock: { now(): Date }): Promise<ShopifyEmailFacts | { retry: string }> {
  const { message: m, recovery: r, shop } = row;
  if (!r.externalId.startsWith("gid://shopify/AbandonedCheckout/")) {
    const retryAt = new Date(now.getTime() + (Math.max(1, shop.syncIntervalMinutes) + 1) * 60_000);
    return { state: "awaiting_checkout_id", holdsSoFar: await shopifyCheckoutHolds(db, r.id, m.id), retryAt };
  }
  const found = await lookupShopifyEmailState(shop.domain, r.externalId, { now: () => clock.now() });
  if (found.kind === "found") {
    await recordShopifyEmailState(db, r.id, found, now);
    return { state: found.state, sentAt: found.sentAt };
  }
  logger.warn("Shopify's own email state not read", { messageId: m.id, shop: shop.domain, kind: found.kind, error: found.message });
  if (found.kind === "retry" && m.attempts < MAX_SEND_ATTEMPTS)
    return { retry: `Shopify's own abandoned-checkout email could not be checked yet: ${found.message}` };
  return { state: "unverified", why: found.kind === "retry" ? `${found.message}; tried ${m.attempts} times` : found.message };
}
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
  if (incentive && r.source === "stripe") return stripeIncentive(row, incentive);
  if (!incentive || r.source !== "shopify") return { facts: null, note: null };
  // Created ahead (app/jobs/definitions/prepare-incentive-codes.server): nothing to ask Shopify.
  if (m.discountCode && m.discountCreatedAt)
    return { facts: incentiveFacts(m.discountCode, incentive, shop.currency, m.discountCreatedAt), note: `code ${m.discountCode}` };
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
  return { facts: incentiveFacts(code, incentive, shop.currency, createdAt), note: `code ${code}` };
}

/** What the email says about its code: valid for the step's days from when Shopify created it. */
function incentiveFacts(code: string, incentive: NonNullable<ReturnType<typeof stepIncentive>>, currency: string, createdAt: Date): IncentiveFacts {
  return { code, type: incentive.type, value: incentive.value, currency, expiresAt: new Date(createdAt.getTime() + incentive.expiresDays * 86_400_000) };
}

/**
 * A Stripe recovery's incentive: the step's merchant-entered Stripe promotion code, only when the session (or Payment
 * Link) allowed promotion codes; otherwise the email goes without it and the log says why (ADR 077). Both come with the
 * batch load (no query per email).
 */
function stripeIncentive(row: SendRow, incentive: NonNullable<ReturnType<typeof stepIncentive>>): { facts: IncentiveFacts | null; note: string | null } {
  const code = row.step.stripePromotionCode;
  if (!code) return { facts: null, note: "incentive not shown (no Stripe promotion code on this step)" };
  let metadata: Record<string, unknown> | null = null;
  try {
    metadata = JSON.parse(row.recovery.sourceMetadata) as Record<string, unknown>;
  } catch {
    metadata = null;
  }
  if (!stripeAllowsPromotionCodes(metadata)) return { facts: null, note: "incentive not shown (this Stripe session did not allow promotion codes)" };
  // The amount is the merchant's description of their Stripe code; a fixed amount is in the recovery's currency.
  return {
    facts: { code, type: incentive.type, value: incentive.value, currency: row.recovery.currency, expiresAt: null },
    note: `Stripe promotion code ${code}`,
  };
}

type Ref = { id: string; shopId: string; recoveryId: string; attempts: number };

/** A message decided "send", its code ready: what its render needs. */
interface Decided {
  row: SendRow;
  ref: Ref;
  render: MailToRender;
  detail: string;
  discountCode: string | null;
}

/** A message decided "send", rendered and composed: what the hand-off and the SMTP send need. */
interface Prepared {
  row: SendRow;
  ref: Ref;
  /** Built into its bytes in the render worker (docs/decisions/094). */
  mail: BuiltMail;
  sent: { subject: string; bodyHtml: string; language: string };
  text: string;
  detail: string;
  discountCode: string | null;
}

/**
 * Decides one claimed message again (the pure rules, unchanged), then readies its incentive and what its render needs.
 * Every path that does not send records why and returns null.
 */
async function decideOne(db: PrismaClient, row: SendRow, claimToken: string, now: Date, clock: { now(): Date }): Promise<Decided | null> {
  const { message: m, recovery: r, shop } = row;
  const ref: Ref = { id: m.id, shopId: m.shopId, recoveryId: m.recoveryId, attempts: m.attempts };
  try {
    const input: DecisionInput = {
      now,
      recovery: {
        source: r.source === "stripe" ? "stripe" : "shopify",
        kind: r.kind,
        paymentReason: r.paymentReason,
        status: r.status,
        consent: r.consent as Consent,
        consentEvidence: parseEvidence(r.consentEvidence),
        abandonedAt: r.abandonedAt,
        startedAt: r.startedAt,
        completedAt: r.completedAt,
        recoveryUrl: r.recoveryUrl,
        recoveryUrlExpiresAt: r.recoveryUrlExpiresAt,
        notContactableReason: r.notContactableReason,
        pixelOnly: r.pixelOnly,
        pixelCompletedAt: r.pixelCompletedAt,
      },
      contact: row.contact,
      policy: { ...policyFor(shop), campaignTurnedOff: row.campaign.enabled ? null : row.campaign.name, stripeSendsOwnEmail: r.stripeSendsOwnEmail },
      history: row.history,
    };
    // Shopify's own abandoned-checkout email (docs/decisions/075): asked only when everything else says "send".
    const checksShopifyEmail = r.source === "shopify" && input.policy.shopifyEmailPolicy === "defer";
    input.shopifyEmail = checksShopifyEmail ? knownShopifyEmail(r, now) : null;
    let decision = decide(input);
    if (decision.outcome === "send" && checksShopifyEmail && !input.shopifyEmail) {
      const facts = await shopifyEmailFacts(db, row, now, clock);
      if ("retry" in facts) {
        await retryLater(db, ref, claimToken, facts.retry, now);
        return null;
      }
      decision = decide({ ...input, shopifyEmail: facts });
    }
    if (decision.outcome === "skip") {
      await finishWithoutSending(db, ref, claimToken, { status: "skipped", reason: decision.reason, detail: decision.detail }, now);
      if (decision.reason === "shopify_email") await markHeldForShopifyEmail(db, r.id, now);
      // Reasons that will still hold at the later steps end them now (the log then says why at once).
      if (RECOVERY_LEVEL_REASONS.has(decision.reason)) await cancelScheduledMessages(db, { recoveryId: r.id }, decision.reason, decision.detail, now);
      if (CONTACT_LEVEL_REASONS.has(decision.reason) && r.contactId)
        await cancelScheduledMessages(db, { contactId: r.contactId }, decision.reason, decision.detail, now);
      return null;
    }
    if (decision.outcome === "hold") {
      await holdMessage(db, ref, claimToken, decision, now);
      return null;
    }
    const incentive = await ensureIncentive(db, row, claimToken, now);
    const links = messageLinks(m.id);
    // The buyer's language when the step has it, else the shop's, else the step's main version (docs/decisions/093).
    const version = chooseEmailLanguage(row.step, r.locale, shop.locale);
    // In a render worker (docs/decisions/079), MIME included (094): a template that runs into the time or memory limit is
    // a TemplateRenderError.
    return {
      row,
      ref,
      render: {
        step: version,
        vars: templateVariables(
          templateInputFor(shop, r, { recoveryUrl: links.clickUrl, unsubscribeUrl: links.unsubscribeUrl }, incentive.facts, version.language),
        ),
        compose: { from: fromAddress(shop), replyTo: shop.replyTo, to: r.email!, unsubscribeUrl: links.unsubscribeUrl, messageId: m.id, appHost: APP_HOST },
        language: version.language,
      },
      detail: incentive.note ? `${decision.detail}; ${incentive.note}` : decision.detail,
      discountCode: incentive.facts?.code ?? null,
    };
  } catch (error) {
    await notPrepared(db, ref, claimToken, error, now);
    return null;
  }
}

/** Records why a decided message was not prepared: its template's fault (failed), or anything else (retried later). */
async function notPrepared(db: PrismaClient, ref: Ref, claimToken: string, error: unknown, now: Date): Promise<void> {
  if (error instanceof TemplateRenderError) {
    await finishWithoutSending(
      db,
      ref,
      claimToken,
      { status: "failed", reason: "template_error", detail: `The template could not be rendered: ${error.message}` },
      now,
    );
    return;
  }
  // Nothing was handed over: give the message back for a later attempt.
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  logger.warn("send prepared nothing; will retry", { messageId: ref.id, error: message });
  await retryLater(db, ref, claimToken, message, now);
}

/**
 * Renders a chunk's decided messages in the render workers, MIME included (docs/decisions/079, 094): one batch per
 * worker, so the hand-off to the threads is per batch, not per email. A template that runs into the time or memory
 * limit fails its own message (template_error); anything else gives the message back for later.
 */
async function renderChunk(db: PrismaClient, decided: Decided[], claimToken: string, now: Date): Promise<Prepared[]> {
  const results = await renderMailsInWorker(
    decided.map((d) => d.render),
    { perBatch: Math.ceil(decided.length / env.RENDER_WORKERS) },
  );
  const prepared: Prepared[] = [];
  for (const [i, d] of decided.entries()) {
    const result = results[i]!;
    if (result instanceof Error) {
      await notPrepared(db, d.ref, claimToken, result, now);
      continue;
    }
    prepared.push({
      row: d.row,
      ref: d.ref,
      mail: result.mail,
      sent: { subject: result.rendered.subject, bodyHtml: result.rendered.html, language: d.render.language! },
      text: result.rendered.text,
      detail: d.detail,
      discountCode: d.discountCode,
    });
  }
  return prepared;
}

/** Hands one message (already `sending`) to SMTP; returns what to mark sent, or records why it was not. */
async function deliverOne(db: PrismaClient, p: Prepared, claimToken: string, now: Date): Promise<SentItem | null> {
  const { row, ref } = p;
  const { recovery: r, shop } = row;
  try {
    const { messageId } = await deliver(shop, rawMailOptions(p.mail), { subject: p.sent.subject, text: p.text });
    return {
      id: ref.id,
      shopId: ref.shopId,
      recoveryId: ref.recoveryId,
      contactId: r.contactId!,
      recoveryStatus: r.status,
      providerMessageId: messageId,
      detail: p.detail,
    };
  } catch (error) {
    const failure = classifySendError(error, { host: shop.smtpHost, port: shop.smtpPort });
    logger.warn("email not delivered", { messageId: ref.id, shop: shop.domain, kind: failure.kind, error: failure.message });
    if (failure.kind === "retry") {
      await retryLater(db, ref, claimToken, failure.message, now);
    } else if (failure.kind === "rejected") {
      await finishWithoutSending(
        db,
        ref,
        claimToken,
        { status: "failed", reason: failure.hardBounce ? "hard_bounce" : "rejected", detail: `The mail server refused it: ${failure.message}` },
        now,
      );
      if (failure.hardBounce && r.contactId) await suppressContact(db, r.contactId, "hard_bounce", `The address bounced: ${failure.message}`, now);
    } else {
      await finishWithoutSending(
        db,
        ref,
        claimToken,
        {
          status: "failed",
          reason: "delivery_unknown",
          detail: `The connection broke during delivery; not resent so nobody gets it twice: ${failure.message}`,
        },
        now,
      );
    }
    return null;
  }
}

/** Runs `fn` over `items`, at most `limit` at a time. */
async function eachLimited<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]!);
  });
  await Promise.all(lanes);
}

/** Marked sent together once this many are delivered (or the batch ends). */
const MARK_BATCH = 50;

/**
 * Sends one shop's due emails, many per job (docs/decisions/085-sends-in-flight.md): claim a chunk in one statement →
 * load it in one statement → decide each again (the pure rules) → render → hand off in batch (frequency cap, atomic) →
 * several at once through the shop's SMTP pool → mark sent in batch. The next chunk is claimed and prepared while the
 * previous one's emails are on the wire. Bounded by SEND_BATCH_SIZE emails and SEND_BATCH_MS: the shop then yields its
 * lane and queues its own next run behind every other shop's due job. See app/models/message.server.ts for the
 * at-most-once states.
 */
export const sendShopMessages = defineJob({
  name: SEND_SHOP_JOB,
  payload: z.object({ shopId: z.string().min(1) }),
  backoffMs: (attempt) => Math.min(30_000 * 2 ** (attempt - 1), 30 * 60_000),
  async run({ payload, db, clock, job, signal }) {
    await refuseOtherShopsRow(job, async () => payload.shopId, `shop ${payload.shopId}`);
    const started = Date.now();
    const claimToken = `${job.id}.${job.attempts}.${randomUUID().slice(0, 8)}`;
    let limit = env.SMTP_MAX_CONNECTIONS;
    const chunk = () => Math.max(8, 4 * limit);
    let claimed = 0;
    let outOfRoom = false;

    const delivering = new Set<Promise<void>>();
    let toMark: SentItem[] = [];
    let marking: Promise<void> = Promise.resolve();
    const flush = () => {
      const items = toMark;
      toMark = [];
      if (items.length > 0) marking = marking.then(() => markSentBatch(db, items, claimToken, clock.now()));
      return marking;
    };
    let failure: unknown = null;
    const launch = (p: Prepared, now: Date) => {
      const task = deliverOne(db, p, claimToken, now)
        .then((sent) => {
          if (sent) toMark.push(sent);
          if (toMark.length >= MARK_BATCH) void flush().catch((e) => (failure ??= e));
        })
        .catch((e) => void (failure ??= e))
        .finally(() => delivering.delete(task));
      delivering.add(task);
    };
    /** Waits until at most `n` sends of this job are under way. */
    const drainTo = async (n: number) => {
      while (delivering.size > n) await Promise.race(delivering);
    };

    try {
      for (;;) {
        if (failure) throw failure;
        if (claimed >= env.SEND_BATCH_SIZE || Date.now() - started >= env.SEND_BATCH_MS || signal.aborted) {
          outOfRoom = true;
          break;
        }
        const now = clock.now();
        const ids = await claimDueMessages(db, payload.shopId, claimToken, now, Math.min(chunk(), env.SEND_BATCH_SIZE - claimed));
        if (ids.length === 0) break;
        claimed += ids.length;
        const rows = await loadMessagesForSend(db, ids);
        if (rows[0]) limit = shopInFlightLimit(rows[0].shop);
        const decided: Decided[] = [];
        // Shopify look-ups (own email, discount codes) are paced per shop; rendering runs in the render pool's workers.
        await eachLimited(rows, env.RENDER_WORKERS, async (row) => {
          const d = await decideOne(db, row, claimToken, now, clock);
          if (d) decided.push(d);
        });
        const prepared = decided.length > 0 ? await renderChunk(db, decided, claimToken, now) : [];
        if (prepared.length === 0) continue;
        const shop = prepared[0]!.row.shop;
        const capHours = Math.max(0, shop.frequencyCapHours);
        const capSince = capHours > 0 ? new Date(now.getTime() - capHours * 3_600_000) : null;
        const handed = await handOffBatch(
          db,
          prepared.map((p) => ({
            id: p.ref.id,
            recoveryId: p.ref.recoveryId,
            contactId: p.row.recovery.contactId!,
            toEmail: p.row.recovery.email!,
            discountCode: p.discountCode,
            ...p.sent,
          })),
          claimToken,
          capSince,
          now,
        );
        for (const p of prepared) {
          const outcome = handed.get(p.ref.id);
          if (outcome === "frequency_cap") {
            await finishWithoutSending(
              db,
              p.ref,
              claimToken,
              { status: "skipped", reason: "frequency_cap", detail: `Another checkout's email to this contact went out in the last ${capHours} h` },
              now,
            );
          } else if (outcome === "handed_off") {
            // Several at once, as many as the shop's pool has connections; the process-wide bound is in deliver().
            await drainTo(limit - 1);
            launch(p, now);
          }
        }
        // The next chunk is claimed and prepared while this one's last emails are on the wire.
        await drainTo(limit);
      }
    } finally {
      // Whatever happens, every email handed over is waited for and its result recorded before the job ends.
      await Promise.allSettled([...delivering]);
      await flush();
    }
    if (failure) throw failure;
    // Out of room (count or time): the shop's rest follows in its own next run, queued behind other shops' due jobs.
    if (outOfRoom) await enqueueShopSend(db, payload.shopId, clock.now(), { fromRunningJob: true });
  },
});
