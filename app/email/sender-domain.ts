/**
 * Advice about the sender address and the SMTP provider, for Settings › Email sending. Pure and client-safe: the page
 * shows the free-mail warning as the merchant types. The words are in the settings catalogue; each function takes the
 * page's `t` and defaults to English.
 */
import type { Translate } from "../i18n/locales";
import { translatorFor } from "../i18n/translator";

export type { Translate };

const english: Translate = (key, options) => translatorFor("en")(key, options);

/** Mailbox providers whose DMARC policy makes mail "from" them fail when another server sends it. */
export const FREE_MAIL_DOMAINS: ReadonlySet<string> = new Set([
  "gmail.com",
  "googlemail.com",
  "yahoo.com",
  "yahoo.co.uk",
  "yahoo.fr",
  "yahoo.de",
  "ymail.com",
  "rocketmail.com",
  "outlook.com",
  "hotmail.com",
  "hotmail.co.uk",
  "hotmail.fr",
  "live.com",
  "msn.com",
  "aol.com",
  "icloud.com",
  "me.com",
  "mac.com",
  "gmx.com",
  "gmx.de",
  "gmx.net",
  "web.de",
  "mail.com",
  "yandex.com",
  "yandex.ru",
  "proton.me",
  "protonmail.com",
  "zoho.com",
  "qq.com",
  "163.com",
  "orange.fr",
  "free.fr",
  "laposte.net",
  "t-online.de",
  "libero.it",
]);

export function senderDomain(email: string | null | undefined): string | null {
  const at = email?.trim().lastIndexOf("@") ?? -1;
  if (!email || at < 0) return null;
  const domain = email
    .trim()
    .slice(at + 1)
    .toLowerCase();
  return /^[a-z0-9.-]+\.[a-z]{2,}$/.test(domain) ? domain : null;
}

/**
 * A warning for a free-mail sender address (hello@gmail.com), or null. Such mail fails DMARC when sent through any
 * server but the provider's own, so inboxes reject it or file it as spam.
 */
export function freeMailWarning(email: string | null | undefined, smtpHost?: string | null, t: Translate = english): string | null {
  const domain = senderDomain(email);
  if (!domain || !FREE_MAIL_DOMAINS.has(domain)) return null;
  // Sending through the provider's own server (Gmail through smtp.gmail.com) passes DMARC; still not for bulk mail.
  const own =
    smtpHost &&
    ((domain.includes("gmail") && /(^|\.)gmail\.com$/i.test(smtpHost)) ||
      (/outlook|hotmail|live|msn/.test(domain) && /office365\.com$|outlook\.com$/i.test(smtpHost)));
  return t(own ? "settings:freeMail.personalMailbox" : "settings:freeMail.failsDmarc", { domain });
}

/** What to publish in the sender domain's DNS, in plain words. */
export function senderDomainGuidance(domain: string | null, t: Translate = english): string[] {
  const d = domain ?? t("settings:senderDomain.yourDomain");
  return [t("settings:senderDomain.spf", { domain: d }), t("settings:senderDomain.dkim", { domain: d }), t("settings:senderDomain.dmarc", { domain: d })];
}

export interface SmtpPreset {
  id: string;
  label: string;
  host: string;
  port: number;
  /** true = TLS from the start (465); false = STARTTLS (587). */
  secure: boolean;
}

/** What goes in "SMTP user" for a provider, in the page's language. */
export const presetUserHint = (preset: SmtpPreset, t: Translate = english): string => t(`settings:presets.${preset.id}`);

/** Common providers' SMTP settings (each provider documents these). The merchant still enters their own credentials. */
export const SMTP_PRESETS: readonly SmtpPreset[] = [
  { id: "postmark", label: "Postmark", host: "smtp.postmarkapp.com", port: 587, secure: false },
  { id: "sendgrid", label: "SendGrid", host: "smtp.sendgrid.net", port: 587, secure: false },
  {
    id: "mailgun",
    label: "Mailgun",
    host: "smtp.mailgun.org",
    port: 587,
    secure: false,
  },
  {
    id: "ses",
    label: "Amazon SES (us-east-1)",
    host: "email-smtp.us-east-1.amazonaws.com",
    port: 587,
    secure: false,
  },
  {
    id: "google",
    label: "Gmail / Google Workspace",
    host: "smtp.gmail.com",
    port: 465,
    secure: true,
  },
  { id: "microsoft", label: "Microsoft 365", host: "smtp.office365.com", port: 587, secure: false },
];
