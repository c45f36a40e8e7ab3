/**
 * The checkout pixel's events for one checkout, merged into one state (docs/decisions/051, 079): the collector keeps a
 * row per (shop, checkout) and folds each accepted event into it, instead of storing every event with a job of its own.
 * Pure: no I/O.
 *
 * The fold follows the rules ingest applies to a pixel-only recovery (app/models/ingest.server.ts, mergeCheckout), so
 * processing the merged state gives the recovery that processing each event in turn gave:
 * - nothing until an event carries an email (ingest ignores a checkout without one: "no email yet"); from then on,
 * - the newer event (by its time) wins field by field but never erases a known value with an empty one, an older one
 *   only fills gaps; line items: the newer non-empty list; totals: the newer event's;
 * - the pixel's marketing box: once ticked it stays ticked (explicit consent beats "unknown" in mergeCheckout);
 * - the checkout started at the earliest event merged; a completion is kept apart, at its earliest report.
 */
import { normalizeEmail, type CheckoutPixelObserved, type LineItem, type Money } from "./model";

export interface PixelCheckoutState {
  /** The newest checkout event's name (`checkout_started` or `checkout_contact_info_submitted`). */
  event: Exclude<CheckoutPixelObserved["event"], "checkout_completed">;
  /** Normalised. */
  email: string;
  buyerAcceptsEmailMarketing: boolean | null;
  lineItems: LineItem[];
  total: Money;
  /** The newest event's time (ISO): the checkout as of then. */
  at: string;
  /** The earliest event's time (ISO): when the checkout was started, as far as the pixel saw. */
  startedAt: string;
}

/** Folds one checkout event (not a completion) into the state; null while no event has carried an email. */
export function mergePixelState(state: PixelCheckoutState | null, e: CheckoutPixelObserved): PixelCheckoutState | null {
  if (e.event === "checkout_completed") return state;
  const email = normalizeEmail(e.email);
  const at = e.occurredAt.toISOString();
  if (!state) {
    if (!email) return null;
    return { event: e.event, email, buyerAcceptsEmailMarketing: e.buyerAcceptsEmailMarketing, lineItems: e.lineItems, total: e.total, at, startedAt: at };
  }
  const newer = e.occurredAt.getTime() >= Date.parse(state.at);
  const pick = <T>(incoming: T | null, current: T | null): T | null => (newer ? (incoming ?? current) : (current ?? incoming));
  return {
    event: newer ? e.event : state.event,
    email: pick(email, state.email)!,
    buyerAcceptsEmailMarketing:
      state.buyerAcceptsEmailMarketing === true || e.buyerAcceptsEmailMarketing === true
        ? true
        : pick(e.buyerAcceptsEmailMarketing, state.buyerAcceptsEmailMarketing),
    lineItems: e.lineItems.length > 0 && (newer || state.lineItems.length === 0) ? e.lineItems : state.lineItems,
    total: newer ? e.total : state.total,
    at: newer ? at : state.at,
    startedAt: e.occurredAt.getTime() < Date.parse(state.startedAt) ? at : state.startedAt,
  };
}

/** The completion time to keep: the earliest report (the browser's clock can shorten a hold, never lengthen it). */
export function mergePixelCompletion(completedAt: Date | null, e: CheckoutPixelObserved): Date | null {
  if (e.event !== "checkout_completed") return completedAt;
  return completedAt && completedAt.getTime() <= e.occurredAt.getTime() ? completedAt : e.occurredAt;
}

/** What processing hands to ingest for a merged checkout: the checkout (if the pixel gave an email), then its completion. */
export function pixelObservations(row: {
  id: string;
  checkoutToken: string;
  state: PixelCheckoutState | null;
  completedAt: Date | null;
}): CheckoutPixelObserved[] {
  const observations: CheckoutPixelObserved[] = [];
  const s = row.state;
  if (s) {
    observations.push({
      kind: "checkout.pixel",
      eventId: `pixel-checkout:${row.id}`,
      event: s.event,
      checkoutToken: row.checkoutToken,
      email: s.email,
      buyerAcceptsEmailMarketing: s.buyerAcceptsEmailMarketing,
      lineItems: s.lineItems,
      total: s.total,
      occurredAt: new Date(s.at),
      startedAt: new Date(s.startedAt),
    });
  }
  if (row.completedAt) {
    observations.push({
      kind: "checkout.pixel",
      eventId: `pixel-checkout:${row.id}:completed`,
      event: "checkout_completed",
      checkoutToken: row.checkoutToken,
      email: s?.email ?? null,
      buyerAcceptsEmailMarketing: s?.buyerAcceptsEmailMarketing ?? null,
      lineItems: [],
      total: s?.total ?? { amountMinor: 0, currency: "USD" },
      occurredAt: row.completedAt,
    });
  }
  return observations;
}

/** Reads a stored state (JSON); an unreadable one counts as none. */
export function parsePixelState(raw: string | null): PixelCheckoutState | null {
  if (!raw) return null;
  try {
    const value = JSON.parse(raw) as PixelCheckoutState;
    return value && typeof value.email === "string" && typeof value.at === "string" && typeof value.startedAt === "string" ? value : null;
  } catch {
    return null;
  }
}
