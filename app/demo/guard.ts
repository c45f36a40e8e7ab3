/**
 * When the demo refuses to start. It serves fake Shopify and Stripe services, signs its own session tokens and runs on
 * a compressed clock, so it must never run where a merchant's data could be: not with NODE_ENV=production, and not
 * unless someone asked for it explicitly (`npm run demo` passes the flag).
 */
export const ENABLE_FLAG = "--enable-demo";

export function demoRefusal(env: Record<string, string | undefined>, argv: readonly string[]): string | null {
  if (env.NODE_ENV === "production") {
    return "The Reclaim demo never runs with NODE_ENV=production: it starts fake Shopify and Stripe services and signs its own session tokens. Unset NODE_ENV and run `npm run demo`.";
  }
  if (!argv.includes(ENABLE_FLAG)) {
    return `The Reclaim demo only starts when enabled explicitly. Run \`npm run demo\` (it passes ${ENABLE_FLAG}).`;
  }
  return null;
}
