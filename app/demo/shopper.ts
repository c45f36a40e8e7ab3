/**
 * The demo shopper: reads some of the captured emails a little while after they arrive, follows the recovery link
 * through the app's real click redirect, and completes some of the purchases on the demo checkout pages — all over
 * HTTP, as a person with a browser would — so conversions show up without anyone at the keyboard. Time is passed in.
 */
import { prng } from "./fakes/shopify-admin/generator";
import { BROWSER_USER_AGENT, type ClickLinks } from "./click-links";
import type { InboxEntry } from "./inbox";

export type ShopperOutcome = { decision: "waiting"; at: number } | { decision: "ignored" } | { decision: "clicked"; bought: boolean; note: string };

export interface ShopperState {
  outcomes: Record<string, ShopperOutcome>;
  seed: number;
}

export class DemoShopper {
  private state: ShopperState = { outcomes: {}, seed: 7 };
  private random = prng(7);
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly o: {
      links: ClickLinks;
      entry: (id: string) => InboxEntry | undefined;
      /** Share of emails opened and clicked; default 0.45. */
      clickShare?: number;
      /** Share of clicks that end in a purchase; default 0.7. */
      buyShare?: number;
      /**
       * Pays a failed subscription invoice whose Stripe-hosted page (invoice.stripe.com, not reachable from the demo) a
       * payment email links to; false when it is no longer open.
       */
      payInvoice?: (hostedInvoiceUrl: string) => boolean;
      /** Demo-time delay before reading an email: between min and max, ms. */
      readAfterMs?: [number, number];
      log?: (line: string) => void;
    },
  ) {}

  outcome(emailId: string): ShopperOutcome | undefined {
    return this.state.outcomes[emailId];
  }

  get counts(): { clicked: number; bought: number } {
    const all = Object.values(this.state.outcomes);
    return { clicked: all.filter((o) => o.decision === "clicked").length, bought: all.filter((o) => o.decision === "clicked" && o.bought).length };
  }

  /** A new email arrived at demo time `now`. */
  received(entry: InboxEntry, now: number): void {
    if (!entry.clickUrl || this.state.outcomes[entry.id]) return;
    const [min, max] = this.o.readAfterMs ?? [20 * 60_000, 90 * 60_000];
    this.state.outcomes[entry.id] = { decision: "waiting", at: now + Math.round(min + this.random() * (max - min)) };
  }

  tick(now: number): void {
    for (const [id, outcome] of Object.entries(this.state.outcomes)) {
      if (outcome.decision !== "waiting" || outcome.at > now) continue;
      const entry = this.o.entry(id);
      if (!entry?.clickUrl || this.random() >= (this.o.clickShare ?? 0.45)) {
        this.state.outcomes[id] = { decision: "ignored" };
        continue;
      }
      const buy = this.random() < (this.o.buyShare ?? 0.7);
      this.state.outcomes[id] = { decision: "clicked", bought: false, note: "following the link" };
      const p = this.visit(entry.clickUrl, buy)
        .then((result) => {
          this.state.outcomes[id] = { decision: "clicked", ...result };
          this.o.log?.(`shopper: ${entry.to.join(", ")} ${result.bought ? "bought" : "looked"} (${result.note})`);
        })
        .catch((error: unknown) => {
          this.state.outcomes[id] = { decision: "clicked", bought: false, note: `failed: ${(error as Error).message}` };
        })
        .finally(() => this.inFlight.delete(p));
      this.inFlight.add(p);
    }
  }

  private async visit(clickUrl: string, buy: boolean): Promise<{ bought: boolean; note: string }> {
    const click = await this.o.links.follow(clickUrl);
    if (!click.location) return { bought: false, note: `the click redirect answered ${click.status}` };
    // A payment email's link is Stripe's hosted invoice page: the simulator stands in for it (no network here).
    if (click.location.startsWith("https://invoice.stripe.com/")) {
      if (!buy) return { bought: false, note: "looked at the invoice" };
      return this.o.payInvoice?.(click.location) ? { bought: true, note: "paid the invoice" } : { bought: false, note: "the invoice was no longer open" };
    }
    // The checkout page (after the storefront's discount hop, if any), then its form, as a browser would post it.
    const pageResponse = await fetch(click.location, { headers: { "user-agent": BROWSER_USER_AGENT } });
    const html = await pageResponse.text();
    if (!pageResponse.ok) return { bought: false, note: `the checkout page answered ${pageResponse.status}` };
    if (!buy) return { bought: false, note: "left without buying" };
    const action = /<form[^>]*method="post"[^>]*action="([^"]+)"/i.exec(html)?.[1]?.replace(/&amp;/g, "&");
    if (!action) return { bought: false, note: "nothing left to buy (already completed)" };
    const done = await fetch(new URL(action, pageResponse.url), {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", "user-agent": BROWSER_USER_AGENT },
      body: "intent=complete",
    });
    await done.arrayBuffer();
    return done.ok ? { bought: true, note: "completed the purchase" } : { bought: false, note: `the purchase answered ${done.status}` };
  }

  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  toJSON(): ShopperState {
    return this.state;
  }

  restore(saved: ShopperState): void {
    this.state = saved;
    // Visits interrupted by a stop are not replayed.
    for (const [id, o] of Object.entries(this.state.outcomes))
      if (o.decision === "clicked" && o.note === "following the link") this.state.outcomes[id] = { decision: "ignored" };
    this.random = prng(saved.seed + Object.keys(saved.outcomes).length);
  }
}
