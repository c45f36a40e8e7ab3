import type { AddressInfo } from "node:net";
import { simpleParser, type ParsedMail } from "mailparser";
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from "smtp-server";

export interface ReceivedMail {
  /** SMTP envelope recipients. */
  rcptTo: string[];
  mailFrom: string;
  /** Authenticated user, if the client logged in. */
  user: string | null;
  raw: string;
  parsed: ParsedMail;
}

export interface SmtpSinkOptions {
  /** Require AUTH with these credentials (plain, over the loopback connection). */
  auth?: { user: string; pass: string };
  /**
   * Decide per message what to answer at end of DATA: accept (default), reject with an SMTP error, or never answer
   * (`hold`: the client waits; used to simulate a crash in the middle of delivery).
   */
  onData?: (mail: ReceivedMail) => "accept" | "hold" | { code: number; message: string };
  /** Answer RCPT TO for an address with an error (e.g. 550 for a hard bounce). */
  onRcpt?: (address: string) => { code: number; message: string } | null;
}

export interface SmtpSink {
  port: number;
  host: string;
  received: ReceivedMail[];
  /** Messages whose DATA arrived but were never answered (held). */
  held: ReceivedMail[];
  /** Cuts every open connection without a word (no "421 shutting down"): the network died. */
  dropConnections(): void;
  /** Milliseconds before an accepted message is answered (a real provider's ~150 ms); 0 by default. */
  latencyMs: number;
  /** The most messages that were waiting for their answer at the same time (several connections in use at once). */
  peakInFlight: number;
  /** Resolves once `count` messages have arrived (accepted or held). */
  waitFor(count: number, timeoutMs?: number): Promise<ReceivedMail[]>;
  close(): Promise<void>;
}

/** A real SMTP server on 127.0.0.1:<random port> that keeps what it receives, parsed with mailparser. */
export async function startSmtpSink(options: SmtpSinkOptions = {}): Promise<SmtpSink> {
  const received: ReceivedMail[] = [];
  const held: ReceivedMail[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];
  let inFlight = 0;
  const state = { latencyMs: 0, peakInFlight: 0 };
  const notify = () => {
    for (const w of [...waiters]) {
      if (received.length + held.length >= w.count) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  };
  const server = new SMTPServer({
    secure: false,
    disabledCommands: options.auth ? ["STARTTLS"] : ["STARTTLS", "AUTH"],
    authOptional: !options.auth,
    allowInsecureAuth: true,
    logger: false,
    size: 10 * 1024 * 1024,
    // Pooled client connections stay open; close() drops them after this long instead of the default 30 s.
    closeTimeout: 200,
    onAuth(auth, _session, callback) {
      if (options.auth && auth.username === options.auth.user && auth.password === options.auth.pass) return callback(null, { user: auth.username });
      return callback(new Error("Invalid username or password"));
    },
    onRcptTo(address, _session, callback) {
      const refusal = options.onRcpt?.(address.address);
      if (refusal) return callback(Object.assign(new Error(refusal.message), { responseCode: refusal.code }));
      return callback();
    },
    onData(stream: SMTPServerDataStream, session: SMTPServerSession, callback) {
      const chunks: Buffer[] = [];
      inFlight++;
      state.peakInFlight = Math.max(state.peakInFlight, inFlight);
      const answer = (error: Error | null, reply?: string) =>
        setTimeout(
          () => {
            inFlight--;
            callback(error, reply);
          },
          error ? 0 : state.latencyMs,
        );
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", () => {
        const raw = Buffer.concat(chunks).toString("utf8");
        void simpleParser(raw).then((parsed) => {
          const mail: ReceivedMail = {
            rcptTo: session.envelope.rcptTo.map((r) => r.address),
            mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
            user: (session.user as string | undefined) ?? null,
            raw,
            parsed,
          };
          const verdict = options.onData?.(mail) ?? "accept";
          if (verdict === "hold") {
            held.push(mail);
            notify();
            return; // never answer: the client is left waiting, as if the network died mid-transfer
          }
          if (verdict !== "accept") return answer(Object.assign(new Error(verdict.message), { responseCode: verdict.code }));
          received.push(mail);
          notify();
          answer(null, "Queued");
        });
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const address = server.server.address() as AddressInfo;
  return {
    port: address.port,
    host: "127.0.0.1",
    received,
    held,
    get latencyMs() {
      return state.latencyMs;
    },
    set latencyMs(ms: number) {
      state.latencyMs = ms;
    },
    get peakInFlight() {
      return state.peakInFlight;
    },
    set peakInFlight(n: number) {
      state.peakInFlight = n;
    },
    waitFor(count, timeoutMs = 10_000) {
      if (received.length + held.length >= count) return Promise.resolve([...received]);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`SMTP sink: expected ${count} messages, got ${received.length + held.length}`)), timeoutMs);
        waiters.push({
          count,
          resolve: () => {
            clearTimeout(timer);
            resolve([...received]);
          },
        });
      });
    },
    dropConnections() {
      // smtp-server keeps its connections in a Set (not public API; fine for a test helper).
      for (const connection of (server as unknown as { connections: Set<{ _socket?: { destroy(): void } }> }).connections) connection._socket?.destroy();
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Header value as a plain string (mailparser gives structured values for some headers). */
export function header(mail: ReceivedMail, name: string): string | undefined {
  const line = mail.parsed.headerLines.find((h) => h.key === name.toLowerCase());
  return line
    ? line.line
        .slice(line.line.indexOf(":") + 1)
        .replace(/\r?\n\s+/g, " ")
        .trim()
    : undefined;
}
