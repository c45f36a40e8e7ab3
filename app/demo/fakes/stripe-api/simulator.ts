// Stripe Checkout as a merchant's account sees it, for the demo: buyers open sessions and leave; when a session expires
// Stripe sends `checkout.session.expired` with its recovery link (after_expiration.recovery); a buyer who pays through
// that link produces a new session whose `checkout.session.completed` carries `recovered_from`. A few buyers pay the
// original session before it expires. Now and then a subscriber's renewal is declined (Stripe Billing's invoice events). Events are built from Stripe's fixtures (objects.ts), signed at each delivery
// attempt with the endpoint's secret (webhooks.ts) and retried like Stripe retries. Line items are registered with the
// fake API so the app's restricted key can read them. Time is passed in (`tick(now)`); the state is plain data.
import { randomBytes } from "node:crypto";
import { prng } from "../shopify-admin/generator";
import { WebhookOutbox, type OutboxEntry } from "../webhook-outbox";
import { endedInvoice, newInvoiceId, newSubscriptionId, openInvoice, subscription } from "./billing-objects";
import { completedSession, expiredSession, lineItem, newSessionId, stripeEvent } from "./objects";
import type { FakeStripeApi } from "./server";
import { stripeSignature } from "./webhooks";

export interface SimItem {
  description: string;
  quantity: number;
  unitAmount: number;
}

export interface SimSession {
  id: string;
  email: string;
  name: string;
  currency: string;
  items: SimItem[];
  amountTotal: number;
  promotions: "opt_in" | null;
  /** The session's `locale` (the buyer's language; `auto`: the browser's). Absent in a state saved before it was simulated. */
  locale?: string;
  /** ms */
  created: number;
  expiresAt: number;
  state: "open" | "paid" | "expired" | "recovered";
  /** the token in the recovery link (expired sessions) */
  recoveryToken: string | null;
  /** the session that paid through the recovery link */
  recoveredBy: string | null;
  /** a buyer who pays before the session expires */
  paysAt: number | null;
}

/**
 * A subscription renewal whose card was declined (Stripe Billing): `invoice.payment_failed`, then Stripe's Smart Retries
 * either collect it (`invoice.paid`), or the subscription is canceled after the last retry (`customer.subscription.deleted`).
 */
export interface SimRenewal {
  invoiceId: string;
  subscriptionId: string;
  email: string;
  name: string;
  /** minor units */
  amountDue: number;
  description: string;
  /** The invoice's hosted page (Stripe's), the link in Reclaim's payment emails. */
  hostedInvoiceUrl: string;
  /** ms */
  failedAt: number;
  /** `action_required`: a renewal that needs 3-D Secure (invoice.payment_action_required). */
  reason: "payment_failed" | "action_required";
  state: "failed" | "paid" | "canceled";
  /** When Stripe's retry collects it, or when the subscription is canceled (ms); null: stays open. */
  settlesAt: number | null;
  settlesAs: "paid" | "canceled" | null;
}

export interface StripeSimulatorState {
  nextAt: number | null;
  buyers: number;
  sessions: SimSession[];
  /** Absent in a state saved before renewals were simulated. */
  renewals?: SimRenewal[];
  outbox: OutboxEntry[];
}

export interface StripeSimulatorOptions {
  api: FakeStripeApi;
  /** The merchant's endpoint in the app (POST /webhooks/stripe/<connection id>). */
  endpointUrl: string;
  /** The endpoint's signing secret (whsec_…). */
  secret: string;
  /** Base of recovery links; the demo's checkout page answers `${recoveryBaseUrl}/<token>`. */
  recoveryBaseUrl: string;
  /** Mean time between two new sessions, ms of the simulator's clock. */
  meanIntervalMs: number;
  /**
   * Dates signatures this many seconds ahead (default 0). On a compressed clock, network latency is multiplied by the
   * clock factor and would use up Stripe's 300 s tolerance; the demo gives deliveries that much more headroom.
   */
  signatureLeadSeconds?: number;
  seed?: number;
  fetch?: typeof fetch;
}

const CATALOG: SimItem[] = [
  { description: "Sourdough masterclass (online)", quantity: 1, unitAmount: 4900 },
  { description: "Pottery starter kit", quantity: 1, unitAmount: 8900 },
  { description: "Annual membership", quantity: 1, unitAmount: 12000 },
  { description: "Gift voucher", quantity: 1, unitAmount: 5000 },
  { description: "Coffee subscription (3 months)", quantity: 1, unitAmount: 5400 },
  { description: "Watercolour workshop ticket", quantity: 2, unitAmount: 3500 },
  { description: "Yoga class pack (10)", quantity: 1, unitAmount: 9900 },
  { description: "Print: Harbour at dusk", quantity: 1, unitAmount: 6500 },
];
const FIRST = ["Amara", "Bruno", "Camille", "Deniz", "Elif", "Felix", "Greta", "Hugo", "Ines", "Joon", "Kofi", "Lina", "Marek", "Nadia", "Oskar", "Paz"];
const LAST = [
  "Adeyemi",
  "Bauer",
  "Castro",
  "Demir",
  "Eriksen",
  "Fontaine",
  "Gallo",
  "Hughes",
  "Ito",
  "Jansen",
  "Kowalski",
  "Lund",
  "Moreau",
  "Novak",
  "Okoro",
  "Park",
];
/** Subscriptions whose renewals fail now and then. */
const PLANS = [
  { description: "1 × Coffee club (at $29.00 / month)", amount: 2900 },
  { description: "1 × Yoga unlimited (at $59.00 / month)", amount: 5900 },
  { description: "1 × Pottery studio membership (at $45.00 / month)", amount: 4500 },
];
/**
 * The languages buyers' sessions are shown in: the shipped ones (issue 19) with and without a region, `auto` (Reclaim
 * then uses the shop's language) and one Reclaim does not ship.
 */
const SESSION_LOCALES = ["en", "ja", "de", "auto", "en-GB", "ja", "de", "fr"];
/** Sessions kept in the state (older settled ones are dropped). */
const KEEP = 500;

export class StripeSimulator {
  readonly outbox: WebhookOutbox;
  private state: Omit<StripeSimulatorState, "outbox" | "renewals"> & { renewals: SimRenewal[] };
  private random: () => number;

  constructor(private readonly o: StripeSimulatorOptions) {
    this.state = { nextAt: null, buyers: 0, sessions: [], renewals: [] };
    this.random = prng(o.seed ?? 4242);
    this.outbox = new WebhookOutbox({
      fetch: o.fetch,
      sign: (entry) => ({
        "content-type": "application/json; charset=utf-8",
        "user-agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
        // Signed now, at this attempt: Stripe's signatures carry the time they were made (300 s tolerance).
        "stripe-signature": stripeSignature(entry.body, o.secret, Math.floor(Date.now() / 1000) + (o.signatureLeadSeconds ?? 0)),
      }),
    });
  }

  get sessions(): readonly SimSession[] {
    return this.state.sessions;
  }

  get renewals(): readonly SimRenewal[] {
    return this.state.renewals;
  }

  tick(now: number): void {
    this.state.nextAt ??= now + this.interval();
    while (this.state.nextAt <= now) {
      this.open(this.state.nextAt);
      // About one new checkout in four is accompanied by a subscriber's renewal failing.
      if (this.random() < 0.25) this.failRenewal(this.state.nextAt);
      this.state.nextAt += this.interval();
    }
    for (const s of this.state.sessions) {
      if (s.state === "open" && s.paysAt !== null && s.paysAt <= now) this.pay(s, s.paysAt);
      else if (s.state === "open" && s.expiresAt <= now) this.expire(s, s.expiresAt);
    }
    for (const r of this.state.renewals) {
      if (r.state === "failed" && r.settlesAt !== null && r.settlesAt <= now) this.settleRenewal(r, r.settlesAt);
    }
    this.outbox.tick(now);
  }

  private interval(): number {
    return Math.round(this.o.meanIntervalMs * (0.5 + this.random()));
  }

  private pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.random() * items.length)]!;
  }

  /** A buyer opens a Checkout Session at `at` (Stripe lets a merchant expire sessions after 30 minutes to 24 hours). */
  open(at: number): SimSession {
    this.state.buyers += 1;
    const first = this.pick(FIRST);
    const last = this.pick(LAST);
    const count = this.random() < 0.7 ? 1 : 2;
    const items: SimItem[] = [];
    for (let i = 0; i < count; i++) {
      const item = this.pick(CATALOG);
      if (!items.some((x) => x.description === item.description)) items.push({ ...item });
    }
    const session: SimSession = {
      id: newSessionId(),
      email: `${first}.${last}${this.state.buyers}@example.net`.toLowerCase(),
      name: `${first} ${last}`,
      currency: "usd",
      items,
      amountTotal: items.reduce((n, i) => n + i.unitAmount * i.quantity, 0),
      promotions: this.random() < 0.75 ? "opt_in" : null,
      // From the buyer count rather than the random sequence, which stays as it was.
      locale: SESSION_LOCALES[this.state.buyers % SESSION_LOCALES.length]!,
      created: at,
      expiresAt: at + Math.round((30 + this.random() * 90) * 60_000),
      state: "open",
      recoveryToken: null,
      recoveredBy: null,
      paysAt: null,
    };
    // About one buyer in ten pays before the session expires: Stripe sends only checkout.session.completed.
    if (this.random() < 0.1) session.paysAt = at + Math.round((2 + this.random() * 20) * 60_000);
    this.state.sessions.push(session);
    if (this.state.sessions.length > KEEP) {
      const settled = this.state.sessions.findIndex((s) => s.state !== "open" && s.state !== "expired");
      this.state.sessions.splice(settled >= 0 ? settled : 0, 1);
    }
    return session;
  }

  private register(s: SimSession): void {
    this.o.api.setLineItems(
      s.id,
      s.items.map((i) => lineItem({ ...i, currency: s.currency })),
    );
  }

  private expire(s: SimSession, at: number): void {
    s.state = "expired";
    s.recoveryToken = randomBytes(12).toString("base64url");
    this.register(s);
    const session = expiredSession({
      id: s.id,
      email: s.email,
      name: s.name,
      amountTotal: s.amountTotal,
      currency: s.currency,
      promotions: s.promotions,
      locale: s.locale ?? null,
      created: Math.floor(s.created / 1000),
      recoveryExpiresAt: Math.floor(at / 1000) + 30 * 86_400,
    });
    session.expires_at = Math.floor(s.expiresAt / 1000);
    session.after_expiration.recovery.url = this.recoveryUrl(s);
    this.deliver(stripeEvent("checkout.session.expired", session, { created: Math.floor(at / 1000) }));
  }

  private pay(s: SimSession, at: number): void {
    s.state = "paid";
    const session = completedSession({
      id: s.id,
      email: s.email,
      name: s.name,
      amountTotal: s.amountTotal,
      currency: s.currency,
      promotions: s.promotions,
      locale: s.locale ?? null,
      created: Math.floor(s.created / 1000),
    });
    this.deliver(stripeEvent("checkout.session.completed", session, { created: Math.floor(at / 1000) }));
  }

  /** A subscriber's renewal is declined: Stripe sends invoice.payment_failed (and payment_action_required for 3-D Secure). */
  failRenewal(at: number): SimRenewal {
    this.state.buyers += 1;
    const first = this.pick(FIRST);
    const last = this.pick(LAST);
    const plan = this.pick(PLANS);
    const roll = this.random();
    const renewal: SimRenewal = {
      invoiceId: newInvoiceId(),
      subscriptionId: newSubscriptionId(),
      email: `${first}.${last}${this.state.buyers}@example.net`.toLowerCase(),
      name: `${first} ${last}`,
      amountDue: plan.amount,
      description: plan.description,
      hostedInvoiceUrl: `https://invoice.stripe.com/i/acct_demo/test_${randomBytes(20).toString("hex")}`,
      failedAt: at,
      reason: this.random() < 0.2 ? "action_required" : "payment_failed",
      state: "failed",
      // Some are collected by Stripe's next retry (3 days), some canceled after the last one (a week), the rest stay open.
      settlesAt: roll < 0.3 ? at + 3 * 86_400_000 : roll < 0.45 ? at + 7 * 86_400_000 : null,
      settlesAs: roll < 0.3 ? "paid" : roll < 0.45 ? "canceled" : null,
    };
    this.state.renewals.push(renewal);
    if (this.state.renewals.length > KEEP) this.state.renewals.shift();
    const invoice = this.invoiceOf(renewal);
    const created = Math.floor(at / 1000);
    this.deliver(stripeEvent("invoice.payment_failed", invoice, { created }));
    if (renewal.reason === "action_required") this.deliver(stripeEvent("invoice.payment_action_required", invoice, { created }));
    return renewal;
  }

  private invoiceOf(r: SimRenewal) {
    const invoice = openInvoice({
      id: r.invoiceId,
      subscription: r.subscriptionId,
      email: r.email,
      name: r.name,
      items: [{ description: r.description, amount: r.amountDue }],
      created: Math.floor(r.failedAt / 1000) - 3600,
      nextPaymentAttempt: r.reason === "action_required" ? null : Math.floor(r.failedAt / 1000) + 3 * 86_400,
      number: `${r.invoiceId.slice(3, 11).toUpperCase()}-0002`,
    });
    invoice.hosted_invoice_url = r.hostedInvoiceUrl;
    return invoice;
  }

  /**
   * The subscriber opens the hosted invoice page from a Reclaim email and pays: Stripe sends invoice.paid. False when
   * the link is not one of this simulator's open invoices (already paid or canceled).
   */
  payInvoice(hostedInvoiceUrl: string, at: number): boolean {
    const r = this.state.renewals.find((x) => x.hostedInvoiceUrl === hostedInvoiceUrl);
    if (!r || r.state !== "failed") return false;
    r.settlesAs = "paid";
    this.settleRenewal(r, at);
    return true;
  }

  private settleRenewal(r: SimRenewal, at: number): void {
    const created = Math.floor(at / 1000);
    if (r.settlesAs === "paid") {
      r.state = "paid";
      this.deliver(stripeEvent("invoice.paid", endedInvoice(this.invoiceOf(r), "paid", created), { created }));
    } else {
      r.state = "canceled";
      this.deliver(stripeEvent("customer.subscription.deleted", subscription({ id: r.subscriptionId, status: "canceled" }), { created }));
    }
  }

  recoveryUrl(s: SimSession): string {
    return `${this.o.recoveryBaseUrl.replace(/\/+$/, "")}/${s.recoveryToken}`;
  }

  /** The expired session a recovery link belongs to. */
  byRecoveryToken(token: string): SimSession | undefined {
    return this.state.sessions.find((s) => s.recoveryToken !== null && s.recoveryToken === token);
  }

  /**
   * The buyer pays through the recovery link: a new session (same buyer and cart) completes, and its event carries
   * `recovered_from` = the expired session. Returns null if that link was already used.
   */
  payRecovered(token: string, at: number): { original: SimSession; completedSessionId: string } | null {
    const original = this.byRecoveryToken(token);
    if (!original || original.state !== "expired") return null;
    const id = newSessionId();
    original.state = "recovered";
    original.recoveredBy = id;
    const session = completedSession({
      id,
      email: original.email,
      name: original.name,
      amountTotal: original.amountTotal,
      currency: original.currency,
      promotions: original.promotions,
      locale: original.locale ?? null,
      created: Math.floor(at / 1000),
      recoveredFrom: original.id,
    });
    this.deliver(stripeEvent("checkout.session.completed", session, { created: Math.floor(at / 1000) }));
    return { original, completedSessionId: id };
  }

  private deliver(event: Record<string, unknown>): void {
    // Stripe pretty-prints its payloads; the signature covers these exact bytes.
    this.outbox.enqueue({ url: this.o.endpointUrl, body: JSON.stringify(event, null, 2), signer: "stripe", meta: { type: String(event.type) }, nextAt: 0 });
  }

  toJSON(): StripeSimulatorState {
    return {
      ...this.state,
      sessions: this.state.sessions.map((s) => ({ ...s })),
      renewals: this.state.renewals.map((r) => ({ ...r })),
      outbox: this.outbox.toJSON(),
    };
  }

  restore(saved: StripeSimulatorState): void {
    const { outbox, ...state } = saved;
    this.state = { ...state, sessions: state.sessions.map((s) => ({ ...s })), renewals: (state.renewals ?? []).map((r) => ({ ...r })) };
    this.random = prng((this.o.seed ?? 4242) + state.buyers); // a fresh sequence, not a replay of the first run
    // The fake API forgets line items when it stops; sessions the app may still ask about are registered again.
    for (const s of this.state.sessions) if (s.state !== "open") this.register(s);
    this.outbox.restore(outbox);
  }
}
