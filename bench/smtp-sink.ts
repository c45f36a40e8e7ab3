/**
 * A local SMTP sink for `npm run bench:pipeline`, in its own process so the mail server's CPU is not charged to the
 * sender: a real smtp-server that reads every message to the end and answers 250, then forgets it.
 * Prints `listening <port>` when ready; answers `received <n> <bytes> <cpu ms>` to a `report` line on stdin.
 */
import type { AddressInfo } from "node:net";
import { SMTPServer } from "smtp-server";

/** Milliseconds before each message is acknowledged (a real provider answers in ~100–300 ms): `SINK_LATENCY_MS`. */
const latencyMs = Number(process.env.SINK_LATENCY_MS ?? 0);
let received = 0;
let bytes = 0;
const server = new SMTPServer({
  secure: false,
  authOptional: true,
  disabledCommands: ["STARTTLS", "AUTH"],
  logger: false,
  closeTimeout: 100,
  onData(stream, _session, callback) {
    stream.on("data", (chunk: Buffer) => (bytes += chunk.length));
    stream.on("end", () => {
      const done = () => {
        received++;
        callback(null, "Queued");
      };
      if (latencyMs > 0) setTimeout(done, latencyMs);
      else done();
    });
  },
});
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`listening ${(server.server.address() as AddressInfo).port}\n`);
});
process.stdin.setEncoding("utf8");
process.stdin.on("data", (line: string) => {
  if (line.includes("report")) {
    const cpu = process.cpuUsage();
    process.stdout.write(`received ${received} ${bytes} ${(cpu.user + cpu.system) / 1000}\n`);
  }
});
process.once("SIGTERM", () => server.close(() => process.exit(0)));
