/**
 * `npm run stripe:connect -- --shop <shop.myshopify.com> --webhook-secret <whsec_…> [--api-key <rk_…>]`
 *
 * Connects a shop's Stripe account without the admin UI (operations, automation), exactly as Settings → Stripe does:
 * same checks (format; the key with one Stripe API call), same encryption, same rotation if the shop is already
 * connected. Prints the endpoint path on stdout (one line, for scripts); everything else goes to stderr.
 * `--endpoint-only` prints the path the shop's endpoint has, or will have, without connecting (Stripe reveals the
 * signing secret only after the endpoint exists). Exit codes: 0 done, 1 refused (unknown shop, bad secret or key), 2 usage.
 */
import { parseArgs } from "node:util";

const USAGE = "usage: npm run stripe:connect -- --shop <shop.myshopify.com> --webhook-secret <whsec_…> [--api-key <rk_…>] [--endpoint-only]";

function fail(code: 1 | 2, message: string): never {
  process.stderr.write(`error: ${message}\n`);
  if (code === 2) process.stderr.write(`${USAGE}\n`);
  process.exit(code);
}

function parse() {
  try {
    return parseArgs({
      args: process.argv.slice(2),
      options: {
        shop: { type: "string" },
        "webhook-secret": { type: "string" },
        "api-key": { type: "string" },
        "endpoint-only": { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (error) {
    // parseArgs names the offending flag ("Unknown option '--sceret'"). A stray positional may be a pasted secret: not echoed.
    const code = (error as { code?: string }).code;
    if (code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL") return fail(2, "unexpected argument: every value must follow its flag, e.g. --webhook-secret whsec_…");
    const message = error instanceof Error ? error.message.split("\n")[0]! : String(error);
    return fail(2, message.replace(/\b(whsec|rk_live|rk_test|sk_live|sk_test)_[A-Za-z0-9]+/g, "[redacted]").slice(0, 200));
  }
}

async function main() {
  const args = parse();
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const shopDomain = args.shop?.trim().toLowerCase();
  if (!shopDomain) fail(2, "--shop is required (the shop's permanent domain, e.g. acme.myshopify.com)");
  if (!/^[a-z0-9][a-z0-9-]*\.myshopify\.com$/.test(shopDomain))
    fail(2, `--shop must be a myshopify.com domain, e.g. acme.myshopify.com (got "${shopDomain.slice(0, 100)}")`);
  if (!args["endpoint-only"] && args["webhook-secret"] === undefined) fail(2, "--webhook-secret is required (the endpoint's signing secret, whsec_…)");

  // App modules validate the environment on import; load them only once the arguments are known to be usable.
  const { db } = await import("../app/db.server");
  const { connectStripe, endpointPathFor } = await import("../app/models/stripe-connection.server");
  const { checkApiKey } = await import("../app/sources/stripe/api.server");
  try {
    const shop = await db.shop.findUnique({ where: { domain: shopDomain }, select: { id: true, uninstalledAt: true } });
    if (!shop) fail(1, `no shop ${shopDomain} in this database: install Reclaim on it first`);
    if (shop.uninstalledAt) fail(1, `${shopDomain} has uninstalled Reclaim`);

    if (args["endpoint-only"]) {
      process.stdout.write(`${await endpointPathFor(db, shop.id)}\n`);
      return;
    }
    const result = await connectStripe(db, shop.id, { webhookSecret: args["webhook-secret"]!, apiKey: args["api-key"] ?? null }, { checkKey: checkApiKey });
    if (!result.ok) {
      if (result.errors.webhookSecret) process.stderr.write(`error: --webhook-secret: ${result.errors.webhookSecret}\n`);
      if (result.errors.apiKey) process.stderr.write(`error: --api-key: ${result.errors.apiKey}\n`);
      process.exit(1);
    }
    const c = result.connection;
    process.stderr.write(
      [
        `${result.created ? "Connected" : "Updated"} Stripe for ${shopDomain}.`,
        c.previousSecretExpiresAt ? `The previous signing secret keeps verifying until ${c.previousSecretExpiresAt.toISOString()}.` : null,
        c.apiKeyLast4 ? `API key: set, ending in ${c.apiKeyLast4} (${c.apiKeyMode} mode).` : "API key: not set (recoveries will have no line items).",
        "In Stripe, the endpoint must send: checkout.session.expired, checkout.session.completed, checkout.session.async_payment_succeeded, checkout.session.async_payment_failed.",
        "Endpoint path (append to the app URL):",
      ]
        .filter(Boolean)
        .join("\n") + "\n",
    );
    process.stdout.write(`${c.endpointPath}\n`);
  } finally {
    await db.$disconnect();
  }
}

main().catch((error) => {
  // Environment problems name the variable (app/env.server.ts); nothing here prints a secret.
  fail(1, error instanceof Error ? error.message : String(error));
});
