import type { SendMailOptions } from "nodemailer";
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
