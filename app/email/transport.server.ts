/**
 * Email delivery per shop: SMTP through nodemailer (every ESP offers SMTP), or a `log` transport for development
 * that builds the real MIME message and writes a line to the log instead of sending it.
 * The SMTP password is stored encrypted (encryptSecret) and decrypted only here, when the transport is built.
 */
import type { Translate } from "../i18n/locales";
import type { Shop } from "@prisma/client";
import nodemailer, { type SendMailOptions, type Transporter } from "nodemailer";
import { env } from "../env.server";
import { translatorFor } from "../i18n/translator";
import { logger } from "../logger.server";
import { decryptSecret, UnreadableSecretError } from "../security/encryption.server";
import { checkSmtpDestination, SmtpDestinationError, type SmtpDestination } from "./smtp-destination.server";

export type ShopEmailSettings = Pick<
  Shop,
  | "id"
  | "domain"
  | "name"
  | "email"
  | "emailTransport"
  | "senderName"
  | "senderEmail"
  | "replyTo"
  | "smtpHost"
  | "smtpPort"
  | "smtpSecure"
  | "smtpUser"
  | "smtpPasswordEncrypted"
  | "postalAddress"
>;

export type { Translate };
const english: Translate = (key, options) => translatorFor("en")(key, options);

/** Whether `t` speaks English (the default, or an English admin's `t`). */
const isEnglish = (t: Translate) => t === english || t("settings:sendError.theServer") === english("settings:sendError.theServer");

/** Why a shop cannot send recovery email yet, as a code (its words: `settings:setupProblem.<code>`). */
export type EmailSetupProblemCode = "smtpServerMissing" | "senderMissing" | "postalAddressMissing" | "logInProduction";

export function emailSetupProblemCode(shop: ShopEmailSettings, nodeEnv: string = env.NODE_ENV): EmailSetupProblemCode | null {
  if (shop.emailTransport === "smtp") {
    if (!shop.smtpHost || !shop.smtpPort) return "smtpServerMissing";
    if (!shop.senderEmail) return "senderMissing";
    if (!shop.postalAddress.trim()) return "postalAddressMissing";
    return null;
  }
  // The log transport writes emails to the server log: right for development, silent data loss in production.
  if (nodeEnv === "production") return "logInProduction";
  return null;
}

/** Why this shop cannot send recovery email yet (a sentence for the merchant, English unless `t` is given), or null when it can. */
export function emailSetupProblem(shop: ShopEmailSettings, nodeEnv: string = env.NODE_ENV, t: Translate = english): string | null {
  const code = emailSetupProblemCode(shop, nodeEnv);
  return code ? t(`settings:setupProblem.${code}`) : null;
}

export function fromAddress(shop: ShopEmailSettings): { name: string; address: string } {
  return {
    name: shop.senderName?.trim() || shop.name?.trim() || shop.domain.replace(/\.myshopify\.com$/, ""),
    address: shop.senderEmail?.trim() || shop.email?.trim() || `no-reply@${shop.domain}`,
  };
}

interface CachedTransport {
  fingerprint: string;
  transporter: Transporter;
  /** Sends under way through this pool, and when the last one ended (idle pools are closed: evictIdleTransports). */
  inFlight: number;
  lastUsedAt: number;
}
const transports = new Map<string, CachedTransport>();

type CheckedDestination = Extract<SmtpDestination, { ok: true }>;

function fingerprint(shop: ShopEmailSettings, destination: CheckedDestination | null): string {
  return JSON.stringify([shop.emailTransport, shop.smtpHost, destination?.address, shop.smtpPort, shop.smtpSecure, shop.smtpUser, shop.smtpPasswordEncrypted]);
}

/**
 * Providers that document a limit on one account's simultaneous SMTP connections or messages per connection: the pool
 * never exceeds it, whatever SMTP_MAX_CONNECTIONS says. Matched on the host the merchant entered (suffix).
 */
export const PROVIDER_POOL_CAPS: readonly { hostSuffix: string; maxConnections: number; maxMessages?: number; source: string }[] = [
  // "Maximum of 10 simultaneous connections per account … a limit of 50 messages per connection" (421 4.4.5 beyond).
  { hostSuffix: "smtp.socketlabs.com", maxConnections: 10, maxMessages: 50, source: "help.socketlabs.com/docs/smtp-server-restrictions" },
  // "a maximum of 5 concurrent connections per account (or per IP address)".
  { hostSuffix: "authsmtp.com", maxConnections: 5, source: "authsmtp.com/faqs/faq-61.html" },
  // Exchange Online accepts 30 messages a minute per mailbox over SMTP AUTH: more connections only earn 4.x refusals.
  { hostSuffix: "smtp.office365.com", maxConnections: 1, source: "Exchange Online limits, sending limits (30 messages per minute)" },
];

/** The shop's pool size: the operator's setting, lowered to what the provider documents. */
export function poolSizeFor(host: string | null | undefined, settings = { maxConnections: env.SMTP_MAX_CONNECTIONS, maxMessages: env.SMTP_MAX_MESSAGES }) {
  const name = (host ?? "").trim().toLowerCase().replace(/\.$/, "");
  const cap = PROVIDER_POOL_CAPS.find((c) => name === c.hostSuffix || name.endsWith(`.${c.hostSuffix}`));
  return {
    maxConnections: Math.max(1, Math.min(settings.maxConnections, cap?.maxConnections ?? Infinity)),
    maxMessages: Math.max(1, Math.min(settings.maxMessages, cap?.maxMessages ?? Infinity)),
  };
}

function buildTransport(shop: ShopEmailSettings, destination: CheckedDestination | null): Transporter {
  if (shop.emailTransport !== "smtp" || !destination) {
    return nodemailer.createTransport({ streamTransport: true, buffer: true, newline: "unix" });
  }
  return nodemailer.createTransport({
    // The address checked by checkSmtpDestination, never the name (re-resolving it would let a DNS rebind through);
    // TLS still verifies the certificate against the name the merchant entered.
    host: destination.address,
    port: destination.port,
    secure: shop.smtpSecure,
    requireTLS: destination.requireTLS, // STARTTLS is mandatory unless implicit TLS (465) or an operator-allowed local host
    tls: { servername: destination.host },
    auth: shop.smtpUser
      ? {
          user: shop.smtpUser,
          pass: shop.smtpPasswordEncrypted ? decryptSecret(shop.smtpPasswordEncrypted, { model: "Shop", column: "smtpPasswordEncrypted", rowId: shop.id }) : "",
        }
      : undefined,
    // A pool per shop: several messages in flight at once, one TLS handshake per many emails (ADR 085).
    pool: true,
    ...poolSizeFor(shop.smtpHost),
    connectionTimeout: 15_000,
    greetingTimeout: 15_000,
    socketTimeout: 60_000,
  });
}

async function transportFor(shop: ShopEmailSettings): Promise<CachedTransport> {
  let destination: CheckedDestination | null = null;
  if (shop.emailTransport === "smtp") {
    // Checked again at every send: the settings may predate the check, and the name may now resolve elsewhere.
    const checked = await checkSmtpDestination(shop.smtpHost ?? "", shop.smtpPort ?? 0, shop.smtpSecure);
    if (!checked.ok) throw new SmtpDestinationError(checked.field, checked.message);
    destination = checked;
  }
  const print = fingerprint(shop, destination);
  const cached = transports.get(shop.id);
  if (cached && cached.fingerprint === print) return cached;
  // The shop's SMTP settings changed: its old pool is closed (sends under way on it finish first: nodemailer's close).
  cached?.transporter.close();
  const entry: CachedTransport = { fingerprint: print, transporter: buildTransport(shop, destination), inFlight: 0, lastUsedAt: Date.now() };
  transports.set(shop.id, entry);
  startIdleSweep();
  return entry;
}

let idleSweep: NodeJS.Timeout | null = null;
function startIdleSweep(): void {
  if (idleSweep) return;
  idleSweep = setInterval(() => evictIdleTransports(), Math.max(1_000, Math.floor(env.SMTP_POOL_IDLE_MS / 2)));
  idleSweep.unref();
}

/** Closes the pools of shops that sent nothing for `idleMs` (a quiet shop holds no connections). Returns how many. */
export function evictIdleTransports(idleMs = env.SMTP_POOL_IDLE_MS, now = Date.now()): number {
  let closed = 0;
  for (const [shopId, entry] of transports) {
    if (entry.inFlight === 0 && now - entry.lastUsedAt >= idleMs) {
      entry.transporter.close();
      transports.delete(shopId);
      closed++;
    }
  }
  return closed;
}

/** Shops with an open pool (operators, tests). */
export function openTransportCount(): number {
  return transports.size;
}

/** Closes pooled SMTP connections (shutdown, tests). */
export function closeTransports(): void {
  for (const { transporter } of transports.values()) transporter.close();
  transports.clear();
  if (idleSweep) clearInterval(idleSweep);
  idleSweep = null;
}

/**
 * Emails handed to SMTP at once across the process (SEND_MAX_IN_FLIGHT): each shop's pool bounds its own, this bounds
 * the sum (memory, sockets, the event loop) when many shops send together. Waiters are served in arrival order.
 */
class Semaphore {
  private waiting: (() => void)[] = [];
  constructor(
    private free: number,
    readonly size: number,
  ) {}
  async acquire(): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }
  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.free++;
  }
  get inUse(): number {
    return this.size - this.free;
  }
}
let inFlight: Semaphore | null = null;
function processInFlight(): Semaphore {
  if (!inFlight || inFlight.size !== env.SEND_MAX_IN_FLIGHT) inFlight = new Semaphore(env.SEND_MAX_IN_FLIGHT, env.SEND_MAX_IN_FLIGHT);
  return inFlight;
}

/** Emails being handed to SMTP by this process right now. */
export function emailsInFlight(): number {
  return inFlight?.inUse ?? 0;
}

export interface Delivery {
  messageId: string;
  response: string;
}

/** Messages one shop may have in flight (its pool's connections: more would only queue inside nodemailer). */
export function shopInFlightLimit(shop: ShopEmailSettings): number {
  return shop.emailTransport === "smtp" ? poolSizeFor(shop.smtpHost).maxConnections : env.SMTP_MAX_CONNECTIONS;
}

/** `about`: the subject and text of a message given as `raw` bytes, for the log transport's line (development). */
export async function deliver(shop: ShopEmailSettings, mail: SendMailOptions, about?: { subject: string; text: string }): Promise<Delivery> {
  const entry = await transportFor(shop);
  const slots = processInFlight();
  await slots.acquire();
  entry.inFlight++;
  let info: { messageId: string; response?: unknown };
  try {
    info = await entry.transporter.sendMail(mail);
  } finally {
    entry.inFlight--;
    entry.lastUsedAt = Date.now();
    slots.release();
  }
  if (shop.emailTransport !== "smtp") {
    logger.info("email written to the log (log transport; nothing was sent)", {
      shop: shop.domain,
      messageId: info.messageId,
      subject: about?.subject ?? mail.subject,
    });
    logger.debug("email text", { text: about?.text ?? (typeof mail.text === "string" ? mail.text : "") });
  }
  return { messageId: info.messageId, response: String((info as { response?: unknown }).response ?? "logged") };
}

export type SendFailure =
  /** Nothing was handed over (connection, greeting, auth, or a 4xx): safe to try again later. */
  | { kind: "retry"; message: string }
  /** The server refused the message for good (5xx). `hardBounce` when it refused the recipient. */
  | { kind: "rejected"; message: string; hardBounce: boolean }
  /** The connection broke while the message was being transferred: it may have been delivered. Never retried. */
  | { kind: "unknown"; message: string };

// Failures that nodemailer only raises before the message is transferred.
// ESECRET: the stored password does not decrypt for this shop (UnreadableSecretError), before any connection.
const BEFORE_TRANSFER_CODES = new Set(["EAUTH", "EDNS", "ETLS", "ENOAUTH", "EDESTINATION", "ESECRET"]);
const UNREACHABLE = new Set(["ECONNREFUSED", "ENOTFOUND", "EHOSTUNREACH", "ENETUNREACH", "EAI_AGAIN"]);

/**
 * Reads a nodemailer error: did the mail server refuse the message, can we safely try again, or can't we tell?
 * A socket error or socket timeout is reported as command "CONN" whatever the stage, so it counts as unknown:
 * the message may have been delivered, and at-most-once wins over a retry (docs/decisions/020).
 */
export function classifySendError(error: unknown, destination?: { host?: string | null; port?: number | null }): SendFailure {
  const e = error as {
    message?: string;
    code?: string;
    originalCode?: string;
    responseCode?: number;
    command?: string;
    response?: string;
    timeoutType?: string;
  };
  // The merchant reads this on the timeline: words, not "ESOCKET at CONN". A server's reply text is kept (it is the
  // merchant's own server, and "5.1.1 No such user" is the useful part).
  const message = (
    typeof e.responseCode === "number" && e.responseCode >= 400
      ? `${describeSendError(error, destination)}: ${e.response ?? e.message ?? ""}`
      : describeSendError(error, destination)
  ).slice(0, 500);
  if (typeof e.responseCode === "number" && e.responseCode >= 400) {
    if (e.responseCode < 500) return { kind: "retry", message };
    const hardBounce = e.command === "RCPT TO" && [550, 551, 553].includes(e.responseCode);
    return { kind: "rejected", message, hardBounce };
  }
  if (e.code === "EENVELOPE") return { kind: "rejected", message, hardBounce: false };
  if (e.code && BEFORE_TRANSFER_CODES.has(e.code)) return { kind: "retry", message };
  if (e.originalCode && UNREACHABLE.has(e.originalCode)) return { kind: "retry", message };
  // Timed out before the server greeted us: nothing was handed over. (nodemailer 10 names the first CONNECT_TIMEOUT.)
  if (e.timeoutType === "CONNECT_TIMEOUT" || e.timeoutType === "CONNECTION_TIMEOUT" || e.timeoutType === "GREETING_TIMEOUT") return { kind: "retry", message };
  return { kind: "unknown", message };
}

/**
 * A send failure in plain words for the merchant's page: what went wrong, never the remote server's banner or reply
 * text (a merchant-chosen host must not be able to read arbitrary services' greetings through this page). English
 * unless `t` is given (the admin's language).
 */
export function plainSendError(error: unknown, destination?: { host?: string | null; port?: number | null }, t: Translate = english): string {
  if (error instanceof SmtpDestinationError) return destinationRefusal(error, t);
  const words = describeSendError(error, destination, t);
  // Shown on its own ("the SMTP server refused…" starts a sentence here). Other languages' sentences are written to
  // stand alone, and a host name leading them stays as the merchant typed it.
  return isEnglish(t) ? words.charAt(0).toUpperCase() + words.slice(1) : words;
}

/**
 * The merchant-facing refusals of checkSmtpDestination (app/email/smtp-destination.server.ts), by their English text,
 * with their catalogue keys: a refusal shown in the admin's language. One not listed here is shown as it is (English).
 */
const DESTINATION_REFUSALS: [RegExp, string][] = [
  [/^Enter your SMTP server's host name$/, "hostMissing"],
  [/^This SMTP server's host name could not be found$/, "hostNotFound"],
  [/^This SMTP server points to an internal address Reclaim cannot connect to$/, "metadata"],
  [/^This SMTP server points to a private or internal address; use your email provider's public SMTP host$/, "private"],
  [/^must be a mail port: (?<ports>[\d, ]+)$/, "notMailPort"],
];

/** A refusal of checkSmtpDestination in the admin's language (English text unchanged without `t`). */
export function translateDestinationMessage(message: string, t: Translate = english): string {
  if (t === english) return message;
  for (const [pattern, key] of DESTINATION_REFUSALS) {
    const match = pattern.exec(message);
    if (match) return t(`settings:destination.${key}`, { ...match.groups });
  }
  return message;
}

function destinationRefusal(error: SmtpDestinationError, t: Translate): string {
  if (t === english) return error.message;
  const reason = error.message.replace(/^SMTP (server|port) refused: /, "");
  return t(`settings:sendError.destinationRefused.${error.field}`, { reason: translateDestinationMessage(reason, t) });
}

/** What went wrong with a send, as a catalogue key (`settings:sendError.<key>`) and its values. */
export type SendErrorWords = { key: string; values?: Record<string, string | number> };

/**
 * The words of describeSendError before translation (never a library code or the remote server's text). `host` is
 * the host the merchant entered, or null (then "the SMTP server"); `port` is set when the key names it.
 */
export function sendErrorWords(
  error: unknown,
  destination?: { host?: string | null; port?: number | null },
): { key: string; host: string | null; port?: number; code?: number } {
  if (error instanceof UnreadableSecretError) return { key: "unreadableSecret", host: null };
  const e = error as { code?: string; originalCode?: string; responseCode?: number; command?: string; address?: string; port?: number; timeoutType?: string };
  const host = destination?.host || e.address || null;
  const port = destination?.port ?? e.port ?? undefined;
  if (typeof e.responseCode === "number" && e.responseCode >= 400) {
    if (e.code === "EAUTH") return { key: "refusedLogin", host };
    const what = e.command === "RCPT TO" ? "refusedRecipient" : e.command === "MAIL FROM" ? "refusedSender" : "refusedMessage";
    return { key: what, host, code: e.responseCode };
  }
  switch (e.originalCode ?? e.code) {
    case "ECONNREFUSED":
      return { key: "connectionRefused", host, port };
    case "ENOTFOUND":
    case "EAI_AGAIN":
    case "EDNS":
      return { key: "notFound", host };
    case "EHOSTUNREACH":
    case "ENETUNREACH":
      return { key: "unreachable", host, port };
    case "ECONNRESET":
      return { key: "closed", host, port };
    case "ETIMEDOUT":
      return { key: "timeout", host, port };
    case "EAUTH":
    case "ENOAUTH":
      return { key: "refusedLogin", host };
    case "ETLS":
      return { key: "tls", host, port };
    case "EENVELOPE":
      return { key: "envelope", host };
  }
  if (e.timeoutType) return { key: "timeout", host, port };
  if (e.code === "ESOCKET" || e.code === "ECONNECTION") return { key: "connectionFailed", host, port };
  return { key: "failed", host, port };
}

/**
 * What went wrong with a send, in words a merchant can act on: "Could not connect to mail.example.com on port 2:
 * connection refused". Never a library code or the remote server's text. English unless `t` is given.
 */
export function describeSendError(error: unknown, destination?: { host?: string | null; port?: number | null }, t: Translate = english): string {
  if (error instanceof SmtpDestinationError) return destinationRefusal(error, t);
  const words = sendErrorWords(error, destination);
  const host = words.host ?? t("settings:sendError.theServer");
  const at = words.port ? t("settings:sendError.hostOnPort", { host, port: words.port }) : host;
  return t(`settings:sendError.${words.key}`, { host, at, code: words.code });
}

/** A transport for one send (the settings page's test with unsaved values): checked like any other, never pooled or cached. */
export async function deliverOnce(shop: ShopEmailSettings, mail: SendMailOptions): Promise<Delivery> {
  let destination: CheckedDestination | null = null;
  if (shop.emailTransport === "smtp") {
    const checked = await checkSmtpDestination(shop.smtpHost ?? "", shop.smtpPort ?? 0, shop.smtpSecure);
    if (!checked.ok) throw new SmtpDestinationError(checked.field, checked.message);
    destination = checked;
  }
  const transporter = buildTransport(shop, destination);
  try {
    const info = await transporter.sendMail(mail);
    return { messageId: info.messageId, response: String((info as { response?: unknown }).response ?? "logged") };
  } finally {
    transporter.close();
  }
}
