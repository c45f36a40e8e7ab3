import { useSubmit } from "@remix-run/react";
import { Banner, BlockStack, Box, Button, Checkbox, Collapsible, FormLayout, InlineStack, List, Select, Text, TextField } from "@shopify/polaris";
import { useEffect, useState } from "react";
import { freeMailWarning, senderDomain, senderDomainGuidance, SMTP_PRESETS } from "../email/sender-domain";

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
  const freeMail = freeMailWarning(v.senderEmail, v.smtpHost);
  const domain = senderDomain(v.senderEmail);
  const hint = SMTP_PRESETS.find((p) => p.id === preset)?.userHint;
  const submit = useSubmit();
  // Both buttons post every field as on screen (strings, as a form would).
  const post = (intent: "email" | "test-email") =>
    submit(
      { ...Object.fromEntries(Object.entries(v).map(([k, x]) => [k, String(x)])), intent, ...(intent === "test-email" ? { to } : {}) },
      { method: "post" },
    );
  const transportOptions = [
    { label: "SMTP", value: "smtp" },
    ...(allowLogTransport ? [{ label: "Log only (development: nothing is sent)", value: "log" }] : []),
  ];

  return (
    <div id="email-sending-form">
      <BlockStack gap="400">
        {email.setupProblem ? <Banner tone="warning">{email.setupProblem}</Banner> : null}
        {result?.intent === "email" ? (
          <Banner tone={result.ok ? "success" : "critical"}>{result.ok ? result.message : "Please fix the fields marked below. Nothing was saved."}</Banner>
        ) : null}
        <FormLayout>
          <Select label="Transport" options={transportOptions} value={v.emailTransport} onChange={set("emailTransport")} error={errors.emailTransport} />
          <FormLayout.Group>
            <TextField label="Sender name" value={v.senderName} onChange={set("senderName")} autoComplete="organization" error={errors.senderName} />
            <TextField label="Sender email" type="email" value={v.senderEmail} onChange={set("senderEmail")} autoComplete="email" error={errors.senderEmail} />
          </FormLayout.Group>
          {freeMail ? (
            <Banner tone="warning" title="Use an address at your own domain">
              {freeMail}
            </Banner>
          ) : null}
          <TextField label="Reply-to (optional)" type="email" value={v.replyTo} onChange={set("replyTo")} autoComplete="email" error={errors.replyTo} />
          {smtp ? (
            <>
              <Select
                label="Email provider"
                value={preset}
                onChange={(id) => {
                  setPreset(id);
                  const p = SMTP_PRESETS.find((x) => x.id === id);
                  if (p) setV((old) => ({ ...old, smtpHost: p.host, smtpPort: String(p.port), smtpSecure: p.secure }));
                }}
                options={[{ label: "Choose to fill in host, port and TLS…", value: "" }, ...SMTP_PRESETS.map((p) => ({ label: p.label, value: p.id }))]}
                helpText="Or type your provider's SMTP settings below."
              />
              <FormLayout.Group>
                <TextField label="SMTP host" value={v.smtpHost} onChange={set("smtpHost")} autoComplete="off" error={errors.smtpHost} />
                <TextField label="SMTP port" type="number" value={v.smtpPort} onChange={set("smtpPort")} autoComplete="off" error={errors.smtpPort} />
              </FormLayout.Group>
              <Checkbox
                label="Use TLS from the start (port 465)"
                checked={v.smtpSecure}
                onChange={set("smtpSecure")}
                helpText="Otherwise the connection is upgraded with STARTTLS (ports 587 and 25)."
              />
              <FormLayout.Group>
                <TextField label="SMTP user" value={v.smtpUser} onChange={set("smtpUser")} autoComplete="off" error={errors.smtpUser} helpText={hint} />
                <TextField
                  label="SMTP password"
                  type="password"
                  value={v.smtpPassword}
                  onChange={set("smtpPassword")}
                  autoComplete="new-password"
                  error={errors.smtpPassword}
                  helpText={email.hasSmtpPassword ? "A password is stored (encrypted). Leave empty to keep it." : "Stored encrypted; never shown again."}
                />
              </FormLayout.Group>
            </>
          ) : null}
          <TextField
            label="Postal address"
            multiline={3}
            value={v.postalAddress}
            onChange={set("postalAddress")}
            autoComplete="street-address"
            error={errors.postalAddress}
            helpText="Shown in every email's footer, as anti-spam laws require."
          />
          <BlockStack gap="100">
            <Box>
              <Button variant="plain" onClick={() => setShowGuidance((x) => !x)} ariaExpanded={showGuidance} ariaControls="sender-domain-guidance">
                {`Set up ${domain ?? "your domain"} so inboxes trust your emails (SPF, DKIM, DMARC)`}
              </Button>
            </Box>
            <Collapsible id="sender-domain-guidance" open={showGuidance}>
              <BlockStack gap="100">
                <Text as="p" tone="subdued">
                  Gmail and Yahoo require these for bulk senders. Add them in your domain's DNS, with the exact values your email provider shows you:
                </Text>
                <List>
                  {senderDomainGuidance(domain).map((line) => (
                    <List.Item key={line}>{line}</List.Item>
                  ))}
                </List>
              </BlockStack>
            </Collapsible>
          </BlockStack>
          <InlineStack align="end">
            <Button variant="primary" loading={busy === "email"} onClick={() => post("email")}>
              Save email settings
            </Button>
          </InlineStack>
        </FormLayout>
        <BlockStack gap="200">
          {result?.intent === "test-email" ? <Banner tone={result.ok ? "success" : "critical"}>{result.message}</Banner> : null}
          <InlineStack gap="200" blockAlign="end" wrap>
            <Box minWidth="260px">
              <TextField
                label="Send a test email to"
                type="email"
                value={to}
                onChange={setTo}
                autoComplete="email"
                error={result?.intent === "test-email" && !result.ok ? errors.to : undefined}
                helpText="Uses the settings as they are on screen, saved or not."
              />
            </Box>
            <Button loading={busy === "test-email"} onClick={() => post("test-email")}>
              Send test email
            </Button>
          </InlineStack>
        </BlockStack>
      </BlockStack>
    </div>
  );
}
