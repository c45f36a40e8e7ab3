import { spawn } from "node:child_process";
import { z } from "zod";
import { beforeEach, describe, expect, it } from "vitest";
import { db } from "~/db.server";
import { enqueueJob } from "~/jobs/queue.server";
import { defineJob, defaultBackoffMs, JobRunner, PermanentJobError, type Clock } from "../helpers/jobs";
import { jobTable } from "../helpers/jobs";

class FakeClock implements Clock {
  constructor(public current = new Date("2026-11-20T12:00:00Z")) {}
  now() {
    return new Date(this.current);
  }
  advance(ms: number) {
    this.current = new Date(this.current.getTime() + ms);
  }
}

beforeEach(async () => {
  await jobTable(db).deleteMany();
});

describe("job runner", () => {
  it("retries a failing job with growing backoff, then marks it failed with the error kept", async () => {
    const clock = new FakeClock();
    const attempts: Date[] = [];
    const flaky = defineJob({
      name: "flaky",
      payload: z.object({}),
      run: async ({ clock }) => {
        attempts.push(clock.now());
        throw new Error("SMTP 421 try later");
      },
    });
    const runner = new JobRunner({ db, definitions: [flaky], clock, random: () => 0.5 });
    const id = await enqueueJob(db, "flaky", {}, { maxAttempts: 4, runAt: clock.now() });

    const delays: number[] = [];
    for (let i = 0; i < 4; i++) {
      expect(await runner.drain()).toBe(1);
      expect(await runner.drain()).toBe(0); // not due again until the backoff has passed
      const job = await jobTable(db).findUniqueOrThrow({ where: { id } });
      if (job.status === "queued") {
        delays.push(job.runAt.getTime() - clock.now().getTime());
        clock.current = job.runAt;
      }
    }
    expect(attempts).toHaveLength(4);
    expect(delays).toEqual([1, 2, 3].map((a) => defaultBackoffMs(a, () => 0.5)));
    expect(delays[2]!).toBeGreaterThan(delays[1]!);
    expect(delays[1]!).toBeGreaterThan(delays[0]!);
    const failed = await jobTable(db).findUniqueOrThrow({ where: { id } });
    expect(failed).toMatchObject({ status: "failed", attempts: 4, lastError: "Error: SMTP 421 try later", key: null });
  });

  it("does not retry a permanent error or an invalid payload", async () => {
    const bad = defineJob({
      name: "strict",
      payload: z.object({ n: z.number() }),
      run: async () => {
        throw new PermanentJobError("nothing to do");
      },
    });
    const runner = new JobRunner({ db, definitions: [bad] });
    const invalid = await enqueueJob(db, "strict", { n: "x" });
    const permanent = await enqueueJob(db, "strict", { n: 1 });
    await runner.drain();
    expect(await jobTable(db).findUniqueOrThrow({ where: { id: invalid } })).toMatchObject({ status: "failed", attempts: 1 });
    expect((await jobTable(db).findUniqueOrThrow({ where: { id: invalid } })).lastError).toContain("Invalid payload: n Expected number");
    expect(await jobTable(db).findUniqueOrThrow({ where: { id: permanent } })).toMatchObject({
      status: "failed",
      lastError: "PermanentJobError: nothing to do",
    });
  });

  it("never runs one job twice concurrently, with several runners polling the same queue", async () => {
    let running = 0;
    let maxRunning = 0;
    const runs = new Map<number, number>();
    const slow = defineJob({
      name: "slow",
      payload: z.object({ n: z.number() }),
      run: async ({ payload }) => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        runs.set(payload.n, (runs.get(payload.n) ?? 0) + 1);
        await new Promise((r) => setTimeout(r, 5));
        running--;
      },
    });
    for (let n = 0; n < 60; n++) await enqueueJob(db, "slow", { n });
    const runners = [1, 2, 3].map((i) => new JobRunner({ db, definitions: [slow], workerId: `w${i}`, concurrency: 3, pollIntervalMs: 5 }));
    await Promise.all(runners.map((r) => r.start()));
    // Succeeded jobs are removed by graphile-worker: all 60 done is an empty queue and 60 runs.
    await expect.poll(async () => runs.size === 60 && (await jobTable(db).count()) === 0, { timeout: 20_000 }).toBe(true);
    await Promise.all(runners.map((r) => r.stop()));
    expect([...runs.values()].every((count) => count === 1)).toBe(true);
    expect(runs.size).toBe(60);
    expect(maxRunning).toBeGreaterThan(1); // they really did run in parallel
  });

  it("a job key keeps one unfinished job per key, and frees the key when it finishes", async () => {
    const noop = defineJob({ name: "noop", payload: z.object({}), run: async () => {} });
    const a = await enqueueJob(db, "noop", {}, { key: "sync:shop-1" });
    const b = await enqueueJob(db, "noop", {}, { key: "sync:shop-1" });
    expect(b).toBe(a);
    await new JobRunner({ db, definitions: [noop] }).drain();
    const c = await enqueueJob(db, "noop", {}, { key: "sync:shop-1" });
    expect(c).not.toBe(a);
  });

  it("picks up a job left behind by a killed worker process and runs it to completion", async () => {
    const id = await enqueueJob(db, "hang", {});
    const child = spawn(process.execPath, ["--import", "tsx", "test/helpers/worker-child.ts"], { env: process.env, stdio: ["ignore", "pipe", "pipe"] });
    const claimed = await new Promise<string>((resolve, reject) => {
      child.stdout.on("data", (chunk: Buffer) => {
        const match = /claimed (\S+)/.exec(chunk.toString());
        if (match) resolve(match[1]!);
      });
      child.on("exit", (code) => reject(new Error(`worker exited early (${code})`)));
      setTimeout(() => reject(new Error("worker never claimed the job")), 20_000);
    });
    expect(claimed).toBe(id);
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));
    const left = await jobTable(db).findUniqueOrThrow({ where: { id } });
    expect(left).toMatchObject({ status: "running", lockedBy: expect.stringMatching(/^worker-/) });

    let ran = 0;
    let attempt = 0;
    const hang = defineJob({
      name: "hang",
      payload: z.object({}),
      run: async ({ job }) => {
        ran++;
        attempt = job.attempts;
      },
    });
    const survivor = new JobRunner({ db, definitions: [hang], workerId: "survivor", lockTimeoutMs: 600 });
    expect(await survivor.drain()).toBe(0); // the lock is still fresh: the other worker might be alive
    await new Promise((r) => setTimeout(r, 700));
    expect(await survivor.drain()).toBe(1);
    expect(ran).toBe(1);
    expect(attempt).toBe(2);
    // Succeeded: removed by graphile-worker (its own stale-lock sweep would only have unlocked it after 4 hours).
    expect(await jobTable(db).findUnique({ where: { id } })).toBeNull();
  });
});
