/**
 * Where a shop's SMTP settings may connect. The host and port are typed by a merchant (untrusted, SECURITY.md), and the
 * server connects from inside our network: without these checks the settings page is an SSRF that reaches loopback,
 * private networks and cloud metadata, and shows the remote banner back.
 *
 * Checked when the settings are saved AND before every connection: the host is resolved here, every address it
 * resolves to must be public, and the transport connects to the checked address (never re-resolving the name), so a
 * DNS rebind between the check and the connection cannot slip through.
 *
 * Operators can allow private and loopback hosts (a local SMTP sink, a relay on the LAN) with
 * SMTP_ALLOW_PRIVATE_HOSTS=true; for such a host the port and TLS rules are relaxed too (local sinks use random ports
 * and no STARTTLS). Cloud metadata addresses are refused even then.
 */
import { promises as dns } from "node:dns";
import { BlockList, isIP } from "node:net";
import { env } from "../env.server";

/** SMTP submission and relay ports: 25, 465 (implicit TLS), 587 (submission), 2525 (common alternative). */
export const MAIL_PORTS: readonly number[] = [25, 465, 587, 2525];

/** Addresses of cloud instance metadata services: never, whatever the operator allows. */
const METADATA = new BlockList();
METADATA.addAddress("169.254.169.254", "ipv4"); // AWS, GCP, Azure, OpenStack, DigitalOcean…
METADATA.addAddress("169.254.170.2", "ipv4"); // AWS ECS task metadata
METADATA.addAddress("100.100.100.200", "ipv4"); // Alibaba Cloud
METADATA.addAddress("168.63.129.16", "ipv4"); // Azure WireServer
METADATA.addAddress("fd00:ec2::254", "ipv6"); // AWS IPv6 metadata

/** Not a public unicast address: loopback, private, link-local, CGNAT, "this network", multicast, reserved. */
const NON_PUBLIC = new BlockList();
for (const [net, bits] of [
  ["0.0.0.0", 8],
  ["10.0.0.0", 8],
  ["100.64.0.0", 10],
  ["127.0.0.0", 8],
  ["169.254.0.0", 16],
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["224.0.0.0", 4],
  ["240.0.0.0", 4],
] as const)
  NON_PUBLIC.addSubnet(net, bits, "ipv4");
for (const [net, bits] of [
  ["::", 128],
  ["::1", 128],
  ["fc00::", 7],
  ["fe80::", 10],
  ["fec0::", 10],
  ["ff00::", 8],
  ["100::", 64],
] as const)
  NON_PUBLIC.addSubnet(net, bits, "ipv6");

/** The eight 16-bit groups of an IPv6 address (any textual form, including a dotted IPv4 tail). */
function ipv6Groups(address: string): number[] {
  let text = address.toLowerCase().split("%")[0]!;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted[1]!.split(".").map(Number) as [number, number, number, number];
    text = text.slice(0, -dotted[1]!.length) + `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.includes("::") ? text.split("::") : [text, undefined];
  const left = head ? head.split(":") : [];
  const right = tail ? tail.split(":") : [];
  const fill = tail === undefined ? [] : Array(8 - left.length - right.length).fill("0");
  return [...left, ...fill, ...right].map((g) => parseInt(g, 16));
}

/** The IPv4 address an IPv6 address carries (IPv4-mapped ::ffff:a.b.c.d, IPv4-compatible ::a.b.c.d, NAT64 64:ff9b::), if any. */
function embeddedIPv4(address: string): string | null {
  const g = ipv6Groups(address);
  const mapped = g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff;
  const compatible = g.slice(0, 6).every((x) => x === 0) && (g[6]! !== 0 || g[7]! > 1);
  const nat64 = g[0] === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((x) => x === 0);
  if (!mapped && !compatible && !nat64) return null;
  return [g[6]! >> 8, g[6]! & 0xff, g[7]! >> 8, g[7]! & 0xff].join(".");
}

export type AddressVerdict = "public" | "private" | "metadata";

/** What kind of address this is, IPv4-mapped and other IPv4-carrying IPv6 forms judged by the IPv4 they carry. */
export function classifyAddress(address: string): AddressVerdict {
  const family = isIP(address);
  if (family === 0) return "private"; // not an address at all: never connect to it
  if (family === 6) {
    const v4 = embeddedIPv4(address);
    if (v4) return classifyAddress(v4);
    const bare = address.split("%")[0]!;
    if (METADATA.check(bare, "ipv6")) return "metadata";
    return NON_PUBLIC.check(bare, "ipv6") ? "private" : "public";
  }
  if (METADATA.check(address, "ipv4")) return "metadata";
  return NON_PUBLIC.check(address, "ipv4") ? "private" : "public";
}

/** The resolver, replaceable in tests (a DNS name that resolves to a private address). */
export const smtpResolver = {
  lookup: async (host: string): Promise<{ address: string; family: number }[]> => dns.lookup(host, { all: true, verbatim: true }),
};

export type SmtpDestination =
  | { ok: true; address: string; host: string; port: number; requireTLS: boolean; privateAllowed: boolean }
  /** `unresolved`: the name has no address right now (a typo, or DNS unreachable), nothing to judge it by. */
  | { ok: false; field: "smtpHost" | "smtpPort"; message: string; unresolved?: true };

const refuse = (field: "smtpHost" | "smtpPort", message: string): SmtpDestination => ({ ok: false, field, message });

/**
 * Resolves and checks a shop's SMTP host and port. Every address the name resolves to must be allowed (a name that
 * also resolves to an internal address is refused); the answer carries the checked address to connect to.
 * Messages are plain sentences for the merchant; nothing from the remote server is ever included.
 */
export async function checkSmtpDestination(
  host: string,
  port: number,
  secure: boolean,
  allowPrivate: boolean = env.SMTP_ALLOW_PRIVATE_HOSTS,
): Promise<SmtpDestination> {
  const name = host
    .trim()
    .replace(/^\[|\]$/g, "")
    .replace(/\.$/, "");
  if (!name) return refuse("smtpHost", "Enter your SMTP server's host name");
  let addresses: string[];
  if (isIP(name)) addresses = [name];
  else {
    try {
      addresses = (await smtpResolver.lookup(name)).map((a) => a.address);
    } catch {
      addresses = [];
    }
    if (addresses.length === 0) return { ok: false, field: "smtpHost", message: "This SMTP server's host name could not be found", unresolved: true };
  }
  const verdicts = addresses.map(classifyAddress);
  if (verdicts.includes("metadata")) return refuse("smtpHost", "This SMTP server points to an internal address Reclaim cannot connect to");
  const internal = verdicts.includes("private");
  if (internal && !allowPrivate) {
    return refuse("smtpHost", "This SMTP server points to a private or internal address; use your email provider's public SMTP host");
  }
  // A local sink or LAN relay the operator allowed keeps its own port and may not offer STARTTLS.
  if (!internal && !MAIL_PORTS.includes(port)) return refuse("smtpPort", `must be a mail port: ${MAIL_PORTS.join(", ")}`);
  return { ok: true, address: addresses[0]!, host: name, port, requireTLS: !secure && !internal, privateAllowed: internal };
}

/** Thrown by the transport when a destination is refused at connection time: nothing was sent. */
export class SmtpDestinationError extends Error {
  readonly code = "EDESTINATION";
  constructor(
    readonly field: "smtpHost" | "smtpPort",
    message: string,
  ) {
    super(`SMTP ${field === "smtpHost" ? "server" : "port"} refused: ${message}`);
    this.name = "SmtpDestinationError";
  }
}
