import type { SendMailOptions } from "nodemailer";
import MailComposer from "nodemailer/lib/mail-composer";
import type { RenderedEmail } from "./render";

export interface ComposeInput {
  from: { name: string; address: string };
  replyTo: string | null;
  to: string;
  rendered: RenderedEmail;
  unsubscribeUrl: string;
  /** Stable per message, so a receiving server can spot a duplicate and bounces can be traced back. */
  messageId: string;
  appHost: string;
}

/** Everything composeMail needs besides the rendered email (what a render worker gets with the template). */
export type ComposeFields = Omit<ComposeInput, "rendered">;

/**
 * The MIME message for one recovery email. `List-Unsubscribe` (https) + `List-Unsubscribe-Post` make it one-click
 * unsubscribable in Gmail/Yahoo (RFC 8058); the same link is visible in the footer of the body.
 */
export function composeMail(input: ComposeInput): SendMailOptions {
  return {
    from: input.from,
    to: input.to,
    replyTo: input.replyTo || undefined,
    subject: input.rendered.subject,
    html: input.rendered.html,
    text: input.rendered.text,
    messageId: `<${input.messageId}@${input.appHost}>`,
    headers: {
      "List-Unsubscribe": `<${input.unsubscribeUrl}>`,
      "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
      // Marketing mail: auto-responders should stay quiet.
      "Auto-Submitted": "auto-generated",
      "X-Auto-Response-Suppress": "OOF, AutoReply",
    },
  };
}

/** A message built once into its bytes (nodemailer's MailComposer), sent as `raw` with its envelope (ADR 094). */
export interface BuiltMail {
  envelope: { from: string; to: string[] };
  messageId: string;
  raw: Buffer;
}

/**
 * composeMail, built into the bytes that go on the wire by nodemailer's own composer (the same MIME as sendMail
 * builds). Done in a render worker (app/email/render-worker.ts), so the event loop only writes one buffer per email.
 */
export async function buildMail(input: ComposeInput): Promise<BuiltMail> {
  const options = composeMail(input);
  const raw = await new MailComposer(options).compile().build();
  return { envelope: { from: input.from.address, to: [input.to] }, messageId: options.messageId!, raw };
}

/** What the transport is given for a built message: nodemailer sends `raw` as is, to the envelope's addresses. */
export function rawMailOptions(mail: BuiltMail): SendMailOptions {
  return { envelope: mail.envelope, messageId: mail.messageId, raw: mail.raw };
}
