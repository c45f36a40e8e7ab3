/**
 * Recovery emails from Liquid templates (LiquidJS, the dialect merchants know from Shopify themes).
 * - `checkTemplate` runs when a step is saved: syntax errors and unknown variables/filters, each with line and column.
 * - `renderEmail` turns a step + variables into subject, HTML and plain text. The merchant's body sits inside our
 *   responsive layout, whose footer (why you get this, unsubscribe link, postal address) is always added.
 * Buyer-supplied values (names, item titles) are HTML-escaped; `| raw` is there for a merchant who needs it.
 */
import { Liquid, LiquidError, type Template } from "liquidjs";
import type { Language } from "../i18n/locales";
import { translatorFor } from "../i18n/translator";
import { MAX_BODY_LENGTH, type TemplateVariables } from "../recovery/template";
import { htmlToText } from "./html-to-text";

// `templates: {}` gives {% include %}, {% render %} and {% layout %} an empty in-memory file system: by default LiquidJS
// reads them from the server's disk, so a template could print `.env` or the database into an email or a preview.
const limits = { parseLimit: 200_000, renderLimit: 2_000, memoryLimit: 20_000_000, templates: {} };
const htmlEngine = new Liquid({ outputEscape: "escape", strictFilters: true, ownPropertyOnly: true, ...limits });
const textEngine = new Liquid({ strictFilters: true, ownPropertyOnly: true, ...limits });
const strictHtml = new Liquid({ outputEscape: "escape", strictFilters: true, strictVariables: true, ownPropertyOnly: true, ...limits });
const strictText = new Liquid({ strictFilters: true, strictVariables: true, ownPropertyOnly: true, ...limits });

export interface TemplateProblem {
  field: "subject" | "body";
  message: string;
  line: number | null;
  column: number | null;
}

export interface StepTemplate {
  subject: string;
  bodyTemplate: string;
}

export interface RenderedEmail {
  subject: string;
  html: string;
  text: string;
}

export const MAX_SUBJECT_LENGTH = 200;
export { MAX_BODY_LENGTH };
/** A rendered body past this is a runaway loop, not an email (mail clients clip at ~100 KB anyway). */
export const MAX_RENDERED_BODY_LENGTH = 500_000;

/** LiquidJS's limits in words the merchant can act on (the worker's hard limits say the same: app/email/render-pool.server.ts). */
const LIMIT_MESSAGES: Record<string, string> = {
  "template render limit exceeded": `This template took too long to render (over ${limits.renderLimit / 1000} s) and was stopped. Look for a loop that runs very many times, such as {% for %} over a large range`,
  "memory alloc limit exceeded": "This template needed too much memory to render and was stopped. Look for a loop or filter that builds very large text",
};

function problemFrom(field: TemplateProblem["field"], error: unknown): TemplateProblem {
  if (error instanceof LiquidError) {
    const position = (error as LiquidError & { token?: { getPosition?: () => [number, number] } }).token?.getPosition?.();
    const line = position?.[0] ?? null;
    const column = position?.[1] ?? null;
    // LiquidJS appends ", line:2, col:4" to its messages; we report them as fields instead.
    const raw = error.message.replace(/, line:\d+, col:\d+$/, "");
    const message = LIMIT_MESSAGES[raw] ?? raw;
    return { field, message: `${message}${line != null ? ` (line ${line}, column ${column})` : ""}`, line, column };
  }
  return { field, message: error instanceof Error ? error.message : String(error), line: null, column: null };
}

/** Problems with a step's templates, checked by parsing and by rendering against sample data with every variable present. */
export function checkTemplate(step: StepTemplate, sample: TemplateVariables): TemplateProblem[] {
  const problems: TemplateProblem[] = [];
  if (!step.subject.trim()) problems.push({ field: "subject", message: "Subject can't be empty", line: null, column: null });
  if (step.subject.length > MAX_SUBJECT_LENGTH * 2) problems.push({ field: "subject", message: "Subject is too long", line: null, column: null });
  if (!step.bodyTemplate.trim()) problems.push({ field: "body", message: "Template can't be empty", line: null, column: null });
  if (step.bodyTemplate.length > MAX_BODY_LENGTH)
    problems.push({ field: "body", message: `Template is longer than ${MAX_BODY_LENGTH} characters`, line: null, column: null });
  if (problems.length) return problems;
  for (const [field, source, engine] of [
    ["subject", step.subject, strictText],
    ["body", step.bodyTemplate, strictHtml],
  ] as const) {
    try {
      // Render twice: with and without an incentive, so both branches of `{% if incentive %}` are checked.
      const parsed = engine.parse(source);
      for (const vars of [sample, { ...sample, incentive: null }]) {
        const out = engine.renderSync(parsed, vars as unknown as Record<string, unknown>) as string;
        if (out.length > MAX_RENDERED_BODY_LENGTH) throw new Error(`Renders to more than ${MAX_RENDERED_BODY_LENGTH} characters`);
      }
    } catch (error) {
      problems.push(problemFrom(field, error));
    }
  }
  return problems;
}

// Parsed templates by source: the same few templates render thousands of times.
const parsedCache = new Map<string, Template[]>();
function parseCached(engine: Liquid, key: string, source: string): Template[] {
  const cacheKey = `${key}\u0000${source}`;
  let parsed = parsedCache.get(cacheKey);
  if (!parsed) {
    parsed = engine.parse(source);
    if (parsedCache.size > 500) parsedCache.clear();
    parsedCache.set(cacheKey, parsed);
  }
  return parsed;
}

export class TemplateRenderError extends Error {
  name = "TemplateRenderError";
  constructor(readonly problem: TemplateProblem) {
    super(`${problem.field}: ${problem.message}`);
  }
}

export function renderSubject(subject: string, vars: TemplateVariables): string {
  try {
    const out = textEngine.renderSync(parseCached(textEngine, "t", subject), vars as unknown as Record<string, unknown>) as string;
    return out.replace(/\s+/g, " ").trim().slice(0, MAX_SUBJECT_LENGTH);
  } catch (error) {
    throw new TemplateRenderError(problemFrom("subject", error));
  }
}

/**
 * `language` is the email's (app/recovery/email-language.ts): the layout's fixed text (why you get this, the
 * unsubscribe link) and its fonts follow it; the merchant's body and the postal address are rendered as written.
 */
export function renderEmail(step: StepTemplate, vars: TemplateVariables, language: Language = "en"): RenderedEmail {
  const subject = renderSubject(step.subject, vars);
  let body: string;
  try {
    body = htmlEngine.renderSync(parseCached(htmlEngine, "h", step.bodyTemplate), vars as unknown as Record<string, unknown>) as string;
    if (body.length > MAX_RENDERED_BODY_LENGTH) throw new Error(`Renders to more than ${MAX_RENDERED_BODY_LENGTH} characters`);
  } catch (error) {
    throw new TemplateRenderError(problemFrom("body", error));
  }
  const html = layout({ subject, body, vars, language });
  return { subject, html, text: htmlToText(html) };
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

const FONT = `-apple-system,BlinkMacSystemFont,'Segoe UI',Roboto,Helvetica,Arial,sans-serif`;
/**
 * Japanese emails name Japanese fonts before the Latin ones: Hiragino (Apple Mail, iOS, macOS), Yu Gothic and Meiryo
 * (Outlook and Windows Mail, which do not fall back per character as browsers do), Noto Sans JP (Android, Linux).
 */
const FONT_JA = `-apple-system,BlinkMacSystemFont,'Hiragino Sans','Hiragino Kaku Gothic ProN','Yu Gothic',Meiryo,'Noto Sans JP','Segoe UI',Roboto,Helvetica,Arial,sans-serif`;

/** The layout's font stack for an email in `language`. */
export function emailFontStack(language: Language): string {
  return language === "ja" ? FONT_JA : FONT;
}

/** The frame around every email: responsive container, shop name, merchant body, compliance footer. */
function layout({ subject, body, vars, language }: { subject: string; body: string; vars: TemplateVariables; language: Language }): string {
  const t = translatorFor(language);
  const font = emailFontStack(language);
  const shopName = escapeHtml(vars.shop.name);
  const address = vars.shop.postal_address.trim() ? escapeHtml(vars.shop.postal_address.trim()).replace(/\r?\n/g, "<br>") : escapeHtml(vars.shop.domain);
  const unsubscribe = escapeHtml(vars.unsubscribe_url);
  return `<!DOCTYPE html>
<html lang="${escapeHtml(vars.checkout.locale)}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="x-apple-disable-message-reformatting">
<meta name="color-scheme" content="light only">
<title>${escapeHtml(subject)}</title>
<style>
  body { margin: 0; padding: 0; }
  img { -ms-interpolation-mode: bicubic; }
  @media only screen and (max-width: 620px) {
    .container { width: 100% !important; }
    .content { padding: 24px 18px !important; }
    .item-image { width: 56px !important; }
    h1 { font-size: 21px !important; }
  }
</style>
</head>
<body style="margin:0;padding:0;background:#f4f5f7;">
<div style="display:none;max-height:0;overflow:hidden;opacity:0;">${escapeHtml(subject)}</div>
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="background:#f4f5f7;">
  <tr>
    <td align="center" style="padding:24px 12px;">
      <table role="presentation" class="container" width="600" cellpadding="0" cellspacing="0" style="width:600px;max-width:600px;background:#ffffff;border-radius:12px;">
        <tr>
          <td class="content" style="padding:32px;font-family:${font};color:#111827;">
            ${
              vars.shop.logo_url
                ? // Brand kit: the logo (https only, checked on save and in templateVariables) replaces the shop's name on top.
                  `<div style="margin:0 0 24px;"><img src="${escapeHtml(vars.shop.logo_url)}" alt="${shopName}" height="40" style="display:block;height:40px;max-width:200px;width:auto;border:0;"></div>`
                : `<div style="margin:0 0 24px;font-size:13px;font-weight:700;letter-spacing:.08em;text-transform:uppercase;color:#6b7280;">${shopName}</div>`
            }
${body}
          </td>
        </tr>
      </table>
      <table role="presentation" class="container" width="600" cellpadding="0" cellspacing="0" style="width:600px;max-width:600px;">
        <tr>
          <td style="padding:20px 32px;font-family:${font};font-size:12px;line-height:1.6;color:#6b7280;text-align:center;">
            <p style="margin:0 0 8px;">${t("emails:footer.why", { shop: shopName })}</p>
            <p style="margin:0 0 8px;"><a href="${unsubscribe}" style="color:#6b7280;text-decoration:underline;">${t("emails:footer.unsubscribe")}</a></p>
            <p style="margin:0;">${shopName} · ${address}</p>
          </td>
        </tr>
      </table>
    </td>
  </tr>
</table>
</body>
</html>`;
}
