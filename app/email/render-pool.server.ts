/**
 * Merchant templates are rendered off the event loop, in a small pool of worker threads (docs/decisions/079): previews,
 * test sends, the check on save and real sends all come here, so a slow or hostile template never stalls webhooks,
 * pages or other shops' sends.
 *
 * - Hard time limit: a task still running after `timeoutMs` has its worker terminated (the next task gets a fresh one);
 *   the caller gets a template problem saying the template took too long. LiquidJS's own render limit (2 s, checked
 *   between template nodes) usually stops a loop first, with the line and column; this limit is the one that holds.
 * - Memory limit: each worker runs with `resourceLimits`; a template that exhausts it loses its worker, not the process.
 * - Small and reused: at most `size` workers (RENDER_WORKERS, default 2), started on first use, kept between tasks,
 *   unreferenced while idle so they never keep a process alive. Tasks beyond that wait in order.
 * - Fair: tasks given a `key` (the editor passes one per shop) run one at a time per key, with at most a few waiting,
 *   so one shop's editor cannot occupy the whole pool.
 * There is no in-process fallback: app code renders only through this module (a test checks it).
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { env } from "../env.server";
import { TemplateRenderError, type RenderedEmail, type StepTemplate, type TemplateProblem } from "./render";
import type { RenderOutcome, RenderTask, TaskMessage, WorkerMessage } from "./render-worker";
import type { BuiltMail, ComposeFields } from "./compose";
import type { TemplateVariables } from "../recovery/template";
import type { Language } from "../i18n/locales";

export interface RenderPoolOptions {
  /** Worker threads at most. */
  size: number;
  /** Hard limit on one task's run time (ms), after which its worker is terminated. */
  timeoutMs: number;
  /** Old-generation heap of each worker (MB). */
  memoryMb: number;
  /** Tasks waiting for a worker at most (beyond: RenderBusyError). */
  maxQueue?: number;
  /** Tasks of one key waiting behind the running one at most (beyond: RenderBusyError). */
  maxWaitingPerKey?: number;
  /** The worker script; default: renderWorkerEntry(). */
  entry?: string;
}

/** A worker that has not loaded in this long never will (a broken install): the tasks waiting for it fail. */
const STARTUP_TIMEOUT_MS = 60_000;

/** The pool cannot take the task now (too many waiting): nothing was rendered; try again shortly. */
export class RenderBusyError extends Error {
  name = "RenderBusyError";
}

/** The problem a template gets when it runs into the hard time limit. */
export function tooSlowProblem(timeoutMs: number): TemplateProblem {
  return {
    field: "body",
    message: `This template took too long to render (over ${formatSeconds(timeoutMs)}) and was stopped. Look for a loop that runs very many times, such as {% for %} over a large range`,
    line: null,
    column: null,
  };
}
const TOO_MUCH_MEMORY: TemplateProblem = {
  field: "body",
  message: "This template needed too much memory to render and was stopped. Look for a loop or filter that builds very large text",
  line: null,
  column: null,
};
const formatSeconds = (ms: number) => (ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`);

/**
 * The worker script. From source (tsx, vitest, Vite's dev server): the TypeScript entry through a bootstrap that
 * registers tsx. From a build in production: the compiled entry `<REMIX_BUILD_DIR or build>/node/app/email/render-worker.js`
 * (scripts/build-node.mjs compiles `app/email/render-worker.ts` there); production never runs TypeScript. A build run
 * outside production (the demo) takes the source when it is there, so a stale compiled worker is never used.
 */
export function renderWorkerEntry(): string {
  const here = fileURLToPath(import.meta.url);
  if (/\.tsx?$/.test(here)) return path.join(path.dirname(here), "render-worker-dev.mjs");
  const compiled = path.resolve(process.env.REMIX_BUILD_DIR ?? "build", "node", "app", "email", "render-worker.js");
  const source = path.resolve("app", "email", "render-worker-dev.mjs");
  if (env.NODE_ENV !== "production" && existsSync(source)) return source;
  if (existsSync(compiled)) return compiled;
  throw new Error(`The template renderer's worker is missing: ${compiled} (build it with \`npm run build\`, which compiles app/email/render-worker.ts there)`);
}

interface Pending {
  id: number;
  task: RenderTask;
  key: string | null;
  resolve: (outcome: RenderOutcome) => void;
  reject: (error: Error) => void;
}

interface Slot {
  worker: Worker;
  ready: boolean;
  running: Pending | null;
  timer: NodeJS.Timeout | null;
}

export class RenderPool {
  private readonly slots = new Set<Slot>();
  private readonly queue: Pending[] = [];
  private readonly runningKeys = new Set<string>();
  private nextId = 1;
  private closed = false;
  private readonly maxQueue: number;
  private readonly maxWaitingPerKey: number;
  /** Workers started, and stopped (a limit, a crash, close), over the pool's life: for tests. */
  readonly counts = { started: 0, stopped: 0 };

  constructor(private readonly options: RenderPoolOptions) {
    this.maxQueue = options.maxQueue ?? 500;
    this.maxWaitingPerKey = options.maxWaitingPerKey ?? 3;
  }

  /** Runs one task in a worker. Resolves with the outcome (a template's failure included); rejects when nothing could run it. */
  run(task: RenderTask, options: { key?: string } = {}): Promise<RenderOutcome> {
    if (this.closed) return Promise.reject(new Error("The template renderer is shut down"));
    const key = options.key ?? null;
    if (this.queue.length >= this.maxQueue) return Promise.reject(new RenderBusyError("Too many templates are waiting to be rendered; try again in a moment"));
    if (key !== null && this.queue.filter((p) => p.key === key).length >= this.maxWaitingPerKey) {
      return Promise.reject(new RenderBusyError("Other renders of these templates are still running; try again in a moment"));
    }
    return new Promise<RenderOutcome>((resolve, reject) => {
      this.queue.push({ id: this.nextId++, task, key, resolve, reject });
      this.dispatch();
    });
  }

  /** Stops every worker; queued tasks are refused. */
  async close(): Promise<void> {
    this.closed = true;
    for (const p of this.queue.splice(0)) p.reject(new Error("The template renderer is shut down"));
    await Promise.all([...this.slots].map((slot) => this.retire(slot, new Error("The template renderer is shut down"))));
  }

  get workerCount(): number {
    return this.slots.size;
  }

  private dispatch(): void {
    for (;;) {
      const index = this.queue.findIndex((p) => p.key === null || !this.runningKeys.has(p.key));
      if (index < 0) return;
      const slot = [...this.slots].find((s) => s.ready && !s.running);
      if (!slot) {
        // Start workers for the tasks that could run now, up to the pool's size (each takes a task once it is ready).
        const runnable = this.queue.filter(
          (p, i) => p.key === null || (!this.runningKeys.has(p.key) && this.queue.findIndex((q) => q.key === p.key) === i),
        ).length;
        let starting = [...this.slots].filter((s) => !s.ready).length;
        while (starting < runnable && this.slots.size < this.options.size) {
          this.spawn();
          starting++;
        }
        return;
      }
      const [pending] = this.queue.splice(index, 1);
      this.start(slot, pending!);
    }
  }

  private start(slot: Slot, pending: Pending): void {
    slot.running = pending;
    if (pending.key !== null) this.runningKeys.add(pending.key);
    slot.worker.ref();
    slot.timer = setTimeout(() => {
      // The hard limit: whatever the template is doing, the thread goes.
      this.finish(slot, { kind: "template_error", problem: tooSlowProblem(this.options.timeoutMs) });
      void this.retire(slot);
    }, this.options.timeoutMs);
    slot.worker.postMessage({ id: pending.id, task: pending.task } satisfies TaskMessage);
  }

  /** Settles the slot's task (if any) and frees the slot. */
  private finish(slot: Slot, outcome: RenderOutcome | Error): void {
    const pending = slot.running;
    if (slot.timer) clearTimeout(slot.timer);
    slot.timer = null;
    slot.running = null;
    if (!pending) return;
    if (pending.key !== null) this.runningKeys.delete(pending.key);
    if (outcome instanceof Error) pending.reject(outcome);
    else pending.resolve(outcome);
  }

  /** Removes a worker from the pool and terminates it; its task, if still running, fails with `error`. */
  private async retire(slot: Slot, error?: Error): Promise<void> {
    if (!this.slots.delete(slot)) return;
    this.counts.stopped++;
    if (slot.running) this.finish(slot, error ?? new Error("The template renderer stopped"));
    if (!this.closed) queueMicrotask(() => this.dispatch());
    await slot.worker.terminate().catch(() => {});
  }

  private spawn(): void {
    const { memoryMb } = this.options;
    const worker = new Worker(this.options.entry ?? renderWorkerEntry(), {
      // Nothing inherited from the parent's command line (an --inspect port, a test runner's loader).
      execArgv: [],
      resourceLimits: { maxOldGenerationSizeMb: memoryMb, maxYoungGenerationSizeMb: Math.max(8, Math.round(memoryMb / 8)), stackSizeMb: 4 },
    });
    this.counts.started++;
    const slot: Slot = { worker, ready: false, running: null, timer: null };
    this.slots.add(slot);
    worker.unref();
    // A worker lost by anything but our own terminate(): out of memory (the running template's doing), a crash, or one
    // that never loaded. One that never loaded fails the tasks waiting for it now, rather than each starting another
    // worker that fails the same way.
    const lost = (error: Error & { code?: string }) => {
      clearTimeout(startup);
      if (!this.slots.has(slot)) return;
      if (error.code === "ERR_WORKER_OUT_OF_MEMORY" && slot.running) this.finish(slot, { kind: "template_error", problem: TOO_MUCH_MEMORY });
      if (!slot.ready) {
        const failure = new Error(`The template renderer could not start: ${error.message}`);
        for (const p of this.queue.splice(0)) p.reject(failure);
      }
      void this.retire(slot, new Error(`The template renderer failed: ${error.message}`));
    };
    const startup = setTimeout(() => lost(new Error(`the worker did not load within ${STARTUP_TIMEOUT_MS / 1000} s`)), STARTUP_TIMEOUT_MS);
    startup.unref();
    worker.on("message", (message: WorkerMessage) => {
      if (message.type === "ready") {
        clearTimeout(startup);
        slot.ready = true;
        this.dispatch();
      } else if (slot.running?.id === message.id) {
        this.finish(slot, message.outcome);
        slot.worker.unref();
        this.dispatch();
      }
    });
    worker.on("error", lost);
    worker.on("exit", (code) => lost(new Error(`it stopped unexpectedly (exit code ${code})`)));
  }
}

let shared: RenderPool | null = null;

/** The process's pool, sized and limited by RENDER_WORKERS, RENDER_TIMEOUT_MS and RENDER_MEMORY_MB. */
export function renderPool(): RenderPool {
  shared ??= new RenderPool({ size: env.RENDER_WORKERS, timeoutMs: env.RENDER_TIMEOUT_MS, memoryMb: env.RENDER_MEMORY_MB });
  return shared;
}

/** Stops the process's pool (shutdown, tests); the next render starts a new one. */
export async function closeRenderPool(): Promise<void> {
  const pool = shared;
  shared = null;
  await pool?.close();
}

function unexpected(outcome: RenderOutcome): Error {
  return new Error(outcome.kind === "crashed" ? `Rendering failed: ${outcome.message}` : `Unexpected render outcome: ${outcome.kind}`);
}

/**
 * renderEmail (app/email/render.ts), in a worker: throws TemplateRenderError for the template's own failures (including
 * the time and memory limits), and any other error when nothing could render it (the caller may try again later).
 */
export async function renderEmailInWorker(
  step: StepTemplate,
  vars: TemplateVariables,
  options: { key?: string; pool?: RenderPool; /** The email's language: the layout's fixed text and fonts (default English). */ language?: Language } = {},
): Promise<RenderedEmail> {
  const outcome = await (options.pool ?? renderPool()).run(
    { kind: "render", step: { subject: step.subject, bodyTemplate: step.bodyTemplate }, vars, ...(options.language ? { language: options.language } : {}) },
    options,
  );
  if (outcome.kind === "rendered") return outcome.email;
  if (outcome.kind === "template_error") throw new TemplateRenderError(outcome.problem);
  throw unexpected(outcome);
}

/**
 * renderEmailInWorker, and the MIME message built in the same worker (docs/decisions/094): what a real send needs,
 * with the bytes ready for the wire. Throws as renderEmailInWorker does.
 */
export async function renderMailInWorker(
  step: StepTemplate,
  vars: TemplateVariables,
  compose: ComposeFields,
  options: { key?: string; pool?: RenderPool; language?: Language } = {},
): Promise<{ rendered: RenderedEmail; mail: BuiltMail }> {
  return builtFrom(await (options.pool ?? renderPool()).run(emailTask(step, vars, compose, options.language), options));
}

function emailTask(step: StepTemplate, vars: TemplateVariables, compose: ComposeFields, language?: Language): Extract<RenderTask, { kind: "email" }> {
  return { kind: "email", step: { subject: step.subject, bodyTemplate: step.bodyTemplate }, vars, compose, ...(language ? { language } : {}) };
}

function builtFrom(outcome: RenderOutcome): { rendered: RenderedEmail; mail: BuiltMail } {
  if (outcome.kind === "built") {
    // A Buffer arrives from the worker as a plain Uint8Array: the same bytes, viewed as a Buffer again.
    const raw = Buffer.from(outcome.raw.buffer, outcome.raw.byteOffset, outcome.raw.byteLength);
    return { rendered: outcome.email, mail: { envelope: outcome.envelope, messageId: outcome.messageId, raw } };
  }
  if (outcome.kind === "template_error") throw new TemplateRenderError(outcome.problem);
  throw unexpected(outcome);
}

/** One email for renderMailsInWorker. */
export interface MailToRender {
  step: StepTemplate;
  vars: TemplateVariables;
  compose: ComposeFields;
  language?: Language;
}

/**
 * renderMailInWorker for many emails, in batches of `perBatch` (one message to a worker per batch instead of one per
 * email: ADR 094). Each email's result is its own: the rendered email and its bytes, or the error renderMailInWorker
 * would have thrown. A batch stopped as a whole (the hard time or memory limit, a lost worker) is rendered again one
 * email at a time, so only the template at fault gets the problem.
 */
export async function renderMailsInWorker(
  items: MailToRender[],
  options: { pool?: RenderPool; perBatch?: number } = {},
): Promise<({ rendered: RenderedEmail; mail: BuiltMail } | Error)[]> {
  const pool = options.pool ?? renderPool();
  const perBatch = Math.max(1, options.perBatch ?? items.length);
  const one = (item: MailToRender) => renderMailInWorker(item.step, item.vars, item.compose, { pool, language: item.language }).catch(asError);
  const batches: MailToRender[][] = [];
  for (let i = 0; i < items.length; i += perBatch) batches.push(items.slice(i, i + perBatch));
  const results = await Promise.all(
    batches.map(async (batch) => {
      if (batch.length === 1) return [await one(batch[0]!)];
      const tasks = batch.map((item) => emailTask(item.step, item.vars, item.compose, item.language));
      const outcome = await pool.run({ kind: "emails", tasks }).catch(asError);
      if (outcome instanceof Error || outcome.kind !== "batch") return Promise.all(batch.map(one));
      return outcome.outcomes.map((o) => {
        try {
          return builtFrom(o);
        } catch (error) {
          return asError(error);
        }
      });
    }),
  );
  return results.flat();
}

const asError = (e: unknown): Error => (e instanceof Error ? e : new Error(String(e)));

/** checkTemplate (app/email/render.ts), in a worker: a template that runs into a limit is one more problem. */
export async function checkTemplateInWorker(
  step: StepTemplate,
  sample: TemplateVariables,
  options: { key?: string; pool?: RenderPool } = {},
): Promise<TemplateProblem[]> {
  const outcome = await (options.pool ?? renderPool()).run(
    { kind: "check", step: { subject: step.subject, bodyTemplate: step.bodyTemplate }, sample },
    options,
  );
  if (outcome.kind === "checked") return outcome.problems;
  if (outcome.kind === "template_error") return [outcome.problem];
  throw unexpected(outcome);
}
