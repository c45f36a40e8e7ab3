/**
 * Per-shop email settings (for the Settings page): transport, SMTP server, sender, postal address, and a
 * "send test email" action. The SMTP password is encrypted before it is stored and never returned.
 */
import type { PrismaClient } from "@prisma/client";
import { z } from "zod";
import { env } from "../env.server";
import { DEFAULT_STEPS } from "../recovery/campaign-defaults";
import { sampleTemplateInput, templateVariables, type TemplateInput } from "../recovery/template";
import { encryptSecret } from "../security/encryption.server";
import { composeMail } from "./compose";
import { messageLinks } from "./links.server";
import { TEST_EMAIL_ID } from "./public-links.server";
import { editorRenderKey, takeTestSend } from "./editor-limits.server";
import { TemplateRenderError } from "./render";
import { RenderBusyError, renderEmailInWorker } from "./render-pool.server";
import { checkSmtpDestination, MAIL_PORTS } from "./smtp-destination.server";
import { freeMailWarning } from "./sender-domain";
import { deliver, deliverOnce, emailSetupProblem, fromAddress, plainSendError, type ShopEmailSettings } from "./transport.server";
import { shopTemplateFacts } from "./variables";

const optionalText = (max: number, label: string) =>
  z
    .string()
    .trim()
    .max(max, `${label} must be at most ${max} characters`)
    .optional()
    .nullable()
    .transform((v) => (v ? v : null));
const optionalEmail = (label: string) =>
  z
    .string()
    .trim()
    .optional()
    .nullable()
    .transform((v) => (v ? v : null))
    .refine((v) => v === null || z.string().email().safeParse(v).success, `${label} must be an email address, like hello@yourshop.com`);

/** Every message is a whole sentence naming the field: shown as the field's error as it is. */
export const emailSettingsSchema = z
  .object({
    emailTransport: z.enum(["log", "smtp"], { errorMap: () => ({ message: "Choose how emails are sent" }) }),
    senderName: optionalText(100, "Sender name"),
    senderEmail: optionalEmail("Sender email"),
    replyTo: optionalEmail("Reply-to"),
    smtpHost: optionalText(255, "SMTP host").refine(
      (v) => v === null || /^[A-Za-z0-9.-]+$/.test(v),
      "SMTP host must be a host name, like smtp.postmarkapp.com",
    ),
    smtpPort: z.preprocess(
      (v) => (v === "" || v === undefined ? null : v),
      z.coerce
        .number({ invalid_type_error: "SMTP port must be a number, like 587" })
        .int("SMTP port must be a whole number, like 587")
        .min(1, "SMTP port must be between 1 and 65535")
        .max(65535, "SMTP port must be between 1 and 65535")
        .nullable(),
    ),
    smtpSecure: z.preprocess((v) => v === true || v === "true" || v === "on", z.boolean()),
    smtpUser: optionalText(255, "SMTP user"),
    /** Empty keeps the stored password. */
    smtpPassword: z.string().max(1000, "SMTP password must be at most 1000 characters").optional().nullable(),
    postalAddress: z.string().trim().max(500, "Postal address must be at most 500 characters").default(""),
  })
  .superRefine((v, ctx) => {
    if (v.emailTransport === "log" && env.NODE_ENV === "production") {
      // Log only writes emails to the server log: right for development, silent loss for a merchant.
      ctx.addIssue({ code: "custom", path: ["emailTransport"], message: "Log only is for development: choose SMTP to send emails" });
    }
    if (v.emailTransport !== "smtp") return;
    if (!v.smtpHost) ctx.addIssue({ code: "custom", path: ["smtpHost"], message: "SMTP host is required" });
    if (!v.smtpPort) ctx.addIssue({ code: "custom", path: ["smtpPort"], message: "SMTP port is required" });
    if (!v.senderEmail) ctx.addIssue({ code: "custom", path: ["senderEmail"], message: "Sender email is required" });
    if (!v.postalAddress)
      ctx.addIssue({ code: "custom", path: ["postalAddress"], message: "Postal address is required: every marketing email must show it (CAN-SPAM)" });
  });

export type SaveSettingsResult = { ok: true; warnings: Record<string, string> } | { ok: false; fieldErrors: Record<string, string> };

/** One message per field, keyed by the field's name. */
function fieldErrorsOf(error: z.ZodError): Record<string, string> {
  const out: Record<string, string> = {};
  for (const issue of error.issues) out[String(issue.path[0] ?? "form")] ??= issue.message;
  return out;
}

/** The form's values checked as a save would check them, without writing anything (also what a test email uses). */
async function checkEmailSettings(input: unknown) {
  const parsed = emailSettingsSchema.safeParse(input);
  if (!parsed.success) return { ok: false as const, fieldErrors: fieldErrorsOf(parsed.error) };
  const settings = parsed.data;
  if (settings.emailTransport === "smtp") {
    // Refuse internal hosts and non-mail ports now, not at the first send (checked again before every connection).
    // A name that does not resolve at the moment is saved (DNS may be down or not yet set up): nothing internal can be
    // reached through it, and the check before each connection refuses it while it still does not resolve.
    const destination = await checkSmtpDestination(settings.smtpHost!, settings.smtpPort!, settings.smtpSecure);
    if (!destination.ok && !destination.unresolved) return { ok: false as const, fieldErrors: { [destination.field]: destination.message } };
    if (!destination.ok && destination.unresolved && !MAIL_PORTS.includes(settings.smtpPort!)) {
      return { ok: false as const, fieldErrors: { smtpPort: `SMTP port must be a mail port: ${MAIL_PORTS.join(", ")}` } };
    }
  }
  return { ok: true as const, settings };
}

/** Validates everything first; on any error nothing is written. A free-mail sender is saved, with a warning. */
export async function saveEmailSettings(db: PrismaClient, shopId: string, input: unknown): Promise<SaveSettingsResult> {
  const checked = await checkEmailSettings(input);
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
  const warning = freeMailWarning(settings.senderEmail, settings.smtpHost);
  return { ok: true, warnings: warning ? { senderEmail: warning } : {} };
}

/** Brand kit: a logo address (https only) and an accent colour, applied to the default templates and the layout. */
export const brandSettingsSchema = z.object({
  brandLogoUrl: z
    .string()
    .trim()
    .max(2000, "Logo address must be at most 2,000 characters")
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
    }, "Logo must be an https:// address of an image, like https://cdn.shopify.com/…/logo.png"),
  brandAccentColor: z
    .string()
    .trim()
    .optional()
    .nullable()
    .transform((v) => (v ? (v.startsWith("#") ? v : `#${v}`).toLowerCase() : null))
    .refine((v) => v === null || /^#[0-9a-f]{6}$/.test(v), "Accent colour must be a hex colour like #1a73e8"),
});

export async function saveBrandSettings(
  db: PrismaClient,
  shopId: string,
  input: unknown,
): Promise<{ ok: true } | { ok: false; fieldErrors: Record<string, string> }> {
  const parsed = brandSettingsSchema.safeParse(input);
  if (!parsed.success) return { ok: false, fieldErrors: fieldErrorsOf(parsed.error) };
  await db.shop.update({ where: { id: shopId }, data: parsed.data });
  return { ok: true };
}

/** The settings as the page shows them: never the password, only whether one is stored. */
export async function loadEmailSettings(db: PrismaClient, shopId: string) {
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
    setupProblem: emailSetupProblem(shop),
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
export async function sendTestEmail(
  db: PrismaClient,
  shopId: string,
  to: string,
  options: { step?: { subject: string; bodyTemplate: string }; input?: TemplateInput; unsaved?: Record<string, unknown> } = {},
): Promise<{ ok: true; messageId: string; logged: boolean } | { ok: false; error: string; fieldErrors?: Record<string, string>; retryAfterSeconds?: number }> {
  if (!to.trim()) return { ok: false, error: "Enter the email address to send the test to" };
  if (!z.string().email().safeParse(to.trim()).success)
    return { ok: false, error: `"${to.trim().slice(0, 80)}" is not an email address: enter one like you@yourshop.com` };
  // Within the shop's test-email allowance (docs/decisions/079).
  const limited = takeTestSend(shopId);
  if (limited) return { ok: false, error: limited.message, retryAfterSeconds: limited.retryAfterSeconds };
  const stored = await db.shop.findUniqueOrThrow({ where: { id: shopId } });
  let shop: ShopEmailSettings = stored;
  if (options.unsaved) {
    const checked = await checkEmailSettings(options.unsaved);
    if (!checked.ok) return { ok: false, error: "Fix the settings marked above, then send the test again.", fieldErrors: checked.fieldErrors };
    const { smtpPassword, ...settings } = checked.settings;
    shop = {
      ...stored,
      ...settings,
      smtpPort: settings.smtpPort ?? null,
      ...(smtpPassword ? { smtpPasswordEncrypted: encryptSecret(smtpPassword, { model: "Shop", column: "smtpPasswordEncrypted", rowId: stored.id }) } : {}),
    };
  }
  const problem = emailSetupProblem(shop);
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
    if (error instanceof TemplateRenderError) return { ok: false, error: `The template could not be rendered: ${error.problem.message}` };
    if (error instanceof RenderBusyError) return { ok: false, error: `${error.message}.`, retryAfterSeconds: 2 };
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
    return { ok: false, error: plainSendError(error, { host: shop.smtpHost, port: shop.smtpPort }) };
  }
}
