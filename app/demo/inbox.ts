/**
 * The demo's inbox: a real SMTP server (smtp-server) on loopback that accepts every message Reclaim sends and keeps
 * it as an .eml file in the demo's folder, so a rerun still shows earlier emails. The portal lists and renders them.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { simpleParser, type ParsedMail } from "mailparser";
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from "smtp-server";
import { readJson, writeJson } from "./data-dir";

export interface InboxEntry {
  id: string;
  /** Demo time the message arrived (ISO). */
  receivedAt: string;
  from: string;
  to: string[];
  subject: string;
  /** The first click link (the app's /email/click) in the HTML, if any. */
  clickUrl: string | null;
}

export interface Inbox {
  port: number;
  list(): readonly InboxEntry[];
  get(id: string): InboxEntry | undefined;
  /** The stored message, parsed. */
  read(id: string): Promise<ParsedMail | null>;
  raw(id: string): string | null;
  onMessage(listener: (entry: InboxEntry) => void): void;
  close(): Promise<void>;
}

const MAX_MESSAGE_BYTES = 5 * 1024 * 1024;

/** The click link of a recovery email: the first href pointing at the app's /email/click. */
export function firstClickUrl(html: string): string | null {
  const match = /href="([^"]*\/email\/click\?t=[^"]+)"/.exec(html);
  return match ? match[1]!.replace(/&amp;/g, "&") : null;
}

export async function startInbox(o: { dir: string; port: number }): Promise<Inbox> {
  mkdirSync(o.dir, { recursive: true });
  const indexFile = path.join(o.dir, "index.json");
  const entries: InboxEntry[] = readJson<InboxEntry[]>(indexFile) ?? [];
  const listeners: ((entry: InboxEntry) => void)[] = [];
  const fileOf = (id: string) => path.join(o.dir, `${id}.eml`);

  const store = async (raw: Buffer, session: SMTPServerSession) => {
    const parsed = await simpleParser(raw);
    const id = `${String(entries.length + 1).padStart(6, "0")}`;
    writeFileSync(fileOf(id), raw);
    const entry: InboxEntry = {
      id,
      receivedAt: new Date().toISOString(),
      from: parsed.from?.text ?? (session.envelope.mailFrom ? session.envelope.mailFrom.address : ""),
      to: session.envelope.rcptTo.map((r) => r.address),
      subject: parsed.subject ?? "(no subject)",
      clickUrl: typeof parsed.html === "string" ? firstClickUrl(parsed.html) : null,
    };
    entries.push(entry);
    writeJson(indexFile, entries);
    for (const listener of listeners) listener(entry);
  };

  const server = new SMTPServer({
    secure: false,
    disabledCommands: ["STARTTLS", "AUTH"],
    authOptional: true,
    logger: false,
    // Greet at once: a reverse DNS lookup first would eat into nodemailer's connection deadline, which it measures
    // with Date.now() and so runs on the demo clock (docs/decisions/060).
    disableReverseLookup: true,
    size: MAX_MESSAGE_BYTES,
    banner: "Reclaim demo inbox (nothing leaves this machine)",
    closeTimeout: 200,
    onData(stream: SMTPServerDataStream, session: SMTPServerSession, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", () => {
        if (stream.sizeExceeded) return callback(Object.assign(new Error("Message too large for the demo inbox"), { responseCode: 552 }));
        store(Buffer.concat(chunks), session).then(
          () => callback(null, "Kept in the demo inbox"),
          (error: unknown) => callback(Object.assign(new Error(`The demo inbox could not keep this message: ${String(error)}`), { responseCode: 451 })),
        );
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(o.port, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });

  const raw = (id: string) => (/^\d{6}$/.test(id) && existsSync(fileOf(id)) ? readFileSync(fileOf(id), "utf8") : null);
  return {
    port: (server.server.address() as AddressInfo).port,
    list: () => entries,
    get: (id) => entries.find((e) => e.id === id),
    async read(id) {
      const text = raw(id);
      return text === null ? null : simpleParser(text);
    },
    raw,
    onMessage: (listener) => void listeners.push(listener),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
