// Merchant templates render in worker threads (app/email/render-pool.server.ts, docs/decisions/079): the same emails as
// the in-process renderer; a template that would spin is stopped by a hard limit with a clear problem while the main
// thread keeps answering; a template that exhausts memory costs its worker only; workers are few and reused; one key
// (a shop's editor) cannot take every worker; and app code has no way around the pool.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { afterAll, describe, expect, it } from "vitest";
import { checkTemplate, renderEmail, TemplateRenderError } from "~/email/render";
import { checkTemplateInWorker, RenderBusyError, RenderPool, renderEmailInWorker, renderMailsInWorker } from "~/email/render-pool.server";
import { DEFAULT_STEPS } from "~/recovery/campaign-defaults";
import { sampleTemplateInput, templateVariables } from "~/recovery/template";

const sample = templateVariables(sampleTemplateInput());
/** 10^9 iterations: LiquidJS would stop it after 2 s (checked between nodes); the pool's hard limit stops it sooner here. */
const SPIN = "{% for i in (1..1000) %}{% for j in (1..1000) %}{% for k in (1..1000) %}{% endfor %}{% endfor %}{% endfor %}";

const pools: RenderPool[] = [];
const pool = (options: Partial<ConstructorParameters<typeof RenderPool>[0]> = {}) => {
  const created = new RenderPool({ size: 1, timeoutMs: 5_000, memoryMb: 128, ...options });
  pools.push(created);
  return created;
};
afterAll(async () => {
  await Promise.all(pools.map((p) => p.close()));
});

describe("the same emails as before", () => {
  it("renders every default step exactly as the in-process renderer does, with and without an incentive", async () => {
    const p = pool();
    for (const step of DEFAULT_STEPS) {
      for (const vars of [sample, { ...sample, incentive: null }]) {
        expect(await renderEmailInWorker(step, vars, { pool: p })).toEqual(renderEmail(step, vars));
      }
    }
  });

  it("checks templates exactly as the in-process check does (problems with line and column)", async () => {
    const p = pool();
    for (const step of [
      DEFAULT_STEPS[0]!,
      { subject: "{{ shop.nam }}", bodyTemplate: "<p>x</p>" },
      { subject: "Hi", bodyTemplate: "<p>Hi</p>\n<p>{% if customer.first_name %}Hello</p>" },
      { subject: " ", bodyTemplate: "" },
    ]) {
      expect(await checkTemplateInWorker(step, sample, { pool: p })).toEqual(checkTemplate(step, sample));
    }
  });

  it("reports a template's own failure as a TemplateRenderError, as before", async () => {
    const step = { subject: "Hi", bodyTemplate: "{{ 'x' | no_such_filter }}" };
    const inProcess = (() => {
      try {
        renderEmail(step, sample);
      } catch (error) {
        return error;
      }
    })() as TemplateRenderError;
    await expect(renderEmailInWorker(step, sample, { pool: pool() })).rejects.toEqual(inProcess);
    expect(inProcess).toBeInstanceOf(TemplateRenderError);
  });
});

describe("emails built in the worker, in batches (docs/decisions/094)", () => {
  const compose = (n: number) => ({
    from: { name: "Bäckerei Müller", address: "hallo@baeckerei.test" },
    replyTo: null,
    to: `buyer${n}@example.com`,
    unsubscribeUrl: `https://reclaim.test/u/${n}`,
    messageId: `m${n}`,
    appHost: "reclaim.test",
  });

  it("each email's bytes: the rendered email as multipart/alternative, with its envelope, Message-ID and one-click unsubscribe", async () => {
    const items = DEFAULT_STEPS.map((step, n) => ({ step, vars: sample, compose: compose(n) }));
    const results = await renderMailsInWorker(items, { pool: pool({ size: 2 }), perBatch: 2 });
    expect(results).toHaveLength(3);
    for (const [n, result] of results.entries()) {
      if (result instanceof Error) throw result;
      expect(result.rendered).toEqual(renderEmail(DEFAULT_STEPS[n]!, sample));
      expect(result.mail.envelope).toEqual({ from: "hallo@baeckerei.test", to: [`buyer${n}@example.com`] });
      expect(result.mail.messageId).toBe(`<m${n}@reclaim.test>`);
      const raw = result.mail.raw.toString("latin1");
      expect(raw).toMatch(/^Content-Type: multipart\/alternative;/m);
      expect(raw).toContain(`List-Unsubscribe: <https://reclaim.test/u/${n}>`);
      expect(raw).toContain("List-Unsubscribe-Post: List-Unsubscribe=One-Click");
      expect(raw).toContain(`Message-ID: <m${n}@reclaim.test>`);
      // Non-ASCII names and subjects are encoded words (RFC 2047): 7-bit headers.
      expect(raw).toContain("From: =?UTF-8?Q?B=C3=A4ckerei_M=C3=BCller?= <hallo@baeckerei.test>");
      expect([...result.mail.raw].every((byte) => byte < 0x80)).toBe(true);
    }
  });

  it("a Japanese subject is encoded, and decodes to the rendered subject", async () => {
    const step = { subject: "カートに商品が残っています", bodyTemplate: "<p>{{ shop.name }}</p>" };
    const [result] = await renderMailsInWorker([{ step, vars: sample, compose: compose(1), language: "ja" }], { pool: pool() });
    if (!result || result instanceof Error) throw result;
    const header = /^Subject: (.*(?:\r\n .*)*)/m.exec(result.mail.raw.toString("latin1"))![1]!;
    const decoded = header
      .split(/\r\n /)
      .map((word) => Buffer.from(/^=\?UTF-8\?B\?(.*)\?=$/.exec(word.trim())![1]!, "base64").toString("utf8"))
      .join("");
    expect(decoded).toBe("カートに商品が残っています");
  });

  it("a template stopped by the hard limit inside a batch fails only its own email; the others are built", async () => {
    const p = pool({ timeoutMs: 1_000 });
    const items = [DEFAULT_STEPS[0]!, { subject: "Hi", bodyTemplate: SPIN }, DEFAULT_STEPS[1]!].map((step, n) => ({ step, vars: sample, compose: compose(n) }));
    const results = await renderMailsInWorker(items, { pool: p, perBatch: 3 });
    expect(results[0]).not.toBeInstanceOf(Error);
    expect(results[1]).toBeInstanceOf(TemplateRenderError);
    expect((results[1] as TemplateRenderError).problem.message).toMatch(/^This template took too long to render/);
    expect(results[2]).not.toBeInstanceOf(Error);
  });
});

/** A server on this (the main) thread, and the time it takes to answer one request. */
async function startServer(): Promise<{ server: Server; ping: () => Promise<number> }> {
  const server = createServer((_req, res) => res.end("ok"));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const ping = () =>
    new Promise<number>((resolve, reject) => {
      const started = performance.now();
      request({ host: "127.0.0.1", port, path: "/" }, (res) => {
        res.resume();
        res.on("end", () => resolve(performance.now() - started));
      })
        .on("error", reject)
        .end();
    });
  return { server, ping };
}

describe("a template that would spin", () => {
  it("is stopped by the hard time limit with a clear problem, while the main thread keeps answering requests at once", async () => {
    const p = pool({ timeoutMs: 1_000 });
    await renderEmailInWorker(DEFAULT_STEPS[0]!, sample, { pool: p }); // the worker is up: its start is not measured
    const { server, ping } = await startServer();
    const delay = monitorEventLoopDelay({ resolution: 10 });
    try {
      delay.enable();
      const started = performance.now();
      const render = renderEmailInWorker({ subject: "Hi", bodyTemplate: SPIN }, sample, { pool: p }).then(
        () => null,
        (error: unknown) => error,
      );
      // Requests and a timer on the main thread all the while the template spins.
      const answers: number[] = [];
      let settled = false;
      void render.then(() => (settled = true));
      while (!settled) {
        answers.push(await ping());
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const error = await render;
      const took = performance.now() - started;
      delay.disable();

      expect(error).toBeInstanceOf(TemplateRenderError);
      expect((error as TemplateRenderError).problem).toMatchObject({
        field: "body",
        message: expect.stringMatching(/^This template took too long to render \(over 1 s\) and was stopped/),
      });
      expect(took).toBeGreaterThanOrEqual(950);
      expect(took).toBeLessThan(3_000); // the limit plus a margin for a loaded machine; never the template's own pace
      expect(answers.length).toBeGreaterThan(10);
      // On the event loop (before: renderEmail ran here) the template would have blocked it for the whole second at
      // once; here requests are answered within milliseconds (the margin is for a machine busy with other work).
      expect(Math.max(...answers)).toBeLessThan(500);
      expect(delay.max / 1e6).toBeLessThan(500);
    } finally {
      server.close();
    }
    // Its worker was terminated; the next render gets a fresh one.
    expect(p.counts).toEqual({ started: 1, stopped: 1 });
    expect(await renderEmailInWorker(DEFAULT_STEPS[1]!, sample, { pool: p })).toEqual(renderEmail(DEFAULT_STEPS[1]!, sample));
    expect(p.counts.started).toBe(2);
  });

  it("with the default limits, LiquidJS's own 2 s limit stops it first, naming the line and column", async () => {
    const problems = await checkTemplateInWorker({ subject: "Hi", bodyTemplate: SPIN }, sample, { pool: pool() });
    expect(problems).toEqual([
      {
        field: "body",
        message: expect.stringMatching(/^This template took too long to render \(over 2 s\) and was stopped.* \(line 1, column \d+\)$/),
        line: 1,
        column: expect.any(Number),
      },
    ]);
  });

  it("a check on save that runs into the hard limit is one problem on the body, not an exception", async () => {
    const problems = await checkTemplateInWorker({ subject: "Hi", bodyTemplate: SPIN }, sample, { pool: pool({ timeoutMs: 500 }) });
    expect(problems).toEqual([{ field: "body", message: expect.stringMatching(/took too long to render \(over 0\.5 s\)/), line: null, column: null }]);
  });
});

describe("memory", () => {
  it("a render that exhausts its worker's heap is stopped with a clear problem; the process and the pool go on", async () => {
    const greedy = pool({ memoryMb: 32, timeoutMs: 60_000, entry: path.resolve("test/helpers/greedy-render-worker.mjs") });
    const error = await renderEmailInWorker(DEFAULT_STEPS[0]!, sample, { pool: greedy }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TemplateRenderError);
    expect((error as TemplateRenderError).problem.message).toMatch(/^This template needed too much memory to render and was stopped/);
    expect(greedy.workerCount).toBe(0);
    // This process's heap is untouched, and a normal pool still renders.
    expect(await renderEmailInWorker(DEFAULT_STEPS[0]!, sample, { pool: pool() })).toEqual(renderEmail(DEFAULT_STEPS[0]!, sample));
  });
});

describe("a worker that cannot start", () => {
  it("fails the renders waiting for it with an error that is not the template's (a send is retried, not failed)", async () => {
    const broken = pool({ entry: path.resolve("test/helpers/no-such-render-worker.mjs") });
    const error = await renderEmailInWorker(DEFAULT_STEPS[0]!, sample, { pool: broken }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(TemplateRenderError);
    expect((error as Error).message).toMatch(/^The template renderer could not start/);
    expect(broken.workerCount).toBe(0);
  });
});

describe("a small pool, reused", () => {
  it("runs many renders on at most `size` workers, started once", async () => {
    const p = pool({ size: 2 });
    const emails = await Promise.all(Array.from({ length: 40 }, (_, i) => renderEmailInWorker(DEFAULT_STEPS[i % 3]!, sample, { pool: p })));
    expect(emails.map((e) => e.subject)).toEqual(Array.from({ length: 40 }, (_, i) => renderEmail(DEFAULT_STEPS[i % 3]!, sample).subject));
    expect(p.workerCount).toBeLessThanOrEqual(2);
    for (let i = 0; i < 10; i++) await renderEmailInWorker(DEFAULT_STEPS[0]!, sample, { pool: p });
    expect(p.counts).toEqual({ started: p.workerCount, stopped: 0 });
  });

  it("runs one key's tasks one at a time: a shop's spinning template leaves the other worker to everyone else", async () => {
    const p = pool({ size: 2, timeoutMs: 1_500, maxWaitingPerKey: 1 });
    await Promise.all([renderEmailInWorker(DEFAULT_STEPS[0]!, sample, { pool: p }), renderEmailInWorker(DEFAULT_STEPS[0]!, sample, { pool: p })]);
    const hostile = { subject: "Hi", bodyTemplate: SPIN };
    const first = renderEmailInWorker(hostile, sample, { pool: p, key: "editor:hostile" }).catch((e: unknown) => e);
    const second = renderEmailInWorker(hostile, sample, { pool: p, key: "editor:hostile" }).catch((e: unknown) => e);
    // A third is refused at once rather than piling up.
    await expect(renderEmailInWorker(hostile, sample, { pool: p, key: "editor:hostile" })).rejects.toBeInstanceOf(RenderBusyError);
    // Meanwhile another shop's renders go through the other worker without waiting for the hostile ones.
    const started = performance.now();
    for (let i = 0; i < 5; i++) await renderEmailInWorker(DEFAULT_STEPS[i % 3]!, sample, { pool: p, key: "editor:neighbour" });
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(await first).toBeInstanceOf(TemplateRenderError);
    expect(await second).toBeInstanceOf(TemplateRenderError);
  });
});

describe("no way around the pool", () => {
  it("app code never calls the in-process renderer: only the render worker imports it", () => {
    const files = (dir: string): string[] =>
      readdirSync(dir).flatMap((name) => {
        const full = path.join(dir, name);
        return statSync(full).isDirectory() ? files(full) : /\.tsx?$/.test(name) && !/\.test\.tsx?$/.test(name) ? [full] : [];
      });
    const offenders = [...files("app"), ...files("server"), ...files("scripts")].filter((file) => {
      if (path.relative(".", file) === path.join("app", "email", "render-worker.ts")) return false;
      const source = readFileSync(file, "utf8");
      // A value import of renderEmail/checkTemplate/renderSubject from the renderer, or a Liquid engine of its own.
      return (
        /import\s*\{[^}]*\b(?<!type\s)(renderEmail|checkTemplate|renderSubject)\b[^}]*\}\s*from\s*["'][^"']*\/render["']/.test(source) ||
        (/from\s*["']liquidjs["']/.test(source) && !file.endsWith(path.join("email", "render.ts")))
      );
    });
    expect(offenders).toEqual([]);
  });
});
