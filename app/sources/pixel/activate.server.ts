/**
 * Turns the checkout pixel on for one shop: `webPixelCreate` with the shop's settings (collector URL, shop domain,
 * collector key), or `webPixelUpdate` when the shop already has Reclaim's pixel, and records the outcome on the Shop
 * row in words a merchant can act on. Called by the activate-web-pixel job (install) and Settings → Checkout pixel.
 */
import type { Prisma, PrismaClient } from "@prisma/client";
import { env } from "../../env.server";
import { enqueueJob } from "../../jobs/queue.server";
import type { AdminGraphql, AdminOutcome } from "../shopify/admin-client.server";
import { collectorKeyFor } from "./collector-key.server";

export const WEB_PIXEL_CREATE = `#graphql
mutation ReclaimWebPixelCreate($webPixel: WebPixelInput!) {
  webPixelCreate(webPixel: $webPixel) {
    webPixel { id }
    userErrors { field message code }
  }
}`;

export const WEB_PIXEL_UPDATE = `#graphql
mutation ReclaimWebPixelUpdate($id: ID!, $webPixel: WebPixelInput!) {
  webPixelUpdate(id: $id, webPixel: $webPixel) {
    webPixel { id }
    userErrors { field message code }
  }
}`;

/** Without an id, `webPixel` answers the calling app's own pixel on the shop. */
export const CURRENT_WEB_PIXEL = `#graphql
query ReclaimCurrentWebPixel {
  webPixel { id }
}`;

/** What webPixelCreate/webPixelUpdate need besides write_pixels (shopify.app.toml explains why each is asked for). */
export const PIXEL_SCOPES = ["write_pixels", "read_customer_events"] as const;

export type WebPixelStatus = "not_activated" | "active" | "missing_scopes" | "failed";

export interface PixelSettings {
  collectorUrl: string;
  shopDomain: string;
  collectorKey: string;
}

/** The values for extensions/reclaim-checkout-pixel/shopify.extension.toml's [settings], for one shop. */
export function pixelSettingsFor(shopDomain: string): PixelSettings {
  return {
    collectorUrl: new URL("/pixel/events", env.SHOPIFY_APP_URL).toString(),
    shopDomain,
    collectorKey: collectorKeyFor(shopDomain),
  };
}

export interface ActivationResult {
  status: WebPixelStatus;
  webPixelId: string | null;
  /** Merchant-readable; null when active. */
  error: string | null;
  /** Trying again later may help (Shopify unavailable, throttled). */
  retry: boolean;
}

export function missingPixelScopes(grantedScopes: string): string[] {
  const granted = new Set(
    grantedScopes
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean),
  );
  // write_X implies read_X, as on Shopify.
  return PIXEL_SCOPES.filter((scope) => !granted.has(scope) && !granted.has(scope.replace(/^read_/, "write_")));
}

const MISSING_SCOPES_MESSAGE = (scopes: string[]) =>
  `Reclaim needs the ${scopes.map((s) => `"${s}"`).join(" and ")} permission${scopes.length > 1 ? "s" : ""} for its checkout pixel ` +
  `(write_pixels turns the pixel on; read_customer_events lets it receive checkout events). Open Reclaim from Apps and approve ` +
  `the updated permissions when Shopify asks, then choose "Activate again".`;

interface PixelPayload {
  webPixel: { id: string } | null;
  userErrors: { field: string[] | null; message: string; code: string | null }[];
}

type Step =
  | { kind: "done"; id: string }
  | { kind: "user_errors"; errors: PixelPayload["userErrors"] }
  | { kind: "outcome"; outcome: Exclude<AdminOutcome<unknown>, { kind: "ok" }> };

async function mutate(graphql: AdminGraphql, query: string, field: "webPixelCreate" | "webPixelUpdate", variables: Record<string, unknown>): Promise<Step> {
  const outcome = await graphql<Record<string, PixelPayload | null>>(query, variables);
  if (outcome.kind !== "ok") return { kind: "outcome", outcome };
  const payload = outcome.data?.[field];
  // A nullable root field refused for want of a scope comes back as data { field: null } plus ACCESS_DENIED.
  if (!payload && outcome.denied.length > 0)
    return { kind: "outcome", outcome: { kind: "access_denied", message: outcome.denied.map((e) => e.message).join(" ") } };
  if (payload?.webPixel?.id && payload.userErrors.length === 0) return { kind: "done", id: payload.webPixel.id };
  return { kind: "user_errors", errors: payload?.userErrors ?? [{ field: null, message: `${field} returned no pixel`, code: null }] };
}

function fromOutcome(outcome: Exclude<AdminOutcome<unknown>, { kind: "ok" }>): ActivationResult {
  switch (outcome.kind) {
    case "access_denied":
      return { status: "missing_scopes", webPixelId: null, error: MISSING_SCOPES_MESSAGE([...PIXEL_SCOPES]), retry: false };
    case "unauthorized":
      return {
        status: "failed",
        webPixelId: null,
        error: `Shopify refused Reclaim's access to this shop (${outcome.message}). Open Reclaim from Apps to sign in again.`,
        retry: false,
      };
    case "throttled":
    case "transient":
    case "max_cost":
      return { status: "failed", webPixelId: null, error: "Shopify did not answer the activation request; Reclaim tries again automatically.", retry: true };
    case "failed":
      return { status: "failed", webPixelId: null, error: `Shopify could not activate the pixel: ${outcome.message}`, retry: false };
  }
}

function fromUserErrors(errors: PixelPayload["userErrors"]): ActivationResult {
  const message = errors.map((e) => e.message).join("; ");
  const notDeployed = errors.some((e) => e.code === "NO_EXTENSION" || e.code === "INVALID_SETTINGS_DEFINITION");
  return {
    status: "failed",
    webPixelId: null,
    error: notDeployed
      ? `Shopify does not have Reclaim's pixel extension for this app version (${message}). The app's operator must deploy it with "shopify app deploy".`
      : `Shopify refused the pixel's settings: ${message}`,
    retry: errors.some((e) => e.code === "UNEXPECTED_ERROR"),
  };
}

/**
 * Creates or updates Reclaim's pixel with the shop's current settings. Idempotent: an existing pixel (ours, from an
 * earlier activation or install) is updated rather than duplicated.
 */
export async function activateWebPixel(
  shop: { domain: string; grantedScopes: string; webPixelId: string | null },
  graphql: AdminGraphql,
): Promise<ActivationResult> {
  // Scopes known to be missing: say so without a call Shopify would refuse. (Unknown scopes: ask Shopify.)
  const missing = shop.grantedScopes.trim() ? missingPixelScopes(shop.grantedScopes) : [];
  if (missing.length > 0) return { status: "missing_scopes", webPixelId: null, error: MISSING_SCOPES_MESSAGE(missing), retry: false };

  const webPixel = { settings: JSON.stringify(pixelSettingsFor(shop.domain)) };
  const update = (id: string) => mutate(graphql, WEB_PIXEL_UPDATE, "webPixelUpdate", { id, webPixel });

  let step: Step = shop.webPixelId
    ? await update(shop.webPixelId)
    : { kind: "user_errors", errors: [{ field: ["id"], message: "not created yet", code: "NOT_FOUND" }] };
  if (step.kind === "user_errors" && step.errors.some((e) => e.code === "NOT_FOUND")) {
    step = await mutate(graphql, WEB_PIXEL_CREATE, "webPixelCreate", { webPixel });
    if (step.kind === "user_errors" && step.errors.some((e) => e.code === "TAKEN")) {
      // The shop already has our pixel (activated before Reclaim stored its id): update that one.
      const current = await graphql<{ webPixel: { id: string } | null }>(CURRENT_WEB_PIXEL, {});
      if (current.kind !== "ok") step = { kind: "outcome", outcome: current as Exclude<AdminOutcome<unknown>, { kind: "ok" }> };
      else if (current.data?.webPixel?.id) step = await update(current.data.webPixel.id);
    }
  }
  if (step.kind === "done") return { status: "active", webPixelId: step.id, error: null, retry: false };
  return step.kind === "outcome" ? fromOutcome(step.outcome) : fromUserErrors(step.errors);
}

/** Runs the activation for a stored shop and records its outcome (a failure keeps the pixel id Reclaim knew). */
export async function activateAndRecord(
  db: PrismaClient,
  shopId: string,
  graphql: (domain: string) => AdminGraphql,
  now: Date,
): Promise<ActivationResult | null> {
  const shop = await db.shop.findUnique({ where: { id: shopId }, select: { domain: true, grantedScopes: true, webPixelId: true, uninstalledAt: true } });
  if (!shop || shop.uninstalledAt) return null;
  const result = await activateWebPixel(shop, graphql(shop.domain));
  await db.shop.update({
    where: { id: shopId },
    data: {
      webPixelStatus: result.status,
      webPixelError: result.error,
      webPixelUpdatedAt: now,
      ...(result.webPixelId ? { webPixelId: result.webPixelId } : {}),
    },
  });
  return result;
}

export const ACTIVATE_WEB_PIXEL_JOB = "activate-web-pixel";

/**
 * Queues the activate-web-pixel job (install step, a scopes update, Settings → Checkout pixel): activation runs as its
 * own job so its retries never hold up the first sync. One per shop at a time (job key).
 */
export async function enqueuePixelActivation(db: PrismaClient | Prisma.TransactionClient, shopId: string): Promise<void> {
  await enqueueJob(db, ACTIVATE_WEB_PIXEL_JOB, { shopId }, { key: `${ACTIVATE_WEB_PIXEL_JOB}:${shopId}`, shopId });
}
