import { useSubmit } from "@remix-run/react";
import { Banner, BlockStack, Box, Button, Checkbox, Collapsible, FormLayout, InlineStack, List, Select, Text, TextField } from "@shopify/polaris";
import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { freeMailWarning, presetUserHint, senderDomain, senderDomainGuidance, SMTP_PRESETS, type Translate } from "../email/sender-domain";

interface EmailSettingsView {
  emailTransport: string;
  senderName: string | null;
  senderEmail: string | null;
  replyTo: string | null;
  smtpHost: string | null;
  smtpPort: number | null;
  smtpSecure: boolean;
  smtpUser: string | null;
  hasSmtpPassword: boolean;
  postalAddress: string;
  setupProblem: string | null;
}

type Result = { intent: string; ok: boolean; message?: string; fieldErrors?: Record<string, string>; warnings?: Record<string, string> };

const valuesOf = (e: EmailSettingsView, allowLog: boolean) => ({
  // In production "Log only" is not offered: a shop still on the development default is shown SMTP to fill in.
  emailTransport: e.emailTransport === "log" && !allowLog ? "smtp" : e.emailTransport,
  senderName: e.senderName ?? "",
  senderEmail: e.senderEmail ?? "",
  replyTo: e.replyTo ?? "",
  smtpHost: e.smtpHost ?? "",
  smtpPort: e.smtpPort ? String(e.smtpPort) : "",
  smtpSecure: e.smtpSecure,
  smtpUser: e.smtpUser ?? "",
  smtpPassword: "",
  postalAddress: e.postalAddress,
});

/**
 * Settings › Email sending: one form whose "Save" and "Send test email" both post what is on screen, so a test uses the
 * values being edited (a bogus host fails the test) without saving them. Provider presets fill host, port and TLS; a
 * free-mail sender is warned about as it is typed; SPF, DKIM and DMARC are explained for the sender's domain.
 */
export function EmailSendingForm({
  email,
  staffEmail,
  allowLogTransport,
  result,
  busy,
}: {
  email: EmailSettingsView;
  staffEmail: string;
  allowLogTransport: boolean;
  result?: Result;
  busy: "email" | "test-email" | null;
}) {
  const { t: translate } = useTranslation("settings");
  const t = translate as Translate;
  const initial = JSON.stringify(valuesOf(email, allowLogTransport));
  const [v, setV] = useState(() => valuesOf(email, allowLogTransport));
  // eslint-disable-next-line react-hooks/exhaustive-deps
  useEffect(() => setV(JSON.parse(initial) as ReturnType<typeof valuesOf>), [initial]);
  const [to, setTo] = useState(staffEmail);
  const [preset, setPreset] = useState("");
  const [showGuidance, setShowGuidance] = useState(false);
  const set = (key: keyof typeof v) => (value: string | boolean) => setV((old) => ({ ...old, [key]: value }));
  const errors = result && !result.ok ? (result.fieldErrors ?? {}) : {};
  const smtp = v.emailTransport === "smtp";
  const freeMail = freeMailWarning(v.senderEmail, v.smtpHost, t);
  const domain = senderDomain(v.senderEmail);
  const chosen = SMTP_PRESETS.find((p) => p.id === preset);
  const hint = chosen ? presetUserHint(chosen, t) : undefined;
  const submit = useSubmit();
  // Both buttons post every field as on screen (strings, as a form would).
  const post = (intent: "email" | "test-email") =>
    submit(
      { ...Object.fromEntries(Object.entries(v).map(([k, x]) => [k, String(x)])), intent, ...(intent === "test-email" ? { to } : {}) },
      { method: "post" },
    );
  const transportOptions = [{ label: "SMTP", value: "smtp" }, ...(allowLogTransport ? [{ label: t("emailSending.logOnly"), value: "log" }] : [])];

  return (
    <div id="email-sending-form">
      <BlockStack gap="400">
        {email.setupProblem ? <Banner tone="warning">{email.setupProblem}</Banner> : null}
        {result?.intent === "email" ? <Banner tone={result.ok ? "success" : "critical"}>{result.ok ? result.message : t("form.fixFields")}</Banner> : null}
        <FormLayout>
          <Select
            label={t("emailSending.transport")}
            options={transportOptions}
            value={v.emailTransport}
            onChange={set("emailTransport")}
            error={errors.emailTransport}
          />
          <FormLayout.Group>
            <TextField
              label={t("emailSending.senderName")}
              value={v.senderName}
              onChange={set("senderName")}
              autoComplete="organization"
              error={errors.senderName}
            />
            <TextField
              label={t("emailSending.senderEmail")}
              type="email"
              value={v.senderEmail}
              onChange={set("senderEmail")}
              autoComplete="email"
              error={errors.senderEmail}
            />
          </FormLayout.Group>
          {freeMail ? (
            <Banner tone="warning" title={t("freeMail.title")}>
              {freeMail}
            </Banner>
          ) : null}
          <TextField label={t("emailSending.replyTo")} type="email" value={v.replyTo} onChange={set("replyTo")} autoComplete="email" error={errors.replyTo} />
          {smtp ? (
            <>
              <Select
                label={t("emailSending.provider")}
                value={preset}
                onChange={(id) => {
                  setPreset(id);
                  const p = SMTP_PRESETS.find((x) => x.id === id);
                  if (p) setV((old) => ({ ...old, smtpHost: p.host, smtpPort: String(p.port), smtpSecure: p.secure }));
                }}
                options={[{ label: t("emailSending.providerChoose"), value: "" }, ...SMTP_PRESETS.map((p) => ({ label: p.label, value: p.id }))]}
                helpText={t("emailSending.providerHelp")}
              />
              <FormLayout.Group>
                <TextField label={t("emailSending.smtpHost")} value={v.smtpHost} onChange={set("smtpHost")} autoComplete="off" error={errors.smtpHost} />
                <TextField
                  label={t("emailSending.smtpPort")}
                  type="number"
                  value={v.smtpPort}
                  onChange={set("smtpPort")}
                  autoComplete="off"
                  error={errors.smtpPort}
                />
              </FormLayout.Group>
              <Checkbox label={t("emailSending.tls")} checked={v.smtpSecure} onChange={set("smtpSecure")} helpText={t("emailSending.tlsHelp")} />
              <FormLayout.Group>
                <TextField
                  label={t("emailSending.smtpUser")}
                  value={v.smtpUser}
                  onChange={set("smtpUser")}
                  autoComplete="off"
                  error={errors.smtpUser}
                  helpText={hint}
                />
                <TextField
                  label={t("emailSending.smtpPassword")}
                  type="password"
                  value={v.smtpPassword}
                  onChange={set("smtpPassword")}
                  autoComplete="new-password"
                  error={errors.smtpPassword}
                  helpText={email.hasSmtpPassword ? t("emailSending.passwordStored") : t("emailSending.passwordNew")}
                />
              </FormLayout.Group>
            </>
          ) : null}
          <TextField
            label={t("emailSending.postalAddress")}
            multiline={3}
            value={v.postalAddress}
            onChange={set("postalAddress")}
            autoComplete="street-address"
            error={errors.postalAddress}
            helpText={t("emailSending.postalAddressHelp")}
          />
          <BlockStack gap="100">
            <Box>
              <Button variant="plain" onClick={() => setShowGuidance((x) => !x)} ariaExpanded={showGuidance} ariaControls="sender-domain-guidance">
                {t("senderDomain.toggle", { domain: domain ?? t("senderDomain.yourDomain") })}
              </Button>
            </Box>
            <Collapsible id="sender-domain-guidance" open={showGuidance}>
              <BlockStack gap="100">
                <Text as="p" tone="subdued">
                  {t("senderDomain.intro")}
                </Text>
                <List>
                  {senderDomainGuidance(domain, t).map((line) => (
                    <List.Item key={line}>{line}</List.Item>
                  ))}
                </List>
              </BlockStack>
            </Collapsible>
          </BlockStack>
          <InlineStack align="end">
            <Button variant="primary" loading={busy === "email"} onClick={() => post("email")}>
              {t("emailSending.save")}
            </Button>
          </InlineStack>
        </FormLayout>
        <BlockStack gap="200">
          {result?.intent === "test-email" ? <Banner tone={result.ok ? "success" : "critical"}>{result.message}</Banner> : null}
          <InlineStack gap="200" blockAlign="end" wrap>
            <Box minWidth="260px">
              <TextField
                label={t("testEmail.to")}
                type="email"
                value={to}
                onChange={setTo}
                autoComplete="email"
                error={result?.intent === "test-email" && !result.ok ? errors.to : undefined}
                helpText={t("testEmail.toHelp")}
              />
            </Box>
            <Button loading={busy === "test-email"} onClick={() => post("test-email")}>
              {t("testEmail.send")}
            </Button>
          </InlineStack>
        </BlockStack>
      </BlockStack>
    </div>
  );
}
