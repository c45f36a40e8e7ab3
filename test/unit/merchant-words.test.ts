// Issue 21: errors in a merchant's words (no zod paths, no library codes), the free-mail warning, the brand kit in the
// rendered email, and dates in the template's language.
import { describe, expect, it } from "vitest";
import { renderEmail } from "~/email/render";
import { freeMailWarning, senderDomainGuidance, SMTP_PRESETS } from "~/email/sender-domain";
import { describeSendError, plainSendError, classifySendError } from "~/email/transport.server";
import { fieldErrorsOf, stepInputSchema } from "~/models/campaign.server";
import { brandSettingsSchema, emailSettingsSchema, fieldErrorsOf as settingsFieldErrorsOf } from "~/email/settings.server";
import { translatorFor } from "~/i18n/translator";
import { DEFAULT_STEPS } from "~/recovery/campaign-defaults";
import { sampleTemplateInput, templateVariables } from "~/recovery/template";

const refused = {
  errno: -111,
  code: "ESOCKET",
  syscall: "connect",
  address: "127.0.0.1",
  port: 2,
  originalCode: "ECONNREFUSED",
  command: "CONN",
  message: "connect ECONNREFUSED 127.0.0.1:2",
};

describe("errors in merchant words", () => {
  it("a delay that is not a number says so, not 'Expected number, received nan'", () => {
    const parsed = stepInputSchema.safeParse({ delayMinutes: Number.NaN, subject: "Hi", bodyTemplate: "<p>Hi</p>" });
    expect(parsed.success).toBe(false);
    expect(fieldErrorsOf(parsed.error!)).toEqual({ delayMinutes: "Delay must be a number of hours" });
  });

  it("an SMTP connection refused names the host and port, never ESOCKET at CONN", () => {
    expect(plainSendError(refused, { host: "mail.example.com", port: 2 })).toBe(
      "Could not connect to mail.example.com on port 2: connection refused. Check the host and port",
    );
    const failure = classifySendError(refused);
    expect(failure.message).toBe("Could not connect to 127.0.0.1 on port 2: connection refused. Check the host and port");
    expect(failure.message).not.toMatch(/ESOCKET|CONN:|ECONNREFUSED/);
    expect(describeSendError({ code: "EDNS", originalCode: "ENOTFOUND" }, { host: "smtp.nowhere.test", port: 587 })).toBe(
      "Could not find the mail server smtp.nowhere.test: check the host name",
    );
  });

  it("settings errors are whole sentences keyed by field", () => {
    const parsed = emailSettingsSchema.safeParse({
      emailTransport: "smtp",
      senderEmail: "not an address",
      smtpPort: "abc",
      smtpSecure: "false",
      postalAddress: "",
    });
    expect(parsed.success).toBe(false);
    expect(fieldErrorsOf(parsed.error!)).toMatchObject({
      senderEmail: "Sender email must be an email address, like hello@yourshop.com",
      smtpPort: "SMTP port must be a number, like 587",
    });
    const missing = emailSettingsSchema.safeParse({ emailTransport: "smtp", smtpSecure: "false", postalAddress: "" });
    expect(fieldErrorsOf(missing.error!)).toEqual({
      smtpHost: "SMTP host is required",
      smtpPort: "SMTP port is required",
      senderEmail: "Sender email is required",
      postalAddress: "Postal address is required: every marketing email must show it (CAN-SPAM)",
    });
  });
});

describe("settings words in the admin's language", () => {
  it("a failed test send, a settings error and the free-mail warning follow the admin's language", () => {
    expect(plainSendError(refused, { host: "mail.example.com", port: 2 }, translatorFor("de"))).toBe(
      "Keine Verbindung zu mail.example.com auf Port 2 möglich: Verbindung abgelehnt. Prüfen Sie Host und Port",
    );
    expect(plainSendError({ code: "EAUTH", responseCode: 535 }, { host: "smtp.example.jp", port: 587 }, translatorFor("ja"))).toBe(
      "smtp.example.jp がユーザー名またはパスワードを拒否しました",
    );
    const parsed = emailSettingsSchema.safeParse({ emailTransport: "smtp", senderEmail: "not an address", smtpSecure: "false", postalAddress: "" });
    expect(settingsFieldErrorsOf(parsed.error!, translatorFor("de"))).toMatchObject({
      senderEmail: "Die Absender-E-Mail muss eine E-Mail-Adresse sein, z. B. hello@yourshop.com",
      smtpHost: "Der SMTP-Host ist erforderlich",
    });
    expect(freeMailWarning("hello@gmail.com", null, translatorFor("ja"))).toContain("gmail.com のDMARCチェックに失敗");
  });
});

describe("sender address advice", () => {
  it("warns about free-mail senders, not about the shop's own domain", () => {
    expect(freeMailWarning("hello@gmail.com")).toMatch(/fail gmail\.com's DMARC check/);
    expect(freeMailWarning("Shop@Yahoo.com")).toMatch(/yahoo\.com/);
    expect(freeMailWarning("sales@outlook.com")).toMatch(/DMARC/);
    expect(freeMailWarning("hello@acme-outfitters.com")).toBeNull();
    expect(freeMailWarning("")).toBeNull();
  });
  it("explains SPF, DKIM and DMARC for the sender's domain, and offers provider presets", () => {
    const lines = senderDomainGuidance("acme.com");
    expect(lines.map((l) => l.split(":")[0])).toEqual(["SPF", "DKIM", "DMARC"]);
    expect(lines[2]).toContain("_dmarc.acme.com");
    expect(SMTP_PRESETS.map((p) => p.label)).toEqual(expect.arrayContaining(["Postmark", "SendGrid", "Mailgun", "Gmail / Google Workspace"]));
    expect(SMTP_PRESETS.find((p) => p.id === "google")).toMatchObject({ host: "smtp.gmail.com", port: 465, secure: true });
  });
});

describe("brand kit and dates in the email", () => {
  const render = (overrides: Parameters<typeof sampleTemplateInput>[0], step = DEFAULT_STEPS[2]!, lineItems?: { imageUrl: string | null }[]) => {
    const input = sampleTemplateInput({ locale: "en", ...overrides });
    if (lineItems) input.recovery.lineItems = input.recovery.lineItems.map((li, i) => ({ ...li, imageUrl: lineItems[i]?.imageUrl ?? null }));
    return renderEmail(step, templateVariables(input));
  };

  it("puts the logo on top and the accent colour on the default button", () => {
    const html = render({ logoUrl: "https://cdn.example.com/logo.png", accentColor: "#1a73e8" }).html;
    expect(html).toContain('<img src="https://cdn.example.com/logo.png"');
    expect(html).toContain("background:#1a73e8;");
    // Without a brand kit: the shop's name on top and the near-black button.
    const plain = render({}).html;
    expect(plain).not.toContain("logo.png");
    expect(plain).toContain("background:#111827;");
  });

  it("refuses a logo that is not https and a colour that is not hex", () => {
    expect(brandSettingsSchema.safeParse({ brandLogoUrl: "http://x.test/logo.png", brandAccentColor: "#123456" }).success).toBe(false);
    expect(brandSettingsSchema.safeParse({ brandLogoUrl: "javascript:alert(1)" }).success).toBe(false);
    expect(brandSettingsSchema.safeParse({ brandAccentColor: "red" }).success).toBe(false);
    expect(brandSettingsSchema.parse({ brandLogoUrl: "https://x.test/l.png", brandAccentColor: "1A73E8" })).toEqual({
      brandLogoUrl: "https://x.test/l.png",
      brandAccentColor: "#1a73e8",
    });
    // Even a stored bad value never reaches the email.
    expect(render({ logoUrl: "http://x.test/l.png", accentColor: "red;background:url(x)" }).html).not.toMatch(/x\.test|url\(x\)/);
  });

  it("a cart without images gets no empty image boxes", () => {
    const html = render({}, DEFAULT_STEPS[0]!, [{ imageUrl: null }, { imageUrl: null }]).html;
    expect(html).not.toContain(`class="item-image"`);
    expect(html).not.toContain("#f1f2f4");
    const withOne = render({}, DEFAULT_STEPS[0]!, [{ imageUrl: "https://cdn.shopify.com/a.jpg" }, { imageUrl: null }]).html;
    expect(withOne).toContain(`class="item-image"`);
    expect(withOne).not.toContain("#f1f2f4");
  });

  it("an English email prints dates in English even for a buyer whose browser is Japanese", () => {
    const input = sampleTemplateInput({ locale: "en" });
    input.recovery.locale = "ja";
    input.incentive = { ...input.incentive!, expiresAt: new Date("2026-12-15T12:00:00Z") };
    const html = renderEmail(DEFAULT_STEPS[2]!, templateVariables(input)).html;
    expect(html).toContain("December 15, 2026");
    expect(html).not.toContain("2026年12月15日");
  });
});
