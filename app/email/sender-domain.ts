/**
 * Advice about the sender address and the SMTP provider, for Settings › Email sending. Pure and client-safe: the page
 * shows the free-mail warning as the merchant types.
 */

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
export function freeMailWarning(email: string | null | undefined, smtpHost?: string | null): string | null {
  const domain = senderDomain(email);
  if (!domain || !FREE_MAIL_DOMAINS.has(domain)) return null;
  // Sending through the provider's own server (Gmail through smtp.gmail.com) passes DMARC; still not for bulk mail.
  const own =
    smtpHost &&
    ((domain.includes("gmail") && /(^|\.)gmail\.com$/i.test(smtpHost)) ||
      (/outlook|hotmail|live|msn/.test(domain) && /office365\.com$|outlook\.com$/i.test(smtpHost)));
  return own
    ? `${domain} addresses are personal mailboxes with low daily sending limits; recovery emails from them look less trustworthy. Use an address at your shop's own domain.`
    : `Emails "from" ${domain} sent through another server fail ${domain}'s DMARC check: most inboxes will reject them or file them as spam. Use an address at your shop's own domain (for example hello@yourshop.com), set up with your email provider.`;
}

/** What to publish in the sender domain's DNS, in plain words. */
export function senderDomainGuidance(domain: string | null): string[] {
  const d = domain ?? "your domain";
  return [
    `SPF: a TXT record on ${d} that lists your email provider (your provider gives the exact value, e.g. "v=spf1 include:… ~all"). Keep one SPF record per domain.`,
    `DKIM: the TXT or CNAME records your provider gives for ${d}, so your emails are signed with your domain.`,
    `DMARC: a TXT record on _dmarc.${d}, starting with "v=DMARC1; p=none; rua=mailto:…", tightened to p=quarantine once reports look clean.`,
  ];
}

export interface SmtpPreset {
  id: string;
  label: string;
  host: string;
  port: number;
  /** true = TLS from the start (465); false = STARTTLS (587). */
  secure: boolean;
  /** What goes in "SMTP user" for this provider. */
  userHint: string;
}

/** Common providers' SMTP settings (each provider documents these). The merchant still enters their own credentials. */
export const SMTP_PRESETS: readonly SmtpPreset[] = [
  { id: "postmark", label: "Postmark", host: "smtp.postmarkapp.com", port: 587, secure: false, userHint: "Your Server API token (also the password)" },
  { id: "sendgrid", label: "SendGrid", host: "smtp.sendgrid.net", port: 587, secure: false, userHint: "The word apikey; the password is your API key" },
  {
    id: "mailgun",
    label: "Mailgun",
    host: "smtp.mailgun.org",
    port: 587,
    secure: false,
    userHint: "Your domain's SMTP login, e.g. postmaster@mg.yourshop.com",
  },
  {
    id: "ses",
    label: "Amazon SES (us-east-1)",
    host: "email-smtp.us-east-1.amazonaws.com",
    port: 587,
    secure: false,
    userHint: "Your SES SMTP user name (not your AWS access key); change the region in the host if yours differs",
  },
  {
    id: "google",
    label: "Gmail / Google Workspace",
    host: "smtp.gmail.com",
    port: 465,
    secure: true,
    userHint: "Your full Google address; the password is an app password",
  },
  { id: "microsoft", label: "Microsoft 365", host: "smtp.office365.com", port: 587, secure: false, userHint: "Your full Microsoft 365 address" },
];
