/**
 * The plain-text part of an email, derived from its HTML with `html-to-text` (htmlparser2 underneath: linear in the
 * input, unlike hand-written regexes, which were quadratic on unclosed `<span`, `<!--` or `<style` — a merchant
 * template could stall the process for seconds on every preview and send). Our HTML is our own layout plus merchant
 * Liquid; we want readable text with the links spelled out.
 */
import { convert, type HtmlToTextOptions } from "html-to-text";

const ENTITIES: Record<string, string> = {
  amp: "&",
  lt: "<",
  gt: ">",
  quot: '"',
  apos: "'",
  nbsp: " ",
  "#39": "'",
  times: "×",
  mdash: "—",
  ndash: "–",
  hellip: "…",
  euro: "€",
  pound: "£",
  copy: "©",
};

export function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+\d*);/gi, (m, name: string) => {
    const lower = name.toLowerCase();
    if (lower.startsWith("#x")) return String.fromCodePoint(parseInt(lower.slice(2), 16));
    if (lower.startsWith("#") && lower !== "#39") return String.fromCodePoint(parseInt(lower.slice(1), 10));
    return ENTITIES[lower] ?? m;
  });
}

const block = (selector: string) => ({ selector, format: "block", options: { leadingLineBreaks: 2, trailingLineBreaks: 2 } });
const hidden = (selector: string) => ({ selector, format: "skip" });

const OPTIONS: HtmlToTextOptions = {
  wordwrap: false,
  formatters: {
    // An image is its alt text in brackets, or nothing (tracking pixels, spacers): never its URL.
    altOnly: (elem, _walk, builder) => {
      const alt = (elem as { attribs?: Record<string, string> }).attribs?.alt?.trim();
      if (alt) builder.addInline(`[${alt}]`, { noWordTransform: true });
    },
  },
  // Bounds on the work done for hostile HTML (the output is already capped when rendering).
  limits: { maxInputLength: 2_000_000, maxDepth: 200, ellipsis: "…" },
  selectors: [
    // `hideLinkHrefIfSameAsText` is html-to-text 10's name (the bundled types still say `hideLinkIfSameAsText`).
    { selector: "a", options: { linkBrackets: ["(", ")"], hideLinkHrefIfSameAsText: true, noAnchorUrl: true } as Record<string, unknown> },
    { selector: "img", format: "altOnly" },
    ...["h1", "h2", "h3", "h4", "h5", "h6"].map((h) => ({ selector: h, options: { uppercase: false, leadingLineBreaks: 2, trailingLineBreaks: 2 } })),
    {
      selector: "table",
      format: "dataTable",
      options: { colSpacing: 2, uppercaseHeaderCells: false, leadingLineBreaks: 2, trailingLineBreaks: 2, maxColumnWidth: 1_000 },
    },
    { selector: "ul", options: { itemPrefix: "- " } },
    block("blockquote"),
    // Hidden preheaders are for the inbox preview only.
    ...['[style*="display:none"]', '[style*="display: none"]', "head", "style", "script", "title"].map(hidden),
  ],
};

export function htmlToText(html: string): string {
  return (
    convert(html, OPTIONS)
      .split("\n")
      // Table columns are padded to line up; two spaces between cells are enough in a mail client's proportional font.
      .map((line) =>
        line
          .replace(/[\u00a0\r\t]/g, " ")
          .replace(/ {2,}/g, "  ")
          .trim(),
      )
      .join("\n")
      .replace(/\n{3,}/g, "\n\n")
      .trim()
  );
}
