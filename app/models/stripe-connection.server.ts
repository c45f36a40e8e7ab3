import { createHmac } from "node:crypto";
import type { PrismaClient, StripeConnection } from "@prisma/client";
import { env } from "../env.server";
import { logger } from "../logger.server";
import { decryptSecret, encryptSecret, UnreadableSecretError } from "../security/encryption.server";
import { isUniqueViolation } from "./inbound-event.server";
import { apiKeyIsLive, apiKeyProblem, webhookSecretProblem } from "./stripe-secret-format";

/**
 * A shop's Stripe connection: where its webhooks land (`/webhooks/stripe/<id>`), the endpoint's signing secret and an
 * optional restricted API key, both encrypted at rest (AES-256-GCM, app/security/encryption.server.ts).
 * Secrets go in and never come back out to pages: the view below says only whether they are set, and the key's last 4.
 * Decrypted secrets leave this module only for signature verification and for the job's API calls.
 * Every function that a merchant can reach is scoped by shopId (invariant 4).
 */

/** Stripe lets a rolled secret keep signing for up to 24 h; the previous secret verifies that long here too. */
export const ROTATION_OVERLAP_MS = 24 * 60 * 60 * 1000;

export const STRIPE_EVENT_TYPES = [
  "checkout.session.expired",
  "checkout.session.completed",
  "checkout.session.async_payment_succeeded",
  "checkout.session.async_payment_failed",
  // Money that comes back out of a recovery (docs/decisions/076).
  "charge.refunded",
  "charge.dispute.created",
  "charge.dispute.closed",
] as const;

/** Which Stripe mode a connection's recoveries come from. */
export type StripeMode = "live" | "test";
/** How the mode was set. */
export type StripeModeSource = "first_event" | "api_key" | "merchant";

/**
 * Why an event was stored and acknowledged but not acted on (InboundEvent.ignoredReason). Events of the other mode and
 * from connected accounts of a connection that is not a Connect platform never create recoveries or purchases.
 */
export const IGNORED_REASONS = {
  test_mode: "a test-mode event on a live connection",
  live_mode: "a live-mode event on a test connection",
  connected_account: "an event from a connected account (event.account) on a connection that is not a Connect platform",
  thin_event: "a thin event (no data.object): choose snapshot payloads for this endpoint",
  setup_mode: "a Checkout Session in setup mode (it collects a payment method, nothing is bought)",
  payment_recovery_off: "an invoice or subscription event while payment recovery is off for this connection (docs/decisions/087)",
} as const;
export type IgnoredReason = keyof typeof IGNORED_REASONS;

/**
 * The connection's mode for an event: its stored mode, else learned now and stored (once; a concurrent job that learned
 * first wins) from the connected API key's mode if there is one, else from this first verified event. Then whether the
 * event is one this connection acts on, or why it is ignored.
 */
export async function modeGate(
  db: PrismaClient,
  connectionId: string,
  event: { livemode: boolean; account?: string | null },
  now: Date,
  /** The connection's row when the caller has it already (a batch of events): not read again. */
  loaded?: { mode: string | null; apiKeyEncrypted: string | null; livemode: boolean | null; connectPlatform: boolean } | null,
): Promise<{ mode: StripeMode; ignored: IgnoredReason | null } | null> {
  const c =
    loaded ??
    (await db.stripeConnection.findUnique({
      where: { id: connectionId },
      select: { mode: true, apiKeyEncrypted: true, livemode: true, connectPlatform: true },
    }));
  if (!c) return null;
  let mode: StripeMode | null = c.mode === "live" || c.mode === "test" ? c.mode : null;
  if (!mode) {
    const fromKey = c.apiKeyEncrypted && c.livemode !== null;
    const learned: StripeMode = fromKey ? (c.livemode ? "live" : "test") : event.livemode ? "live" : "test";
    await db.stripeConnection.updateMany({
      where: { id: connectionId, mode: null },
      data: { mode: learned, modeSource: fromKey ? "api_key" : "first_event", modeSetAt: now },
    });
    const stored = (await db.stripeConnection.findUnique({ where: { id: connectionId }, select: { mode: true } }))?.mode;
    mode = stored === "live" || stored === "test" ? stored : learned;
  }
  const connectionMode: StripeMode = mode;
  if (event.account && !c.connectPlatform) return { mode: connectionMode, ignored: "connected_account" };
  const eventMode: StripeMode = event.livemode ? "live" : "test";
  if (eventMode !== connectionMode) return { mode: connectionMode, ignored: eventMode === "test" ? "test_mode" : "live_mode" };
  return { mode: connectionMode, ignored: null };
}

/** The merchant's choice in Settings › Stripe: the mode, and whether the endpoint is a Connect platform's. */
export async function setConnectionMode(
  db: PrismaClient,
  shopId: string,
  connectionId: string,
  input: { mode: StripeMode; connectPlatform: boolean },
  now = new Date(),
): Promise<boolean> {
  const { count } = await db.stripeConnection.updateMany({
    where: { id: connectionId, shopId },
    data: { mode: input.mode, modeSource: "merchant", modeSetAt: now, connectPlatform: input.connectPlatform },
  });
  return count === 1;
}

export interface IgnoredEventCount {
  reason: IgnoredReason;
  count: number;
  since: Date;
}

/** What a connection stored but did not act on, by reason, with the first such event's arrival (Settings › Stripe). */
export async function ignoredEventCounts(db: PrismaClient, shopId: string, connectionId: string): Promise<IgnoredEventCount[]> {
  const owned = await db.stripeConnection.count({ where: { id: connectionId, shopId } });
  if (owned === 0) return [];
  const rows = await db.inboundEvent.groupBy({
    by: ["ignoredReason"],
    where: { source: "stripe", receiver: connectionId, ignoredReason: { not: null } },
    _count: { _all: true },
    _min: { receivedAt: true },
  });
  return rows
    .filter((r): r is typeof r & { ignoredReason: IgnoredReason } => r.ignoredReason !== null && Object.hasOwn(IGNORED_REASONS, r.ignoredReason))
    .map((r) => ({ reason: r.ignoredReason, count: r._count._all, since: r._min.receivedAt! }))
    .sort((a, b) => a.reason.localeCompare(b.reason));
}

export const endpointPath = (connectionId: string) => `/webhooks/stripe/${connectionId}`;

/**
 * The id a shop's connection gets when it is created. Stripe shows an endpoint's signing secret only after the endpoint
 * (with its URL) exists, so the URL must be known before the connection is: the id is derived from the shop, stable
 * across page loads, and unguessable without the server's key. Same shape as a cuid (25 lowercase letters/digits).
 */
export function proposedConnectionId(shopId: string): string {
  const digest = createHmac("sha256", env.LINK_SIGNING_SECRET).update(`stripe-connection:${shopId}`).digest();
  return `c${BigInt(`0x${digest.subarray(0, 16).toString("hex")}`)
    .toString(36)
    .padStart(24, "0")
    .slice(0, 24)}`;
}

/** The endpoint path of the shop's connection, or the one it will have once connected. */
export async function endpointPathFor(db: PrismaClient, shopId: string): Promise<string> {
  const existing = await theConnection(db, shopId);
  return endpointPath(existing?.id ?? proposedConnectionId(shopId));
}

export interface StripeConnectionView {
  id: string;
  endpointPath: string;
  /** During a rotation: until when the previous signing secret still verifies. */
  previousSecretExpiresAt: Date | null;
  apiKeyLast4: string | null;
  apiKeyMode: "live" | "test" | null;
  /** The mode whose events become recoveries; null until the first event (or the merchant's choice). */
  mode: StripeMode | null;
  modeSource: StripeModeSource | null;
  connectPlatform: boolean;
  lastEventAt: Date | null;
  createdAt: Date;
}

export type FieldErrors = Partial<Record<"webhookSecret" | "apiKey", string>>;
export type ConnectionResult = { ok: true; connection: StripeConnectionView; created: boolean } | { ok: false; errors: FieldErrors };

export interface ConnectionOptions {
  now?: Date;
  /**
   * The cheap API call that proves a key works (app/sources/stripe/api.server.ts `checkApiKey`), passed in by the caller
   * (the model does not call Stripe); needed whenever an API key is given.
   */
  checkKey?: (apiKey: string) => Promise<KeyCheck>;
}

function toView(c: StripeConnection, now: Date): StripeConnectionView {
  const rotating = c.previousWebhookSecretEncrypted !== null && c.previousSecretExpiresAt !== null && c.previousSecretExpiresAt > now;
  return {
    id: c.id,
    endpointPath: endpointPath(c.id),
    previousSecretExpiresAt: rotating ? c.previousSecretExpiresAt : null,
    apiKeyLast4: c.apiKeyLast4,
    apiKeyMode: c.apiKeyEncrypted ? (c.livemode ? "live" : "test") : null,
    mode: c.mode === "live" || c.mode === "test" ? c.mode : null,
    modeSource: (c.modeSource as StripeModeSource | null) ?? null,
    connectPlatform: c.connectPlatform,
    lastEventAt: c.lastEventAt,
    createdAt: c.createdAt,
  };
}

/**
 * Which of a shop's StripeConnection rows is "the" connection: a shop has one, and if a script or a race ever made
 * more, the oldest wins (its endpoint is the one Stripe was given first). The only place that rule is written: the
 * settings pages, the Overview and connecting again all go through here.
 */
function theConnection(db: PrismaClient, shopId: string): Promise<StripeConnection | null> {
  return db.stripeConnection.findFirst({ where: { shopId }, orderBy: [{ createdAt: "asc" }, { id: "asc" }] });
}

/** The shop's connection (see theConnection), as the pages show it. */
export async function getStripeConnection(db: PrismaClient, shopId: string, now = new Date()): Promise<StripeConnectionView | null> {
  const c = await theConnection(db, shopId);
  return c ? toView(c, now) : null;
}

/** What the caller's key check answers (app/sources/stripe/api.server.ts `KeyCheck`). */
type KeyCheck = { ok: true } | { ok: false; problem: string };

async function validateApiKey(apiKey: string, checkKey: ((k: string) => Promise<KeyCheck>) | undefined): Promise<string | null> {
  const problem = apiKeyProblem(apiKey);
  if (problem) return problem;
  if (!checkKey) throw new Error("An API key is proved with one Stripe call: pass options.checkKey (checkApiKey)");
  const check = await checkKey(apiKey.trim());
  return check.ok ? null : check.problem;
}

/** Where each secret of a connection is stored: bound into its ciphertext, so it opens only in that row and column. */
const secretPlace = (connectionId: string, column: "webhookSecretEncrypted" | "previousWebhookSecretEncrypted" | "apiKeyEncrypted") =>
  ({ model: "StripeConnection", column, rowId: connectionId }) as const;

/** The connection's current signing secret, or null when it does not open for this row (then it is simply replaced). */
function currentSecret(connection: StripeConnection): string | null {
  try {
    return decryptSecret(connection.webhookSecretEncrypted, secretPlace(connection.id, "webhookSecretEncrypted"));
  } catch (error) {
    if (error instanceof UnreadableSecretError) return null;
    throw error;
  }
}

function apiKeyColumns(connectionId: string, apiKey: string) {
  const key = apiKey.trim();
  return { apiKeyEncrypted: encryptSecret(key, secretPlace(connectionId, "apiKeyEncrypted")), apiKeyLast4: key.slice(-4), livemode: apiKeyIsLive(key) };
}

/**
 * Connects Stripe for a shop, or, if it is already connected, takes the new signing secret as a rotation (the old one
 * keeps verifying for 24 h) and the new key if one is given. Nothing is written unless every value is valid.
 */
export async function connectStripe(
  db: PrismaClient,
  shopId: string,
  input: { webhookSecret: string; apiKey?: string | null },
  options: ConnectionOptions = {},
): Promise<ConnectionResult> {
  const now = options.now ?? new Date();
  const errors: FieldErrors = {};
  const secretProblem = webhookSecretProblem(input.webhookSecret);
  if (secretProblem) errors.webhookSecret = secretProblem;
  const apiKey = input.apiKey?.trim() ? input.apiKey.trim() : null;
  if (apiKey) {
    const keyProblem = await validateApiKey(apiKey, options.checkKey);
    if (keyProblem) errors.apiKey = keyProblem;
  }
  if (errors.webhookSecret || errors.apiKey) return { ok: false, errors };

  const secret = input.webhookSecret.trim();
  const existing = await theConnection(db, shopId);
  if (!existing) {
    try {
      const id = proposedConnectionId(shopId);
      const created = await db.stripeConnection.create({
        data: {
          id,
          shopId,
          webhookSecretEncrypted: encryptSecret(secret, secretPlace(id, "webhookSecretEncrypted")),
          ...(apiKey ? apiKeyColumns(id, apiKey) : {}),
        },
      });
      return { ok: true, connection: toView(created, now), created: true };
    } catch (error) {
      // A second submit won the race to create it: theirs stands, and this one updates it like any reconnect.
      if (!isUniqueViolation(error)) throw error;
      return connectStripe(db, shopId, input, { ...options, checkKey: async () => ({ ok: true }) });
    }
  }
  const sameSecret = currentSecret(existing) === secret;
  const updated = await db.stripeConnection.update({
    where: { id: existing.id },
    data: {
      ...(sameSecret ? {} : rotationColumns(existing, secret, now)),
      ...(apiKey ? apiKeyColumns(existing.id, apiKey) : {}),
    },
  });
  forget(existing.id); // after the write, so a concurrent read cannot re-cache the old secrets
  return { ok: true, connection: toView(updated, now), created: false };
}

function rotationColumns(existing: StripeConnection, newSecret: string, now: Date) {
  // The current secret moves to the previous column, sealed again for that column (a ciphertext opens only where it was put).
  const current = currentSecret(existing);
  return {
    webhookSecretEncrypted: encryptSecret(newSecret, secretPlace(existing.id, "webhookSecretEncrypted")),
    previousWebhookSecretEncrypted: current === null ? null : encryptSecret(current, secretPlace(existing.id, "previousWebhookSecretEncrypted")),
    previousSecretExpiresAt: current === null ? null : new Date(now.getTime() + ROTATION_OVERLAP_MS),
    // A new signing secret is often a new endpoint (test → live): a mode learned from events is learned again.
    ...(existing.modeSource === "first_event" ? { mode: null, modeSource: null, modeSetAt: null } : {}),
  };
}

async function findOwned(db: PrismaClient, shopId: string, connectionId: string) {
  return db.stripeConnection.findFirst({ where: { id: connectionId, shopId } });
}

const NOT_FOUND: ConnectionResult = { ok: false, errors: { webhookSecret: "This Stripe connection no longer exists. Reload the page." } };

/** Rotation: the new secret signs from now on; the current one keeps verifying for 24 h (Stripe's longest overlap). */
export async function rotateWebhookSecret(
  db: PrismaClient,
  shopId: string,
  connectionId: string,
  newSecret: string,
  options: ConnectionOptions = {},
): Promise<ConnectionResult> {
  const now = options.now ?? new Date();
  const problem = webhookSecretProblem(newSecret);
  if (problem) return { ok: false, errors: { webhookSecret: problem } };
  const existing = await findOwned(db, shopId, connectionId);
  if (!existing) return NOT_FOUND;
  if (currentSecret(existing) === newSecret.trim()) {
    return { ok: false, errors: { webhookSecret: "This is already the current signing secret. Roll the secret in Stripe first, then paste the new one." } };
  }
  const updated = await db.stripeConnection.update({ where: { id: existing.id }, data: rotationColumns(existing, newSecret.trim(), now) });
  forget(existing.id);
  return { ok: true, connection: toView(updated, now), created: false };
}

/** Ends a rotation early: only the current secret verifies from now on. */
export async function endRotation(db: PrismaClient, shopId: string, connectionId: string, now = new Date()): Promise<ConnectionResult> {
  const existing = await findOwned(db, shopId, connectionId);
  if (!existing) return NOT_FOUND;
  const updated = await db.stripeConnection.update({
    where: { id: existing.id },
    data: { previousWebhookSecretEncrypted: null, previousSecretExpiresAt: null },
  });
  forget(existing.id);
  return { ok: true, connection: toView(updated, now), created: false };
}

/** Sets (after the format check and one API call) or removes the restricted API key. */
export async function setApiKey(
  db: PrismaClient,
  shopId: string,
  connectionId: string,
  apiKey: string | null,
  options: ConnectionOptions = {},
): Promise<ConnectionResult> {
  const now = options.now ?? new Date();
  if (apiKey !== null) {
    const problem = await validateApiKey(apiKey, options.checkKey);
    if (problem) return { ok: false, errors: { apiKey: problem } };
  }
  const existing = await findOwned(db, shopId, connectionId);
  if (!existing) return NOT_FOUND;
  const updated = await db.stripeConnection.update({
    where: { id: existing.id },
    data: apiKey !== null ? apiKeyColumns(existing.id, apiKey) : { apiKeyEncrypted: null, apiKeyLast4: null },
  });
  return { ok: true, connection: toView(updated, now), created: false };
}

/** Removes the connection: its endpoint answers 400 from now on. Recoveries already made stay. */
export async function disconnectStripe(db: PrismaClient, shopId: string, connectionId: string): Promise<boolean> {
  const { count } = await db.stripeConnection.deleteMany({ where: { id: connectionId, shopId } });
  if (count === 1) forget(connectionId);
  return count === 1;
}

interface CachedSecrets {
  shopId: string;
  /** Null when the stored value does not decrypt for this connection (copied from another row): nothing verifies. */
  current: string | null;
  previous: { secret: string | null; until: Date } | null;
  loadedAt: number;
}

/**
 * Decrypted signing secrets, per connection, for a few seconds: the lookup and decryption were a fifth of the cost of
 * a webhook (docs/decisions/013-stripe-webhook-throughput.md). Changes made through this module drop the entry at
 * once; a change made by another process (the CLI) is seen within SECRET_CACHE_MS. Unknown ids are never cached.
 */
export const SECRET_CACHE_MS = 5_000;
const secretCache = new Map<string, CachedSecrets>();
const forget = (connectionId: string) => secretCache.delete(connectionId);

/** For signature verification only: the shop and the secrets that verify right now (current first). */
export async function loadVerificationSecrets(db: PrismaClient, connectionId: string, now = new Date()): Promise<{ shopId: string; secrets: string[] } | null> {
  let entry = secretCache.get(connectionId);
  if (!entry || entry.loadedAt > now.getTime() || now.getTime() - entry.loadedAt >= SECRET_CACHE_MS) {
    const c = await db.stripeConnection.findUnique({
      where: { id: connectionId },
      select: { shopId: true, webhookSecretEncrypted: true, previousWebhookSecretEncrypted: true, previousSecretExpiresAt: true },
    });
    if (!c) {
      forget(connectionId);
      return null;
    }
    // A secret that does not open for this row verifies nothing (the request gets 400 like a bad signature), and says why in the log.
    const open = (stored: string, column: "webhookSecretEncrypted" | "previousWebhookSecretEncrypted") => {
      try {
        return decryptSecret(stored, secretPlace(connectionId, column));
      } catch (error) {
        if (!(error instanceof UnreadableSecretError)) throw error;
        logger.error("Stripe signing secret unreadable", { connectionId, column, error: error.message });
        return null;
      }
    };
    entry = {
      shopId: c.shopId,
      current: open(c.webhookSecretEncrypted, "webhookSecretEncrypted"),
      previous:
        c.previousWebhookSecretEncrypted && c.previousSecretExpiresAt
          ? { secret: open(c.previousWebhookSecretEncrypted, "previousWebhookSecretEncrypted"), until: c.previousSecretExpiresAt }
          : null,
      loadedAt: now.getTime(),
    };
    if (secretCache.size > 10_000) secretCache.clear(); // bounded: one entry per connection in use
    secretCache.set(connectionId, entry);
  }
  // The previous secret's end is checked on every request, cached or not.
  const secrets = entry.previous && entry.previous.until > now ? [entry.current, entry.previous.secret] : [entry.current];
  return { shopId: entry.shopId, secrets: secrets.filter((secret): secret is string => secret !== null) };
}

/** For the processing job's API calls only. */
export async function loadApiCredentials(db: PrismaClient, connectionId: string): Promise<{ apiKey: string; livemode: boolean } | null> {
  const c = await db.stripeConnection.findUnique({ where: { id: connectionId }, select: { apiKeyEncrypted: true, livemode: true } });
  if (!c?.apiKeyEncrypted) return null;
  return { apiKey: decryptSecret(c.apiKeyEncrypted, secretPlace(connectionId, "apiKeyEncrypted")), livemode: c.livemode === true };
}
