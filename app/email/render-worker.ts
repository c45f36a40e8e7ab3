/**
 * The render worker: a `worker_threads` entry point that renders merchant templates (LiquidJS, then html-to-text) for
 * app/email/render-pool.server.ts, so that a slow or hostile template costs a worker thread, never the event loop that
 * answers webhooks and pages. Production runs it compiled, as its own entry point:
 * `app/email/render-worker.ts` → `<build>/node/app/email/render-worker.js` (scripts/build-node.mjs); development and
 * tests load it through tsx (render-worker-dev.mjs). docs/decisions/079.
 *
 * It holds no state between tasks that matters (the parsed-template cache only saves work) and needs nothing from the
 * environment: everything a render needs comes in the task.
 */
import { parentPort } from "node:worker_threads";
import { checkTemplate, renderEmail, TemplateRenderError, type RenderedEmail, type StepTemplate, type TemplateProblem } from "./render";
import type { TemplateVariables } from "../recovery/template";
import type { Language } from "../i18n/locales";

export type RenderTask =
  { kind: "check"; step: StepTemplate; sample: TemplateVariables } | { kind: "render"; step: StepTemplate; vars: TemplateVariables; language?: Language };

export type RenderOutcome =
  | { kind: "checked"; problems: TemplateProblem[] }
  | { kind: "rendered"; email: RenderedEmail }
  /** The template failed to render (a Liquid error, an output over the cap): the merchant's to fix. */
  | { kind: "template_error"; problem: TemplateProblem }
  /** Anything else (a bug, not the template's fault). */
  | { kind: "crashed"; message: string };

/** Messages from the worker: `ready` once loaded, then one reply per task, in order. */
export type WorkerMessage = { type: "ready" } | { type: "done"; id: number; outcome: RenderOutcome };
export interface TaskMessage {
  id: number;
  task: RenderTask;
}

export function runTask(task: RenderTask): RenderOutcome {
  try {
    if (task.kind === "check") return { kind: "checked", problems: checkTemplate(task.step, task.sample) };
    return { kind: "rendered", email: renderEmail(task.step, task.vars, task.language) };
  } catch (error) {
    if (error instanceof TemplateRenderError) return { kind: "template_error", problem: error.problem };
    return { kind: "crashed", message: error instanceof Error ? `${error.name}: ${error.message}` : String(error) };
  }
}

const port = parentPort;
if (port) {
  port.on("message", ({ id, task }: TaskMessage) => {
    const reply: WorkerMessage = { type: "done", id, outcome: runTask(task) };
    port.postMessage(reply);
  });
  port.postMessage({ type: "ready" } satisfies WorkerMessage);
}
