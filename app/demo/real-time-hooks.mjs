// Module hooks for the demo (registered by app/demo/real-time.ts): the modules named in `patterns` get the real Date
// instead of the demo's compressed one, by a `const Date` ahead of their code that shadows the global.
const REAL_DATE = 'globalThis[Symbol.for("reclaim-demo.real-date")]';
let patterns = [];

export function initialize(data) {
  patterns = data.patterns;
}

export async function load(url, context, nextLoad) {
  const result = await nextLoad(url, context);
  if (result.format !== "module" || !patterns.some((p) => url.includes(p))) return result;
  const source = typeof result.source === "string" ? result.source : new TextDecoder().decode(result.source);
  // On the first line, so line numbers in stack traces stay right.
  return { ...result, source: `const Date = ${REAL_DATE};${source}` };
}
