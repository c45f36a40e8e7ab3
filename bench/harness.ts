/**
 * What the benchmarks share around their measurements: the SMTP sink process, the resources a run used (peak memory,
 * the database's size afterwards — issue 14 asks every benchmark to report both), and the end of a run (the missed
 * targets, the exit code, stopping what was started even when the run failed half-way).
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import pg from "pg";

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");

export interface SinkProcess {
  port: number;
  /** Messages received, bytes and the sink's own CPU time so far. */
  report(): Promise<{ received: number; bytes: number; cpuMs: number }>;
  /** The sink process's peak resident memory in MB (Linux), or null. */
  peakRssMb(): number | null;
  stop(): void;
}

/** Starts `bench/smtp-sink.ts` in its own process, answering each message after `latencyMs`. */
export async function startSinkProcess(latencyMs: number): Promise<SinkProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", path.join(root, "bench/smtp-sink.ts")], {
    stdio: ["pipe", "pipe", "inherit"],
    env: { ...process.env, SINK_LATENCY_MS: String(latencyMs) },
  });
  let buffer = "";
  const waiters: ((line: string) => void)[] = [];
  child.stdout.setEncoding("utf8");
  child.stdout.on("data", (chunk: string) => {
    buffer += chunk;
    let nl: number;
    while ((nl = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      waiters.shift()?.(line);
    }
  });
  const nextLine = () => new Promise<string>((resolve) => waiters.push(resolve));
  const port = Number((await nextLine()).split(" ")[1]);
  return {
    port,
    async report() {
      const line = nextLine();
      child.stdin.write("report\n");
      const [, received, bytes, cpuMs] = (await line).split(" ");
      return { received: Number(received), bytes: Number(bytes), cpuMs: Number(cpuMs) };
    },
    peakRssMb: () => (child.pid ? peakRssMb(child.pid) : null),
    stop: () => child.kill("SIGTERM"),
  };
}

/**
 * Peak resident memory in MB: of this process (the kernel's high-water mark, `maxRSS`), or of another process by pid
 * (`VmHWM` in /proc/<pid>/status, Linux only; read it before the process exits). Null when it cannot be read.
 */
export function peakRssMb(pid?: number): number | null {
  if (pid === undefined || pid === process.pid) return process.resourceUsage().maxRSS / 1024;
  try {
    const kb = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
    return kb ? Number(kb) / 1024 : null;
  } catch {
    return null;
  }
}

/** The database's size on disk in MB (tables, indexes, TOAST), from PostgreSQL. */
export async function databaseSizeMb(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ bytes: string }>("SELECT pg_database_size(current_database()) AS bytes");
    return Number(rows[0]!.bytes) / 1024 / 1024;
  } finally {
    await client.end();
  }
}

/** A table row for the resources a run used: "| peak memory … | database size … |". */
export function resourceRows(memory: { what: string; mb: number | null }[], databaseMb: number): string {
  const mem = memory.map((m) => `${m.what} ${m.mb === null ? "n/a" : `${m.mb.toFixed(0)} MB`}`).join(", ");
  return [`| peak memory (resident) | ${mem} | — | |`, `| database size afterwards | ${databaseMb.toFixed(0)} MB | — | |`].join("\n");
}

/** Prints the missed targets and sets exit code 1 when there is any. */
export function reportMisses(misses: (string | false | null | undefined)[]): void {
  const missed = misses.filter(Boolean);
  if (!missed.length) return;
  console.log(`TARGET MISSED: ${missed.join("; ")}`);
  process.exitCode = 1;
}

/**
 * Runs a benchmark's main function, then always runs `cleanup` (stop child processes, the database, pools) and exits:
 * with 1 when main threw or a target was missed (reportMisses), else 0. Exiting explicitly ends timers and sockets a
 * library may keep open.
 */
export function runBench(main: () => Promise<void>, cleanup: () => Promise<void>): void {
  main()
    .catch((error) => {
      console.error(error);
      process.exitCode = 1;
    })
    .finally(async () => {
      await cleanup().catch((error) => console.error("cleanup failed:", error));
      process.exit();
    });
}
