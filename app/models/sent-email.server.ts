import type { PrismaClient } from "@prisma/client";
import { isLanguage } from "../i18n/locales";

/** Every link target in the stored HTML: `href="…"`, `href='…'` or an unquoted value. */
const HREF = /\bhref\s*=\s*("[^"]*"|'[^']*'|[^\s>]+)/gi;
/** `<meta http-equiv="refresh" …>` would navigate the frame by itself. */
const META_REFRESH = /<meta[^>]+http-equiv\s*=\s*["']?refresh[^>]*>/gi;

/**
 * The HTML of a sent email made safe to look at: every link points nowhere (the stored links are the buyer's signed
 * click and unsubscribe links; following one would record a click or unsubscribe them) and the frame is told to load
 * nothing but images and inline styles.
 */
export function inertEmailHtml(html: string): string {
  const csp = `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src https: http: data:; style-src 'unsafe-inline'; font-src https: data:">`;
  return csp + html.replace(META_REFRESH, "").replace(HREF, 'href="#"');
}

/**
 * One email of one recovery as it was rendered for the buyer, or null when it is not this shop's, not this recovery's,
 * or was never handed to the mail server (nothing was rendered for it).
 */
export async function loadSentEmail(db: PrismaClient, shopId: string, recoveryId: string, messageId: string) {
  const m = await db.message.findFirst({
    where: { id: messageId, shopId, recoveryId, subject: { not: null }, bodyHtml: { not: null } },
    select: { recoveryId: true, position: true, status: true, subject: true, bodyHtml: true, sentAt: true, toEmail: true, language: true },
  });
  if (!m) return null;
  return {
    recoveryId: m.recoveryId,
    position: m.position,
    status: m.status,
    subject: m.subject!,
    html: inertEmailHtml(m.bodyHtml!),
    sentAt: m.sentAt?.toISOString() ?? null,
    toEmail: m.toEmail,
    /** The language it was rendered in (docs/decisions/093); null for emails rendered before that was stored. */
    language: isLanguage(m.language) ? m.language : null,
  };
}
