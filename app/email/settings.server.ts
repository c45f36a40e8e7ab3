/**
 * Per-shop email settings (for the Settings page): transport, SMTP server, sender, postal address, and a
 * "send test email" action. The SMTP password is encrypted before it is stored and never returned.
 */
import type { PrismaClient } from "@prisma/client";
import { z } from "zod";
import { env } from "../env.server";
import { translatorFor } from "../i18n/translator";
import { DEFAULT_STEPS } from "../recovery/campaign-defaults";
import { sampleTemplateInput, templateVariables, type TemplateInput } from "../recovery/template";
import { encryptSecret } from "../security/encryption.server";
import { composeMail } from "./compose";
import { messageLinks } from "./links.server";
import { TEST_EMAIL_ID } from "./public-links.server";
import { editorRenderKey, takeTestSend, TEST_SEND_LIMIT } from "./editor-limits.server";
import { TemplateRenderError } from "./render";
import { RenderBusyError, renderEmailInWorker } from "./render-pool.server";
import { checkSmtpDestination, MAIL_PORTS } from "./smtp-destination.server";
import { freeMailWarning } from "./sender-domain";
import {
  deliver,
  deliverOnce,
  emailSetupProblem,
  fromAddress,
  plainSendError,
  translateDestinationMessage,
  type ShopEmailSettings,
  type Translate,
} from "./transport.server";
import { shopTemplateFacts } from "./variables";

const english: Translate = (key, options) => translatorFor("en")(key, options);

/**
 * The schemas' messages are English sentences (what a test or another caller reads from the zod error), taken from
 * the settings catalogue; each one's key is remembered by its text, so fieldErrorsOf(error, t) shows it in the
 * admin's language.
 */
const MESSAGE_KEYS = new Map<string, { key: string; values?: Record<string, unknown> }>();
function message(key: string, values?: Record<string, unknown>): string {
  const text = english(`settings:${key}`, values);
  MESSAGE_KEYS.set(text, { key, values });
  return text;
}

/** A message of this module (or a refusal of checkSmtpDestination) in the admin's language; any other text as it is. */
export function translateSettingsMessage(text: string, t: Translate = english): string {
  const known = MESSAGE_KEYS.get(text);
  return known ? t(`settings:${known.key}`, known.values) : translateDestinationMessage(text, t);
}

const optionalText = (max: number, field: string) =>
  z
    .string()
    .trim()
    .max(max, message(`errors.${field}TooLong`, { max }))
    .optional()
    .nullable()
    .transform((v) => (v ? v : null));
const optionalEmail = (field: string) =>
  z
    .string()
    .trim()
    .optional()
    .nullable()
    .transform((v) => (v ? v : null))
    .refine((v) => v === null || z.string().email().safeParse(v).success, message(`errors.${field}Invalid`));

/** Every message is a whole sentence naming the field: shown as the field's error as it is. */
export const emailSettingsSchema = z
  .object({
    emailTransport: z.enum(["log", "smtp"], { errorMap: () => ({ message: message("errors.emailTransport") }) }),
    senderName: optionalText(100, "senderName"),
    senderEmail: optionalEmail("senderEmail"),
    replyTo: optionalEmail("replyTo"),
    smtpHost: optionalText(255, "smtpHost").refine((v) => v === null || /^[A-Za-z0-9.-]+$/.test(v), message("errors.smtpHostInvalid")),
    smtpPort: z.preprocess(
      (v) => (v === "" || v === undefined ? null : v),
      z.coerce
        .number({ invalid_type_error: message("errors.smtpPortNotNumber") })
        .int(message("errors.smtpPortNotWhole"))
        .min(1, message("errors.smtpPortRange"))
        .max(65535, message("errors.smtpPortRange"))
        .nullable(),
    ),
    smtpSecure: z.preprocess((v) => v === true || v === "true" || v === "on", z.boolean()),
    smtpUser: optionalText(255, "smtpUser"),
    /** Empty keeps the stored password. */
    smtpPassword: z
      .string()
      .max(1000, message("errors.smtpPasswordTooLong", { max: 1000 }))
      .optional()
      .nullable(),
    postalAddress: z
      .string()
      .trim()
      .max(500, message("errors.postalAddressTooLong", { max: 500 }))
      .default(""),
  })
  .superRefine((v, ctx) => {
    if (v.emailTransport === "log" && env.NODE_ENV === "production") {
      // Log only writes emails to the server log: right for development, silent loss for a merchant.
      ctx.addIssue({ code: "custom", path: ["emailTransport"], message: message("errors.logInProduction") });
    }
    if (v.emailTransport !== "smtp") return;
    if (!v.smtpHost) ctx.addIssue({ code: "custom", path: ["smtpHost"], message: message("errors.smtpHostRequired") });
    if (!v.smtpPort) ctx.addIssue({ code: "custom", path: ["smtpPort"], message: message("errors.smtpPortRequired") });
    if (!v.senderEmail) ctx.addIssue({ code: "custom", path: ["senderEmail"], message: message("errors.senderEmailRequired") });
    if (!v.postalAddress) ctx.addIssue({ code: "custom", path: ["postalAddress"], message: message("errors.postalAddressRequired") });
  });

export type SaveSettingsResult = { ok: true; warnings: Record<string, string> } | { ok: false; fieldErrors: Record<string, string> };

/** One message per field, keyed by the field's name, in the admin's language (English without `t`). */
export function fieldErrorsOf(error: z.ZodError, t: Translate = english): Record<string, string> {
  const out: Record<string, string> = {};
  for (const issue of error.issues) out[String(issue.path[0] ?? "form")] ??= translateSettingsMessage(issue.message, t);
  return out;
}

/** The form's values checked as a save would check them, without writing anything (also what a test email uses). */
async function checkEmailSettings(input: unknown, t: Translate) {
  const parsed = emailSettingsSchema.safeParse(input);
  if (!parsed.success) return { ok: false as const, fieldErrors: fieldErrorsOf(parsed.error, t) };
  const settings = parsed.data;
  if (settings.emailTransport === "smtp") {
    // Refuse internal hosts and non-mail ports now, not at the first send (checked again before every connection).
    // A name that does not resolve at the moment is saved (DNS may be down or not yet set up): nothing internal can be
    // reached through it, and the check before each connection refuses it while it still does not resolve.
    const destination = await checkSmtpDestination(settings.smtpHost!, settings.smtpPort!, settings.smtpSecure);
    if (!destination.ok && !destination.unresolved)
      return { ok: false as const, fieldErrors: { [destination.field]: translateDestinationMessage(destination.message, t) } };
    if (!destination.ok && destination.unresolved && !MAIL_PORTS.includes(settings.smtpPort!)) {
      return { ok: false as const, fieldErrors: { smtpPort: t("settings:errors.smtpPortNotMailPort", { ports: MAIL_PORTS.join(", ") }) } };
    }
  }
  return { ok: true as const, settings };
}

/** Validates everything first; on any error nothing is written. A free-mail sender is saved, with a warning. */
export async function saveEmailSettings(db: PrismaClient, shopId: string, input: unknown, t: Translate = english): Promise<SaveSettingsResult> {
  const checked = await checkEmailSettings(input, t);
  if (!checked.ok) return checked;
  const { smtpPassword, ...settings } = checked.settings;
  await db.shop.update({
    where: { id: shopId },
    data: {
      ...settings,
      smtpPort: settings.smtpPort ?? null,
      ...(smtpPassword ? { smtpPasswordEncrypted: encryptSecret(smtpPassword, { model: "Shop", column: "smtpPasswordEncrypted", rowId: shopId }) } : {}),
    },
  });
  const warning = freeMailWarning(settings.senderEmail, settings.smtpHost, t);
  return { ok: true, warnings: warning ? { senderEmail: warning } : {} };
}

/** Brand kit: a logo address (https only) and an accent colour, applied to the default templates and the layout. */
export const brandSettingsSchema = z.object({
  brandLogoUrl: z
    .string()
    .trim()
    .max(2000, message("errors.brandLogoUrlTooLong"))
    .optional()
    .nullable()
    .transform((v) => (v ? v : null))
    .refine((v) => {
      if (v === null) return true;
      try {
        const url = new URL(v);
        return url.protocol === "https:" && Boolean(url.hostname) && !url.username && !url.password;
      } catch {
        return false;
      }
    }, message("errors.brandLogoUrlInvalid")),
  brandAccentColor: z
    .string()
    .trim()
    .optional()
    .nullable()
    .transform((v) => (v ? (v.startsWith("#") ? v : `#${v}`).toLowerCase() : null))
    .refine((v) => v === null || /^#[0-9a-f]{6}$/.test(v), message("errors.brandAccentColorInvalid")),
});

export async function saveBrandSettings(
  db: PrismaClient,
  shopId: string,
  input: unknown,
  t: Translate = english,
): Promise<{ ok: true } | { ok: false; fieldErrors: Record<string, string> }> {
  const parsed = brandSettingsSchema.safeParse(input);
  if (!parsed.success) return { ok: false, fieldErrors: fieldErrorsOf(parsed.error, t) };
  await db.shop.update({ where: { id: shopId }, data: parsed.data });
  return { ok: true };
}

/** The settings as the page shows them: never the password, only whether one is stored. */
export async function loadEmailSettings(db: PrismaClient, shopId: string, t: Translate = english) {
  const shop = await db.shop.findUniqueOrThrow({ where: { id: shopId } });
  return {
    emailTransport: shop.emailTransport,
    senderName: shop.senderName,
    senderEmail: shop.senderEmail,
    replyTo: shop.replyTo,
    smtpHost: shop.smtpHost,
    smtpPort: shop.smtpPort,
    smtpSecure: shop.smtpSecure,
    smtpUser: shop.smtpUser,
    hasSmtpPassword: Boolean(shop.smtpPasswordEncrypted),
    postalAddress: shop.postalAddress,
    setupProblem: emailSetupProblem(shop, env.NODE_ENV, t),
    brandLogoUrl: shop.brandLogoUrl,
    brandAccentColor: shop.brandAccentColor,
  };
}

/**
 * Sends a step through the shop's transport to `to`: what the "send test email" buttons do. The step defaults to the
 * first default step and its data to sample data; the campaign editor passes the step being edited and the input of
 * the chosen cart. `unsaved` is the Settings form as it is on screen: the test then uses those values (checked as a
 * save checks them, a password left empty meaning the stored one), never the saved ones, and writes nothing.
 */
const RENDER_BUSY: Record<string, string> = {
  "Too many templates are waiting to be rendered; try again in a moment": "renderQueueFull",
  "Other renders of these templates are still running; try again in a moment": "renderBusy",
};

export async function sendTestEmail(
  db: PrismaClient,
  shopId: string,
  to: string,
  options: {
    step?: { subject: string; bodyTemplate: string };
    input?: TemplateInput;
    unsaved?: Record<string, unknown>;
    /** The admin's language for the errors (requireAdmin's `t`); English without it. */
    t?: Translate;
  } = {},
): Promise<{ ok: true; messageId: string; logged: boolean } | { ok: false; error: string; fieldErrors?: Record<string, string>; retryAfterSeconds?: number }> {
  const t = options.t ?? english;
  if (!to.trim()) return { ok: false, error: t("settings:testEmail.toMissing") };
  if (!z.string().email().safeParse(to.trim()).success) return { ok: false, error: t("settings:testEmail.toInvalid", { to: to.trim().slice(0, 80) }) };
  // Within the shop's test-email allowance (docs/decisions/079).
  const limited = takeTestSend(shopId);
  if (limited) {
    const error = t === english ? limited.message : t("settings:testEmail.tooMany", { max: TEST_SEND_LIMIT.capacity, count: limited.retryAfterSeconds });
    return { ok: false, error, retryAfterSeconds: limited.retryAfterSeconds };
  }
  const stored = await db.shop.findUniqueOrThrow({ where: { id: shopId } });
  let shop: ShopEmailSettings = stored;
  if (options.unsaved) {
    const checked = await checkEmailSettings(options.unsaved, t);
    if (!checked.ok) return { ok: false, error: t("settings:testEmail.fixSettings"), fieldErrors: checked.fieldErrors };
    const { smtpPassword, ...settings } = checked.settings;
    shop = {
      ...stored,
      ...settings,
      smtpPort: settings.smtpPort ?? null,
      ...(smtpPassword ? { smtpPasswordEncrypted: encryptSecret(smtpPassword, { model: "Shop", column: "smtpPasswordEncrypted", rowId: stored.id }) } : {}),
    };
  }
  const problem = emailSetupProblem(shop, env.NODE_ENV, t);
  if (problem) return { ok: false, error: problem };
  const links = messageLinks(TEST_EMAIL_ID);
  const input = options.input ?? sampleTemplateInput(shopTemplateFacts(stored), stored.currency);
  const step = options.step ?? DEFAULT_STEPS[0]!;
  let rendered;
  try {
    // In a render worker, one at a time per shop with its previews (app/email/render-pool.server.ts).
    rendered = await renderEmailInWorker(
      step,
      templateVariables({ ...input, links: { recoveryUrl: `https://${stored.domain}`, unsubscribeUrl: links.unsubscribeUrl } }),
      { key: editorRenderKey(shopId) },
    );
  } catch (error) {
    if (error instanceof TemplateRenderError) return { ok: false, error: t("settings:testEmail.renderFailed", { problem: error.problem.message }) };
    if (error instanceof RenderBusyError) {
      // The pool's two reasons (app/email/render-pool.server.ts), by their text; another one is shown as it is.
      const reason = RENDER_BUSY[error.message];
      return { ok: false, error: reason ? t(`settings:testEmail.${reason}`) : `${error.message}.`, retryAfterSeconds: 2 };
    }
    throw error;
  }
  const mail = composeMail({
    from: fromAddress(shop),
    replyTo: shop.replyTo,
    to: to.trim(),
    rendered: { ...rendered, subject: `[Test] ${rendered.subject}` },
    unsubscribeUrl: links.unsubscribeUrl,
    messageId: `test-${Date.now()}`,
    appHost: new URL(env.SHOPIFY_APP_URL).host,
  });
  try {
    // Unsaved settings get a transport of their own, closed after this one email; saved ones use the shop's pool.
    const delivery = options.unsaved ? await deliverOnce(shop, mail) : await deliver(shop, mail);
    return { ok: true, messageId: delivery.messageId, logged: shop.emailTransport !== "smtp" };
  } catch (error) {
    return { ok: false, error: plainSendError(error, { host: shop.smtpHost, port: shop.smtpPort }, t) };
  }
}
