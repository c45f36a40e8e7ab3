/**
 * A shop's SMTP settings cannot reach loopback, private, link-local, CGNAT or metadata addresses, nor non-mail ports:
 * refused with a field error when saved, and again when sending (settings stored earlier, or a DNS name that resolves
 * elsewhere since). The test environment allows private hosts (its SMTP sink is on 127.0.0.1); these tests turn that off.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { env } from "~/env.server";
import { checkSmtpDestination, classifyAddress, smtpResolver } from "~/email/smtp-destination.server";
import { TEST_SEND_LIMIT } from "~/email/editor-limits.server";
import { saveEmailSettings, sendTestEmail } from "~/email/settings.server";
import { classifySendError, closeTransports, deliver, plainSendError } from "~/email/transport.server";
import { db } from "~/db.server";
import { startSmtpSink } from "../helpers/smtp";

let shopId: string;
const base = { emailTransport: "smtp", smtpSecure: false, senderEmail: "hi@shop.test", postalAddress: "1 Main St, Springfield" };

// One shop sends a test email per case here, more than a merchant's 5 a minute (docs/decisions/079): not this file's subject.
const testSendCapacity = TEST_SEND_LIMIT.capacity;
beforeAll(async () => {
  shopId = (await db.shop.create({ data: { domain: "smtp-ssrf.myshopify.com" } })).id;
  env.SMTP_ALLOW_PRIVATE_HOSTS = false;
  TEST_SEND_LIMIT.capacity = 1_000;
});
afterEach(() => vi.restoreAllMocks());
afterAll(() => {
  env.SMTP_ALLOW_PRIVATE_HOSTS = true;
  TEST_SEND_LIMIT.capacity = testSendCapacity;
  closeTransports();
});

const resolvesTo = (...addresses: string[]) =>
  vi.spyOn(smtpResolver, "lookup").mockResolvedValue(addresses.map((address) => ({ address, family: address.includes(":") ? 6 : 4 })));

const cases: [string, string, number, string[] | null, "smtpHost" | "smtpPort"][] = [
  ["an RFC 1918 IPv4 address", "10.1.2.3", 587, null, "smtpHost"],
  ["loopback IPv4", "127.0.0.1", 25, null, "smtpHost"],
  ["CGNAT", "100.64.0.7", 587, null, "smtpHost"],
  ["the cloud metadata address", "169.254.169.254", 587, null, "smtpHost"],
  ["a DNS name resolving to a private address", "mail.evil.example", 587, ["192.168.1.10"], "smtpHost"],
  ["a DNS name resolving to IPv6 loopback", "v6.evil.example", 587, ["::1"], "smtpHost"],
  ["a DNS name resolving to an IPv4-mapped IPv6 loopback", "mapped.evil.example", 587, ["::ffff:127.0.0.1"], "smtpHost"],
  ["a DNS name with one public and one private address", "mixed.evil.example", 587, ["198.51.100.20", "fd00::1"], "smtpHost"],
  ["a non-mail port on a public host", "smtp.provider.example", 6379, ["198.51.100.20"], "smtpPort"],
];

describe("refused at save, with a field error", () => {
  it.each(cases)("%s", async (_what, host, port, dns, field) => {
    if (dns) resolvesTo(...dns);
    const result = await saveEmailSettings(db, shopId, { ...base, smtpHost: host, smtpPort: port });
    expect(result.ok).toBe(false);
    expect(result.ok ? {} : result.fieldErrors).toHaveProperty(field);
    expect((await db.shop.findUniqueOrThrow({ where: { id: shopId } })).smtpHost).not.toBe(host); // nothing written
  });

  it("a public host on a mail port is accepted", async () => {
    resolvesTo("198.51.100.20");
    expect(await saveEmailSettings(db, shopId, { ...base, smtpHost: "smtp.provider.example", smtpPort: 587 })).toMatchObject({ ok: true });
  });
});

describe("refused at send (stored settings, or DNS changed since they were saved)", () => {
  it.each(cases)("%s", async (_what, host, port, dns, field) => {
    if (dns) resolvesTo(...dns);
    await db.shop.update({ where: { id: shopId }, data: { ...base, smtpHost: host, smtpPort: port } });
    const shop = await db.shop.findUniqueOrThrow({ where: { id: shopId } });
    const error = await deliver(shop, { from: "hi@shop.test", to: "buyer@example.com", subject: "x", text: "x" }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: "EDESTINATION", field });
    expect(classifySendError(error)).toMatchObject({ kind: "retry" }); // nothing was handed over
    const test = await sendTestEmail(db, shopId, "me@shop.test");
    expect(test.ok).toBe(false);
    expect(test.ok ? "" : test.error).toMatch(field === "smtpHost" ? /SMTP server refused/ : /SMTP port refused: must be a mail port/);
  });

  it("a DNS rebind after the save: the name now resolves to loopback, and no connection is made", async () => {
    const sink = await startSmtpSink();
    try {
      resolvesTo("198.51.100.20");
      expect(await saveEmailSettings(db, shopId, { ...base, smtpHost: "rebind.evil.example", smtpPort: 587 })).toMatchObject({ ok: true });
      resolvesTo("127.0.0.1");
      expect(await sendTestEmail(db, shopId, "me@shop.test")).toMatchObject({ ok: false, error: expect.stringMatching(/private or internal/) });
      expect(sink.received).toHaveLength(0);
    } finally {
      await sink.close();
    }
  });
});

describe("the rules", () => {
  it.each([
    ["10.0.0.1", "private"],
    ["172.31.255.255", "private"],
    ["192.168.0.1", "private"],
    ["127.8.8.8", "private"],
    ["0.1.2.3", "private"],
    ["169.254.1.1", "private"],
    ["100.127.255.255", "private"],
    ["224.0.0.1", "private"],
    ["255.255.255.255", "private"],
    ["::1", "private"],
    ["::", "private"],
    ["fe80::1", "private"],
    ["fc00::1", "private"],
    ["fdff::1", "private"],
    ["ff02::1", "private"],
    ["::ffff:10.0.0.1", "private"],
    ["::ffff:7f00:1", "private"],
    ["0:0:0:0:0:ffff:c0a8:0101", "private"],
    ["64:ff9b::7f00:1", "private"],
    ["169.254.169.254", "metadata"],
    ["::ffff:169.254.169.254", "metadata"],
    ["fd00:ec2::254", "metadata"],
    ["100.100.100.200", "metadata"],
    ["8.8.8.8", "public"],
    ["198.51.100.20", "public"],
    ["2a00:1450:4001:800::200e", "public"],
    ["::ffff:8.8.8.8", "public"],
  ])("%s is %s", (address, verdict) => {
    expect(classifyAddress(address)).toBe(verdict);
  });

  it("STARTTLS is required unless implicit TLS (465); the operator's private-host switch allows local sinks on any port", async () => {
    resolvesTo("198.51.100.20");
    expect(await checkSmtpDestination("smtp.provider.example", 587, false)).toMatchObject({ ok: true, requireTLS: true, address: "198.51.100.20" });
    expect(await checkSmtpDestination("smtp.provider.example", 465, true)).toMatchObject({ ok: true, requireTLS: false });
    expect(await checkSmtpDestination("127.0.0.1", 54321, false, true)).toMatchObject({ ok: true, requireTLS: false });
    expect(await checkSmtpDestination("169.254.169.254", 25, false, true)).toMatchObject({ ok: false, field: "smtpHost" });
  });

  it("failures are plain words, never the remote server's banner or reply", () => {
    const banner = "220 internal-redis.corp ESMTP secret-version-1.2.3";
    const shown = [
      plainSendError(Object.assign(new Error(`Invalid greeting. response=${banner}`), { code: "EPROTOCOL", response: banner })),
      plainSendError(Object.assign(new Error(`Invalid login: 535 ${banner}`), { code: "EAUTH", responseCode: 535, response: banner })),
      plainSendError(Object.assign(new Error(`550 ${banner}`), { code: "EENVELOPE", responseCode: 550, command: "RCPT TO", response: banner })),
    ];
    for (const text of shown) expect(text).not.toMatch(/internal-redis|secret-version|220/);
    expect(shown[1]).toBe("The SMTP server refused the user name or password");
  });
});

describe("a host name that does not resolve", () => {
  it("is saved (DNS may be down), then refused at send while it still does not resolve", async () => {
    vi.spyOn(smtpResolver, "lookup").mockRejectedValue(Object.assign(new Error("getaddrinfo ENOTFOUND"), { code: "ENOTFOUND" }));
    expect(await saveEmailSettings(db, shopId, { ...base, smtpHost: "typo.provider.example", smtpPort: 587 })).toMatchObject({ ok: true });
    expect(await saveEmailSettings(db, shopId, { ...base, smtpHost: "typo.provider.example", smtpPort: 6379 })).toMatchObject({
      ok: false,
      fieldErrors: { smtpPort: expect.any(String) },
    });
    expect(await sendTestEmail(db, shopId, "me@shop.test")).toMatchObject({ ok: false, error: expect.stringMatching(/could not be found/) });
  });
});
