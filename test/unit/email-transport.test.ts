import { createServer, type Server } from "node:net";
import type { AddressInfo } from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import { classifySendError, closeTransports, deliver, emailSetupProblem, plainSendError, type ShopEmailSettings } from "~/email/transport.server";
import { encryptSecret } from "~/security/encryption.server";
import { header, startSmtpSink } from "../helpers/smtp";

function shop(port: number, overrides: Partial<ShopEmailSettings> = {}): ShopEmailSettings {
  return {
    id: `shop-${port}-${Math.random()}`,
    domain: "acme.myshopify.com",
    name: "Acme",
    email: "owner@acme.test",
    emailTransport: "smtp",
    senderName: "Acme",
    senderEmail: "hello@acme.test",
    replyTo: null,
    smtpHost: "127.0.0.1",
    smtpPort: port,
    smtpSecure: false,
    smtpUser: null,
    smtpPasswordEncrypted: null,
    postalAddress: "1 Main St",
    ...overrides,
  };
}
const mail = (to = "buyer@example.com") => ({ from: "hello@acme.test", to, subject: "Hi", text: "hello", html: "<p>hello</p>" });
const failureOf = async (p: Promise<unknown>) =>
  classifySendError(
    await p.then(
      () => null,
      (e: unknown) => e,
    ),
  );

afterAll(() => closeTransports());

describe("SMTP transport", () => {
  it("logs in with the password stored encrypted, and delivers", async () => {
    const sink = await startSmtpSink({ auth: { user: "smtp-user", pass: "s3cret-Password" } });
    const id = `shop-login-${sink.port}`;
    const settings = shop(sink.port, {
      id,
      smtpUser: "smtp-user",
      smtpPasswordEncrypted: encryptSecret("s3cret-Password", { model: "Shop", column: "smtpPasswordEncrypted", rowId: id }),
    });
    expect(settings.smtpPasswordEncrypted).not.toContain("s3cret");
    await deliver(settings, mail());
    const [received] = await sink.waitFor(1);
    expect(received!.user).toBe("smtp-user");
    expect(header(received!, "subject")).toBe("Hi");
    await sink.close();
  });

  it("a password sealed for another shop is not used: nothing is sent, it can be tried again once re-entered, and the reason is in words", async () => {
    const sink = await startSmtpSink({ auth: { user: "smtp-user", pass: "s3cret-Password" } });
    // The neighbour's encrypted password, copied into this shop's row (a bug, a bad restore, a hand-made UPDATE).
    const copied = encryptSecret("s3cret-Password", { model: "Shop", column: "smtpPasswordEncrypted", rowId: "the-neighbour-shop" });
    const settings = shop(sink.port, { id: "this-shop", smtpUser: "smtp-user", smtpPasswordEncrypted: copied });
    const error = await deliver(settings, mail()).then(
      () => null,
      (e: unknown) => e,
    );
    expect(classifySendError(error)).toMatchObject({ kind: "retry" });
    expect(plainSendError(error)).toBe("The stored SMTP password cannot be read for this shop: enter it again in Settings → Email");
    expect(sink.received).toHaveLength(0);
    await sink.close();
  });

  it("a refused recipient (550 at RCPT) is a hard bounce: refused for good", async () => {
    const sink = await startSmtpSink({ onRcpt: (a) => (a.startsWith("gone@") ? { code: 550, message: "5.1.1 No such user" } : null) });
    const failure = await failureOf(deliver(shop(sink.port), mail("gone@example.com")));
    expect(failure).toMatchObject({ kind: "rejected", hardBounce: true });
    expect(failure.message).toContain("No such user");
    await sink.close();
  });

  it("a server shutting down mid-delivery answers 421: not accepted, retry later", async () => {
    const sink = await startSmtpSink({ onData: () => "hold" });
    const sending = failureOf(deliver(shop(sink.port), mail()));
    await sink.waitFor(1);
    await sink.close();
    expect(await sending).toMatchObject({ kind: "retry" });
  });

  it("a 4xx answer means nothing was delivered: retry later", async () => {
    const sink = await startSmtpSink({ onData: () => ({ code: 451, message: "4.3.0 Try again later" }) });
    expect(await failureOf(deliver(shop(sink.port), mail()))).toMatchObject({ kind: "retry" });
    expect(sink.received).toHaveLength(0);
    await sink.close();
  });

  it("a 5xx at end of data is a rejection, not a bounce of the address", async () => {
    const sink = await startSmtpSink({ onData: () => ({ code: 554, message: "5.7.1 Message rejected as spam" }) });
    expect(await failureOf(deliver(shop(sink.port), mail()))).toMatchObject({ kind: "rejected", hardBounce: false });
    await sink.close();
  });

  it("nobody listening: retry later", async () => {
    const server: Server = createServer();
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    const port = (server.address() as AddressInfo).port;
    await new Promise<void>((r) => server.close(() => r()));
    expect(await failureOf(deliver(shop(port), mail()))).toMatchObject({ kind: "retry" });
  });

  it("a timeout before the server's greeting (connect or greeting) handed nothing over: retry later", () => {
    // The shapes nodemailer 10's SMTP connection gives these errors (timeoutError + _onError: code ETIMEDOUT, command CONN).
    for (const timeoutType of ["CONNECT_TIMEOUT", "GREETING_TIMEOUT"]) {
      const error = Object.assign(new Error("Connection timeout"), { code: "ETIMEDOUT", command: "CONN", timeoutType });
      expect(classifySendError(error).kind, timeoutType).toBe("retry");
    }
    const midTransfer = Object.assign(new Error("Timeout"), { code: "ETIMEDOUT", command: "CONN", timeoutType: "SOCKET_TIMEOUT" });
    expect(classifySendError(midTransfer).kind).toBe("unknown");
  });

  it("the connection dies after the message was transferred: outcome unknown, never retried", async () => {
    // The sink takes the whole message and then drops the connection instead of answering.
    const sink = await startSmtpSink({ onData: () => "hold" });
    const sending = deliver(shop(sink.port), mail());
    await sink.waitFor(1);
    const outcome = failureOf(sending);
    sink.dropConnections();
    expect(await outcome).toMatchObject({ kind: "unknown" });
    expect(sink.held).toHaveLength(1);
    await sink.close();
  });
});

describe("setup problems", () => {
  it("names what is missing, and refuses the log transport in production", () => {
    expect(emailSetupProblem(shop(25))).toBeNull();
    expect(emailSetupProblem(shop(25, { postalAddress: " " }))).toMatch(/postal address/);
    expect(emailSetupProblem(shop(25, { senderEmail: null }))).toMatch(/sender address/);
    expect(emailSetupProblem(shop(25, { emailTransport: "log" }), "development")).toBeNull();
    expect(emailSetupProblem(shop(25, { emailTransport: "log" }), "production")).toMatch(/not set up/);
  });
});
