/**
 * The plain-text part of an email, derived from its HTML. Small on purpose: our HTML is our own layout plus merchant
 * Liquid, and we only need readable text with the links spelled out. (`html-to-text` would do more, but it is only
 * present here as a dependency of a dev dependency.)
 */

const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'", nbsp: " ", "#39": "'", times: "×", mdash: "—", ndash: "–", hellip: "…", euro: "€", pound: "£", copy: "©" };

export function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+\d*);/gi, (m, name: string) => {
    const lower = name.toLowerCase();
    if (lower.startsWith("#x")) return String.fromCodePoint(parseInt(lower.slice(2), 16));
    if (lower.startsWith("#") && lower !== "#39") return String.fromCodePoint(parseInt(lower.slice(1), 10));
    return ENTITIES[lower] ?? m;
  });
}

const attr = (tag: string, name: string): string | null => {
  const m = new RegExp(`\\s${name}\\s*=\\s*("([^"]*)"|'([^']*)'|([^\\s>]+))`, "i").exec(tag);
  return m ? (m[2] ?? m[3] ?? m[4] ?? "") : null; // raw: entities are decoded once, for the whole text
};

export function htmlToText(html: string): string {
  let s = html
    .replace(/<!--[\s\S]*?-->/g, "")
    .replace(/<(head|style|script|title)\b[\s\S]*?<\/\1>/gi, "")
    // Hidden preheaders are for the inbox preview only.
    .replace(/<(span|div)\b[^>]*display\s*:\s*none[^>]*>[\s\S]*?<\/\1>/gi, "");
  // Links: "label (url)", or the url alone when the label is the url.
  s = s.replace(/<a\b([^>]*)>([\s\S]*?)<\/a>/gi, (_m, attrs: string, inner: string) => {
    const rawHref = /\shref\s*=\s*("([^"]*)"|'([^']*)')/i.exec(` ${attrs}`);
    const href = rawHref ? (rawHref[2] ?? rawHref[3] ?? "") : "";
    const label = inner.replace(/<[^>]+>/g, "").replace(/\s+/g, " ").trim();
    if (!href || href.startsWith("#")) return label;
    // Entities are decoded once, for the whole text, below.
    return label && decodeEntities(label) !== decodeEntities(href) ? `${label} (${href})` : href;
  });
  s = s
    .replace(/<img\b[^>]*>/gi, (tag) => {
      const alt = attr(tag, "alt");
      return alt ? `[${alt}]` : "";
    })
    .replace(/<br\s*\/?>/gi, "\n")
    .replace(/<\/(td|th)>/gi, "\t")
    .replace(/<li\b[^>]*>/gi, "\n- ")
    .replace(/<\/(p|div|h[1-6]|tr|table|ul|ol|li|blockquote|section|header|footer)>/gi, "\n")
    .replace(/<(p|h[1-6]|table|blockquote)\b[^>]*>/gi, "\n")
    .replace(/<[^>]+>/g, "");
  s = decodeEntities(s);
  return s
    .split("\n")
    .map((line) =>
      line
        .split("\t")
        .map((cell) => cell.replace(/[ \u00a0\r]+/g, " ").trim())
        .filter(Boolean)
        .join("  "),
    )
    .join("\n")
    .replace(/\n{3,}/g, "\n\n")
    .trim();
}
