/**
 * Per-shop email settings (for the Settings page): transport, SMTP server, sender, postal address, and a
 * "send test email" action. The SMTP password is encrypted before it is stored and never returned.
 */
import type { PrismaClient } from "@prisma/client";
import { z } from "zod";
import { env } from "../env.server";
import { DEFAULT_STEPS } from "../recovery/campaign-defaults";
import { sampleTemplateInput, templateVariables } from "../recovery/template";
import { encryptSecret } from "../security/encryption.server";
import { composeMail } from "./compose";
import { messageLinks } from "./links.server";
import { TEST_EMAIL_ID } from "./public-links.server";
import { renderEmail } from "./render";
import { checkSmtpDestination, MAIL_PORTS } from "./smtp-destination.server";
import { deliver, emailSetupProblem, fromAddress, plainSendError } from "./transport.server";

const optionalText = (max: number) =>
  z
    .string()
    .trim()
    .max(max)
    .optional()
    .nullable()
    .transform((v) => (v ? v : null));
const optionalEmail = z
  .string()
  .trim()
  .optional()
  .nullable()
  .transform((v) => (v ? v : null))
  .refine((v) => v === null || z.string().email().safeParse(v).success, "must be an email address");

export const emailSettingsSchema = z
  .object({
    emailTransport: z.enum(["log", "smtp"]),
    senderName: optionalText(100),
    senderEmail: optionalEmail,
    replyTo: optionalEmail,
    smtpHost: optionalText(255).refine((v) => v === null || /^[A-Za-z0-9.-]+$/.test(v), "must be a host name"),
    smtpPort: z.coerce.number().int().min(1).max(65535).optional().nullable(),
    smtpSecure: z.preprocess((v) => v === true || v === "true" || v === "on", z.boolean()),
    smtpUser: optionalText(255),
    /** Empty keeps the stored password. */
    smtpPassword: z.string().max(1000).optional().nullable(),
    postalAddress: z.string().trim().max(500).default(""),
  })
  .superRefine((v, ctx) => {
    if (v.emailTransport !== "smtp") return;
    if (!v.smtpHost) ctx.addIssue({ code: "custom", path: ["smtpHost"], message: "is required for SMTP" });
    if (!v.smtpPort) ctx.addIssue({ code: "custom", path: ["smtpPort"], message: "is required for SMTP" });
    if (!v.senderEmail) ctx.addIssue({ code: "custom", path: ["senderEmail"], message: "is required for SMTP" });
    if (!v.postalAddress) ctx.addIssue({ code: "custom", path: ["postalAddress"], message: "is required: every marketing email must show it (CAN-SPAM)" });
  });

export type SaveSettingsResult = { ok: true } | { ok: false; fieldErrors: Record<string, string> };

/** Validates everything first; on any error nothing is written. */
export async function saveEmailSettings(db: PrismaClient, shopId: string, input: unknown): Promise<SaveSettingsResult> {
  const parsed = emailSettingsSchema.safeParse(input);
  if (!parsed.success) {
    return { ok: false, fieldErrors: Object.fromEntries(parsed.error.issues.map((i) => [i.path.join(".") || "form", i.message])) };
  }
  const { smtpPassword, ...settings } = parsed.data;
  if (settings.emailTransport === "smtp") {
    // Refuse internal hosts and non-mail ports now, not at the first send (checked again before every connection).
    // A name that does not resolve at the moment is saved (DNS may be down or not yet set up): nothing internal can be
    // reached through it, and the check before each connection refuses it while it still does not resolve.
    const destination = await checkSmtpDestination(settings.smtpHost!, settings.smtpPort!, settings.smtpSecure);
    if (!destination.ok && !destination.unresolved) return { ok: false, fieldErrors: { [destination.field]: destination.message } };
    if (!destination.ok && destination.unresolved && !MAIL_PORTS.includes(settings.smtpPort!)) {
      return { ok: false, fieldErrors: { smtpPort: `must be a mail port: ${MAIL_PORTS.join(", ")}` } };
    }
  }
  await db.shop.update({
    where: { id: shopId },
    data: {
      ...settings,
      smtpPort: settings.smtpPort ?? null,
      ...(smtpPassword ? { smtpPasswordEncrypted: encryptSecret(smtpPassword) } : {}),
    },
  });
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
  };
}

/**
 * Sends a step (the first default step unless one is given), rendered with sample data, through the shop's transport
 * to `to`: what the merchant's "send test email" buttons do.
 */
export async function sendTestEmail(
  db: PrismaClient,
  shopId: string,
  to: string,
  step: { subject: string; bodyTemplate: string } = DEFAULT_STEPS[0]!,
): Promise<{ ok: true; messageId: string } | { ok: false; error: string }> {
  if (!z.string().email().safeParse(to).success) return { ok: false, error: "Enter a valid email address" };
  const shop = await db.shop.findUniqueOrThrow({ where: { id: shopId } });
  const problem = emailSetupProblem(shop);
  if (problem) return { ok: false, error: problem };
  const links = messageLinks(TEST_EMAIL_ID);
  const sample = sampleTemplateInput({ name: shop.name ?? undefined, domain: shop.domain, postalAddress: shop.postalAddress, timeZone: shop.timezone, locale: shop.locale });
  const rendered = renderEmail(step, templateVariables({ ...sample, links: { recoveryUrl: `https://${shop.domain}`, unsubscribeUrl: links.unsubscribeUrl } }));
  try {
    const delivery = await deliver(
      shop,
      composeMail({
        from: fromAddress(shop),
        replyTo: shop.replyTo,
        to,
        rendered: { ...rendered, subject: `[Test] ${rendered.subject}` },
        unsubscribeUrl: links.unsubscribeUrl,
        messageId: `test-${Date.now()}`,
        appHost: new URL(env.SHOPIFY_APP_URL).host,
      }),
    );
    return { ok: true, messageId: delivery.messageId };
  } catch (error) {
    return { ok: false, error: plainSendError(error) };
  }
}
