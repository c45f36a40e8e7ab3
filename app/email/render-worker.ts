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
import { buildMail, type ComposeFields } from "./compose";
import { checkTemplate, renderEmail, TemplateRenderError, type RenderedEmail, type StepTemplate, type TemplateProblem } from "./render";
import type { TemplateVariables } from "../recovery/template";
import type { Language } from "../i18n/locales";

export type RenderTask =
  | { kind: "check"; step: StepTemplate; sample: TemplateVariables }
  | { kind: "render"; step: StepTemplate; vars: TemplateVariables; language?: Language }
  /** Render, then build the whole MIME message here too (docs/decisions/094): the sender only writes its bytes. */
  | { kind: "email"; step: StepTemplate; vars: TemplateVariables; language?: Language; compose: ComposeFields }
  /** Several emails in one message to the worker, one after another (one hand-off per batch, not per email: ADR 094). */
  | { kind: "emails"; tasks: Extract<RenderTask, { kind: "email" }>[] };

export type RenderOutcome =
  | { kind: "checked"; problems: TemplateProblem[] }
  | { kind: "rendered"; email: RenderedEmail }
  /** `raw` is the message as it goes on the wire; `envelope` and `messageId` are what the SMTP transaction needs. */
  | { kind: "built"; email: RenderedEmail; raw: Uint8Array; envelope: { from: string; to: string[] }; messageId: string }
  /** The template failed to render (a Liquid error, an output over the cap): the merchant's to fix. */
  | { kind: "template_error"; problem: TemplateProblem }
  /** Anything else (a bug, not the template's fault). */
  | { kind: "crashed"; message: string }
  /** One outcome per task of an `emails` batch, in order. */
  | { kind: "batch"; outcomes: RenderOutcome[] };

/** Messages from the worker: `ready` once loaded, then one reply per task, in order. */
export type WorkerMessage = { type: "ready" } | { type: "done"; id: number; outcome: RenderOutcome };
export interface TaskMessage {
  id: number;
  task: RenderTask;
}

export async function runTask(task: RenderTask): Promise<RenderOutcome> {
  try {
    if (task.kind === "check") return { kind: "checked", problems: checkTemplate(task.step, task.sample) };
    if (task.kind === "emails") {
      const outcomes: RenderOutcome[] = [];
      for (const one of task.tasks) outcomes.push(await runTask(one));
      return { kind: "batch", outcomes };
    }
    const email = renderEmail(task.step, task.vars, task.language);
    if (task.kind === "render") return { kind: "rendered", email };
    const built = await buildMail({ ...task.compose, rendered: email });
    return { kind: "built", email, raw: built.raw, envelope: built.envelope, messageId: built.messageId };
  } catch (error) {
    if (error instanceof TemplateRenderError) return { kind: "template_error", problem: error.problem };
    return { kind: "crashed", message: error instanceof Error ? `${error.name}: ${error.message}` : String(error) };
  }
}

const port = parentPort;
if (port) {
  port.on("message", ({ id, task }: TaskMessage) => {
    void runTask(task).then((outcome) => port.postMessage({ type: "done", id, outcome } satisfies WorkerMessage));
  });
  port.postMessage({ type: "ready" } satisfies WorkerMessage);
}
